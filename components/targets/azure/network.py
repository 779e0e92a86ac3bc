"""The cluster's network: a VNet with the nodes' subnet and a subnet delegated to the API server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulumi_azure_native import network

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster


# A VPN gateway's subnet: "/29 at the smallest; we recommend /27 or larger"
# (https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub).
GATEWAY_SUBNET_PREFIX = 27


def _nodes_cidr(cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(next(cidr.subnets(new_prefix=min(cidr.prefixlen + 2, 28))))


def _apiserver_cidr(cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(list(cidr.subnets(new_prefix=28))[-1])


def gateway_cidr(vnet: str) -> str | None:
    """The `GatewaySubnet` of a site-to-site VPN: the /27 just below the API server's /28 at the VNet's top end,
    clear of the nodes' first quarter; None when the VNet has no such room (smaller than a /25)."""
    cidr = ipaddress.ip_network(vnet)
    if cidr.prefixlen >= GATEWAY_SUBNET_PREFIX:
        return None
    size = 2 ** (cidr.max_prefixlen - GATEWAY_SUBNET_PREFIX)
    gateway = ipaddress.ip_network((int(cidr.broadcast_address) + 1 - 2 * size, GATEWAY_SUBNET_PREFIX))
    taken = (_nodes_cidr(cidr), _apiserver_cidr(cidr))
    return None if any(gateway.overlaps(ipaddress.ip_network(t)) for t in taken) else str(gateway)


@dataclass(frozen=True)
class Network:
    vnet: network.VirtualNetwork
    nodes: network.Subnet
    apiserver: network.Subnet
    """Delegated to AKS for API server VNet integration."""


def build(c: AzureCluster) -> Network:
    """The VNet in the cluster's resource group (`network.cidr`): a quarter for nodes, a /28 for the API server."""
    spec, name, location, rg = c.spec, c.spec.name, c.spec.region, c.resource_group.name
    tags = c.tags()
    cidr = ipaddress.ip_network(spec.network.cidr)
    nodes_cidr, apiserver_cidr = _nodes_cidr(cidr), _apiserver_cidr(cidr)
    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        virtual_network_name=f"{name}-vnet",
        resource_group_name=rg,
        location=location,
        address_space={"address_prefixes": [spec.network.cidr]},
        tags=tags,
        opts=c.child_opts(),
    )
    nodes_subnet = network.Subnet(
        f"{name}-nodes",
        subnet_name="nodes",
        resource_group_name=rg,
        virtual_network_name=vnet.name,
        address_prefix=nodes_cidr,
        default_outbound_access=False,
        opts=c.child_opts(),
    )
    apiserver_subnet = network.Subnet(
        f"{name}-apiserver",
        subnet_name="apiserver",
        resource_group_name=rg,
        virtual_network_name=vnet.name,
        address_prefix=apiserver_cidr,
        default_outbound_access=False,
        delegations=[{"name": "aks", "service_name": "Microsoft.ContainerService/managedClusters"}],
        opts=c.child_opts(depends_on=[nodes_subnet]),
    )

    return Network(vnet, nodes_subnet, apiserver_subnet)
