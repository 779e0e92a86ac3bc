"""How a DOKS cluster does what the workloads layer asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.digitalocean import DigitalOceanCluster

# Load balancer size units (each unit is a fixed slice of connections and throughput).
LB_SIZE_UNITS: Mapping[str, str] = {"dev": "1", "staging": "1", "prod": "2"}
LB = "service.beta.kubernetes.io/do-loadbalancer-"


def of(c: DigitalOceanCluster) -> Capabilities:
    """How workloads meet DigitalOcean.

    Every `LoadBalancer` Service becomes a DigitalOcean Load Balancer. An
    internal one is a regional load balancer on the VPC only
    (`do-loadbalancer-network: INTERNAL`), reachable from droplets and peered
    VPCs, not from the internet; it cannot be switched to public later. PROXY
    protocol stays off: it would break a gateway not configured to expect it.
    """
    name = c.spec.name
    common = {f"{LB}size-unit": LB_SIZE_UNITS[c.environment]}
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
        region=c.spec.region,
        # DOKS runs no metrics-server of its own (it is a Marketplace 1-Click app); the platform installs it.
        # Source: https://docs.digitalocean.com/products/marketplace/catalog/kubernetes-metrics-server/
    )
