"""GCP in a plan: what its resources cost a month, how long they take to create, which the diagram draws.

Prices: us-central1, on-demand, USD, late 2026 (see `preflight.estimates` for the basis).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.engine import Registration, reveal
from preflight.estimates.base import (
    HOURS_PER_MONTH,
    Context,
    Cost,
    CostModel,
    CreateTime,
    as_int,
    get_in,
    nodes_cost,
    per_hour,
    per_month,
)

GCP_MACHINE_HOURLY: Mapping[str, float] = {
    # us-central1, on-demand, USD per hour.
    "e2-medium": 0.033503,
    "e2-standard-2": 0.067006,
    "e2-standard-4": 0.134012,
    "n2-standard-2": 0.097118,
    "n2-standard-4": 0.194236,
    "n2-standard-8": 0.388472,
    "n2d-standard-2": 0.084492,
}
GKE_DEFAULT_MACHINE_TYPE = "e2-medium"
GKE_REGION_ZONES = 3
"""Zones a regional GKE cluster or node pool spreads over when no nodeLocations are given."""

GKE_CLUSTER_FEE_HOURLY = 0.10
"""Same fee for zonal and regional Standard clusters; the free-tier credit (one zonal cluster) is not deducted."""
GCP_NAT_PER_VM_HOURLY = 0.0014
GCP_NAT_MAX_HOURLY = 0.044
"""Cloud NAT bills per VM using the gateway, capped at 32 VMs."""
GCP_EXTERNAL_IP_HOURLY = 0.005
GCP_FORWARDING_RULE_HOURLY = 0.025
GCP_KMS_KEY_MONTHLY: Mapping[str, float] = {"SOFTWARE": 0.06, "HSM": 1.00}
GCP_DNS_ZONE_MONTHLY = 0.20
GCP_DNS_EXTERNAL_HEALTH_CHECK_HOURLY = 0.002739726
"""Cloud DNS health checking of an external endpoint, per health check hour: the lower ("fast") of the two external
tiers (premium $0.005479452/h) on https://cloud.google.com/dns/pricing, as listed 2026-09-20. Routing policy queries
($0.70 a million) are usage and not estimated."""
GCP_VPN_TUNNEL_HOURLY = 0.05
"""Cloud VPN bills each tunnel by the hour (https://cloud.google.com/network-connectivity/docs/vpn/pricing, us-central1;
recalled, not re-read on 2026-12-02: docs/targets/gcp.md lists it to verify). HA VPN's two tunnels per link are two
charges; traffic out through a tunnel is billed as internet egress."""

LOAD_BALANCER_MONTHLY: Mapping[str, float] = {"gcp": GCP_FORWARDING_RULE_HOURLY * HOURS_PER_MONTH}
"""What a Kubernetes `LoadBalancer` Service costs here (the cloud controller creates it)."""


def _gke_zones(inputs: Mapping[str, Any]) -> int:
    locations = get_in(inputs, "nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = get_in(inputs, "location")
    return GKE_REGION_ZONES if isinstance(location, str) and _is_gcp_region(location) else 1


def _is_gcp_region(location: str) -> bool:
    """`europe-west1` is a region, `europe-west1-b` a zone."""
    return len(location.split("-")) == 2


def _gke_pool_nodes(inputs: Mapping[str, Any]) -> int:
    """Nodes at the autoscaler's floor: GKE's min/node counts are per zone, `totalMinNodeCount` is not."""
    autoscaling = get_in(inputs, "autoscaling")
    if isinstance(autoscaling, dict):
        if autoscaling.get("totalMinNodeCount") is not None:
            return as_int(autoscaling["totalMinNodeCount"])
        if autoscaling.get("minNodeCount") is not None:
            return as_int(autoscaling["minNodeCount"]) * _gke_zones(inputs)
    per_zone = get_in(inputs, "nodeCount")
    if per_zone is None:
        per_zone = get_in(inputs, "initialNodeCount")
    return as_int(per_zone, 1) * _gke_zones(inputs)


def _gke_node_pool(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    machine = get_in(inputs, "nodeConfig", "machineType") or GKE_DEFAULT_MACHINE_TYPE
    spot = get_in(inputs, "nodeConfig", "spot") is True or get_in(inputs, "nodeConfig", "preemptible") is True
    return nodes_cost(_gke_pool_nodes(inputs), machine, GCP_MACHINE_HOURLY.get(machine), spot=spot)


def _gke_cluster(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    fee = GKE_CLUSTER_FEE_HOURLY * HOURS_PER_MONTH
    kind = "regional" if _is_gcp_region(str(get_in(inputs, "location") or "")) else "zonal"
    basis = f"{kind} cluster fee ${GKE_CLUSTER_FEE_HOURLY}/h"
    if get_in(inputs, "enableAutopilot") is True or get_in(inputs, "removeDefaultNodePool") is True:
        return Cost(fee, basis)
    # The default node pool stays: its nodes are billed like any pool's.
    machine = get_in(inputs, "nodeConfig", "machineType") or GKE_DEFAULT_MACHINE_TYPE
    count = as_int(get_in(inputs, "initialNodeCount"), 1) * _gke_zones(inputs)
    pool = nodes_cost(count, machine, GCP_MACHINE_HOURLY.get(machine))
    return Cost(fee + pool.monthly, f"{basis} + default pool {pool.basis}", pool.priced)


def _gcp_router_nat(reg: Registration, ctx: Context) -> Cost:
    """Billed per VM behind it: the node pools' floors in the same plan stand in for that count."""
    vms = sum(_gke_pool_nodes(reveal(r.inputs)) for r in ctx.plan.resources("gcp:container/nodePool:NodePool"))
    hourly = min(vms * GCP_NAT_PER_VM_HOURLY, GCP_NAT_MAX_HOURLY)
    return Cost(hourly * HOURS_PER_MONTH, f"{vms} VMs × ${GCP_NAT_PER_VM_HOURLY}/h (max ${GCP_NAT_MAX_HOURLY}/h)")


def _gcp_address(reg: Registration, ctx: Context) -> Cost:
    if str(get_in(reveal(reg.inputs), "addressType") or "EXTERNAL").upper() == "INTERNAL":
        return Cost(0.0, "internal address")
    return Cost(GCP_EXTERNAL_IP_HOURLY * HOURS_PER_MONTH, f"external IPv4 ${GCP_EXTERNAL_IP_HOURLY}/h")


def _gcp_kms_key(reg: Registration, ctx: Context) -> Cost:
    level = str(get_in(reveal(reg.inputs), "versionTemplate", "protectionLevel") or "SOFTWARE").upper()
    monthly = GCP_KMS_KEY_MONTHLY.get(level, GCP_KMS_KEY_MONTHLY["HSM"])
    return Cost(monthly, f"{level.lower()} key version ${monthly}/mo")


def _gcp_health_check(reg: Registration, ctx: Context) -> Cost:
    """A check with source regions probes Internet endpoints for Cloud DNS and is billed; one a load balancer uses
    is not (https://cloud.google.com/dns/pricing, https://cloud.google.com/load-balancing/pricing)."""
    if not get_in(reveal(reg.inputs), "sourceRegions"):
        return Cost(0.0, "load balancer health check")
    rate = GCP_DNS_EXTERNAL_HEALTH_CHECK_HOURLY
    return Cost(rate * HOURS_PER_MONTH, f"Cloud DNS external health check ${rate}/h")


def _gke_cluster_seconds(reg: Registration) -> float:
    location = str(get_in(reveal(reg.inputs), "location") or "")
    return 540.0 if _is_gcp_region(location) else 330.0


COSTS: Mapping[str, CostModel] = {
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "gcp:compute/routerNat:RouterNat": _gcp_router_nat,
    "gcp:compute/address:Address": _gcp_address,
    "gcp:compute/globalAddress:GlobalAddress": _gcp_address,
    "gcp:kms/cryptoKey:CryptoKey": _gcp_kms_key,
    "gcp:dns/managedZone:ManagedZone": per_month(GCP_DNS_ZONE_MONTHLY, "managed zone"),
    "gcp:compute/healthCheck:HealthCheck": _gcp_health_check,
    "gcp:compute/vPNTunnel:VPNTunnel": per_hour(GCP_VPN_TUNNEL_HOURLY, "VPN tunnel"),
}

FREE: frozenset[str] = frozenset(
    {
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/firewall:Firewall",
        "gcp:serviceaccount/account:Account",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/iAMCustomRole:IAMCustomRole",
        "gcp:projects/service:Service",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        # Peering has no standing charge; traffic across it is billed as VM egress within Google Cloud
        # (https://cloud.google.com/vpc/network-pricing, VPC Network Peering).
        "gcp:compute/networkPeering:NetworkPeering",
        # A record set has no standing charge; its zone and the queries it answers are billed
        # (https://cloud.google.com/dns/pricing).
        "gcp:dns/recordSet:RecordSet",
        # HA VPN is billed by its tunnels (GCP_VPN_TUNNEL_HOURLY): the gateway, the description of the site's
        # device and the router's BGP sessions carry no charge of their own.
        "gcp:compute/haVpnGateway:HaVpnGateway",
        "gcp:compute/externalVpnGateway:ExternalVpnGateway",
        "gcp:compute/routerInterface:RouterInterface",
        "gcp:compute/routerPeer:RouterPeer",
    }
)
"""Types with no standing charge (usage may still be billed; see `preflight.estimates`)."""

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "gcp:container/cluster:Cluster": _gke_cluster_seconds,
    "gcp:container/nodePool:NodePool": 150.0,
    "gcp:compute/network:Network": 25.0,
    "gcp:compute/subnetwork:Subnetwork": 25.0,
    "gcp:compute/router:Router": 20.0,
    "gcp:compute/routerNat:RouterNat": 25.0,
    "gcp:compute/firewall:Firewall": 12.0,
    "gcp:compute/networkPeering:NetworkPeering": 20.0,
    "gcp:compute/address:Address": 5.0,
    "gcp:compute/globalAddress:GlobalAddress": 12.0,
    "gcp:serviceaccount/account:Account": 5.0,
    "gcp:serviceaccount/iAMMember:IAMMember": 10.0,
    "gcp:projects/iAMMember:IAMMember": 10.0,
    "gcp:projects/iAMCustomRole:IAMCustomRole": 5.0,
    "gcp:projects/service:Service": 45.0,
    "gcp:kms/keyRing:KeyRing": 3.0,
    "gcp:kms/cryptoKey:CryptoKey": 3.0,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 8.0,
    "gcp:dns/managedZone:ManagedZone": 5.0,
    "gcp:dns/recordSet:RecordSet": 5.0,
    "gcp:compute/healthCheck:HealthCheck": 12.0,
    # A tunnel is created in under a minute; it comes up only once the site's device is configured from the
    # stack's outputs, which is not part of `pulumi up`. Router interfaces and peers are edits of the router,
    # which GCP applies one at a time.
    "gcp:compute/haVpnGateway:HaVpnGateway": 20.0,
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": 10.0,
    "gcp:compute/vPNTunnel:VPNTunnel": 35.0,
    "gcp:compute/routerInterface:RouterInterface": 15.0,
    "gcp:compute/routerPeer:RouterPeer": 20.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "gcp:compute/network:Network",
        "gcp:compute/routerNat:RouterNat",
        "gcp:container/cluster:Cluster",
        "gcp:container/nodePool:NodePool",
        "gcp:kms/cryptoKey:CryptoKey",
        # A site's link (`orquestra:site:VpnLink`) is drawn by its cloud end.
        "gcp:compute/haVpnGateway:HaVpnGateway",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
