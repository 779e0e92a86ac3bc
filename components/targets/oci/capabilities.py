"""How an OKE cluster does what the workloads layer asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.oci import OciCluster

# Annotations of the OCI cloud controller for a Service of type LoadBalancer
# (https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengcreatingloadbalancer_topic-Summaryofannotations.htm):
# a flexible shape between 10 and 100 Mbps, and security rules left to the subnets' own lists, which
# network.py writes, instead of the controller rewriting them.
LB_FLEXIBLE: dict[str, str] = {
    "oci.oraclecloud.com/load-balancer-type": "lb",
    "service.beta.kubernetes.io/oci-load-balancer-shape": "flexible",
    "service.beta.kubernetes.io/oci-load-balancer-shape-flex-min": "10",
    "service.beta.kubernetes.io/oci-load-balancer-shape-flex-max": "100",
    "service.beta.kubernetes.io/oci-load-balancer-security-list-management-mode": "None",
}
LB_INTERNAL = "service.beta.kubernetes.io/oci-load-balancer-internal"
STORAGE_CLASS = "oci-bv"
"""OKE's CSI block volume class, which every cluster has
(https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengcreatingpersistentvolumeclaim_topic-Provisioning_PVCs_on_BV.htm)."""


def of(c: OciCluster) -> Capabilities:
    """OCI load balancers, the OKE cluster-autoscaler add-on, block volumes, OKE workload identity."""
    return Capabilities(
        load_balancer="cloud",
        node_autoscaler="cluster-autoscaler" if c.autoscaler is not None else "none",
        # The add-on runs it; the workloads layer installs no chart of its own.
        node_autoscaler_installed=True,
        default_storage_class=STORAGE_CLASS,
        pod_identity="oke-workload-identity",
        zones=c.availability_domains,
        region=c.spec.region,
        lb_annotations_public=dict(LB_FLEXIBLE),
        lb_annotations_internal={**LB_FLEXIBLE, LB_INTERNAL: "true"},
        # external-dns's `oci` provider reads its credentials from a config file Secret
        # (external-dns docs/tutorials/oci.md), which the platform layer does not write: no external-dns here.
        external_dns_provider="",
    )
