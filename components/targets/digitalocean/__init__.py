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
  `doctl_kubeconfig`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_digitalocean as do

from components.cluster import Capabilities, KubernetesCluster, exec_kubeconfig
from components.spec import DigitalOceanSpec, Environment, NodePool, Problem

# DigitalOcean tags: letters, digits, colons, dashes and underscores, at most 255 characters.
_TAG_INVALID = re.compile(r"[^A-Za-z0-9:_-]")
# Regions that host container registries; elsewhere DigitalOcean picks the nearest one.
REGISTRY_REGIONS = frozenset({"nyc3", "sfo3", "ams3", "sgp1", "fra1", "syd1"})
REGISTRY_TIER: Mapping[str, str] = {"dev": "basic", "staging": "basic", "prod": "professional"}
# DOKS maintenance windows last a fixed four hours; the provider reports the duration, it cannot be set.
WINDOW_HOURS = 4
# Load balancer size units (each unit is a fixed slice of connections and throughput).
LB_SIZE_UNITS: Mapping[str, str] = {"dev": "1", "staging": "1", "prod": "2"}
LB = "service.beta.kubernetes.io/do-loadbalancer-"


def do_tags(tags: Mapping[str, str]) -> list[str]:
    """Key/value tags as DigitalOcean tag names (`key:value`), which are plain strings with a narrow alphabet."""
    return sorted({_TAG_INVALID.sub("-", f"{key}:{value}" if value else key)[:255] for key, value in tags.items()})


def doctl_kubeconfig(name: str, endpoint: str, ca_certificate: str, cluster_id: str) -> str:
    """A kubeconfig whose credential `doctl` mints on every use, so it never goes stale.

    `kube_configs[0].raw_config` embeds a bearer token that DigitalOcean expires
    after seven days (`kubeconfig_expire_seconds` only trades that for a longer
    lived admin token stored in state). The provider renews it only on `pulumi
    refresh`, so a plan a week later would talk to the cluster with a dead
    token. Exec auth keeps nothing secret in the file: `doctl kubernetes cluster
    kubeconfig exec-credential` asks the API for a short-lived token with the
    DigitalOcean token already in the environment (`DIGITALOCEAN_ACCESS_TOKEN`,
    which both doctl and the Pulumi provider read). It is still published as a
    secret, as the contract requires.
    """
    args = ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", cluster_id]
    exec_ = {"command": "doctl", "args": args, "interactiveMode": "Never", "provideClusterInfo": False}
    return exec_kubeconfig(name, endpoint, ca_certificate, exec_, user=f"{name}-admin")


def _ca(kube_configs: Sequence[Any]) -> str:
    """The cluster CA from `kube_configs[0]`, which arrives untyped (camelCase keys) through `Output.all`."""
    first = kube_configs[0]
    value = first.get("clusterCaCertificate") or first.get("cluster_ca_certificate")
    return str(value)


def _pick_version(prefix: str, latest: str | None, valid: Sequence[str] | None) -> str:
    matching = [v for v in valid or [] if v.startswith(prefix)]
    if latest and latest.startswith(prefix):
        return latest
    if matching:
        return matching[0]
    raise ValueError(f"DigitalOcean offers no Kubernetes {prefix}x release in this account; pick a supported minor")


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

        self.vpc = do.Vpc(
            f"{spec.name}-vpc",
            name=f"{spec.name}-vpc",
            region=spec.region,
            ip_range=spec.network.cidr,
            description=f"orquestra cluster {spec.name} ({environment})",
            opts=self.child_opts(),
        )

        prefix = f"{spec.kubernetes_version}."
        versions = do.get_kubernetes_versions_output(
            version_prefix=prefix, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.version = versions.apply(lambda r: _pick_version(prefix, r.latest_version, r.valid_versions))

        self.registry: do.ContainerRegistry | None = None
        if spec.registry:
            self.registry = do.ContainerRegistry(
                f"{spec.name}-registry",
                name=f"{spec.name}-registry",
                subscription_tier_slug=REGISTRY_TIER[environment],
                region=spec.region if spec.region in REGISTRY_REGIONS else None,
                opts=self.child_opts(stateful=True),
            )

        default, *extra = spec.node_pools
        self.cluster = do.KubernetesCluster(
            spec.name,
            name=spec.name,
            region=spec.region,
            version=self.version,
            vpc_uuid=self.vpc.id,
            cluster_subnet=spec.network.pod_cidr,
            service_subnet=spec.network.service_cidr,
            ha=spec.ha,
            auto_upgrade=spec.auto_upgrade,
            surge_upgrade=spec.surge_upgrade,
            maintenance_policy=do.KubernetesClusterMaintenancePolicyArgs(
                day=spec.maintenance.day, start_time=spec.maintenance.start
            ),
            control_plane_firewall=do.KubernetesClusterControlPlaneFirewallArgs(
                enabled=True, allowed_addresses=list(spec.api_access.public_cidrs)
            ),
            registry_integration=spec.registry,
            # `pulumi destroy` also removes the load balancers and volumes Kubernetes created.
            destroy_all_associated_resources=True,
            tags=tags,
            node_pool=do.KubernetesClusterNodePoolArgs(**self._pool_args(default, tags)),
            opts=self.child_opts(
                stateful=True,
                ignore_changes=["nodePool.nodeCount"],
                depends_on=[self.registry] if self.registry else [],
            ),
        )

        self.node_pools: list[do.KubernetesNodePool] = [
            do.KubernetesNodePool(
                f"{spec.name}-{pool.name}",
                cluster_id=self.cluster.id,
                **self._pool_args(pool, tags),
                opts=self.child_opts(ignore_changes=["nodeCount"]),
            )
            for pool in extra
        ]

        context = f"do-{spec.region}-{spec.name}"
        kubeconfig = pulumi.Output.all(self.cluster.endpoint, self.cluster.kube_configs, self.cluster.id).apply(
            lambda a: doctl_kubeconfig(context, str(a[0]), _ca(a[1]), str(a[2]))
        )

        self._publish(
            kubeconfig=kubeconfig,
            endpoint=self.cluster.endpoint,
            cluster_name=self.cluster.name,
            kubernetes_version=spec.kubernetes_version,
            ready=[self.cluster, *self.node_pools],
        )

    def _pool_args(self, pool: NodePool, tags: list[str]) -> dict[str, Any]:
        """Arguments shared by the default pool block and `KubernetesNodePool`.

        `node_count` starts at `min`; after creation the autoscaler owns it, which
        is why both resources ignore changes to it.
        """
        return {
            "name": pool.name,
            "size": pool.instance_types[0],
            "auto_scale": True,
            "min_nodes": pool.min,
            "max_nodes": pool.max,
            "node_count": pool.min,
            "labels": {**pool.labels, "orquestra.io/pool": pool.name, "orquestra.io/role": pool.role},
            "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
            "tags": sorted({*tags, *do_tags({"orquestra-pool": pool.name})}),
        }

    def capabilities(self) -> Capabilities:
        """How workloads meet DigitalOcean.

        Every `LoadBalancer` Service becomes a DigitalOcean Load Balancer. An
        internal one is a regional load balancer on the VPC only
        (`do-loadbalancer-network: INTERNAL`), reachable from droplets and peered
        VPCs, not from the internet; it cannot be switched to public later. PROXY
        protocol stays off: it would break a gateway not configured to expect it.
        """
        name = self.spec.name
        common = {f"{LB}size-unit": LB_SIZE_UNITS[self.environment]}
        return Capabilities(
            load_balancer="cloud",
            node_autoscaler="cloud",
            default_storage_class="do-block-storage",
            pod_identity="none",
            zones=(),
            lb_annotations_public={
                **common,
                f"{LB}name": f"{name}-public",
                f"{LB}disable-lets-encrypt-dns-records": "true",
            },
            lb_annotations_internal={
                **common,
                f"{LB}name": f"{name}-internal",
                f"{LB}network": "INTERNAL",
            },
            region=self.spec.region,
        )
