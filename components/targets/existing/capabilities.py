"""What a cluster you already run offers the workloads layer: what its spec says, no autoscaler, no cloud identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.existing import ExistingCluster


def of(c: ExistingCluster) -> Capabilities:
    """Its nodes are not managed here, and pods get no cloud identity; the rest is as the spec describes it."""
    spec = c.spec
    return Capabilities(
        load_balancer=spec.load_balancer,
        node_autoscaler="none",
        default_storage_class=spec.storage_class,
        pod_identity="none",
        zones=tuple(spec.zones),
        metallb_pool=tuple(spec.load_balancer_pool),
        metrics_server_args=("--kubelet-insecure-tls",) if spec.self_signed_kubelet else (),
    )
