"""Where pods run: one GKE node pool per spec pool, sized by GKE's own autoscaler."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi_gcp as gcp

from components.cluster import TAINT_EFFECTS
from components.ignores import ignored
from components.spec import NodePool as NodePoolSpec

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def node_pool(
    c: GcpCluster,
    pool: NodePoolSpec,
    cluster: gcp.container.Cluster,
    node_sa: gcp.serviceaccount.Account,
    cluster_zones: Sequence[str],
    resource_labels: Mapping[str, str],
) -> gcp.container.NodePool:
    """One GKE node pool; the cluster autoscaler owns its size between the pool's min and max (totals)."""
    zones = list(pool.zones) or list(cluster_zones)
    node_labels = {**pool.labels, "orquestra.io/pool": pool.name, "orquestra.io/role": pool.role}
    taints = [
        gcp.container.NodePoolNodeConfigTaintArgs(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect])
        for t in pool.taints
    ]
    node_config: dict[str, Any] = {
        "machine_type": pool.instance_types[0],
        "disk_size_gb": pool.disk_size_gb,
        "disk_type": "pd-balanced",
        "image_type": "COS_CONTAINERD",
        "spot": pool.spot,
        "service_account": node_sa.email,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "labels": node_labels,
        "resource_labels": {**resource_labels, "orquestra-pool": pool.name},
        "taints": taints,
        "metadata": {"disable-legacy-endpoints": "true"},
        "shielded_instance_config": gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        "workload_metadata_config": gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
    }
    return gcp.container.NodePool(
        f"{c.spec.name}-{pool.name}",
        project=c.project,
        cluster=cluster.name,
        location=cluster.location,
        name=pool.name,
        node_locations=zones,
        # Per zone, at creation only: afterwards the autoscaler decides.
        initial_node_count=math.ceil(pool.min / len(zones)),
        ignore_node_count_changes=True,
        autoscaling=gcp.container.NodePoolAutoscalingArgs(
            total_min_node_count=pool.min,
            total_max_node_count=pool.max,
            # Spot capacity is wherever it is; on-demand pools stay spread across zones.
            location_policy="ANY" if pool.spot else "BALANCED",
        ),
        management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=1, max_unavailable=0),
        node_config=gcp.container.NodePoolNodeConfigArgs(**node_config),
        opts=c.child_opts(ignore_changes=ignored("gcp:container/nodePool:NodePool")),
    )
