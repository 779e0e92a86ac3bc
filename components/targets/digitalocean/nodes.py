"""Where pods run: node pools autoscaled by DigitalOcean, the first one inside the cluster resource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi_digitalocean as do

from components.ignores import ignored
from components.spec import NodePool
from components.targets.digitalocean.tags import do_tags

if TYPE_CHECKING:
    from components.targets.digitalocean import DigitalOceanCluster


def pool_args(c: DigitalOceanCluster, pool: NodePool, tags: list[str]) -> dict[str, Any]:
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


def build(c: DigitalOceanCluster, cluster: do.KubernetesCluster, tags: Sequence[str]) -> list[do.KubernetesNodePool]:
    """Every pool after the first (the cluster's default pool)."""
    spec = c.spec
    return [
        do.KubernetesNodePool(
            f"{spec.name}-{pool.name}",
            cluster_id=cluster.id,
            **pool_args(c, pool, list(tags)),
            opts=c.child_opts(ignore_changes=ignored("digitalocean:index/kubernetesNodePool:KubernetesNodePool")),
        )
        for pool in spec.node_pools[1:]
    ]
