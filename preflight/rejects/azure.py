"""What AKS, Traffic Manager and the VPN gateway would refuse in a plan: node pool and KMS rules, a global name's
profile, a site's VPN.

Pools are checked the same way whether they are standalone `AgentPool`s or the
inline `agentPoolProfiles` of the cluster; the table at the bottom lists every
modelled constraint by type token.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
SPOT_DOCS = "https://learn.microsoft.com/en-us/azure/aks/spot-node-pool#limitations"
# AKS's answer to a spot pool with upgrade settings: 400 InvalidParameter "Spot pools can't set max surge"
# (and "... can't set maxUnavailable"), quoted in hashicorp/terraform-provider-azurerm#19355 and #31129.
SPOT_SURGE = "https://github.com/hashicorp/terraform-provider-azurerm/pull/31129"
NAMES = "https://learn.microsoft.com/en-us/azure/aks/create-node-pools#limitations"
SYSTEM = "https://learn.microsoft.com/en-us/azure/aks/use-system-pools#system-and-user-node-pools"
# pulumi-azure-native containerservice AzureKeyVaultKms (keyId, keyVaultNetworkAccess, keyVaultResourceId) and
# https://learn.microsoft.com/en-us/azure/aks/use-kms-etcd-encryption (the key identifier carries its version).
KMS = "pulumi-azure-native AzureKeyVaultKms; https://learn.microsoft.com/en-us/azure/aks/use-kms-etcd-encryption"
KEY_ID = re.compile(r"^https://[^/]+/keys/[^/]+/[0-9a-fA-F]{32}$")


def _pool(pool: Mapping[str, Any], name: Any, prefix: str) -> Iterator[tuple[str, str, str]]:
    """(field, message, source) for every rule one pool breaks; `prefix` locates the pool in its resource."""
    spot = pool.get("scaleSetPriority") == "Spot"
    upgrade = pool.get("upgradeSettings") or {}
    if spot:
        for field in ("maxSurge", "maxUnavailable"):
            if upgrade.get(field) is not None:
                yield f"{prefix}upgradeSettings.{field}", f"spot pools can't set {field} (AKS answers 400)", SPOT_SURGE
        policy = pool.get("scaleSetEvictionPolicy")
        if policy is not None and policy not in ("Delete", "Deallocate"):
            yield f"{prefix}scaleSetEvictionPolicy", f"{policy!r}; AKS takes Delete or Deallocate", SPOT_DOCS
        price = pool.get("spotMaxPrice")
        if isinstance(price, int | float) and price != -1 and (price <= 0 or round(price, 5) != price):
            yield f"{prefix}spotMaxPrice", f"{price}; -1 or a positive price with up to five decimals", SPOT_DOCS
        taints = pool.get("nodeTaints") or []
        if known(taints) and SPOT_TAINT not in taints:
            # AKS puts the taint on every spot node; an input without it is a diff AKS refuses to apply.
            yield f"{prefix}nodeTaints", f"a spot pool carries {SPOT_TAINT}; declare it", SPOT_DOCS
        if pool.get("mode") == "System":
            yield f"{prefix}mode", "a spot pool can't be a system pool", SPOT_DOCS
    elif pool.get("scaleSetEvictionPolicy") is not None:
        yield (
            f"{prefix}scaleSetEvictionPolicy",
            "set on a pool that is not Spot; AKS takes it only with scaleSetPriority Spot",
            "pulumi-azure-native ManagedClusterAgentPoolProfile.scale_set_eviction_policy",
        )
    if known(name) and isinstance(name, str):
        windows = pool.get("osType") == "Windows"
        limit = 6 if windows else 12
        if not re.fullmatch(rf"[a-z][a-z0-9]{{0,{limit - 1}}}", name):
            kind = "Windows" if windows else "Linux"
            yield f"{prefix}name", f"{name!r}; a {kind} pool name is 1-{limit} lowercase letters and digits", NAMES
    if pool.get("mode") == "System":
        if pool.get("osType", "Linux") != "Linux":
            yield f"{prefix}osType", "a system pool runs Linux", SYSTEM
        low = pool.get("minCount") if pool.get("enableAutoScaling") else pool.get("count")
        if isinstance(low, int) and low < 1:
            yield (
                f"{prefix}{'minCount' if pool.get('enableAutoScaling') else 'count'}",
                f"{low}; a system pool keeps a node",
                SYSTEM,
            )


def agent_pool_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    for field, message, source in _pool(inputs, inputs.get("agentPoolName"), ""):
        yield reject(r, "agentPoolName" if field == "name" else field, message, source)


def cluster_pool_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    profiles = view(r).get("agentPoolProfiles") or []
    if not known(profiles):
        return
    for i, pool in enumerate(profiles):
        yield from (reject(r, f, m, s) for f, m, s in _pool(pool, pool.get("name"), f"agentPoolProfiles[{i}]."))
    if profiles and not any(p.get("mode") == "System" for p in profiles):
        yield reject(r, "agentPoolProfiles", "a cluster is created with at least one System pool", SYSTEM)


def kms_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    kms = (view(r).get("securityProfile") or {}).get("azureKeyVaultKms") or {}
    if not kms.get("enabled"):
        return
    key, access, vault = kms.get("keyId"), kms.get("keyVaultNetworkAccess", "Public"), kms.get("keyVaultResourceId")
    field = "securityProfile.azureKeyVaultKms"
    if known(key) and not (isinstance(key, str) and KEY_ID.match(key)):
        yield reject(r, f"{field}.keyId", f"{key!r}; KMS needs a key identifier with its version", KMS)
    if access == "Private" and not vault:
        yield reject(r, f"{field}.keyVaultResourceId", "required when keyVaultNetworkAccess is Private", KMS)
    if access == "Public" and vault:
        yield reject(r, f"{field}.keyVaultResourceId", "must be empty when keyVaultNetworkAccess is Public", KMS)
    # "KMS supports API Server VNet Integration for both private and public key vaults"; Konnectivity is no
    # longer supported for private key vaults (new subscriptions since 2024-09-15). Same page as KMS.
    vnet = (view(r).get("apiServerAccessProfile") or {}).get("enableVnetIntegration")
    if access == "Private" and known(vnet) and vnet is not True:
        yield reject(r, "apiServerAccessProfile.enableVnetIntegration", "must be true for a private KMS key vault", KMS)


# Probing: every 30 s (timeout 5-10 s) or 10 s (timeout 5-9 s), 0-9 tolerated failures
# (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring); priority and weight 1-1000, a
# priority on every endpoint or none, none shared (pulumi-azure-native trafficmanager EndpointArgs); Performance
# needs the location of each external endpoint
# (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods); external endpoints of one
# profile are all names or all IP addresses (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-endpoint-types);
# the relative name is one DNS label (RFC 1035 section 2.3.4).
MONITORING = "https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring"
ENDPOINTS = "pulumi-azure-native trafficmanager EndpointArgs; https://learn.microsoft.com/azure/traffic-manager/traffic-manager-endpoint-types"
METHODS = "https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods"
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def traffic_manager_profile(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """The monitor's interval, timeout and tolerated failures; each endpoint's priority, weight and location."""
    inputs = view(r)
    monitor = inputs.get("monitorConfig") or {}
    interval, timeout = monitor.get("intervalInSeconds", 30), monitor.get("timeoutInSeconds")
    if known(interval) and interval not in (10, 30):
        yield reject(
            r, "monitorConfig.intervalInSeconds", f"{interval}; Traffic Manager probes every 10 or 30 s", MONITORING
        )
    elif known(timeout) and timeout is not None and not 5 <= timeout <= (9 if interval == 10 else 10):
        yield reject(
            r,
            "monitorConfig.timeoutInSeconds",
            f"{timeout}; 5-{9 if interval == 10 else 10} with a {interval} s interval",
            MONITORING,
        )
    failures = monitor.get("toleratedNumberOfFailures")
    if known(failures) and failures is not None and not 0 <= failures <= 9:
        yield reject(r, "monitorConfig.toleratedNumberOfFailures", f"{failures}; 0-9", MONITORING)
    relative = (inputs.get("dnsConfig") or {}).get("relativeName")
    if known(relative) and relative is not None and not LABEL.fullmatch(relative):
        yield reject(
            r,
            "dnsConfig.relativeName",
            f"{relative!r} is not one DNS label",
            "https://www.rfc-editor.org/rfc/rfc1035#section-2.3.4",
        )
    endpoints = [e for e in inputs.get("endpoints") or [] if isinstance(e, dict)]
    method = inputs.get("trafficRoutingMethod")
    priorities: list[Any] = [e["priority"] for e in endpoints if e.get("priority") is not None]
    if priorities and len(priorities) != len(endpoints):
        yield reject(r, "endpoints", "a priority on some endpoints only; all or none", ENDPOINTS)
    if len(set(priorities)) != len(priorities):
        yield reject(
            r, "endpoints", f"priorities {sorted(map(str, priorities))} shared; each endpoint its own", ENDPOINTS
        )
    kinds: set[bool] = set()
    for i, e in enumerate(endpoints):
        for key in ("priority", "weight"):
            value = e.get(key)
            if known(value) and value is not None and not 1 <= value <= 1000:
                yield reject(r, f"endpoints[{i}].{key}", f"{value}; 1-1000", ENDPOINTS)
        external = str(e.get("type", "")).endswith("/externalEndpoints")
        if external and method == "Performance" and not e.get("endpointLocation"):
            yield reject(
                r,
                f"endpoints[{i}].endpointLocation",
                "unset; Performance needs each external endpoint's location",
                METHODS,
            )
        target = e.get("target")
        if external and known(target) and isinstance(target, str):
            kinds.add(_is_ip(target))
    if len(kinds) > 1:
        yield reject(
            r, "endpoints", "external endpoints with names and IP addresses mixed; one kind per profile", ENDPOINTS
        )


# Site-to-site VPN. Gateway subnet: "/29 at the smallest", named GatewaySubnet
# (https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub).
GATEWAY_SUBNET = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub"
# "Creation of new VPN gateways using VpnGw1-5 SKUs (non-AZ) will no longer be possible" from January 2025.
SKUS = "https://learn.microsoft.com/azure/vpn-gateway/gateway-sku-consolidation"
# "Active-active gateways have two Gateway IP configurations and two public IP addresses."
ACTIVE_ACTIVE = "https://learn.microsoft.com/azure/vpn-gateway/active-active-portal"
# A custom APIPA address per instance, in 169.254.21.0-169.254.22.255, the second "different than the first".
APIPA = "https://learn.microsoft.com/azure/vpn-gateway/bgp-howto"
AZURE_APIPA = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))
# Zone-redundant and zonal gateways "rely on the Azure public IP resource Standard SKU".
ZONE_REDUNDANT = "https://learn.microsoft.com/azure/vpn-gateway/about-zone-redundant-vnet-gateways"
# Several local network gateways on one VPN gateway: each with "unique public IP addresses in the GatewayIpAddress
# property" and "a unique BGP peer IP address".
SITES = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-highlyavailable"
# BGP FAQ: reserved ASNs; "your on-premises BGP peer address must not be the same as the public IP address of
# your VPN device"; without BGP a local network gateway "must provide a list of valid address prefixes" (bgp-howto).
BGP_FAQ = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-bgp-overview (BGP FAQ)"


def _in(address: Any, net: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.ip_address(str(address)) in net
    except ValueError:
        return False


def gateway_subnet_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    prefix = inputs.get("addressPrefix")
    if inputs.get("subnetName") != "GatewaySubnet" or not (known(prefix) and isinstance(prefix, str)):
        return
    try:
        small = ipaddress.ip_network(prefix, strict=False).prefixlen > 29
    except ValueError:
        small = False  # not a range at all: the subnet's own syntax, not a gateway rule
    if small:
        yield reject(r, "addressPrefix", f"{prefix!r}; a GatewaySubnet is a /29 or larger", GATEWAY_SUBNET)


def _reserved_asn(asn: Any, *, gateway: bool) -> bool:
    # The spec's table, imported here: only plans with Azure VPN resources get here, and the program that made
    # them has loaded the Azure SDK this module pulls in already.
    from components.targets.azure.vpn import AZURE_ASN, reserved

    # Azure's own default is the one reserved ASN a gateway may keep.
    return isinstance(asn, int | float) and reserved(int(asn)) and not (gateway and int(asn) == AZURE_ASN)


def vpn_gateway_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    if inputs.get("gatewayType", "Vpn") != "Vpn":
        return
    sku = (inputs.get("sku") or {}).get("name")
    if known(sku) and isinstance(sku, str) and re.fullmatch(r"VpnGw[1-5]", sku):
        yield reject(r, "sku.name", f"{sku!r}; new gateways take an AZ SKU (VpnGw1AZ-VpnGw5AZ)", SKUS)
    configs = inputs.get("ipConfigurations") or []
    if not known(configs):
        return
    for i, config in enumerate(configs):
        subnet = (config.get("subnet") or {}).get("id")
        if isinstance(subnet, str) and not subnet.endswith("/subnets/GatewaySubnet"):
            yield reject(
                r, f"ipConfigurations[{i}].subnet.id", f"{subnet!r}; a gateway lives in GatewaySubnet", GATEWAY_SUBNET
            )
    ips = [(config.get("publicIPAddress") or {}).get("id") for config in configs]
    if inputs.get("activeActive") is True and (len(configs) != 2 or len(set(ips)) != len(ips)):
        yield reject(
            r,
            "ipConfigurations",
            "active-active takes two IP configurations, each with its own public IP",
            ACTIVE_ACTIVE,
        )
    if isinstance(sku, str) and sku.endswith("AZ"):
        by_id = {p.id: p for p in plan.resources("azure-native:network:PublicIPAddress")}
        for i, ip in enumerate(ips):
            found = by_id.get(ip) if isinstance(ip, str) else None
            if found is not None and ((view(found).get("sku") or {}).get("name") or "Basic") != "Standard":
                yield reject(
                    r,
                    f"ipConfigurations[{i}].publicIPAddress",
                    f"{found.name}: an AZ SKU takes Standard public IPs",
                    ZONE_REDUNDANT,
                )
    bgp = inputs.get("bgpSettings") or {}
    if _reserved_asn(bgp.get("asn"), gateway=True):
        yield reject(r, "bgpSettings.asn", f"{bgp.get('asn')}; an ASN Azure or IANA reserves", BGP_FAQ)
    names = {str(config.get("name")) for config in configs}
    custom: list[str] = []
    for i, peering in enumerate(bgp.get("bgpPeeringAddresses") or []):
        where = f"bgpSettings.bgpPeeringAddresses[{i}]"
        config_id = peering.get("ipconfigurationId")
        if known(config_id) and str(config_id).rsplit("/ipConfigurations/", 1)[-1] not in names:
            yield reject(
                r, f"{where}.ipconfigurationId", f"{config_id!r}; not one of the gateway's IP configurations", APIPA
            )
        for address in peering.get("customBgpIpAddresses") or []:
            if not known(address):
                continue
            if not any(_in(address, net) for net in AZURE_APIPA):
                yield reject(
                    r,
                    f"{where}.customBgpIpAddresses",
                    f"{address!r}; Azure's APIPA range is 169.254.21.0-169.254.22.255",
                    APIPA,
                )
            if address in custom:
                yield reject(
                    r, f"{where}.customBgpIpAddresses", f"{address!r}; each instance's APIPA address differs", APIPA
                )
            custom.append(address)


def local_gateway_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    bgp = inputs.get("bgpSettings") or {}
    prefixes = (inputs.get("localNetworkAddressSpace") or {}).get("addressPrefixes") or []
    if not bgp and not prefixes:
        yield reject(r, "localNetworkAddressSpace.addressPrefixes", "required without BGP (the site's ranges)", APIPA)
    if _reserved_asn(bgp.get("asn"), gateway=False):
        yield reject(r, "bgpSettings.asn", f"{bgp.get('asn')}; an ASN Azure or IANA reserves", BGP_FAQ)
    peer, device = bgp.get("bgpPeeringAddress"), inputs.get("gatewayIpAddress")
    if known(peer) and peer is not None and peer == device:
        yield reject(r, "bgpSettings.bgpPeeringAddress", f"{peer!r}; not the device's public IP", BGP_FAQ)


def connection_rules(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """The local network gateways of one VPN gateway's connections never share a device address or BGP address;
    the earlier connection keeps it, the later one is refused."""
    locals_by_id = {g.id: view(g) for g in plan.resources("azure-native:network:LocalNetworkGateway")}

    def ends(c: Registration) -> tuple[Any, Mapping[str, Any]]:
        inputs = view(c)
        local = (inputs.get("localNetworkGateway2") or {}).get("id")
        return (inputs.get("virtualNetworkGateway1") or {}).get("id"), locals_by_id.get(str(local), {})

    gateway, mine = ends(r)
    if not known(gateway) or not mine:
        return
    earlier = []
    for other in plan.resources("azure-native:network:VirtualNetworkGatewayConnection"):
        if other.urn == r.urn:
            break
        other_gateway, theirs = ends(other)
        if other_gateway == gateway and theirs:
            earlier.append(theirs)
    address = mine.get("gatewayIpAddress")
    if known(address) and address and any(t.get("gatewayIpAddress") == address for t in earlier):
        yield reject(
            r, "localNetworkGateway2", f"its device address {address} is another site's on this gateway", SITES
        )
    peer = (mine.get("bgpSettings") or {}).get("bgpPeeringAddress")
    if known(peer) and peer and any((t.get("bgpSettings") or {}).get("bgpPeeringAddress") == peer for t in earlier):
        yield reject(r, "localNetworkGateway2", f"its BGP address {peer} is another site's on this gateway", SITES)


RULES: Table = {
    # A global name's routing (components/globaldns.py).
    "azure-native:trafficmanager:Profile": (traffic_manager_profile,),
    # Spot pools (no upgrade settings, eviction policy, max price, the spot taint, never System), pool names,
    # system pools: the same rules for standalone pools and the cluster's inline profiles.
    "azure-native:containerservice:AgentPool": (agent_pool_rules,),
    "azure-native:containerservice:ManagedCluster": (cluster_pool_rules, kms_rules),
    # Site-to-site VPN: the gateway's subnet, SKU, active-active IP configurations, Standard IPs for an AZ SKU,
    # APIPA BGP addresses and reserved ASNs; a local network gateway's prefixes, ASN and BGP address; the sites of
    # one gateway with addresses of their own.
    "azure-native:network:Subnet": (gateway_subnet_rules,),
    "azure-native:network:VirtualNetworkGateway": (vpn_gateway_rules,),
    "azure-native:network:LocalNetworkGateway": (local_gateway_rules,),
    "azure-native:network:VirtualNetworkGatewayConnection": (connection_rules,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
