"""Who may do what: the IAM roles of the cluster, its nodes and its controllers, and pods' cloud identity.

Every controller gets a role of its own with a policy scoped to this cluster,
trusted through EKS Pod Identity or IRSA as the spec says; policy documents are
built here, in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components import acmedns

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


def policy_document(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def cluster_autoscaler_policy(cluster: str) -> str:
    return policy_document(
        {
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}},
        },
    )


def external_dns_policy(partition: str, zone_id: str) -> str:
    """Records of the stack's hosted zone only, instead of every zone in the account.

    Actions after external-dns's AWS tutorial
    (https://github.com/kubernetes-sigs/external-dns/blob/v0.19.0/docs/tutorials/aws.md#iam-policy),
    with the zone-level ones narrowed to one `hostedzone` ARN (Route 53 resource types:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html).
    ListHostedZones has no resource type, so it stays on "*".
    """
    zone = f"arn:{partition}:route53:::hostedzone/{zone_id}"
    return policy_document(
        {
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
            "Resource": zone,
        },
        {"Effect": "Allow", "Action": "route53:ListTagsForResources", "Resource": zone},
        {"Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"},
    )


def cert_manager_policy(partition: str, zone_id: str) -> str:
    """What cert-manager's Route 53 solver needs to publish `_acme-challenge` TXT records in one hosted zone.

    Source: https://cert-manager.io/docs/configuration/acme/dns01/route53/ (IAM policy; with `hostedZoneID`
    set, the solver needs no `route53:ListHostedZonesByName`). Writes are held to what the solver sends, UPSERT
    and DELETE of TXT records named `_acme-challenge.*` (kubernetes/kops#16412 holds its cert-manager to the same),
    so the role cannot touch the zone's other records, external-dns's TXT ownership records among them. The
    condition keys: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
    """
    return policy_document(
        {"Effect": "Allow", "Action": ["route53:GetChange"], "Resource": f"arn:{partition}:route53:::change/*"},
        {
            "Effect": "Allow",
            "Action": ["route53:ListResourceRecordSets"],
            "Resource": f"arn:{partition}:route53:::hostedzone/{zone_id}",
        },
        {
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": f"arn:{partition}:route53:::hostedzone/{zone_id}",
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                    "route53:ChangeResourceRecordSetsActions": list(acmedns.ACTIONS),
                },
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"{acmedns.CHALLENGE}.*"]
                },
            },
        },
    )


def attach(c: AwsCluster, name: str, role: aws.iam.Role, managed: Sequence[str]) -> None:
    """AWS-managed policies, by name (`AmazonEKSWorkerNodePolicy`, `service-role/...`)."""
    for policy in managed:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=f"arn:{c.partition}:iam::aws:policy/{policy}",
            opts=c.opts(),
        )


def role(c: AwsCluster, name: str, service: str, managed: Sequence[str]) -> aws.iam.Role:
    """A role an AWS service assumes (`eks.amazonaws.com`, `ec2.amazonaws.com`), with AWS-managed policies."""
    role = aws.iam.Role(
        name,
        assume_role_policy=policy_document(
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ),
        opts=c.opts(),
    )
    attach(c, name, role, managed)
    return role


def service_role(
    c: AwsCluster,
    label: str,
    namespace: str,
    service_account: str,
    *,
    managed: Sequence[str] = (),
    inline: pulumi.Input[str] | None = None,
    associate: bool = True,
) -> aws.iam.Role:
    """An IAM role for one Kubernetes ServiceAccount, trusted through Pod Identity or IRSA as the spec says."""
    name = f"{c.spec.name}-{label}"
    if c.spec.pod_identity == "eks-pod-identity":
        trust: pulumi.Input[str] = policy_document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        )
    else:
        trust = pulumi.Output.all(c.oidc.arn, c.oidc.url).apply(
            lambda a: policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": a[0]},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{a[1]}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{a[1]}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            )
        )
    role = aws.iam.Role(name, assume_role_policy=trust, opts=c.opts())
    attach(c, name, role, managed)
    if inline is not None:
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=inline, opts=c.opts())
    # An add-on associates its own role (`addons.addon(role=...)`); everything else is associated here.
    if c.spec.pod_identity == "eks-pod-identity" and associate:
        aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=c.cluster.name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            opts=c.opts(),
        )
    return role


def role_annotations(c: AwsCluster, role: aws.iam.Role) -> dict[str, pulumi.Input[str]]:
    """Pod Identity needs no annotation; IRSA finds the role through one."""
    return {} if c.spec.pod_identity == "eks-pod-identity" else {"eks.amazonaws.com/role-arn": role.arn}


def workload_identity(c: AwsCluster, namespace: str, service_account: str) -> Mapping[str, pulumi.Input[str]]:
    """An IAM role with no permissions yet: grant it what the workload needs, and nothing else."""
    role = service_role(c, f"{namespace}-{service_account}", namespace, service_account)
    return role_annotations(c, role)


def oidc_provider(c: AwsCluster) -> aws.iam.OpenIdConnectProvider:
    """The cluster's OIDC issuer as an IAM identity provider: how IRSA roles trust a ServiceAccount's token."""
    issuer = c.cluster.identities[0].oidcs[0].issuer
    return aws.iam.OpenIdConnectProvider(
        f"{c.spec.name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], opts=c.opts()
    )


def public_zone_id(c: AwsCluster, zone: str) -> str:
    """The id of the public hosted zone named `platform.dns.zone`, looked up once for every DNS writer.

    Let's Encrypt and the world resolve the public zone; a private zone of the same name is not this stack's.
    """
    if zone not in c.zone_ids:
        hosted = aws.route53.get_zone(name=zone, private_zone=False, opts=pulumi.InvokeOptions(provider=c.aws))
        c.zone_ids[zone] = hosted.zone_id
    return c.zone_ids[zone]


def external_dns(c: AwsCluster) -> dict[str, Any]:
    """external-dns's Helm values for Route 53: its region, the stack's public zone and a role for it alone."""
    zone = c.spec.platform.dns.zone
    if not zone:
        return {}
    zone_id = public_zone_id(c, zone)
    dns_role = service_role(
        c, "external-dns", "external-dns", "external-dns", inline=external_dns_policy(c.partition, zone_id)
    )
    return {
        "env": [{"name": "AWS_DEFAULT_REGION", "value": c.spec.region}],
        "serviceAccount": {"name": "external-dns", "annotations": role_annotations(c, dns_role)},
        # The same zone the role may write: a private zone of the same name is not this stack's.
        "extraArgs": {"zone-id-filter": zone_id, "aws-zone-type": "public"},
    }


def cert_manager(c: AwsCluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """cert-manager's Route 53 DNS-01 solver for the public zone `platform.dns.zone`, and its Helm values.

    Its role may write TXT records in that one hosted zone and nothing else; ({}, {}) without a zone.
    """
    zone = c.spec.platform.dns.zone
    if not zone:
        return {}, {}
    zone_id = public_zone_id(c, zone)
    policy = cert_manager_policy(c.partition, zone_id)
    solver_role = service_role(c, "cert-manager", "cert-manager", "cert-manager", inline=policy)
    solver = {"route53": {"region": c.spec.region, "hostedZoneID": zone_id}}
    return solver, {"serviceAccount": {"name": "cert-manager", "annotations": role_annotations(c, solver_role)}}
