"""The cluster's network: a VNet with the nodes' subnet and a subnet delegated to the API server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulumi_azure_native import network

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster


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
    nodes_cidr = str(next(cidr.subnets(new_prefix=min(cidr.prefixlen + 2, 28))))
    apiserver_cidr = str(list(cidr.subnets(new_prefix=28))[-1])
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
