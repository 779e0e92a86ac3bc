"""A production GKE Standard cluster: VPC-native network, private nodes, KMS-encrypted secrets.

Everything the cluster needs is created here and parented to the component, so
one stack owns one cluster end to end: the VPC and its NAT, the KMS key that
encrypts Kubernetes Secrets in etcd, a least-privilege node identity, the
cluster itself (regional in prod, zonal in dev) and one node pool per spec pool,
sized by GKE's own autoscaler.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

import pulumi
import pulumi_gcp as gcp

from components.cluster import Capabilities, KubernetesCluster
from components.spec import Environment, GcpSpec, Problem
from components.targets.gcp import capabilities, control_plane, deployer, identity, kubeconfig, network, nodes
from components.targets.gcp.control_plane import MIN_MAINTENANCE_HOURS


class GcpCluster(KubernetesCluster[GcpSpec]):
    @classmethod
    def check(cls, spec: GcpSpec) -> list[Problem]:
        """GKE's own rules on the spec, found before any resource is registered."""
        problems: list[Problem] = []
        if spec.maintenance.hours < MIN_MAINTENANCE_HOURS:
            problems.append(
                Problem(
                    "maintenance.hours",
                    spec.maintenance.hours,
                    f"an integer >= {MIN_MAINTENANCE_HOURS} on gcp "
                    "(GKE needs 48 h of maintenance availability in any 32 days)",
                )
            )
        if spec.deployer is not None and spec.deployer.hub is not None and "master_cidr" in spec.model_fields_set:
            problems.append(
                Problem(
                    "masterCidr",
                    spec.master_cidr,
                    "unset with deployer.hub: the control plane is then a Private Service Connect one, "
                    "with its endpoint in the nodes' subnetwork (network.cidr)",
                )
            )
        master = ipaddress.ip_network(spec.master_cidr)
        if master.prefixlen != 28 or master.version != 4:
            problems.append(Problem("masterCidr", spec.master_cidr, "an IPv4 /28 for the GKE control plane"))
        for key, value in (
            ("network.cidr", spec.network.cidr),
            ("network.podCidr", spec.network.pod_cidr),
            ("network.serviceCidr", spec.network.service_cidr),
        ):
            if master.overlaps(ipaddress.ip_network(value)):
                problems.append(
                    Problem("masterCidr", spec.master_cidr, f"a range that does not overlap {key} ({value})")
                )
        for i, pool in enumerate(spec.node_pools):
            for j, zone in enumerate(pool.zones):
                if not re.fullmatch(rf"{re.escape(spec.region)}-[a-z]", zone):
                    problems.append(
                        Problem(f"nodePools[{i}].zones[{j}]", zone, f"a zone of {spec.region}, e.g. {spec.region}-b")
                    )
        return problems

    def __init__(self, spec: GcpSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(spec, environment, opts)
        name, project, region = spec.name, spec.project, spec.region
        self.project = project
        self.workload_pool = f"{project}.svc.id.goog"
        resource_labels = control_plane.labels(self.tags())

        available = sorted(gcp.compute.get_zones(project=project, region=region, status="UP").names)
        zones = available[: spec.network.zones] if spec.regional else available[:1]
        location = region if spec.regional else zones[0]
        self.zones = tuple(zones)

        apis = control_plane.apis(self)
        net = network.build(self, apis)
        self.network = net
        key = control_plane.secrets_key(self, apis, resource_labels)
        node_identity = identity.nodes(self)
        policy = control_plane.binary_authorization(self, apis)
        cluster = control_plane.build(self, net, key, node_identity, zones, location, resource_labels, policy)
        self.cluster = cluster

        pools = [
            nodes.node_pool(self, pool, cluster, node_identity.account, zones, resource_labels)
            for pool in spec.node_pools
        ]
        hub = spec.deployer.hub if spec.deployer is not None else None
        # Every Kubernetes call waits for the path from the hub, where `pulumi up` runs.
        joined = deployer.join(self, hub, net) if hub is not None else []
        self.external_dns_values = identity.external_dns(self)
        self.acme_dns01, self.cert_manager_values = identity.cert_manager(self)

        context = f"gke_{project}_{location}_{name}"
        config = pulumi.Output.all(cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
            lambda args: kubeconfig.render(context, str(args[0]), str(args[1]))
        )
        self._publish(
            kubeconfig=pulumi.Output.secret(config),
            endpoint=cluster.endpoint.apply(lambda e: f"https://{e}"),
            cluster_name=cluster.name,
            kubernetes_version=spec.kubernetes_version,
            api=joined,
            nodes=pools,
            ready=[*pools, *joined],
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """A Google service account that the Kubernetes ServiceAccount `namespace/service_account` may act as."""
        return identity.workload_identity(self, namespace, service_account, opts)
