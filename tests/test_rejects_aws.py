"""AWS rules of preflight's reject layer: each constraint refuses a hand-built plan that breaks it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from preflight.engine import UNKNOWN, Registration
from preflight.rejects import awsiam
from tests.rejecting import fields, plan_of, reg, rejected

ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CALLER = ("aws:index/getCallerIdentity:getCallerIdentity", {})
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED = "aws:iam/policy:Policy"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def cluster(version: str = "1.35", **over: Any) -> Any:
    return reg(EKS, "eks", {"name": "eks", "version": version, **over})


# ---------------------------------------------------------------- managed policies


def test_the_ebs_csi_v2_policy_has_no_service_role_path() -> None:
    bad = reg(
        ATTACH, "ebs", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2"}
    )
    (rejection,) = rejected(plan_of(bad))
    assert rejection.field == "policyArn"
    assert "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2" in rejection.message
    assert "moto" in rejection.source and "newest update 20" in rejection.source


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2",
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
        "arn:aws-cn:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::123456789012:policy/mine",
    ],
)
def test_existing_managed_policies_and_customer_policies_pass(arn: str) -> None:
    assert rejected(plan_of(reg(ATTACH, "a", {"role": "r", "policyArn": arn}))) == []


def test_an_unknown_managed_policy_is_named_with_a_hint() -> None:
    bad = reg(ATTACH, "a", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodepolicy"})
    (rejection,) = rejected(plan_of(bad))
    assert "did you mean AmazonEKSWorkerNodePolicy" in rejection.message


def test_the_catalogue_holds_every_policy_the_program_attaches() -> None:
    from components.targets.aws.nodes import NODE_POLICIES

    catalogue = awsiam.managed_policies().paths
    for name in [*NODE_POLICIES, "AmazonEKSClusterPolicy", "AmazonEBSCSIDriverPolicyV2"]:
        assert name in catalogue, name


# ------------------------------------------------------------------------- linter


def test_the_linter_refuses_unknown_actions_foreign_arns_and_condition_keys() -> None:
    policy = doc(
        {"Sid": "Typo", "Effect": "Allow", "Action": "ec2:DescribeInstancez", "Resource": "*"},
        {
            "Sid": "WrongArn",
            "Effect": "Allow",
            "Action": "sqs:ReceiveMessage",
            "Resource": "arn:aws:sns:eu-west-1:123456789012:topic",
        },
        {
            "Sid": "WrongKey",
            "Effect": "Allow",
            "Action": "ec2:TerminateInstances",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:NoSuchKey": "x"}},
        },
    )
    lines = [r.message for r in rejected(plan_of(reg("aws:iam/rolePolicy:RolePolicy", "p", {"policy": policy})))]
    assert any("statement Typo: UNKNOWN_ACTION" in m for m in lines), lines
    assert any("statement WrongArn: RESOURCE_MISMATCH" in m for m in lines), lines
    assert any("statement WrongKey: UNKNOWN_CONDITION_FOR_ACTION" in m and "ec2:NoSuchKey" in m for m in lines), lines


def test_the_linter_knows_what_upstream_policies_use() -> None:
    """Actions and condition keys newer than parliament's own database (April 2025) are known."""
    policy = doc(
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags"],
            "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup"]}},
        },
        {"Effect": "Allow", "Action": ["elasticloadbalancing:ModifyIpPools"], "Resource": "*"},
    )
    assert awsiam.lint(policy) == []


def test_a_required_resource_may_come_from_a_sibling_statement() -> None:
    """IAM authorises against the union of statements; only a resource type granted nowhere is missing."""
    run = "ec2:RunInstances"
    split = [
        {"Effect": "Allow", "Action": run, "Resource": ["arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/*"]},
        {
            "Effect": "Allow",
            "Action": run,
            "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:network-interface/*"],
        },
    ]
    missing = awsiam.lint(doc(*split))
    assert [f.issue for f in missing] == ["RESOURCE_MISMATCH"] * 2 and "security-group" in missing[0].detail
    assert (
        awsiam.lint(doc(*split, {"Effect": "Allow", "Action": run, "Resource": "arn:aws:ec2:*:*:security-group/*"}))
        == []
    )


def test_duplicate_sids_are_refused() -> None:
    statement = {"Sid": "Same", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}
    assert [f.issue for f in awsiam.lint(doc(statement, statement))] == ["DUPLICATE_SID"]


def test_trust_policies_pass_for_pod_identity_and_irsa() -> None:
    pods = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
    irsa = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:a:b"}},
        }
    )
    for policy in (pods, irsa):
        assert rejected(plan_of(reg("aws:iam/role:Role", "r", {"assumeRolePolicy": policy}))) == []
    bad = doc({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRoel"})
    assert fields(plan_of(reg("aws:iam/role:Role", "r", {"assumeRolePolicy": bad}))) == {("r", "assumeRolePolicy")}


def test_unknown_documents_are_left_for_the_real_preview() -> None:
    assert rejected(plan_of(reg("aws:iam/rolePolicy:RolePolicy", "p", {"policy": UNKNOWN}))) == []


# --------------------------------------------------------------------------- EKS


def addon(name: str, version: str) -> Any:
    return reg("aws:eks/addon:Addon", name, {"clusterName": "eks", "addonName": name, "addonVersion": version})


def test_kube_proxy_follows_the_cluster_minor() -> None:
    assert fields(plan_of(cluster("1.35"), addon("kube-proxy", "v1.34.1-eksbuild.2"))) == {
        ("kube-proxy", "addonVersion")
    }
    assert rejected(plan_of(cluster("1.35"), addon("kube-proxy", "v1.35.0-eksbuild.2"))) == []


def test_addon_versions_have_the_eks_format() -> None:
    assert fields(plan_of(cluster(), addon("coredns", "1.12.4"))) == {("coredns", "addonVersion")}


def test_an_access_entry_for_the_creator_conflicts_with_the_bootstrap_entry() -> None:
    deployer = "arn:aws:iam::123456789012:role/platform-deployer"
    entry = reg("aws:eks/accessEntry:AccessEntry", "admin", {"clusterName": "eks", "principalArn": deployer})
    on = cluster(accessConfig={"bootstrapClusterCreatorAdminPermissions": True})
    assert fields(plan_of(on, entry, invokes=[CALLER])) == {("admin", "principalArn")}
    off = cluster(accessConfig={"bootstrapClusterCreatorAdminPermissions": False})
    assert rejected(plan_of(off, entry, invokes=[CALLER])) == []
    other = reg("aws:eks/accessEntry:AccessEntry", "ops", {"clusterName": "eks", "principalArn": deployer + "-ops"})
    assert rejected(plan_of(on, other, invokes=[CALLER])) == []


def node_group(**over: Any) -> Any:
    scaling = {"minSize": 1, "desiredSize": 1, "maxSize": 3}
    return reg(NODE_GROUP, "ng", {"clusterName": "eks", "scalingConfig": scaling, "version": "1.35", **over})


def test_node_groups_carry_the_cluster_version() -> None:
    missing = node_group()
    del missing.inputs["version"]
    assert fields(plan_of(cluster(), missing)) == {("ng", "version")}
    assert fields(plan_of(cluster(), node_group(version="1.34"))) == {("ng", "version")}
    assert rejected(plan_of(cluster(), node_group())) == []


def test_node_group_scaling_and_launch_template_rules() -> None:
    plan = plan_of(
        cluster(),
        node_group(
            scalingConfig={"minSize": 3, "desiredSize": 1, "maxSize": 0}, launchTemplate={"id": "lt"}, diskSize=20
        ),
    )
    assert fields(plan) == {
        ("ng", "scalingConfig.maxSize"),
        ("ng", "scalingConfig.minSize"),
        ("ng", "scalingConfig.desiredSize"),
        ("ng", "diskSize"),
    }


# -------------------------------------------------------------- subnet discovery

NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def discovery_plan(*subnet_regs: Any) -> Any:
    eks = cluster(vpcConfig={"subnetIds": ["subnet-a", "subnet-b"]})
    lbc = reg(
        "kubernetes:helm.sh/v3:Release",
        "lbc",
        {"name": "aws-load-balancer-controller", "values": {"clusterName": "eks"}},
    )
    node_class = reg(NODE_CLASS, "nc", {"spec": {"subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "eks"}}]}})
    return plan_of(eks, lbc, node_class, *subnet_regs)


def test_given_subnets_without_discovery_tags_are_refused() -> None:
    assert fields(discovery_plan()) == {("eks", "vpcConfig.subnetIds"), ("nc", "spec.subnetSelectorTerms[0].tags")}


def test_discovery_tags_from_ec2_tag_resources_or_subnets_satisfy_both() -> None:
    tags = [
        reg("aws:ec2/tag:Tag", f"t{i}", {"resourceId": "subnet-a", "key": k, "value": v})
        for i, (k, v) in enumerate({"kubernetes.io/role/internal-elb": "1", "karpenter.sh/discovery": "eks"}.items())
    ]
    assert rejected(discovery_plan(*tags)) == []
    subnet = reg(
        "aws:ec2/subnet:Subnet",
        "s",
        {"tags": {"kubernetes.io/role/internal-elb": "1", "karpenter.sh/discovery": "eks"}},
        id="subnet-b",
    )
    assert rejected(discovery_plan(subnet)) == []


# ------------------------------------------------------------------- route 53

CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"


def test_route53_refuses_a_private_health_check_address_and_off_range_settings() -> None:
    good = reg(CHECK, "hc", {"type": "HTTPS", "ipAddress": "198.51.99.7", "requestInterval": 10, "failureThreshold": 3})
    assert rejected(plan_of(good)) == []
    bad = reg(CHECK, "hc", {"type": "HTTPS", "ipAddress": "10.0.0.5", "requestInterval": 15, "failureThreshold": 11})
    assert fields(plan_of(bad)) == {("hc", "ipAddress"), ("hc", "requestInterval"), ("hc", "failureThreshold")}
    assert fields(plan_of(reg(CHECK, "hc", {"type": "HTTPS"}))) == {("hc", "ipAddress")}


def test_route53_refuses_a_routed_record_without_identifier_or_with_an_off_range_weight() -> None:
    good = reg(RECORD, "r", {"setIdentifier": "dc1", "weightedRoutingPolicies": [{"weight": 255}]})
    assert rejected(plan_of(good)) == []
    bad = reg(RECORD, "r", {"weightedRoutingPolicies": [{"weight": 256}], "failoverRoutingPolicies": [{"type": "X"}]})
    assert fields(plan_of(bad)) == {
        ("r", "weightedRoutingPolicies"),
        ("r", "setIdentifier"),
        ("r", "weightedRoutingPolicies[0].weight"),
        ("r", "failoverRoutingPolicies[0].type"),
    }


def test_iam_refuses_policies_over_its_size_quotas_counting_no_white_space() -> None:
    from components import acmedns

    def names(n: int) -> list[str]:
        return [f"app-{i:02d}.prod.example.com" for i in range(n)]

    def user_policy(name: str, user: str, hosts: list[str]) -> Registration:
        return reg(USER_POLICY, name, {"user": user, "policy": acmedns.policy("aws", "Z0123456789ABCDEFGHIJ", hosts)})

    small = acmedns.policy("aws", "Z0123456789ABCDEFGHIJ", names(2))
    pretty = json.dumps(json.loads(small), indent=4)
    big_statement = {"Effect": "Allow", "Action": [f"ec2:Describe{i:04d}" for i in range(400)], "Resource": "*"}
    plan = plan_of(
        # One DNS-01 user per cluster: 34 names of this length fit in a user's 2,048 characters, 40 do not.
        user_policy("fits", "dc1-acme", names(20)),
        user_policy("too-many-names", "dc2-acme", names(40)),
        # Two policies of one user share its quota; only the last is told.
        user_policy("a-first", "dc3-acme", names(20)),
        user_policy("b-second", "dc3-acme", names(20)),
        # White space is free: the indented document counts as the compact one.
        reg(USER_POLICY, "indented", {"user": "dc4-acme", "policy": pretty}),
        reg(ROLE_POLICY, "role-fits", {"role": "r", "policy": json.dumps({"Statement": [big_statement]})}),
        reg(MANAGED, "managed-too-big", {"policy": json.dumps({"Statement": [big_statement]})}),
    )
    sizes = {
        r.subject.split(" ", 1)[1]: r.message
        for r in rejected(plan)
        if r.field == "policy" and "characters" in r.message
    }
    assert set(sizes) == {"too-many-names", "b-second", "managed-too-big"}, sizes
    assert "a user's hold 2048" in sizes["too-many-names"] and "a managed policy holds 6144" in sizes["managed-too-big"]
    assert len("".join(pretty.split())) == len("".join(small.split()))
