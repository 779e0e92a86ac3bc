"""A production OKE cluster: its own VCN, a private API endpoint, Vault-encrypted secrets, autoscaled pools.

Everything the cluster needs is created here and parented to the component: the VCN with private
worker and API subnets, NAT and service gateways and NSGs admitting only what OKE needs (or a VCN
the stack brings), the Vault key for Kubernetes Secrets and the policy that lets OKE use it, the
enhanced cluster itself, one node pool per spec pool over the region's availability and fault
domains, and OKE's cluster-autoscaler add-on, which owns the pools' sizes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import pulumi
import pulumi_oci.containerengine as containerengine
import pulumi_oci.identity as oci_identity

from components.cluster import Capabilities, KubernetesCluster
from components.spec import Environment, OciSpec, Problem
from components.targets.oci import capabilities, control_plane, identity, kubeconfig, network, nodes


class OciCluster(KubernetesCluster[OciSpec]):
    @classmethod
    def check(cls, spec: OciSpec) -> list[Problem]:
        """OKE's own rules on the spec, found before any resource is registered."""
        problems: list[Problem] = []
        net = ipaddress.ip_network(spec.network.cidr)
        # A VCN CIDR is /16 to /30 (https://docs.oracle.com/en-us/iaas/Content/Network/Concepts/overview.htm);
        # the cluster's subnets need room for a /28 API subnet beside workers and load balancers.
        if spec.existing_vcn is None and not (net.version == 4 and 16 <= net.prefixlen <= 24):
            problems.append(Problem("network.cidr", spec.network.cidr, "an IPv4 range from /16 to /24 on oci"))
        for i, pool in enumerate(spec.node_pools):
            if len(pool.instance_types) != 1:
                problems.append(
                    Problem(f"nodePools[{i}].instanceTypes", pool.instance_types, "exactly one shape on oci")
                )
            if pool.disk_size_gb < nodes.MIN_BOOT_VOLUME_GB:
                problems.append(
                    Problem(
                        f"nodePools[{i}].diskSizeGb",
                        pool.disk_size_gb,
                        f"an integer >= {nodes.MIN_BOOT_VOLUME_GB} on oci (the smallest boot volume)",
                    )
                )
            for j, ad in enumerate(pool.zones):
                if f":{spec.region.upper()}-AD-" not in ad:
                    problems.append(
                        Problem(
                            f"nodePools[{i}].zones[{j}]",
                            ad,
                            f"an availability domain of {spec.region}, e.g. Uocm:{spec.region.upper()}-AD-1",
                        )
                    )
            if pool.name in spec.pool_shapes and not nodes.is_flex(pool.instance_types[0]):
                problems.append(Problem(f"poolShapes.{pool.name}", pool.name, "a pool on a flexible (.Flex) shape"))
        return problems

    def __init__(self, spec: OciSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(spec, environment, opts)
        name = spec.name
        domains = sorted(
            ad.name
            for ad in oci_identity.get_availability_domains(
                compartment_id=spec.compartment_id, opts=pulumi.InvokeOptions(parent=self)
            ).availability_domains
        )
        self.availability_domains = tuple(domains[: spec.network.zones])

        net = network.existing(self) if spec.existing_vcn else network.build(self)
        self.network = net
        version = control_plane.version(self)
        key_id, grants = control_plane.secrets_key(self)
        cluster = control_plane.build(self, net, version, key_id, grants)
        self.cluster = cluster

        pools = [(pool, nodes.node_pool(self, pool, cluster, net, version)) for pool in spec.node_pools]
        self.autoscaler = nodes.autoscaler(self, cluster, pools) if spec.platform.node_autoscaler and pools else None

        private = spec.api_access.private
        generated = containerengine.get_cluster_kube_config_output(
            cluster_id=cluster.id,
            token_version="2.0.0",
            endpoint="PRIVATE_ENDPOINT" if private else "PUBLIC_ENDPOINT",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        endpoint = cluster.endpoints.apply(
            lambda e: str(e[0].private_endpoint if private else e[0].public_endpoint) if e else ""
        )
        config = pulumi.Output.all(endpoint, generated.content, cluster.id).apply(
            lambda args: kubeconfig.render(
                f"oke-{spec.region}-{name}", str(args[0]), kubeconfig.ca_of(str(args[1])), str(args[2]), spec.region
            )
        )
        self._publish(
            kubeconfig=pulumi.Output.secret(config),
            endpoint=endpoint.apply(lambda e: f"https://{e}"),
            cluster_name=cluster.name,
            kubernetes_version=spec.kubernetes_version,
            nodes=[p for _, p in pools],
            ready=[p for _, p in pools] + ([self.autoscaler] if self.autoscaler else []),
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """OKE workload identity: nothing to create; policies name the ServiceAccount (`identity.principal`)."""
        return identity.workload_identity(namespace, service_account)
