"""How an on-prem k3s cluster does what the workloads layer asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.onprem import OnpremCluster


def of(c: OnpremCluster) -> Capabilities:
    """MetalLB on the site's network, no node autoscaler, k3s's local-path volumes, no cloud identity."""
    spec = c.spec
    return Capabilities(
        load_balancer="metallb",
        metallb_pool=tuple(spec.load_balancer_pool),
        # k3s ships the local-path provisioner and marks it default.
        default_storage_class="local-path",
        node_autoscaler="none",
        pod_identity="none",
        # Kubelets serve certificates from k3s's own CA, which metrics-server does not trust.
        metrics_server_args=("--kubelet-insecure-tls",),
    )
