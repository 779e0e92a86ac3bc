"""Azure in a plan: what its resources cost a month, how long they take to create, which the diagram draws.

Prices: eastus, pay-as-you-go Linux, USD, late 2026 (see `preflight.estimates` for the basis).
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

AZURE_VM_HOURLY: Mapping[str, float] = {
    # eastus, pay-as-you-go Linux, USD per hour.
    "Standard_B2s": 0.0416,
    "Standard_D2s_v5": 0.096,
    "Standard_D4s_v5": 0.192,
    "Standard_D8s_v5": 0.384,
    "Standard_D2as_v5": 0.086,
    "Standard_D4as_v5": 0.172,
}

AKS_TIER_HOURLY: Mapping[str, float] = {"free": 0.0, "standard": 0.10, "premium": 0.60}
AZURE_NAT_GATEWAY_HOURLY = 0.045
AZURE_PUBLIC_IP_HOURLY = 0.005
AZURE_LOAD_BALANCER_HOURLY = 0.025
AZURE_HSM_KEY_MONTHLY = 1.0
AZURE_DNS_ZONE_MONTHLY = 0.50

TRAFFIC_MANAGER_PRICING = "https://azure.microsoft.com/pricing/details/traffic-manager/"
"""Billed per monitored endpoint a month (more for external endpoints and for 10 s probing) and per million
queries; the page lists no figure this table could carry, so a profile is reported as not priced."""
VPN_GATEWAY_HOURLY: Mapping[str, float] = {
    # Source: https://azure.microsoft.com/pricing/details/vpn-gateway/ (AZ SKU prices cut on 2025-01-01,
    # https://learn.microsoft.com/azure/vpn-gateway/gateway-sku-consolidation); $0.21/h is the VpnGw1AZ rate public
    # cost tables quote in 2026 (the page itself is not reachable offline: check it when the estimate matters).
    # The gateway's price covers both active-active instances and its first 10 site-to-site tunnels; its public
    # IPs are billed apart.
    "VpnGw1AZ": 0.21,
}

LOAD_BALANCER_MONTHLY: Mapping[str, float] = {"azure-native": AZURE_LOAD_BALANCER_HOURLY * HOURS_PER_MONTH}
"""What a Kubernetes `LoadBalancer` Service costs here (the cloud controller creates it)."""


def _aks_pool(profile: Mapping[str, Any]) -> Cost:
    size = str(profile.get("vmSize") or "")
    count = profile.get("minCount") if profile.get("enableAutoScaling") else profile.get("count")
    spot = profile.get("scaleSetPriority") == "Spot"
    return nodes_cost(as_int(count, 1), size or "unknown size", AZURE_VM_HOURLY.get(size), spot=spot)


AKS_OUTBOUND_HOURLY: Mapping[str, tuple[float, str]] = {
    # What AKS creates for egress in its node resource group, outside the program's registrations.
    "loadBalancer": (AZURE_LOAD_BALANCER_HOURLY + AZURE_PUBLIC_IP_HOURLY, "managed outbound load balancer + IP"),
    "managedNATGateway": (AZURE_NAT_GATEWAY_HOURLY + AZURE_PUBLIC_IP_HOURLY, "managed NAT gateway + IP"),
}


def _aks_cluster(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    tier = str(get_in(inputs, "sku", "tier") or "Free")
    fee = AKS_TIER_HOURLY.get(tier.lower(), 0.0) * HOURS_PER_MONTH
    parts = [f"{tier} tier ${AKS_TIER_HOURLY.get(tier.lower(), 0.0)}/h"]
    total, priced = fee, tier.lower() in AKS_TIER_HOURLY
    outbound = str(get_in(inputs, "networkProfile", "outboundType") or "loadBalancer")
    if outbound in AKS_OUTBOUND_HOURLY:
        hourly, what = AKS_OUTBOUND_HOURLY[outbound]
        total += hourly * HOURS_PER_MONTH
        parts.append(f"{what} ${hourly:.3f}/h")
    for profile in get_in(inputs, "agentPoolProfiles") or []:
        if isinstance(profile, dict):
            pool = _aks_pool(profile)
            total += pool.monthly
            priced = priced and pool.priced
            parts.append(f"pool {profile.get('name', '?')}: {pool.basis}")
    return Cost(total, "; ".join(parts), priced)


def _aks_agent_pool(reg: Registration, ctx: Context) -> Cost:
    return _aks_pool(reveal(reg.inputs))


def _vpn_gateway(reg: Registration, ctx: Context) -> Cost:
    sku = str(get_in(reveal(reg.inputs), "sku", "name") or "unknown SKU")
    hourly = VPN_GATEWAY_HOURLY.get(sku)
    if hourly is None:
        return Cost(0.0, f"VPN gateway {sku}: SKU not in the price table", priced=False)
    return Cost(hourly * HOURS_PER_MONTH, f"VPN gateway {sku} ${hourly}/h (10 S2S tunnels included)")


def _azure_key(reg: Registration, ctx: Context) -> Cost:
    kty = str(get_in(reveal(reg.inputs), "properties", "kty") or "RSA")
    if kty.endswith("-HSM"):
        return Cost(AZURE_HSM_KEY_MONTHLY, f"{kty} key ${AZURE_HSM_KEY_MONTHLY}/mo")
    return Cost(0.0, f"{kty} software key (billed per operation)")


def _traffic_manager_profile(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    endpoints = get_in(inputs, "endpoints")
    count = len(endpoints) if isinstance(endpoints, list) else 0
    interval = get_in(inputs, "monitorConfig", "intervalInSeconds") or 30
    return Cost(0.0, f"{count} monitored endpoints, probed every {interval} s ({TRAFFIC_MANAGER_PRICING})", False)


COSTS: Mapping[str, CostModel] = {
    "azure-native:containerservice:ManagedCluster": _aks_cluster,
    "azure-native:containerservice:AgentPool": _aks_agent_pool,
    "azure-native:network:NatGateway": per_hour(AZURE_NAT_GATEWAY_HOURLY, "NAT gateway"),
    "azure-native:trafficmanager:Profile": _traffic_manager_profile,
    "azure-native:network:PublicIPAddress": per_hour(AZURE_PUBLIC_IP_HOURLY, "Standard public IP"),
    "azure-native:network:LoadBalancer": per_hour(AZURE_LOAD_BALANCER_HOURLY, "Standard load balancer"),
    "azure-native:keyvault:Key": _azure_key,
    "azure-native:network:VirtualNetworkGateway": _vpn_gateway,
    "azure-native:dns:Zone": per_month(AZURE_DNS_ZONE_MONTHLY, "DNS zone"),
    # A private zone is priced as a hosted zone (https://azure.microsoft.com/pricing/details/dns/).
    "azure-native:privatedns:PrivateZone": per_month(AZURE_DNS_ZONE_MONTHLY, "private DNS zone"),
}

FREE: frozenset[str] = frozenset(
    {
        "azure-native:monitor:DiagnosticSetting",
        # A data collection rule and its association cost nothing; the workspace bills what they send.
        "azure-native:monitor:DataCollectionRule",
        "azure-native:monitor:DataCollectionRuleAssociation",
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:Subnet",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:SecurityRule",
        "azure-native:network:RouteTable",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:authorization:RoleAssignment",
        "azure-native:keyvault:Vault",
        "azure-native:containerservice:MaintenanceConfiguration",
        "azure-native:operationalinsights:Workspace",
        # Peering bills the gigabytes that cross it, and a zone link with no auto-registration is free
        # (https://azure.microsoft.com/pricing/details/virtual-network/, .../pricing/details/dns/).
        "azure-native:network:VirtualNetworkPeering",
        "azure-native:privatedns:VirtualNetworkLink",
        # A record set has no standing charge; its zone and its queries are billed
        # (https://azure.microsoft.com/pricing/details/dns/).
        "azure-native:dns:RecordSet",
        # A site's description and its connection: the gateway's price covers its first 10 tunnels (pricing page
        # above); the gigabytes sent out over them are billed as egress.
        "azure-native:network:LocalNetworkGateway",
        "azure-native:network:VirtualNetworkGatewayConnection",
    }
)
"""Types with no standing charge (usage may still be billed; see `preflight.estimates`)."""

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "azure-native:trafficmanager:Profile": 15.0,
    "azure-native:dns:RecordSet": 5.0,
    "azure-native:monitor:DiagnosticSetting": 10.0,
    "azure-native:monitor:DataCollectionRule": 10.0,
    "azure-native:monitor:DataCollectionRuleAssociation": 8.0,
    "azure-native:resources:ResourceGroup": 3.0,
    "azure-native:network:VirtualNetwork": 10.0,
    "azure-native:network:Subnet": 8.0,
    "azure-native:network:NatGateway": 20.0,
    "azure-native:network:PublicIPAddress": 8.0,
    "azure-native:network:NetworkSecurityGroup": 10.0,
    "azure-native:network:SecurityRule": 8.0,
    "azure-native:network:RouteTable": 8.0,
    "azure-native:network:LoadBalancer": 30.0,
    "azure-native:containerservice:ManagedCluster": 420.0,
    "azure-native:containerservice:AgentPool": 240.0,
    "azure-native:containerservice:MaintenanceConfiguration": 5.0,
    "azure-native:managedidentity:UserAssignedIdentity": 5.0,
    "azure-native:managedidentity:FederatedIdentityCredential": 5.0,
    "azure-native:authorization:RoleAssignment": 20.0,
    "azure-native:keyvault:Vault": 60.0,
    "azure-native:keyvault:Key": 5.0,
    "azure-native:operationalinsights:Workspace": 30.0,
    "azure-native:dns:Zone": 30.0,
    "azure-native:privatedns:PrivateZone": 30.0,
    "azure-native:privatedns:VirtualNetworkLink": 30.0,
    "azure-native:network:VirtualNetworkPeering": 15.0,
    # "Creating a gateway can often take 45 minutes or more" (https://learn.microsoft.com/azure/vpn-gateway/bgp-howto).
    "azure-native:network:VirtualNetworkGateway": 2700.0,
    "azure-native:network:LocalNetworkGateway": 15.0,
    "azure-native:network:VirtualNetworkGatewayConnection": 90.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NatGateway",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:AgentPool",
        "azure-native:keyvault:Vault",
        "azure-native:network:VirtualNetworkGateway",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
