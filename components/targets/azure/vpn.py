"""The Azure end of a site-to-site VPN: a VPN gateway in the AKS cluster's VNet, and per site a local network
gateway and an IPsec connection.

One gateway per VNet (Azure allows one VPN gateway in a virtual network,
https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpngateways), shared by every site linked to the
cluster: its `GatewaySubnet` (the name is how Azure finds it) is a /27 carved from the top of `network.cidr`
below the API server's subnet (`network.gateway_cidr`).

- SKU `VpnGw1AZ` in every environment: new gateways on VpnGw1-5 (non-AZ) are refused since January 2025
  (https://learn.microsoft.com/azure/vpn-gateway/gateway-sku-consolidation); an AZ SKU spreads its two instances
  over the region's zones.
- Active-active with two zone-redundant Standard public IPs: each instance ends its own tunnel, so the site keeps
  one when an instance is patched or lost; active-standby would drop the one tunnel for the failover (10-15 s
  planned, 1-3 minutes unplanned, https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-highlyavailable). It
  costs one Standard IP more; the gateway's price is the same.
- Route-based, IKEv2, one connection per site carrying both tunnels. With the peer's ASN, BGP: Azure's default
  ASN 65515, and on each instance a custom APIPA BGP address (the device's BGP address is an APIPA one too, so
  Azure needs its own in 169.254.21.0-169.254.22.255, https://learn.microsoft.com/azure/vpn-gateway/bgp-howto).
  Without one, static routes: the local network gateway's prefixes are the site's `cidrs`.
- No security rule is added: AKS's node security group admits `VirtualNetwork` (its rule AllowVnetInBound), and
  that service tag includes "all connected on-premises address spaces", the site's ranges learned through the
  gateway (https://learn.microsoft.com/azure/virtual-network/service-tags-overview). Azure does not support a
  security group on the `GatewaySubnet` itself.

A gateway takes about 45 minutes to create; nothing of the cluster waits for it: it hangs from the cluster's
component but nothing the cluster or its workloads depend on depends on it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import network as azure_network

from components.spec import Problem, Site
from components.targets.azure import network

if TYPE_CHECKING:
    from components.cluster import KubernetesCluster
    from components.targets.azure import AzureCluster

SKU = "VpnGw1AZ"
INSTANCES = ("instance-0", "instance-1")
"""The gateway's IP configurations, one per active-active instance: one tunnel each to the site."""

AZURE_ASN = 65515
"""Azure VPN gateways' default ASN (https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-bgp-overview, FAQ)."""

# "ASNs reserved by Azure: public 8074, 8075, 12076; private 65515, 65517, 65518, 65519, 65520. ASNs reserved by
# IANA: 23456, 64496-64511, 65535-65551 and 429496729. You can't specify these ASNs for your on-premises VPN
# devices" (https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-bgp-overview, BGP FAQ). The last one is as
# the FAQ prints it.
RESERVED_ASNS: tuple[tuple[int, int], ...] = (
    (8074, 8075),
    (12076, 12076),
    (65515, 65515),
    (65517, 65520),
    (23456, 23456),
    (64496, 64511),
    (65535, 65551),
    (429496729, 429496729),
)

# Azure's APIPA BGP addresses must lie in 169.254.21.0-169.254.22.255 (bgp-howto, above): the gateway's in the
# first /24, the sites' in the second, so a device never sees its own address on the Azure side.
CLOUD_APIPA = ipaddress.ip_network("169.254.21.0/24")
PEER_APIPA = ipaddress.ip_network("169.254.22.0/24")


def reserved(asn: int) -> bool:
    return any(low <= asn <= high for low, high in RESERVED_ASNS)


def _slot(name: str, count: int) -> int:
    """A stable slot from a name: the same addresses on every run, and distinct ones for distinct names but rarely."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count


def cloud_bgp_addresses(cluster: str) -> tuple[str, str]:
    """The gateway's APIPA BGP address on each instance: a pair of the first /24 chosen by the cluster's name, so
    a site linked to two Azure clusters meets two different pairs (.2-.253: never the /24's ends)."""
    pair = 1 + _slot(cluster, 126)
    return str(CLOUD_APIPA[2 * pair]), str(CLOUD_APIPA[2 * pair + 1])


def peer_bgp_address(site: str, cluster: str, taken: Collection[str] = ()) -> str:
    """The device's APIPA BGP address for one link, in the second /24 (.1-.253): the next free one after the
    link's own slot when another site of the same gateway has it already."""
    first = _slot(f"{site}/{cluster}", 253)
    candidates = (str(PEER_APIPA[1 + (first + i) % 253]) for i in range(253))
    return next(a for a in candidates if a not in taken)


def check(site: Site, cluster: Any) -> Iterator[Problem]:
    """What Azure refuses that the spec shows: no room for the gateway's subnet, or a peer ASN Azure reserves."""
    at = f"vpn[{site.vpn.index(cluster.name)}]"
    if network.gateway_cidr(cluster.network.cidr) is None:
        yield Problem(
            at,
            cluster.name,
            f"a cluster whose network.cidr ({cluster.network.cidr}) is a /25 or larger: the VPN gateway needs a "
            f"/{network.GATEWAY_SUBNET_PREFIX} GatewaySubnet beside the nodes' and the API server's subnets",
        )
    asn = site.peer.asn if site.peer is not None else None
    if asn is not None and reserved(asn):
        yield Problem(
            "peer.asn",
            asn,
            "an ASN Azure takes from a VPN peer: not 8074, 8075, 12076, 65515, 65517-65520 (Azure's) nor 23456, "
            f"64496-64511, 65535-65551 (IANA's); Azure's own end is {AZURE_ASN}",
        )


@dataclass(frozen=True)
class Gateway:
    """The cluster's VPN gateway, shared by all its sites."""

    resource: azure_network.VirtualNetworkGateway
    addresses: tuple[pulumi.Output[str], ...]
    """The public IP of each instance, in `INSTANCES` order: the outside end of its tunnel."""
    bgp: tuple[str, str]
    """The APIPA BGP address of each instance."""
    peers: set[str] = field(default_factory=set)
    """The sites' BGP addresses on this gateway so far: each local network gateway needs its own ("a unique BGP
    peer IP address", https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-highlyavailable)."""


def _ip_configuration_id(c: AzureCluster, gateway: str, name: str) -> pulumi.Output[str]:
    """An IP configuration's id, known before the gateway exists (its BGP settings name each one)."""
    return pulumi.Output.concat(
        "/subscriptions/",
        c.client.subscription_id,
        "/resourceGroups/",
        c.resource_group.name,
        "/providers/Microsoft.Network/virtualNetworkGateways/",
        gateway,
        "/ipConfigurations/",
        name,
    )


def gateway(c: AzureCluster) -> Gateway:
    """The cluster's gateway, made on the first link that needs it and reused by the others.

    Children of the cluster's component, so the gateway's URN does not depend on which site comes first.
    The `GatewaySubnet` waits for the cluster to be ready (its pools and, with a hub, the peerings): the subnets
    and peerings of a VNet change one at a time, and AKS changes the nodes' and the API server's subnets while it
    creates the cluster and its pools.
    """
    made: Gateway | None = getattr(c, "_site_vpn_gateway", None)
    if made is not None:
        return made
    spec, name, rg = c.spec, c.spec.name, c.resource_group.name
    cidr = network.gateway_cidr(spec.network.cidr)
    assert cidr is not None  # `check`: the VNet has room
    subnet = azure_network.Subnet(
        f"{name}-gateway-subnet",
        subnet_name="GatewaySubnet",
        resource_group_name=rg,
        virtual_network_name=c.network.vnet.name,
        address_prefix=cidr,
        opts=c.child_opts(depends_on=[c.network.apiserver, *c.ready]),
    )
    # Zone-redundant where the cluster spreads over zones (an AZ SKU wants zone-redundant or zonal Standard IPs:
    # https://learn.microsoft.com/azure/vpn-gateway/about-zone-redundant-vnet-gateways); regional otherwise.
    zones = ["1", "2", "3"] if c.zones else None
    ips = [
        azure_network.PublicIPAddress(
            f"{name}-vpn-{instance}",
            public_ip_address_name=f"{name}-vpn-{instance}",
            resource_group_name=rg,
            location=spec.region,
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            zones=zones,
            tags=c.tags(),
            opts=c.child_opts(),
        )
        for instance in INSTANCES
    ]
    gateway_name = f"{name}-vpn"
    bgp = cloud_bgp_addresses(name)
    resource = azure_network.VirtualNetworkGateway(
        gateway_name,
        virtual_network_gateway_name=gateway_name,
        resource_group_name=rg,
        location=spec.region,
        gateway_type="Vpn",
        vpn_type="RouteBased",
        # No generation: VpnGw1AZ is listed as Generation1 only (the SKU table of
        # https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsku) and Azure moves
        # gateways to Generation2 itself (gateway-sku-consolidation): an input here would only fight that.
        sku={"name": SKU, "tier": SKU},
        active_active=True,
        enable_bgp=True,
        bgp_settings={
            "asn": AZURE_ASN,
            "bgp_peering_addresses": [
                {
                    "ipconfiguration_id": _ip_configuration_id(c, gateway_name, instance),
                    "custom_bgp_ip_addresses": [address],
                }
                for instance, address in zip(INSTANCES, bgp, strict=True)
            ],
        },
        ip_configurations=[
            {
                "name": instance,
                "private_ip_allocation_method": "Dynamic",
                "public_ip_address": {"id": ip.id},
                "subnet": {"id": subnet.id},
            }
            for instance, ip in zip(INSTANCES, ips, strict=True)
        ],
        tags=c.tags(),
        opts=c.child_opts(custom_timeouts=pulumi.CustomTimeouts(create="90m", update="90m", delete="90m")),
    )
    made = Gateway(resource, tuple(ip.ip_address.apply(lambda a: a or "") for ip in ips), bgp)
    c._site_vpn_gateway = made  # type: ignore[attr-defined]
    return made


def build(
    site: Site, cluster: KubernetesCluster[Any], key: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> Mapping[str, Any]:
    """The site's local network gateway and its connection to the cluster's gateway (made here if need be)."""
    assert site.peer is not None  # `Site.problems`
    c: AzureCluster = cluster  # type: ignore[assignment]
    spec, link, rg = c.spec, f"{site.name}-{c.spec.name}", c.resource_group.name
    gw = gateway(c)
    asn = site.peer.asn
    peer_bgp = peer_bgp_address(site.name, spec.name, gw.peers) if asn is not None else None
    if peer_bgp is not None:
        gw.peers.add(peer_bgp)
    local = azure_network.LocalNetworkGateway(
        f"{link}-site",
        local_network_gateway_name=site.name,
        resource_group_name=rg,
        location=spec.region,
        gateway_ip_address=site.peer.address,
        # With BGP the prefixes stay empty: Azure adds the host route to the peer's BGP address itself and learns
        # the site's ranges from it (https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-bgp-overview, FAQ).
        local_network_address_space=None if asn is not None else {"address_prefixes": list(site.cidrs)},
        bgp_settings={"asn": asn, "bgp_peering_address": peer_bgp} if asn is not None else None,
        tags=c.tags(site=site.name),
        opts=opts,
    )
    azure_network.VirtualNetworkGatewayConnection(
        f"{link}-connection",
        virtual_network_gateway_connection_name=site.name,
        resource_group_name=rg,
        location=spec.region,
        connection_type="IPsec",
        connection_protocol="IKEv2",
        virtual_network_gateway1={"id": gw.resource.id},
        local_network_gateway2={"id": local.id},
        shared_key=key,
        enable_bgp=asn is not None,
        tags=c.tags(site=site.name),
        # The SDK does not mark the key secret in the state; the connection's outputs echo it.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["sharedKey"])),
    )
    tunnels: list[dict[str, Any]] = []
    for address, cloud_bgp in zip(gw.addresses, gw.bgp, strict=True):
        tunnel: dict[str, Any] = {"address": address}
        if peer_bgp is not None:
            # Azure's tunnels are unnumbered: the device adds a host route to `cloudBgpAddress` over each tunnel
            # and speaks BGP from `peerBgpAddress` (a loopback), starting the session itself, as Azure does not
            # start one from an APIPA address (bgp-howto, above).
            tunnel.update(insideCidr=f"{cloud_bgp}/32", cloudBgpAddress=cloud_bgp, peerBgpAddress=peer_bgp)
        tunnels.append(tunnel)
    return {"tunnels": tunnels, "asn": AZURE_ASN if asn is not None else None}
