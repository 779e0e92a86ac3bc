"""DigitalOcean Kubernetes (DOKS): a VPC, the cluster with its node pools, and an optional registry.

DOKS differs from the hyperscalers in ways that shape this module:

- the API endpoint is always public; access is narrowed by the control-plane
  firewall to `apiAccess.publicCidrs` (never the world), so `apiAccess.private`
  cannot be honoured and is rejected by `check`;
- regions have no zones, and a pool has exactly one droplet size;
- the node autoscaler is DigitalOcean's own: each pool sets `auto_scale` with
  min/max and Pulumi ignores the node count from then on;
- the kubeconfig DigitalOcean returns carries a token that expires after seven
  days, so the published kubeconfig authenticates with `doctl` instead (see
  `kubeconfig.py`).
"""

from __future__ import annotations

import ipaddress

import pulumi

from components.cluster import Capabilities, KubernetesCluster
from components.spec import DigitalOceanSpec, Environment, Problem
from components.targets.digitalocean import capabilities, control_plane, kubeconfig, network, nodes
from components.targets.digitalocean.control_plane import WINDOW_HOURS
from components.targets.digitalocean.tags import do_tags


class DigitalOceanCluster(KubernetesCluster[DigitalOceanSpec]):
    """A DOKS cluster in its own VPC, sized and locked down per environment.

    The cluster version is resolved from `getKubernetesVersions` by the spec's
    minor (`1.34.` -> the newest `1.34.x-do.y`). The minor is pinned by the spec;
    the patch follows DigitalOcean. With `autoUpgrade` DigitalOcean applies new
    patches in the maintenance window, and the next `pulumi up` resolves the same
    slug, so there is no diff. If a patch is published and `pulumi up` runs
    before the window, the plan shows an in-place `version` update (a surge
    upgrade), never a replacement, since the minor cannot move by itself.
    """

    @classmethod
    def check(cls, spec: DigitalOceanSpec) -> list[Problem]:
        """What DOKS cannot do, found before any resource is registered."""
        problems: list[Problem] = []
        if spec.api_access.private:
            problems.append(
                Problem(
                    "apiAccess.private",
                    True,
                    "false on digitalocean (DOKS has no private-only API endpoint; "
                    "restrict it with apiAccess.publicCidrs)",
                )
            )
            if not spec.api_access.public_cidrs:
                problems.append(
                    Problem("apiAccess.publicCidrs", [], "at least one CIDR for the control-plane firewall")
                )
        net = ipaddress.ip_network(spec.network.cidr)
        if not net.is_private or not 16 <= net.prefixlen <= 24:
            problems.append(Problem("network.cidr", spec.network.cidr, "a private (RFC 1918) range from /16 to /24"))
        if spec.maintenance.hours != WINDOW_HOURS:
            problems.append(
                Problem("maintenance.hours", spec.maintenance.hours, f"{WINDOW_HOURS} on digitalocean (fixed windows)")
            )
        for i, pool in enumerate(spec.node_pools):
            if len(pool.instance_types) != 1:
                problems.append(
                    Problem(f"nodePools[{i}].instanceTypes", pool.instance_types, "exactly one droplet size slug")
                )
            if pool.spot:
                problems.append(Problem(f"nodePools[{i}].spot", True, "false on digitalocean (no spot droplets)"))
            if pool.zones:
                problems.append(
                    Problem(f"nodePools[{i}].zones", pool.zones, "[] on digitalocean (regions have no zones)")
                )
        if spec.platform.dns.zone and spec.dns_token is None:
            problems.append(
                Problem(
                    "dnsToken",
                    None,
                    f"a DigitalOcean API token that may edit the domain {spec.platform.dns.zone} (platform.dns.zone), "
                    "set with pulumi config set --secret --path",
                )
            )
        if not spec.node_pools:
            problems.append(Problem("nodePools", [], "at least one pool (the first is the cluster's default pool)"))
        elif spec.node_pools[0].min < 1:
            problems.append(
                Problem("nodePools[0].min", spec.node_pools[0].min, "an integer >= 1 for the default (first) pool")
            )
        return problems

    def __init__(
        self, spec: DigitalOceanSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(spec, environment, opts)
        tags = do_tags(self.tags())
        self.vpc = network.build(self)
        self.version = control_plane.version(self)
        self.registry = control_plane.registry(self)
        self.cluster = control_plane.build(self, self.vpc, self.version, self.registry, tags)
        self.node_pools = nodes.build(self, self.cluster, tags)

        context = f"do-{spec.region}-{spec.name}"
        config = pulumi.Output.all(self.cluster.endpoint, self.cluster.kube_configs, self.cluster.id).apply(
            lambda a: kubeconfig.render(context, str(a[0]), kubeconfig.ca(a[1]), str(a[2]))
        )

        self._publish(
            kubeconfig=config,
            endpoint=self.cluster.endpoint,
            cluster_name=self.cluster.name,
            kubernetes_version=spec.kubernetes_version,
            ready=[self.cluster, *self.node_pools],
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)
