"""`target: aws`: the EKS cluster, its network, identities, node groups and add-ons, on the mock engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.pins import EKS_ADDONS
from components.targets.aws.network import split_network
from preflight import engine, rejects, stackconfig
from preflight.engine import Plan
from tests.harness import plan_spec, plan_stack

EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
CIDRS = ["203.0.113.0/24"]


def cluster(**over: Any) -> dict[str, Any]:
    return {"name": "eks", "target": "aws", "region": "eu-west-1", "apiAccess": {"publicCidrs": CIDRS}, **over}


MINIMAL: dict[str, Any] = cluster()
"""The smallest valid aws cluster: what the contract test builds (tests/test_contract.py)."""


def plan_env(env: str, stack: str | None = None, **over: Any) -> Plan:
    plan = plan_spec({"environment": env, "clusters": [cluster(**over)]}, stack=stack or f"aws-{env}")
    assert plan.ok, plan.errors
    return plan


@pytest.fixture(scope="module")
def dev() -> Plan:
    return plan_env("dev")


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_env("prod", apiAccess={"private": True}, deployer=HUB_DEPLOYER)


# A private endpoint is reached from a hub the stack peers with (tests/test_deployer.py).
HUB_DEPLOYER = {
    "runner": "deploy-eu",
    "hub": {"vpcId": "vpc-0a1b2c3d4e5f60718", "cidrs": ["10.250.0.0/20"], "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]},
}


def releases(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.plain["name"]: r.plain for r in plan.resources("kubernetes:helm.sh/v3:Release")}


# ------------------------------------------------------------------- network


def test_dev_vpc_spans_two_zones_with_one_nat(dev: Plan) -> None:
    subnets = dev.resources("aws:ec2/subnet:Subnet")
    assert sorted(s.plain["availabilityZone"] for s in subnets) == [
        "eu-west-1a",
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1b",
    ]
    assert len(dev.resources("aws:ec2/natGateway:NatGateway")) == 1
    public = [s for s in subnets if "public" in s.name]
    private = [s for s in subnets if "private" in s.name]
    for s in public:
        assert s.plain["tags"]["kubernetes.io/role/elb"] == "1"
        assert s.plain["tags"]["kubernetes.io/cluster/eks"] == "shared"
    for s in private:
        assert s.plain["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert s.plain["tags"]["karpenter.sh/discovery"] == "eks"
    routes = [r.plain for r in dev.resources("aws:ec2/route:Route") if "private" in r.name]
    assert len(routes) == 2 and all("natGatewayId" in r for r in routes)


def test_prod_vpc_spans_three_zones_with_a_nat_per_zone(prod: Plan) -> None:
    nats = prod.resources("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3
    subnets = {s.urn: s.plain for s in prod.resources("aws:ec2/subnet:Subnet")}
    private_routes = [r.plain["natGatewayId"] for r in prod.resources("aws:ec2/route:Route") if "private" in r.name]
    assert len(set(private_routes)) == 3, "each zone leaves through its own NAT gateway"
    assert len(subnets) == 6


def test_subnets_split_the_vpc_without_overlap() -> None:
    import ipaddress

    for zones in (1, 2, 3, 4, 6):
        private, public = split_network("10.0.0.0/16", zones)
        nets = [ipaddress.ip_network(c) for c in private + public]
        assert len(private) == len(public) == zones
        assert all(a == b or not a.overlaps(b) for a in nets for b in nets)
        assert all(n.subnet_of(ipaddress.ip_network("10.0.0.0/16")) for n in nets)  # type: ignore[arg-type]
        assert ipaddress.ip_network(private[0]).num_addresses > ipaddress.ip_network(public[0]).num_addresses


def test_existing_vpc_is_used_as_is() -> None:
    byo = {
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "privateSubnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
        "publicSubnetIds": ["subnet-0a1b2c3d4e5f6071a"],
    }
    plan = plan_env("dev", existingVpc=byo)
    assert plan.resources("aws:ec2/vpc:Vpc") == [] and plan.resources("aws:ec2/natGateway:NatGateway") == []
    assert plan.one(EKS).plain["vpcConfig"]["subnetIds"] == [*byo["privateSubnetIds"], *byo["publicSubnetIds"]]
    tags: dict[str, dict[str, str]] = {}
    for tag in plan.resources("aws:ec2/tag:Tag"):
        tags.setdefault(tag.plain["resourceId"], {})[tag.plain["key"]] = tag.plain["value"]
    discovery = {"kubernetes.io/role/internal-elb": "1", "karpenter.sh/discovery": "eks"}
    for subnet in byo["privateSubnetIds"]:
        assert tags[subnet] == {**discovery, "kubernetes.io/cluster/eks": "shared"}, "Karpenter and internal LBs"
    assert tags["subnet-0a1b2c3d4e5f6071a"] == {"kubernetes.io/role/elb": "1", "kubernetes.io/cluster/eks": "shared"}
    assert rejects.run(plan) == [], "Karpenter's EC2NodeClass and the LB controller find the given subnets"


# -------------------------------------------------------------------- cluster


def test_dev_api_is_public_only_from_listed_cidrs(dev: Plan) -> None:
    vpc = dev.one(EKS).plain["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == CIDRS


def test_prod_api_is_private_and_the_cluster_protected(prod: Plan) -> None:
    eks = prod.one(EKS)
    assert eks.plain["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in eks.plain["vpcConfig"]
    assert eks.plain["deletionProtection"] is True and eks.protect
    assert prod.one("aws:kms/key:Key", "eks-secrets").protect and prod.one("aws:kms/key:Key", "eks-logs").protect


def test_dev_cluster_is_not_protected(dev: Plan) -> None:
    eks = dev.one(EKS)
    assert eks.plain["deletionProtection"] is False and not eks.protect


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_secrets_are_encrypted_with_a_rotating_key_and_every_log_type_is_on(env: str, dev: Plan, prod: Plan) -> None:
    plan = dev if env == "dev" else prod
    eks = plan.one(EKS)
    key = plan.one("aws:kms/key:Key", "eks-secrets")
    assert key.plain["enableKeyRotation"] is True
    (config,) = (
        eks.plain["encryptionConfig"]
        if isinstance(eks.plain["encryptionConfig"], list)
        else [eks.plain["encryptionConfig"]]
    )
    assert config["resources"] == ["secrets"]
    assert config["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert key.urn in eks.property_dependencies["encryptionConfig"]
    assert set(eks.plain["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }


def test_own_kms_key_replaces_the_generated_one() -> None:
    arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    plan = plan_env("dev", kmsKeyArn=arn)
    assert [k.name for k in plan.resources("aws:kms/key:Key")] == ["eks-logs"], "only the logs key is made"
    assert plan.one(EKS).plain["encryptionConfig"]["provider"]["keyArn"] == arn


def test_access_entries_replace_the_aws_auth_configmap() -> None:
    admin = "arn:aws:iam::123456789012:role/platform-admins"
    plan = plan_env("dev", adminRoleArns=[admin])
    assert plan.one(EKS).plain["accessConfig"]["authenticationMode"] == "API"
    entries = {e.plain["principalArn"]: e.plain for e in plan.resources("aws:eks/accessEntry:AccessEntry")}
    assert entries[admin]["type"] == "STANDARD"
    (assoc,) = plan.resources("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert assoc.plain["policyArn"].endswith("cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert not [r for r in plan.registrations if r.type == "kubernetes:core/v1:ConfigMap" and "aws-auth" in r.name]


def upstream(plan: Plan, reg: Any) -> set[str]:
    """Every URN `reg` waits for on an update: its dependencies, theirs, and so on."""
    seen: set[str] = set()
    todo = list(reg.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(plan.by_urn(urn).dependencies)
    return seen


def test_addons_are_managed_and_pinned_and_coredns_waits_for_nodes(dev: Plan) -> None:
    addons = {a.plain["addonName"]: a for a in dev.resources(ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    for name, addon in addons.items():
        assert addon.plain["addonVersion"] == EKS_ADDONS["1.35"][name]
    groups = {g.urn for g in dev.resources(NODE_GROUP)}
    for late in ("coredns", "aws-ebs-csi-driver"):
        assert groups <= set(addons[late].dependencies), late
    for early in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        for group in dev.resources(NODE_GROUP):
            assert addons[early].urn in group.dependencies
    assert json.loads(addons["vpc-cni"].plain["configurationValues"])["enableNetworkPolicy"] == "true"
    assert addons["aws-ebs-csi-driver"].plain["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"
    assert dev.one(EKS).plain["bootstrapSelfManagedAddons"] is False


@pytest.mark.parametrize("autoscaler", ["karpenter", "cluster-autoscaler"])
def test_an_upgrade_moves_control_plane_then_nodes_then_the_addons_bound_to_kubelets(autoscaler: str) -> None:
    """Pulumi updates in dependency order: the graph is the upgrade order.

    coredns and the EBS CSI driver schedule on nodes and move after them; what a node
    needs to become Ready comes before the node groups: the CNI, kube-proxy (the CNI
    reaches the API through the `kubernetes` Service; the skew policy lets kube-proxy
    be newer than the kubelets, never than the API server) and the Pod Identity agent
    (controllers on the first nodes take their credentials from it).
    """
    plan = plan_env("dev", nodeAutoscaler=autoscaler, nodePools=[{"name": "general"}, {"name": "x", "role": "system"}])
    addons = {a.plain["addonName"]: a for a in plan.resources(ADDON)}
    eks = plan.one(EKS)
    groups = plan.resources(NODE_GROUP)
    assert groups
    for group in groups:
        before = upstream(plan, group)
        assert eks.urn in before
        assert {addons["vpc-cni"].urn, addons["kube-proxy"].urn, addons["eks-pod-identity-agent"].urn} <= before
        for late in ("coredns", "aws-ebs-csi-driver"):
            assert addons[late].urn not in before, f"{late} would move before the nodes"
            assert group.urn in upstream(plan, addons[late]), f"{late} must wait for {group.name}"
    for addon in addons.values():
        assert eks.urn in upstream(plan, addon)


# ---------------------------------------------------------------- node groups


def test_node_groups_leave_their_size_to_the_autoscaler_and_lock_down_metadata() -> None:
    pools = [
        {"name": "general", "min": 1, "max": 5},
        {
            "name": "batch",
            "spot": True,
            "min": 0,
            "max": 9,
            "labels": {"w": "batch"},
            "taints": [{"key": "batch", "value": "true", "effect": "NoSchedule"}],
        },
    ]
    plan = plan_env("dev", nodeAutoscaler="cluster-autoscaler", nodePools=pools)
    groups = {g.plain["nodeGroupName"]: g for g in plan.resources(NODE_GROUP)}
    assert set(groups) == {"eks-general", "eks-batch"}
    batch = groups["eks-batch"]
    assert batch.ignore_changes == ["scalingConfig.desiredSize"]
    assert batch.plain["scalingConfig"] == {"minSize": 0, "maxSize": 9, "desiredSize": 0}
    assert batch.plain["capacityType"] == "SPOT" and groups["eks-general"].plain["capacityType"] == "ON_DEMAND"
    assert batch.plain["labels"] == {"w": "batch", "orquestra.io/pool": "batch"}
    assert batch.plain["taints"] == [{"key": "batch", "value": "true", "effect": "NO_SCHEDULE"}]
    assert batch.plain["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
    for template in plan.resources("aws:ec2/launchTemplate:LaunchTemplate"):
        meta = template.plain["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1
        ebs = template.plain["blockDeviceMappings"][0]["ebs"]
        assert ebs["volumeType"] == "gp3" and ebs["encrypted"] == "true"
    assert "remoteAccess" not in batch.plain


def test_under_karpenter_a_managed_group_keeps_its_count_at_min() -> None:
    """Nothing else sizes it, and an ignored count would make a raised `min` fail above the old count."""
    plan = plan_env("dev", nodePools=[{"name": "general"}, {"name": "system", "role": "system", "min": 2, "max": 4}])
    (group,) = plan.resources(NODE_GROUP)
    assert group.plain["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert group.ignore_changes == []


def test_node_role_has_only_what_nodes_need(dev: Plan) -> None:
    role = next(r for r in dev.resources("aws:iam/role:Role") if r.name == "eks-node")
    attached = sorted(
        a.plain["policyArn"].rsplit("/", 1)[-1]
        for a in dev.resources("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.parent == role.parent and a.name.startswith("eks-node-")
    )
    assert attached == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonSSMManagedInstanceCore",
    ]


def test_karpenter_is_the_default_autoscaler(dev: Plan) -> None:
    groups = [g.plain["nodeGroupName"] for g in dev.resources(NODE_GROUP)]
    assert groups == ["eks-system"], "Karpenter and the add-ons run on a small managed group"
    system = dev.one(NODE_GROUP)
    assert system.plain["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    pool = dev.one("kubernetes:karpenter.sh/v1:NodePool")
    assert pool.plain["metadata"]["name"] == "general"
    assert pool.plain["spec"]["limits"] == {"cpu": "6"}, "3 nodes of t3.large (2 vCPU)"
    node_class = dev.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").plain["spec"]
    assert (
        node_class["metadataOptions"]["httpTokens"] == "required"
        and node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1
    )
    assert node_class["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    karpenter = releases(dev)["karpenter"]
    assert karpenter["chart"] == "oci://public.ecr.aws/karpenter/karpenter" and karpenter["version"]
    # CRDs in a release of their own, so upgrades upgrade them too.
    assert karpenter["skipCrds"] is True
    assert releases(dev)["karpenter-crd"]["version"] == karpenter["version"]
    queue = dev.one("aws:sqs/queue:Queue")
    assert karpenter["values"]["settings"]["interruptionQueue"] == queue.plain["name"]
    assert len(dev.resources("aws:cloudwatch/eventTarget:EventTarget")) == 4
    assert "cluster-autoscaler" not in releases(dev)
    policy = next(p for p in dev.resources("aws:iam/rolePolicy:RolePolicy") if p.name == "eks-karpenter-policy")
    statements = {s["Sid"]: s for s in json.loads(policy.plain["policy"])["Statement"]}
    assert ":role/eks-karpenter-node-" in statements["AllowPassingInstanceRole"]["Resource"], (
        "Karpenter may pass its node role only"
    )
    (entry,) = [e.plain for e in dev.resources("aws:eks/accessEntry:AccessEntry") if e.plain["type"] == "EC2_LINUX"]
    node_role = next(r for r in dev.resources("aws:iam/role:Role") if r.name == "eks-karpenter-node")
    assert (
        node_role.urn
        in next(
            e for e in dev.resources("aws:eks/accessEntry:AccessEntry") if e.plain["type"] == "EC2_LINUX"
        ).dependencies
    )
    assert ":role/eks-karpenter-node-" in entry["principalArn"], "the managed groups' role has its entry from EKS"
    owned = statements["AllowScopedDeletion"]["Condition"]["StringEquals"]
    assert owned == {"aws:ResourceTag/kubernetes.io/cluster/eks": "owned"}, "ends only this cluster's nodes"


def test_cluster_autoscaler_is_left_to_the_workloads_layer_with_its_identity() -> None:
    plan = plan_env("dev", nodeAutoscaler="cluster-autoscaler")
    assert plan.resources("kubernetes:karpenter.sh/v1:NodePool") == []
    values = releases(plan)["cluster-autoscaler"]["values"]
    assert values["autoDiscovery"] == {"clusterName": "eks"} and values["awsRegion"] == "eu-west-1"
    assoc = {
        a.plain["serviceAccount"]: a.plain
        for a in plan.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert assoc["cluster-autoscaler"]["namespace"] == "kube-system"


# ----------------------------------------------------------- identity and LB


def test_controllers_get_pod_identity_roles(dev: Plan) -> None:
    assoc = {a.plain["serviceAccount"] for a in dev.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert {"karpenter", "aws-load-balancer-controller"} <= assoc
    assert dev.resources("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


def test_irsa_trusts_one_service_account_through_the_oidc_provider() -> None:
    plan = plan_env("dev", podIdentity="irsa")
    oidc = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.plain["clientIdLists"] == ["sts.amazonaws.com"]
    assert plan.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
    role = next(r for r in plan.resources("aws:iam/role:Role") if r.name == "eks-lb-controller")
    (statement,) = json.loads(role.plain["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    (sub,) = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert sub == "system:serviceaccount:kube-system:aws-load-balancer-controller"
    annotations = releases(plan)["aws-load-balancer-controller"]["values"]["serviceAccount"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


def test_gateway_gets_an_internal_nlb_from_the_lb_controller(dev: Plan) -> None:
    lbc = releases(dev)["aws-load-balancer-controller"]
    assert lbc["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts" and lbc["version"]
    proxy = dev.one("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy").plain
    annotations = proxy["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    lbc_release = next(
        r for r in dev.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "aws-load-balancer-controller"
    )
    gateway_crds = next(r for r in dev.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "gateway-crds")
    assert lbc_release.urn not in gateway_crds.dependencies, "CRDs need the API only"
    for kind in ("gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "gateway.networking.k8s.io/v1:Gateway"):
        # What asks for a load balancer waits for its controller, and a destroy deletes it before the controller.
        assert lbc_release.urn in dev.one(f"kubernetes:{kind}").dependencies, kind
    # Its Service webhook would refuse every Service created while its pods start; only the LB ones need it.
    assert lbc["values"]["serviceMutatorWebhookConfig"] == {"failurePolicy": "Ignore"}


def test_gp3_is_the_encrypted_default_storage_class(dev: Plan) -> None:
    sc = dev.one("kubernetes:storage.k8s.io/v1:StorageClass").plain
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"


def test_kubeconfig_authenticates_with_aws_eks_get_token_and_is_secret(dev: Plan) -> None:
    provider = dev.one("pulumi:providers:kubernetes", "eks-k8s")
    assert isinstance(provider.inputs["kubeconfig"], engine.Secret)
    config = yaml.safe_load(provider.plain["kubeconfig"])
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws" and exec_["args"][:4] == ["eks", "get-token", "--cluster-name", "eks"]
    assert config["clusters"][0]["cluster"]["server"].endswith(".eu-west-1.eks.amazonaws.com")
    assert isinstance(dev.stack_outputs["clusters"]["eks"]["kubeconfig"], engine.Secret)


def test_every_aws_resource_goes_through_the_clusters_own_provider_and_tags(dev: Plan) -> None:
    provider = dev.one("pulumi:providers:aws", "eks-aws")
    assert provider.plain["region"] == "eu-west-1"
    assert json.loads(provider.plain["defaultTags"])["tags"]["orquestra-cluster"] == "eks"
    for reg in dev.registrations:
        if reg.type.startswith("aws:"):
            assert reg.provider.startswith(provider.urn + "::"), reg.name


def test_a_workload_with_cloud_identity_gets_its_own_empty_role() -> None:
    plan = plan_stack("prod-aws")
    assoc = [
        a.plain
        for a in plan.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.plain["namespace"] == "api"
    ]
    assert assoc == [{**assoc[0], "serviceAccount": "api", "clusterName": "eks-prod"}]


# -------------------------------------------------------------- whole stacks


@pytest.mark.parametrize("stack", ["staging-aws", "prod-aws"])
def test_shipped_stacks_plan(stack: str) -> None:
    plan = plan_stack(stack)
    assert plan.ok, plan.errors
    assert len(plan.resources(EKS)) == 1


def test_prod_stack_installs_external_dns_with_route53_rights() -> None:
    plan = plan_stack("prod-aws")
    values = releases(plan)["external-dns"]["values"]
    assert values["provider"] == {"name": "aws"} and values["domainFilters"] == ["prod.example.com"]
    policy = next(
        p for p in plan.resources("aws:iam/rolePolicy:RolePolicy") if p.name == "eks-prod-external-dns-policy"
    )
    assert "route53:ChangeResourceRecordSets" in json.dumps(json.loads(policy.plain["policy"]))


def test_changing_one_pools_max_changes_nothing_else() -> None:
    config = stackconfig.load(engine.PROJECT_DIR, "staging-aws")
    before = engine.run(config)
    clusters = json.loads(json.dumps(config.values["orquestra:clusters"]))
    clusters[0]["nodePools"][2]["max"] = 20
    after = engine.run(
        stackconfig.StackConfig(config.project, config.stack, {**config.values, "orquestra:clusters": clusters}, [])
    )
    a = {r.urn: r.to_json() for r in before.registrations}
    b = {r.urn: r.to_json() for r in after.registrations}
    assert set(a) == set(b)
    changed = [urn for urn in a if a[urn] != b[urn]]
    assert [urn.rsplit("::", 1)[-1] for urn in changed] == ["eks-staging-karpenter-batch"]


def test_local_checks_fail_before_anything_is_registered() -> None:
    plan = plan_spec({"clusters": [cluster(nodePools=[{"name": "a", "zones": ["us-east-1a"]}])]})
    assert plan.errors[0] == "orquestra:clusters[0].nodePools[0].zones[0]: 'us-east-1a'; allowed: a zone of eu-west-1"
    assert [r.type for r in plan.registrations] == ["pulumi:pulumi:Stack"]


@pytest.mark.parametrize("autoscaler", ["karpenter", "cluster-autoscaler"])
def test_a_pool_zone_beyond_the_first_zones_joins_the_vpc(autoscaler: str) -> None:
    """The VPC spans the zones pools name, filled up to `network.zones` in the account's order."""
    pools = [{"name": "general", "zones": ["eu-west-1c"]}]
    plan = plan_env("dev", nodeAutoscaler=autoscaler, nodePools=pools)
    zones = {s.plain["availabilityZone"] for s in plan.resources("aws:ec2/subnet:Subnet")}
    assert zones == {"eu-west-1a", "eu-west-1c"}, "dev has two zones: the named one and the account's first"
    if autoscaler == "cluster-autoscaler":
        group = plan.one(NODE_GROUP)
        (subnet,) = [s for s in plan.resources("aws:ec2/subnet:Subnet") if s.name == "eks-private-eu-west-1c"]
        assert subnet.urn in group.property_dependencies["subnetIds"]
        assert len(group.plain["subnetIds"]) == 1


def test_pools_may_not_name_more_zones_than_the_vpc_spans() -> None:
    pools = [{"name": "a", "zones": ["eu-west-1a", "eu-west-1b"]}, {"name": "b", "zones": ["eu-west-1c"]}]
    plan = plan_spec({"environment": "dev", "clusters": [cluster(nodePools=pools)]})
    assert plan.errors[0] == (
        "orquestra:clusters[0].nodePools[1].zones[0]: 'eu-west-1c'; allowed: one of the "
        "network.zones (2) zones the VPC spans; the pools already name eu-west-1a, eu-west-1b"
    )
    assert [r.type for r in plan.registrations] == ["pulumi:pulumi:Stack"]


def test_a_pool_zone_the_account_does_not_offer_is_rejected() -> None:
    plan = plan_env("dev", nodeAutoscaler="cluster-autoscaler", nodePools=[{"name": "a", "zones": ["eu-west-1d"]}])
    found = [(r.field, r.message) for r in rejects.run(plan) if r.subject.endswith("eks-private-eu-west-1d")]
    assert found and found[0][0] == "availabilityZone" and "eu-west-1a, eu-west-1b, eu-west-1c" in found[0][1]


def test_karpenter_nodes_get_their_pools_disk_size() -> None:
    pools = [{"name": "general"}, {"name": "batch", "diskSizeGb": 200}]
    plan = plan_env("dev", nodePools=pools)
    classes = {c.plain["metadata"]["name"]: c for c in plan.resources("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")}
    for pool in plan.resources("kubernetes:karpenter.sh/v1:NodePool"):
        ref = pool.plain["spec"]["template"]["spec"]["nodeClassRef"]
        node_class = classes[ref["name"]]
        assert node_class.urn in pool.dependencies
        (root,) = node_class.plain["spec"]["blockDeviceMappings"]
        want = 200 if pool.plain["metadata"]["name"] == "batch" else 50
        assert root["ebs"] == {"volumeSize": f"{want}Gi", "volumeType": "gp3", "encrypted": True}
        assert root["deviceName"] == "/dev/xvda"


# ------------------------------------------------------------------ hardening

KEY = "aws:kms/key:Key"
DEPLOYER = "arn:aws:iam::123456789012:role/platform-deployer"


def statements(policy: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_key_policies_separate_administrators_from_the_one_service_that_uses_each_key() -> None:
    admin = "arn:aws:iam::123456789012:role/platform-admins"
    plan = plan_env("dev", adminRoleArns=[admin])
    secrets = statements(plan.one(KEY, "eks-secrets").plain["policy"])
    logs = statements(plan.one(KEY, "eks-logs").plain["policy"])
    for policy in (secrets, logs):
        admins = policy["KeyAdministrators"]
        assert admins["Principal"] == {"AWS": [DEPLOYER, admin]}, "the deployer keeps PutKeyPolicy (lockout check)"
        assert not any(a in admins["Action"] for a in ("kms:Decrypt", "kms:Encrypt", "kms:*"))
        assert not any(":root" in json.dumps(s["Principal"]) for s in policy.values()), "no default key policy"
    cluster_role = next(r for r in plan.resources("aws:iam/role:Role") if r.name == "eks-cluster")
    use = secrets["ClusterRoleUse"]
    assert use["Principal"]["AWS"].startswith("arn:aws:iam::123456789012:role/eks-cluster-")
    assert cluster_role.urn in plan.one(KEY, "eks-secrets").property_dependencies["policy"]
    assert secrets["ClusterRoleGrants"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    logs_use = logs["CloudWatchLogsUse"]
    assert logs_use["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs_use["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/eks/cluster",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/eks/flow-logs",
    ]
    assert rejects.run(plan) == [], "key policies pass the IAM linter preflight runs on every aws:kms/key:Key"


def test_a_deploying_role_session_is_named_by_its_role() -> None:
    from preflight import answers

    got = answers.invoke(
        "aws:iam/getSessionContext:getSessionContext",
        {"arn": "arn:aws:sts::123456789012:assumed-role/platform-deployer/ci-1234"},
    )
    assert got["issuerArn"] == DEPLOYER and got["sessionName"] == "ci-1234"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_log_groups_are_kms_encrypted_and_kept(env: str, dev: Plan, prod: Plan) -> None:
    plan = dev if env == "dev" else prod
    logs_key = plan.one(KEY, "eks-logs")
    groups = {g.plain["name"]: g for g in plan.resources("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {"/aws/eks/eks/cluster", "/aws/vpc/eks/flow-logs"}
    for group in groups.values():
        assert group.plain["kmsKeyId"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
        assert logs_key.urn in group.property_dependencies["kmsKeyId"]
        assert group.plain["retentionInDays"] == (365 if env == "prod" else 30)
    assert groups["/aws/eks/eks/cluster"].urn in plan.one(EKS).dependencies, "EKS would make its own, unencrypted"


def test_the_vpc_logs_all_flows_and_its_default_security_group_allows_nothing(dev: Plan) -> None:
    vpc = dev.one("aws:ec2/vpc:Vpc")
    flow = dev.one("aws:ec2/flowLog:FlowLog").plain
    assert flow["vpcId"] == vpc.id and flow["trafficType"] == "ALL"
    assert flow["logDestinationType"] == "cloud-watch-logs"
    assert flow["logDestination"].endswith(":log-group:/aws/vpc/eks/flow-logs")
    role = next(r for r in dev.resources("aws:iam/role:Role") if r.name == "eks-flow-logs")
    assert flow["iamRoleArn"].startswith("arn:aws:iam::123456789012:role/eks-flow-logs-")
    assert role.urn in dev.one("aws:ec2/flowLog:FlowLog").property_dependencies["iamRoleArn"]
    (trust,) = json.loads(role.plain["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    default_sg = dev.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").plain
    assert default_sg["vpcId"] == vpc.id
    assert default_sg.get("ingress", []) == [] and default_sg.get("egress", []) == []


def test_external_dns_may_change_only_the_stacks_hosted_zone() -> None:
    plan = plan_stack("prod-aws")
    (asked,) = [a for t, a in plan.invokes if t == "aws:route53/getZone:getZone"]
    assert asked["name"] == "prod.example.com" and asked["privateZone"] is False
    from preflight import answers

    zone_id = answers.invoke("aws:route53/getZone:getZone", asked)["zoneId"]
    policy = next(
        p for p in plan.resources("aws:iam/rolePolicy:RolePolicy") if p.name == "eks-prod-external-dns-policy"
    )
    for statement in json.loads(policy.plain["policy"])["Statement"]:
        if statement["Action"] != "route53:ListHostedZones":
            assert statement["Resource"] == f"arn:aws:route53:::hostedzone/{zone_id}", statement
    values = releases(plan)["external-dns"]["values"]
    assert values["extraArgs"] == {"zone-id-filter": zone_id, "aws-zone-type": "public"}
