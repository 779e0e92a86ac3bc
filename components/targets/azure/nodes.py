"""Where pods run: autoscaled VM scale set pools, each a standalone AgentPool but the inline system pool.

AKS refuses in-place changes to a pool's VM size, disk, zones or spot setting, so
a standalone pool's AKS name embeds a hash of them: changing one creates the new
pool before the old one is drained and deleted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import containerservice

from components.ignores import ignored
from components.spec import NodePool

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster

CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly=true:NoSchedule"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
"""AKS puts this taint on every spot node; declaring it too keeps the pool's inputs in line with Azure."""

# Node counts belong to the cluster autoscaler; Pulumi must never reset them.
POOL_IGNORE = ignored("azure-native:containerservice:AgentPool")


def pool_hash(pool: NodePool, zones: Sequence[str]) -> str:
    """Four hex digits over what AKS cannot change in place on an existing pool."""
    immutable = "|".join(
        [pool.instance_types[0] if pool.instance_types else "", str(pool.disk_size_gb), ",".join(zones), str(pool.spot)]
    )
    return hashlib.sha256(immutable.encode()).hexdigest()[:4]


def pool_name(pool: NodePool, zones: Sequence[str]) -> str:
    """AKS pool names are 1-12 lowercase letters and digits; eight from the spec, four from the hash."""
    return re.sub(r"[^a-z0-9]", "", pool.name)[:8] + pool_hash(pool, zones)


def zones_of(c: AzureCluster, pool: NodePool) -> list[str]:
    return list(pool.zones) or list(c.zones)


def pool_args(c: AzureCluster, pool: NodePool, subnet_id: pulumi.Input[str], *, inline: bool) -> dict[str, Any]:
    """Arguments shared by the inline profile and standalone pools; autoscaler on, count left to it."""
    taints = [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in pool.taints]
    if pool.role == "system" and CRITICAL_ADDONS_TAINT not in taints:
        taints.insert(0, CRITICAL_ADDONS_TAINT)
    args: dict[str, Any] = {
        "mode": "System" if pool.role == "system" else "User",
        "vm_size": pool.instance_types[0],
        "os_type": "Linux",
        "os_sku": "AzureLinux",
        "os_disk_size_gb": pool.disk_size_gb,
        "os_disk_type": "Managed",
        # Temp disks and OS/data disk caches encrypted on the host too (no numbered CIS item: CIS Azure
        # Foundations v2.1.0 7.3 asks for customer-managed keys on OS and data disks, an exception in
        # docs/targets/azure.md; policy rule aks-encryption-at-host); the subscription needs the feature
        # Microsoft.Compute/EncryptionAtHost registered. https://learn.microsoft.com/azure/aks/enable-host-encryption
        "enable_encryption_at_host": True,
        "type": "VirtualMachineScaleSets",
        "vnet_subnet_id": subnet_id,
        "orchestrator_version": c.spec.kubernetes_version,
        "enable_auto_scaling": True,
        "min_count": pool.min,
        "max_count": pool.max,
        "count": max(pool.min, 1) if pool.role == "system" else pool.min,
        "node_labels": dict(pool.labels),
        "node_taints": taints,
        "max_pods": 110,
        "tags": c.tags(**{"orquestra-pool": pool.name}),
    }
    zones = zones_of(c, pool)
    if zones:
        args["availability_zones"] = zones
    if pool.spot:
        if SPOT_TAINT not in taints:
            taints.append(SPOT_TAINT)
        # No upgrade settings: AKS refuses max surge on spot pools (400 "Spot pools can't set max surge").
        args.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
    else:
        args["upgrade_settings"] = {"max_surge": "33%"}
    if inline:
        # Creation-only in AKS: a changed name here would be refused, so this one stays stable.
        args["name"] = re.sub(r"[^a-z0-9]", "", pool.name)[:12]
    return args


def build(
    c: AzureCluster, cluster: containerservice.ManagedCluster, subnet_id: pulumi.Input[str]
) -> list[containerservice.AgentPool]:
    """Every pool but the first system pool, which the cluster holds inline."""
    spec, name, rg = c.spec, c.spec.name, c.resource_group.name
    inline = next(p for p in spec.node_pools if p.role == "system")
    standalone = [p for p in spec.node_pools if p is not inline]
    pools = [
        containerservice.AgentPool(
            f"{name}-{pool.name}",
            agent_pool_name=pool_name(pool, zones_of(c, pool)),
            resource_name_=cluster.name,
            resource_group_name=rg,
            **{
                **pool_args(c, pool, subnet_id, inline=False),
                # The cluster's version output, not the spec's string: Pulumi then cannot move a pool to a
                # new minor before the control plane has moved (AKS refuses a pool newer than its cluster).
                "orchestrator_version": cluster.kubernetes_version,
            },
            opts=c.child_opts(ignore_changes=POOL_IGNORE, delete_before_replace=False),
        )
        for pool in standalone
    ]
    return pools
