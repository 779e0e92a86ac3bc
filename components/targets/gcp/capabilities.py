"""How a GKE cluster does what the workloads layer asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster


def of(c: GcpCluster) -> Capabilities:
    """Cloud load balancers, GKE's autoscaler, standard-rwo disks, Workload Identity, Cloud DNS."""
    return Capabilities(
        load_balancer="cloud",
        node_autoscaler="cloud",
        default_storage_class="standard-rwo",
        pod_identity="gke-workload-identity",
        zones=c.zones,
        region=c.spec.region,
        # Backend-service based external passthrough LB (the current GKE generation).
        lb_annotations_public={"cloud.google.com/l4-rbs": "enabled"},
        lb_annotations_internal={"networking.gke.io/load-balancer-type": "Internal"},
        # GKE runs metrics-server in kube-system on every cluster and its addon manager keeps reconciling it.
        # Source: https://cloud.google.com/kubernetes-engine/docs/concepts/horizontalpodautoscaler
        # ("GKE ... metrics-server"; the `metrics-server-v*` Deployment in kube-system).
        managed_services=frozenset({"metrics-server"}),
        external_dns_provider="google",
        external_dns_values=c.external_dns_values,
        acme_dns01=c.acme_dns01,
        cert_manager_values=c.cert_manager_values,
    )
