"""The DOKS control plane: its version, the container registry it pulls from, and the cluster with its first pool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_digitalocean as do

from components.ignores import ignored
from components.targets.digitalocean import nodes

if TYPE_CHECKING:
    from components.targets.digitalocean import DigitalOceanCluster

# Regions that host container registries; elsewhere DigitalOcean picks the nearest one.
REGISTRY_REGIONS = frozenset({"nyc3", "sfo3", "ams3", "sgp1", "fra1", "syd1"})
REGISTRY_TIER: Mapping[str, str] = {"dev": "basic", "staging": "basic", "prod": "professional"}
# DOKS maintenance windows last a fixed four hours; the provider reports the duration, it cannot be set.
WINDOW_HOURS = 4


def pick_version(prefix: str, latest: str | None, valid: Sequence[str] | None) -> str:
    matching = [v for v in valid or [] if v.startswith(prefix)]
    if latest and latest.startswith(prefix):
        return latest
    if matching:
        return matching[0]
    raise ValueError(f"DigitalOcean offers no Kubernetes {prefix}x release in this account; pick a supported minor")


def version(c: DigitalOceanCluster) -> pulumi.Output[str]:
    """The newest `1.x.y-do.z` of the spec's minor that DigitalOcean offers (`getKubernetesVersions`)."""
    prefix = f"{c.spec.kubernetes_version}."
    versions = do.get_kubernetes_versions_output(version_prefix=prefix, opts=pulumi.InvokeOutputOptions(parent=c))
    return versions.apply(lambda r: pick_version(prefix, r.latest_version, r.valid_versions))


def registry(c: DigitalOceanCluster) -> do.ContainerRegistry | None:
    """The account's container registry when the spec asks for one (DigitalOcean allows one per account)."""
    spec = c.spec
    if not spec.registry:
        return None
    return do.ContainerRegistry(
        f"{spec.name}-registry",
        name=f"{spec.name}-registry",
        subscription_tier_slug=REGISTRY_TIER[c.environment],
        region=spec.region if spec.region in REGISTRY_REGIONS else None,
        opts=c.child_opts(stateful=True),
    )


def build(
    c: DigitalOceanCluster,
    vpc: do.Vpc,
    version: pulumi.Input[str],
    registry: do.ContainerRegistry | None,
    tags: Sequence[str],
) -> do.KubernetesCluster:
    """The cluster: HA control plane in prod, surge and automatic patch upgrades, a firewall on the API."""
    spec = c.spec
    default = spec.node_pools[0]
    return do.KubernetesCluster(
        spec.name,
        name=spec.name,
        region=spec.region,
        version=version,
        vpc_uuid=vpc.id,
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
        tags=list(tags),
        node_pool=do.KubernetesClusterNodePoolArgs(**nodes.pool_args(c, default, list(tags))),
        opts=c.child_opts(
            stateful=True,
            ignore_changes=ignored("digitalocean:index/kubernetesCluster:KubernetesCluster"),
            depends_on=[registry] if registry else [],
        ),
    )
