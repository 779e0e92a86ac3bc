"""`target: aws`: a production EKS cluster built from pulumi-aws resources directly.

Not the pulumi-eks component: its children live in a separate plugin process where
neither the mock engine nor the policy pack can see them, and every property here
is meant to be asserted.

The shape follows what the best EKS setups converged on: private subnets for nodes
with NAT per zone in prod, a private API endpoint in prod (public only from listed
CIDRs otherwise), envelope encryption of secrets with a rotating KMS key, every
control-plane log type, access entries instead of the aws-auth ConfigMap, EKS Pod
Identity for every controller, managed add-ons pinned per Kubernetes minor, and
node groups whose size belongs to the autoscaler. Karpenter is the default
autoscaler; cluster-autoscaler the alternative.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster import Capabilities, ClusterProblems, KubernetesCluster, exec_kubeconfig
from components.spec import AwsCluster, Environment, NodePool, Problem, Taint
from components.workloads.charts import Chart, release

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

# Managed add-on versions, pinned per Kubernetes minor so a second `up` installs the
# same bits. Refresh with `aws eks describe-addon-versions --kubernetes-version 1.x`.
ADDON_VERSIONS: Mapping[str, Mapping[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "coredns": "v1.12.3-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
        "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
    },
    "1.35": {
        "vpc-cni": "v1.21.1-eksbuild.1",
        "kube-proxy": "v1.35.0-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
        "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
    },
    "1.36": {
        "vpc-cni": "v1.21.3-eksbuild.1",
        "kube-proxy": "v1.36.0-eksbuild.1",
        "coredns": "v1.13.1-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.11-eksbuild.1",
        "aws-ebs-csi-driver": "v1.55.0-eksbuild.1",
    },
}

KARPENTER = Chart("oci://public.ecr.aws/karpenter/karpenter", "1.8.1", namespace="kube-system")
# Helm never upgrades CRDs it installed from a chart's crds/ folder; Karpenter ships them as a chart of their own.
KARPENTER_CRD = Chart("oci://public.ecr.aws/karpenter/karpenter-crd", "1.8.1", namespace="kube-system")
LB_CONTROLLER = Chart("aws-load-balancer-controller", "1.14.1", "https://aws.github.io/eks-charts", "kube-system")

# vCPUs per instance type, to turn a pool's `max` nodes into a Karpenter CPU limit.
VCPUS: Mapping[str, int] = {
    "t3.medium": 2, "t3.large": 2, "t3.xlarge": 4, "m6i.large": 2, "m6i.xlarge": 4, "m6i.2xlarge": 8,
    "m7i.large": 2, "m7i.xlarge": 4, "m7g.large": 2, "m7g.xlarge": 4, "c6i.large": 2, "c6i.xlarge": 4,
    "c7i.large": 2, "r6i.large": 2, "r6i.xlarge": 4, "g5.xlarge": 4,
}  # fmt: skip

NODE_POLICIES = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    # Networking for pods: the VPC CNI runs on the node before any pod identity can.
    "AmazonEKS_CNI_Policy",
    # Shell access through Session Manager instead of SSH keys and open ports.
    "AmazonSSMManagedInstanceCore",
]

EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


def split_network(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Large private subnets for pods (the VPC CNI gives each pod a VPC address), small public ones for LBs."""
    net = ipaddress.IPv4Network(cidr)
    bits = math.ceil(math.log2(zones + 1))
    blocks = list(net.subnets(prefixlen_diff=bits))
    private = [str(b) for b in blocks[:zones]]
    public = [str(b) for b in blocks[-1].subnets(prefixlen_diff=max(1, math.ceil(math.log2(zones))))][:zones]
    return private, public


def ami_type(instance_type: str) -> str:
    """Graviton families carry a `g` right after their generation digit (m7g, c7gn, t4g)."""
    family = instance_type.split(".")[0]
    return "AL2023_ARM_64_STANDARD" if re.match(r"^[a-z]+\d+g", family) else "AL2023_x86_64_STANDARD"


def kubeconfig(name: str, region: str, endpoint: str, ca: str) -> str:
    """Authenticates with `aws eks get-token`: short-lived tokens from whatever AWS identity runs kubectl."""
    args = ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"]
    return exec_kubeconfig(name, endpoint, ca, {"command": "aws", "args": args, "interactiveMode": "Never"})


def _doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def lb_controller_policy(cluster: str) -> str:
    """The AWS Load Balancer Controller's rights, scoped to load balancers it tags as this cluster's."""
    owned = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    tagging = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}
    return _doc(
        {
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:Describe*",
                "elasticloadbalancing:Describe*",
                "acm:ListCertificates",
                "acm:DescribeCertificate",
                "wafv2:GetWebACL",
                "wafv2:GetWebACLForResource",
                "shield:GetSubscriptionState",
                "cognito-idp:DescribeUserPoolClient",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:CreateSecurityGroup",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            "Resource": "*",
            "Condition": tagging,
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags"],
            "Resource": "arn:aws:ec2:*:*:security-group/*",
            "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **tagging},
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
            ],
            "Resource": "*",
            "Condition": owned,
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
            ],
            "Resource": "*",
        },
    )


def karpenter_policy(cluster: str, node_role_arn: str, queue_arn: str, cluster_arn: str) -> str:
    """Karpenter's rights: launch and end instances it tagged for this cluster, pass only the node role."""
    mine = {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}}
    return _doc(
        {
            "Sid": "Launch",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags"],
            "Resource": "*",
        },
        {
            "Sid": "OwnedOnly",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": "*",
            "Condition": mine,
        },
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
                "pricing:GetProducts",
                "ssm:GetParameter",
            ],
            "Resource": "*",
        },
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn},
        {
            "Sid": "InstanceProfiles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:ListInstanceProfiles",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Interruptions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
        {"Sid": "Cluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn},
    )


def cluster_autoscaler_policy(cluster: str) -> str:
    return _doc(
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


def external_dns_policy() -> str:
    return _doc(
        {
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": "arn:aws:route53:::hostedzone/*",
        },
        {
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones", "route53:ListResourceRecordSets", "route53:ListTagsForResources"],
            "Resource": "*",
        },
    )


class AwsTarget(KubernetesCluster):
    @staticmethod
    def check(spec: AwsCluster) -> list[Problem]:
        problems = []
        if spec.kubernetes_version not in ADDON_VERSIONS:
            problems.append(
                Problem(
                    "kubernetesVersion", spec.kubernetes_version, f"one of {', '.join(ADDON_VERSIONS)} (pinned add-ons)"
                )
            )
        for i, pool in enumerate(spec.node_pools):
            for j, zone in enumerate(pool.zones):
                if not zone.startswith(spec.region):
                    problems.append(Problem(f"nodePools[{i}].zones[{j}]", zone, f"a zone of {spec.region}"))
        return problems

    def __init__(self, spec: AwsCluster, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__("orquestra:targets:AwsCluster", spec, environment, opts)
        self.aws_spec = spec
        name = spec.name
        self.region = spec.region
        # One provider per cluster: the region comes from the spec, and every resource carries the tags.
        self.aws = aws.Provider(
            f"{name}-aws",
            region=spec.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=self.tags()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        invoke = pulumi.InvokeOptions(provider=self.aws)
        self.partition = aws.get_partition(opts=invoke).partition
        self.account = aws.get_caller_identity(opts=invoke).account_id
        available = aws.get_availability_zones(state="available", opts=invoke).names
        self.zones = list(available[: spec.network.zones])
        if spec.existing_vpc is None:
            # A pool's zones must be among those the cluster's subnets are in; which those are, only the cloud says.
            used = ", ".join(self.zones)
            outside = [
                Problem(f"nodePools[{i}].zones[{j}]", zone, f"a zone of the cluster's network ({used})")
                for i, pool in enumerate(spec.node_pools)
                for j, zone in enumerate(pool.zones)
                if zone not in self.zones
            ]
            if outside:
                raise ClusterProblems(outside)

        private, public = self._network()
        self.private_subnets = private

        key_arn: pulumi.Input[str]
        if spec.kms_key_arn:
            key_arn = spec.kms_key_arn
        else:
            key = aws.kms.Key(
                f"{name}-secrets",
                description=f"Envelope encryption of Kubernetes secrets of EKS cluster {name}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30,
                opts=self.opts(stateful=True),
            )
            aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{name}", target_key_id=key.key_id, opts=self.opts())
            key_arn = key.arn

        cluster_role = self._role(f"{name}-cluster", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"])
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=365 if environment == "prod" else 30,
            opts=self.opts(),
        )
        private_api = spec.api_access.private
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=name,
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[*private, *public],
                endpoint_private_access=True,
                endpoint_public_access=not private_api,
                public_access_cidrs=None if private_api else list(spec.api_access.public_cidrs),
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The identity that runs `pulumi up` keeps admin; everyone else comes through access entries.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key_arn)
            ),
            enabled_cluster_log_types=LOG_TYPES,
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                service_ipv4_cidr=spec.network.service_cidr, ip_family="ipv4"
            ),
            # Managed add-ons below replace the self-managed defaults.
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=environment == "prod"),
            deletion_protection=spec.deletion_protection,
            opts=self.opts(stateful=True, depends_on=[log_group]),
        )
        for arn in spec.admin_role_arns:
            self._admin(arn)

        if spec.pod_identity == "irsa":
            issuer = self.cluster.identities[0].oidcs[0].issuer
            self.oidc = aws.iam.OpenIdConnectProvider(
                f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], opts=self.opts()
            )

        node_role = self._role(f"{name}-node", "ec2.amazonaws.com", NODE_POLICIES)
        self.node_role = node_role
        versions = ADDON_VERSIONS[spec.kubernetes_version]
        # DaemonSet add-ons first: nodes join with networking, kube-proxy and the identity agent ready.
        base_addons = [
            self._addon(
                "vpc-cni",
                versions["vpc-cni"],
                {"enableNetworkPolicy": "true", "env": {"ENABLE_PREFIX_DELEGATION": "true"}},
            ),
            self._addon("kube-proxy", versions["kube-proxy"]),
            self._addon("eks-pod-identity-agent", versions["eks-pod-identity-agent"]),
        ]

        karpenter = spec.node_autoscaler == "karpenter"
        groups = [self._node_group(pool, node_role, base_addons, karpenter) for pool in self._managed_pools()]
        self.node_groups = groups

        # Deployment add-ons need nodes to schedule on; created before them they would wait until timeout.
        ha = environment != "dev"
        critical = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
        coredns = self._addon(
            "coredns",
            versions["coredns"],
            {
                "replicaCount": 2 if ha else 1,
                "tolerations": critical,
                "podDisruptionBudget": {"enabled": ha, "maxUnavailable": 1},
                "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}, "limits": {"memory": "170Mi"}},
            },
            depends_on=groups,
        )
        ebs_role = self._service_role(
            "ebs-csi",
            "kube-system",
            "ebs-csi-controller-sa",
            managed=["service-role/AmazonEBSCSIDriverPolicyV2"],
            associate=False,
        )
        ebs = self._addon(
            "aws-ebs-csi-driver",
            versions["aws-ebs-csi-driver"],
            {"controller": {"tolerations": critical}},
            depends_on=groups,
            identity=(ebs_role, "ebs-csi-controller-sa"),
        )
        infra_ready: list[pulumi.Resource] = [*groups, *base_addons, coredns, ebs]

        endpoint = self.cluster.endpoint
        config = pulumi.Output.all(endpoint, self.cluster.certificate_authority.data).apply(
            lambda a: kubeconfig(name, spec.region, str(a[0]), str(a[1]))
        )
        provider = self._connect(config, infra_ready)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=infra_ready)

        in_cluster: list[pulumi.Resource] = [self._storage_class(k8s_opts), self._lb_controller(k8s_opts, ha)]
        autoscaler_values: dict[str, Any] = {}
        if karpenter:
            in_cluster.extend(self._karpenter(k8s_opts, ha))
        else:
            ca_role = self._service_role(
                "cluster-autoscaler", "kube-system", "cluster-autoscaler", inline=cluster_autoscaler_policy(name)
            )
            autoscaler_values = {
                "autoDiscovery": {"clusterName": name},
                "awsRegion": spec.region,
                "rbac": {
                    "serviceAccount": {
                        "name": "cluster-autoscaler",
                        "annotations": self._annotations(ca_role),
                    }
                },
            }

        dns_values: dict[str, Any] = {}
        if spec.platform.dns.zone:
            dns_role = self._service_role("external-dns", "external-dns", "external-dns", inline=external_dns_policy())
            dns_values = {
                "env": [{"name": "AWS_DEFAULT_REGION", "value": spec.region}],
                "serviceAccount": {"name": "external-dns", "annotations": self._annotations(dns_role)},
            }

        nlb = {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        }
        self._publish(
            endpoint=endpoint,
            cluster_name=self.cluster.name,
            kubernetes_version=self.cluster.version,
            capabilities=Capabilities(
                load_balancer="cloud",
                node_autoscaler=spec.node_autoscaler,
                node_autoscaler_installed=karpenter,
                node_autoscaler_values=autoscaler_values,
                default_storage_class="gp3",
                pod_identity=spec.pod_identity,
                zones=tuple(self.zones),
                region=spec.region,
                lb_annotations_public={**nlb, "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
                lb_annotations_internal={**nlb, "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
                external_dns_provider="aws",
                external_dns_values=dns_values,
            ),
            ready=[*infra_ready, *in_cluster],
        )

    # ------------------------------------------------------------------ helpers

    def opts(self, *, stateful: bool = False, **kwargs: Any) -> pulumi.ResourceOptions:
        return self.child_opts(stateful=stateful, provider=self.aws, **kwargs)

    def _attach(self, name: str, role: aws.iam.Role, managed: Sequence[str]) -> None:
        """AWS-managed policies, by name (`AmazonEKSWorkerNodePolicy`, `service-role/...`)."""
        for policy in managed:
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=f"arn:{self.partition}:iam::aws:policy/{policy}",
                opts=self.opts(),
            )

    def _role(self, name: str, service: str, managed: Sequence[str]) -> aws.iam.Role:
        role = aws.iam.Role(
            name,
            assume_role_policy=_doc(
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
            ),
            opts=self.opts(),
        )
        self._attach(name, role, managed)
        return role

    def _service_role(
        self,
        label: str,
        namespace: str,
        service_account: str,
        *,
        managed: Sequence[str] = (),
        inline: pulumi.Input[str] | None = None,
        associate: bool = True,
    ) -> aws.iam.Role:
        """An IAM role for one Kubernetes ServiceAccount, trusted through Pod Identity or IRSA as the spec says."""
        name = f"{self.spec.name}-{label}"
        if self.aws_spec.pod_identity == "eks-pod-identity":
            trust: pulumi.Input[str] = _doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            )
        else:
            trust = pulumi.Output.all(self.oidc.arn, self.oidc.url).apply(
                lambda a: _doc(
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
        role = aws.iam.Role(name, assume_role_policy=trust, opts=self.opts())
        self._attach(name, role, managed)
        if inline is not None:
            aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=inline, opts=self.opts())
        # An add-on associates its own role (`_addon(identity=...)`); everything else is associated here.
        if self.aws_spec.pod_identity == "eks-pod-identity" and associate:
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=self.cluster.name,
                namespace=namespace,
                service_account=service_account,
                role_arn=role.arn,
                opts=self.opts(),
            )
        return role

    def _annotations(self, role: aws.iam.Role) -> dict[str, pulumi.Input[str]]:
        """Pod Identity needs no annotation; IRSA finds the role through one."""
        return {} if self.aws_spec.pod_identity == "eks-pod-identity" else {"eks.amazonaws.com/role-arn": role.arn}

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """An IAM role with no permissions yet: grant it what the workload needs, and nothing else."""
        role = self._service_role(f"{namespace}-{service_account}", namespace, service_account)
        return self._annotations(role)

    def _admin(self, arn: str) -> None:
        label = arn.rsplit("/", 1)[-1].lower()[:40]
        entry = aws.eks.AccessEntry(
            f"{self.spec.name}-admin-{label}",
            cluster_name=self.cluster.name,
            principal_arn=arn,
            type="STANDARD",
            opts=self.opts(),
        )
        aws.eks.AccessPolicyAssociation(
            f"{self.spec.name}-admin-{label}",
            cluster_name=self.cluster.name,
            principal_arn=arn,
            policy_arn=f"arn:{self.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=self.opts(depends_on=[entry]),
        )

    def _network(self) -> tuple[list[pulumi.Input[str]], list[pulumi.Input[str]]]:
        spec, name = self.aws_spec, self.spec.name
        if spec.existing_vpc is not None:
            self.vpc_id: pulumi.Input[str] = spec.existing_vpc.vpc_id
            return list(spec.existing_vpc.private_subnet_ids), list(spec.existing_vpc.public_subnet_ids)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=spec.network.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=self.opts(),
        )
        self.vpc_id = vpc.id
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=self.opts())
        public_rt = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=self.opts()
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=self.opts(),
        )
        cluster_tag = {f"kubernetes.io/cluster/{name}": "shared"}
        private_cidrs, public_cidrs = split_network(spec.network.cidr, len(self.zones))
        public_ids: list[pulumi.Input[str]] = []
        private_ids: list[pulumi.Input[str]] = []
        nats: list[aws.ec2.NatGateway] = []
        for i, zone in enumerate(self.zones):
            pub = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=zone,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=self.opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}", subnet_id=pub.id, route_table_id=public_rt.id, opts=self.opts()
            )
            public_ids.append(pub.id)
            if spec.nat_gateways == "per-zone" or i == 0:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"}, opts=self.opts()
                )
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.allocation_id,
                        subnet_id=pub.id,
                        tags={"Name": f"{name}-nat-{zone}"},
                        opts=self.opts(depends_on=[igw]),
                    )
                )
        for i, zone in enumerate(self.zones):
            priv = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=zone,
                tags={
                    "Name": f"{name}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    "karpenter.sh/discovery": name,
                    **cluster_tag,
                },
                opts=self.opts(),
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{zone}"}, opts=self.opts()
            )
            aws.ec2.Route(
                f"{name}-private-{zone}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[min(i, len(nats) - 1)].id,
                opts=self.opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=priv.id, route_table_id=rt.id, opts=self.opts()
            )
            private_ids.append(priv.id)
        self.private_by_zone = dict(zip(self.zones, private_ids, strict=True))
        return private_ids, public_ids

    def _addon(
        self,
        addon: str,
        version: str,
        configuration: Mapping[str, Any] | None = None,
        *,
        depends_on: Sequence[pulumi.Resource] = (),
        identity: tuple[aws.iam.Role, str] | None = None,
    ) -> aws.eks.Addon:
        associations = None
        if identity is not None and self.aws_spec.pod_identity == "eks-pod-identity":
            associations = [
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=identity[0].arn, service_account=identity[1])
            ]
        return aws.eks.Addon(
            f"{self.spec.name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=version,
            configuration_values=json.dumps(configuration) if configuration else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            pod_identity_associations=associations,
            service_account_role_arn=identity[0].arn if identity and associations is None else None,
            opts=self.opts(depends_on=list(depends_on)),
        )

    def _managed_pools(self) -> list[NodePool]:
        """Pools that become managed node groups.

        With cluster-autoscaler, every pool. With Karpenter, the system pools (where
        Karpenter itself and the cluster add-ons run); a stack without one gets a
        small tainted `system` group so Karpenter never schedules its own capacity.
        """
        pools = list(self.aws_spec.node_pools)
        if self.aws_spec.node_autoscaler == "cluster-autoscaler":
            return pools
        system = [p for p in pools if p.role == "system"]
        if system:
            return system
        ha = self.environment != "dev"
        return [
            NodePool(
                name="system",
                role="system",
                instance_types=pools[0].instance_types if pools else ["m6i.large"],
                min=2 if ha else 1,
                max=3 if ha else 2,
                taints=[Taint(key="CriticalAddonsOnly", value="true", effect="NoSchedule")],
            )
        ]

    def _node_group(
        self, pool: NodePool, role: aws.iam.Role, after: Sequence[pulumi.Resource], karpenter: bool
    ) -> aws.eks.NodeGroup:
        name = f"{self.spec.name}-{pool.name}"
        template = aws.ec2.LaunchTemplate(
            name,
            description=f"Nodes of pool {pool.name} of EKS cluster {self.spec.name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Pods cannot reach the node's instance credentials through one more network hop.
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool.disk_size_gb, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={"Name": name, **self.tags()})
            ],
            update_default_version=True,
            opts=self.opts(),
        )
        subnets = (
            [self.private_by_zone[z] for z in pool.zones]
            if pool.zones and hasattr(self, "private_by_zone")
            else self.private_subnets
        )
        tags = {}
        if not karpenter:
            tags = {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{self.spec.name}": "owned"}
        return aws.eks.NodeGroup(
            name,
            cluster_name=self.cluster.name,
            node_group_name=name,
            node_role_arn=role.arn,
            subnet_ids=subnets,
            ami_type=ami_type(pool.instance_types[0]),
            instance_types=list(pool.instance_types),
            capacity_type="SPOT" if pool.spot else "ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min, max_size=pool.max, desired_size=pool.min
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            labels={**pool.labels, "orquestra.io/pool": pool.name},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=EFFECTS[t.effect])
                for t in pool.taints
            ],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            tags=tags,
            # The autoscaler owns the node count between min and max.
            opts=self.opts(depends_on=list(after), ignore_changes=["scalingConfig.desiredSize"]),
        )

    def _storage_class(self, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        return k8s.storage.v1.StorageClass(
            f"{self.spec.name}-gp3",
            metadata={"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=opts,
        )

    def _lb_controller(self, opts: pulumi.ResourceOptions, ha: bool) -> pulumi.Resource:
        role = self._service_role(
            "lb-controller", "kube-system", "aws-load-balancer-controller", inline=lb_controller_policy(self.spec.name)
        )
        return release(
            f"{self.spec.name}-aws-load-balancer-controller",
            "aws-load-balancer-controller",
            LB_CONTROLLER,
            {
                "clusterName": self.spec.name,
                "region": self.region,
                "vpcId": self.vpc_id,
                "replicaCount": 2 if ha else 1,
                "serviceAccount": {"name": "aws-load-balancer-controller", "annotations": self._annotations(role)},
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "podDisruptionBudget": {"maxUnavailable": 1} if ha else {},
                "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            },
            opts,
        )

    def _karpenter(self, opts: pulumi.ResourceOptions, ha: bool) -> list[pulumi.Resource]:
        name = self.spec.name
        # A role of their own: EKS already made an access entry for the managed groups' role.
        node_role = self._role(f"{name}-karpenter-node", "ec2.amazonaws.com", NODE_POLICIES)
        queue = aws.sqs.Queue(
            f"{name}-karpenter-interruptions",
            name=f"{name}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=self.opts(),
        )
        aws.sqs.QueuePolicy(
            f"{name}-karpenter-interruptions",
            queue_url=queue.url,
            policy=queue.arn.apply(
                lambda arn: _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                    }
                )
            ),
            opts=self.opts(),
        )
        events = {
            "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
            "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
            "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
            "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        }
        for label, pattern in events.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{label}", event_pattern=json.dumps(pattern), opts=self.opts()
            )
            aws.cloudwatch.EventTarget(f"{name}-karpenter-{label}", rule=rule.name, arn=queue.arn, opts=self.opts())
        # Nodes Karpenter launches join through an access entry for their role.
        aws.eks.AccessEntry(
            f"{name}-karpenter-nodes",
            cluster_name=self.cluster.name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            opts=self.opts(),
        )
        role = self._service_role(
            "karpenter",
            "kube-system",
            "karpenter",
            inline=pulumi.Output.all(node_role.arn, queue.arn, self.cluster.arn).apply(
                lambda a: karpenter_policy(name, str(a[0]), str(a[1]), str(a[2]))
            ),
        )
        crds = release(f"{name}-karpenter-crd", "karpenter-crd", KARPENTER_CRD, {}, opts)
        chart = release(
            f"{name}-karpenter",
            "karpenter",
            KARPENTER,
            {
                "settings": {"clusterName": name, "interruptionQueue": queue.name},
                "replicas": 2 if ha else 1,
                "serviceAccount": {"name": "karpenter", "annotations": self._annotations(role)},
                "controller": {
                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
                },
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            },
            opts,
            skip_crds=True,
            depends_on=[crds],
        )
        cr = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[chart]))
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-karpenter-nodeclass",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": "default"},
            spec={
                "role": node_role.name,
                "amiSelectorTerms": [{"alias": "al2023@latest"}],
                "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": name}}],
                "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": name}}],
                "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True}}
                ],
                "tags": self.tags(**{f"kubernetes.io/cluster/{name}": "owned"}),
            },
            opts=cr,
        )
        made: list[pulumi.Resource] = [crds, chart, node_class]
        for pool in (p for p in self.aws_spec.node_pools if p.role != "system"):
            made.append(self._karpenter_pool(pool, cr, node_class))
        return made

    def _karpenter_pool(
        self, pool: NodePool, opts: pulumi.ResourceOptions, node_class: pulumi.Resource
    ) -> pulumi.Resource:
        cpus = pool.max * max(VCPUS.get(t, 4) for t in pool.instance_types)
        requirements: list[dict[str, Any]] = [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot" if pool.spot else "on-demand"]},
        ]
        if pool.zones:
            requirements.append({"key": "topology.kubernetes.io/zone", "operator": "In", "values": list(pool.zones)})
        return k8s.apiextensions.CustomResource(
            f"{self.spec.name}-karpenter-{pool.name}",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": pool.name},
            spec={
                "template": {
                    "metadata": {"labels": {**pool.labels, "orquestra.io/pool": pool.name}},
                    "spec": {
                        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                        "requirements": requirements,
                        "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
                        "expireAfter": "720h",
                    },
                },
                # `max` nodes of the largest type listed: the pool's ceiling, as for a node group.
                "limits": {"cpu": str(cpus)},
                "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"},
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[node_class])),
        )
