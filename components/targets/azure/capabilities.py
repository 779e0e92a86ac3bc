"""How an AKS cluster does what the workloads layer asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster


def of(c: AzureCluster) -> Capabilities:
    """Azure load balancers, the AKS autoscaler, managed-csi disks, Azure Workload Identity."""
    return Capabilities(
        load_balancer="cloud",
        node_autoscaler="cloud",
        default_storage_class="managed-csi",
        pod_identity="azure-workload-identity",
        zones=c.zones,
        region=c.spec.region,
        # AKS deploys metrics-server in kube-system on every cluster (1.10 and later) and manages it as an add-on.
        # Source: https://learn.microsoft.com/azure/aks/tutorial-kubernetes-scale (Metrics Server)
        managed_services=frozenset({"metrics-server"}),
        lb_annotations_public={},
        lb_annotations_internal={"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
        acme_dns01=c.acme_dns01,
        cert_manager_values=c.cert_manager_values,
    )
