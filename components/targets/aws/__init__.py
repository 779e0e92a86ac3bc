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

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster import Capabilities, KubernetesCluster
from components.spec import AwsSpec, Environment, Problem
from components.targets.aws import (
    addons,
    capabilities,
    control_plane,
    deployer,
    identity,
    karpenter,
    keys,
    kubeconfig,
    lb_controller,
    network,
    nodes,
)


class AwsCluster(KubernetesCluster[AwsSpec]):
    @classmethod
    def check(cls, spec: AwsSpec) -> list[Problem]:
        """A pool's zones must be zones of the cluster's region."""
        problems = []
        for i, pool in enumerate(spec.node_pools):
            for j, zone in enumerate(pool.zones):
                if not zone.startswith(spec.region):
                    problems.append(Problem(f"nodePools[{i}].zones[{j}]", zone, f"a zone of {spec.region}"))
        problems.extend(network.check_pool_zones(spec))
        return problems

    def __init__(self, spec: AwsSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__(spec, environment, opts)
        name = spec.name
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
        self.vpn_gateway: aws.ec2.VpnGateway | None = None
        """The VPC's virtual private gateway, once a declared site links to this cluster (`vpn.py`)."""
        self.zone_ids: dict[str, str] = {}
        """Public hosted zone ids by name, looked up once (`identity.public_zone_id`)."""
        available = aws.get_availability_zones(state="available", opts=invoke).names
        self.zones = network.cluster_zones([z for p in spec.node_pools for z in p.zones], available, spec.network.zones)

        self.key_admins = keys.administrators(self)
        logs_key = keys.key(
            self,
            "logs",
            f"alias/eks/{name}/logs",
            f"Encryption of the control-plane and VPC flow logs of EKS cluster {name}",
            keys.logs_policy(
                self,
                self.key_admins,
                [
                    keys.log_group_arn(self, g.format(name=name))
                    for g in (control_plane.CONTROL_PLANE_LOG_GROUP, network.FLOW_LOG_GROUP)
                ],
            ),
        )
        self.network = network.build(self, logs_key)
        self.cluster = control_plane.build(self, self.network, logs_key)
        for arn in spec.admin_role_arns:
            control_plane.admin(self, arn)
        if spec.pod_identity == "irsa":
            self.oidc = identity.oidc_provider(self)

        node_role = identity.role(self, f"{name}-node", "ec2.amazonaws.com", nodes.NODE_POLICIES)
        self.node_role = node_role
        base_addons = addons.before_nodes(self)
        use_karpenter = spec.node_autoscaler == "karpenter"
        groups = [
            nodes.node_group(self, pool, node_role, base_addons, use_karpenter) for pool in nodes.managed_pools(self)
        ]
        self.node_groups = groups
        ha = environment != "dev"
        # A pod runs once a node has joined with its networking (vpc-cni, kube-proxy); the cluster DNS and
        # the storage driver come after the nodes and gate only what resolves names or claims volumes.
        pods_run: list[pulumi.Resource] = [*groups, *base_addons]
        coredns, ebs = addons.after_nodes(self, groups, ha)
        infra_ready: list[pulumi.Resource] = [*pods_run, coredns, ebs]
        hub = spec.deployer.hub if spec.deployer is not None else None
        # Every Kubernetes call waits for the path from the hub, where `pulumi up` runs.
        joined = deployer.join(self, hub, self.network, self.cluster) if hub is not None else []
        infra_ready.extend(joined)

        endpoint = self.cluster.endpoint
        config = pulumi.Output.all(endpoint, self.cluster.certificate_authority.data).apply(
            lambda a: kubeconfig.render(name, spec.region, str(a[0]), str(a[1]))
        )
        # The identity that runs `pulumi up` created the cluster and is its admin: the API (and the path to it
        # from the hub) is all it waits for.
        provider = self._connect(config, joined)
        api_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        # The controllers resolve AWS endpoints through the VPC resolver (`dnsPolicy: Default`), so they start
        # with the nodes rather than behind coredns; the storage class waits for the driver it names.
        k8s_opts = pulumi.ResourceOptions.merge(api_opts, pulumi.ResourceOptions(depends_on=pods_run))

        in_cluster: list[pulumi.Resource] = [
            addons.gp3_storage_class(
                self, pulumi.ResourceOptions.merge(api_opts, pulumi.ResourceOptions(depends_on=[ebs]))
            ),
            lb_controller.install(self, k8s_opts, ha),
        ]
        self.autoscaler_values: dict[str, Any] = {}
        if use_karpenter:
            in_cluster.extend(karpenter.install(self, k8s_opts, ha, api_opts))
        else:
            self.autoscaler_values = nodes.cluster_autoscaler(self)
        self.dns_values = identity.external_dns(self)
        self.acme_dns01, self.cert_manager_values = identity.cert_manager(self)

        self._publish(
            endpoint=endpoint,
            cluster_name=self.cluster.name,
            kubernetes_version=self.cluster.version,
            nodes=pods_run,
            ready=[*infra_ready, *in_cluster],
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)

    def opts(self, *, stateful: bool = False, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a child that AWS creates: parented here, through this cluster's regional provider."""
        return self.child_opts(stateful=stateful, provider=self.aws, **kwargs)

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """An IAM role with no permissions yet: grant it what the workload needs, and nothing else."""
        return identity.workload_identity(self, namespace, service_account)
