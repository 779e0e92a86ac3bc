"""Oracle Cloud in a plan: what its resources cost a month, how long they take to create, which the diagram draws.

Prices: Oracle's Cloud Price List (https://www.oracle.com/cloud/price-list/), pay as you go, USD,
commercial realm, as listed in November 2026. Compute bills OCPUs and memory separately for
flexible shapes; preemptible capacity at half the price (the spot basis below still prices it
on demand, as the other targets do). Networking (VCN, subnets, NAT and service gateways, NSGs)
has no standing charge; outbound data past the free 10 TB a month is usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.engine import Registration, reveal
from preflight.estimates.base import HOURS_PER_MONTH, Context, Cost, CostModel, CreateTime, as_int, get_in

OCI_SHAPE_HOURLY: Mapping[str, tuple[float, float]] = {
    # Shape -> (per OCPU hour, per GB of memory hour).
    "VM.Standard.E5.Flex": (0.03, 0.002),
    "VM.Standard.E4.Flex": (0.025, 0.0015),
    "VM.Standard3.Flex": (0.04, 0.0015),
    "VM.Standard.A1.Flex": (0.01, 0.0015),
    "VM.Optimized3.Flex": (0.054, 0.0015),
}
OKE_ENHANCED_CLUSTER_HOURLY = 0.10
"""Enhanced clusters only; a basic cluster's control plane is free
(https://www.oracle.com/cloud/cloud-native/kubernetes-engine/pricing/)."""
OCI_BLOCK_VOLUME_GB_MONTHLY = 0.0255
OCI_BLOCK_VOLUME_VPU_GB_MONTHLY = 0.0017
BOOT_VOLUME_VPUS = 10
"""Boot volumes default to the Balanced level: 10 performance units per GB."""
OCI_LB_BASE_HOURLY = 0.0113
OCI_LB_MBPS_HOURLY = 0.0001
LB_MIN_MBPS = 10
"""The flexible shape's floor in `capabilities.LB_FLEXIBLE`: what a load balancer costs at rest."""

LOAD_BALANCER_MONTHLY: Mapping[str, float] = {
    "oci": (OCI_LB_BASE_HOURLY + LB_MIN_MBPS * OCI_LB_MBPS_HOURLY) * HOURS_PER_MONTH
}
"""What a Kubernetes `LoadBalancer` Service costs here (a flexible load balancer at 10 Mbps)."""


def _oke_cluster(reg: Registration, ctx: Context) -> Cost:
    if get_in(reveal(reg.inputs), "type") == "ENHANCED_CLUSTER":
        return Cost(
            OKE_ENHANCED_CLUSTER_HOURLY * HOURS_PER_MONTH, f"enhanced cluster fee ${OKE_ENHANCED_CLUSTER_HOURLY}/h"
        )
    return Cost(0.0, "basic cluster (no control plane fee)")


def _node_pool(reg: Registration, ctx: Context) -> Cost:
    inputs: Any = reveal(reg.inputs)
    shape = str(get_in(inputs, "nodeShape") or "")
    count = as_int(get_in(inputs, "nodeConfigDetails", "size"))
    rates = OCI_SHAPE_HOURLY.get(shape)
    if rates is None:
        return Cost(0.0, f"{count} × {shape}: shape not in the price table", priced=False)
    ocpus = float(get_in(inputs, "nodeShapeConfig", "ocpus") or 1)
    memory = float(get_in(inputs, "nodeShapeConfig", "memoryInGbs") or 16)
    disk = int(str(get_in(inputs, "nodeSourceDetails", "bootVolumeSizeInGbs") or 50))
    hourly = ocpus * rates[0] + memory * rates[1]
    volume = disk * (OCI_BLOCK_VOLUME_GB_MONTHLY + BOOT_VOLUME_VPUS * OCI_BLOCK_VOLUME_VPU_GB_MONTHLY)
    return Cost(
        count * (hourly * HOURS_PER_MONTH + volume),
        f"{count} × {shape} {ocpus:g} OCPU/{memory:g} GB at ${hourly:.4f}/h + {disk} GB boot volume"
        + (" (preemptible, at the on-demand price)" if _preemptible(inputs) else ""),
    )


def _preemptible(inputs: Any) -> bool:
    placements = get_in(inputs, "nodeConfigDetails", "placementConfigs") or []
    return any(isinstance(p, dict) and p.get("preemptibleNodeConfig") for p in placements)


def _key(reg: Registration, ctx: Context) -> Cost:
    # Vault: software keys and the first 20 HSM key versions of a vault are free.
    return Cost(0.0, f"{get_in(reveal(reg.inputs), 'protectionMode') or 'HSM'} key version (within the free 20)")


COSTS: Mapping[str, CostModel] = {
    "oci:ContainerEngine/cluster:Cluster": _oke_cluster,
    "oci:ContainerEngine/nodePool:NodePool": _node_pool,
    "oci:Kms/key:Key": _key,
}

FREE: frozenset[str] = frozenset(
    {
        "oci:Core/vcn:Vcn",
        "oci:Core/subnet:Subnet",
        "oci:Core/natGateway:NatGateway",
        "oci:Core/serviceGateway:ServiceGateway",
        "oci:Core/internetGateway:InternetGateway",
        "oci:Core/routeTable:RouteTable",
        # The price list names no charge for a DRG or its attachments (FastConnect and VPN, on the hub's side, are).
        "oci:Core/drgAttachment:DrgAttachment",
        "oci:Core/drg:Drg",
        # Site-to-Site VPN has no charge per connection or tunnel hour: "VPN Connect is a free service, with no port
        # hour charges. Data transfer cost is covered under networking cloud pricing"
        # (https://docs.oracle.com/en/industries/energy-water/shared/254/cs-implementation-guide/CS_IMPLEMENTATION_254/IG_Network.09.6.html,
        # read December 2026); the price list has no VPN line either. Outbound data past the free 10 TB is usage.
        "oci:Core/cpe:Cpe",
        "oci:Core/ipsec:Ipsec",
        "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement",
        "oci:Core/securityList:SecurityList",
        "oci:Core/networkSecurityGroup:NetworkSecurityGroup",
        "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule",
        # A DEFAULT vault is a shared-HSM partition; only a virtual private vault has an hourly charge.
        "oci:Kms/vault:Vault",
        "oci:Identity/policy:Policy",
        "oci:ContainerEngine/addon:Addon",
    }
)
"""Types with no standing charge (usage may still be billed; see `preflight.estimates`)."""


def _cluster_seconds(reg: Registration) -> float:
    return 600.0 if get_in(reveal(reg.inputs), "type") == "ENHANCED_CLUSTER" else 480.0


CREATE_SECONDS: Mapping[str, CreateTime] = {
    "oci:ContainerEngine/cluster:Cluster": _cluster_seconds,
    "oci:ContainerEngine/nodePool:NodePool": 300.0,
    "oci:ContainerEngine/addon:Addon": 60.0,
    "oci:Core/vcn:Vcn": 5.0,
    "oci:Core/subnet:Subnet": 5.0,
    "oci:Core/natGateway:NatGateway": 10.0,
    "oci:Core/serviceGateway:ServiceGateway": 10.0,
    "oci:Core/internetGateway:InternetGateway": 5.0,
    "oci:Core/routeTable:RouteTable": 3.0,
    # An estimate, like the rest of this table: a VCN attachment goes from ATTACHING to ATTACHED in about a minute.
    "oci:Core/drgAttachment:DrgAttachment": 90.0,
    # Estimates like the rest: a DRG is AVAILABLE in about a minute; an IPSec connection provisions its two tunnels
    # on two headends in a few minutes; configuring a tunnel (routing, IKE, key) is an update of an existing one.
    "oci:Core/drg:Drg": 60.0,
    "oci:Core/cpe:Cpe": 5.0,
    "oci:Core/ipsec:Ipsec": 300.0,
    "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement": 120.0,
    "oci:Core/securityList:SecurityList": 3.0,
    "oci:Core/networkSecurityGroup:NetworkSecurityGroup": 3.0,
    "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule": 2.0,
    # Creating a vault provisions its HSM partition: minutes, not seconds.
    "oci:Kms/vault:Vault": 240.0,
    "oci:Kms/key:Key": 10.0,
    "oci:Identity/policy:Policy": 5.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "oci:Core/vcn:Vcn",
        "oci:Core/natGateway:NatGateway",
        "oci:Kms/vault:Vault",
        "oci:ContainerEngine/cluster:Cluster",
        "oci:ContainerEngine/nodePool:NodePool",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
