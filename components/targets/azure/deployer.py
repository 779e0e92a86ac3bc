"""The path from the deployer's hub VNet to a private AKS API server, and the name that leads there.

A private cluster's API server answers on a private address, reachable from the
cluster's VNet and VNets peered with it; its name lives in a private DNS zone
`privatelink.<region>.azmk8s.io`, which a peered hub resolves only when the zone
is linked to the hub's VNet. With `privateDNSZone: system` that zone is created
by AKS in the node resource group once the cluster exists, so linking it would
be a second step by hand; with a zone of the stack's own (bring your own), AKS
writes its record there and the stack links the zone to the hub before the
first Kubernetes call. AKS needs "Private DNS Zone Contributor" on that zone for
its user-assigned control-plane identity (Network Contributor on the VNet is
granted already). Source: https://learn.microsoft.com/azure/aks/private-clusters
(Configure a private DNS zone; Hub and spoke with custom DNS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization, managedidentity, network, privatedns

from components.spec import AzureHub
from components.targets.azure.identity import guid, role_definition

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster

# Built-in role "Private DNS Zone Contributor" (the same GUID in every tenant):
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/networking#private-dns-zone-contributor
ROLE_PRIVATE_DNS_ZONE_CONTRIBUTOR = "b12aa53e-6015-4669-85d0-8515ebb3ae7f"


@dataclass(frozen=True)
class Zone:
    id: pulumi.Input[str]
    """What `apiServerAccessProfile.privateDNSZone` names."""
    ready: list[pulumi.Resource]
    """What the cluster waits for: the zone's grant to the control plane (and the zone when the stack owns it)."""


def _parts(vnet_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, VNet name) of a VNet resource id."""
    segments = vnet_id.strip("/").split("/")
    return segments[1], segments[3], segments[-1]


def zone(c: AzureCluster, hub: AzureHub, plane: managedidentity.UserAssignedIdentity) -> Zone:
    """The private DNS zone of the API server: the hub's own (`privateDnsZoneId`) or one linked to the hub here."""
    name, rg = c.spec.name, c.resource_group.name
    made: list[pulumi.Resource] = []
    zone_id: pulumi.Input[str]
    if hub.private_dns_zone_id is not None:
        zone_id = hub.private_dns_zone_id
    else:
        # The zone AKS expects for a private cluster in this region (same page, "privatelink.<region>.azmk8s.io").
        own = privatedns.PrivateZone(
            f"{name}-api-dns",
            private_zone_name=f"privatelink.{c.spec.region}.azmk8s.io",
            resource_group_name=rg,
            location="global",
            tags=c.tags(),
            opts=c.child_opts(),
        )
        link = privatedns.VirtualNetworkLink(
            f"{name}-api-dns-hub",
            virtual_network_link_name="deployer-hub",
            private_zone_name=own.name,
            resource_group_name=rg,
            location="global",
            virtual_network={"id": hub.vnet_id},
            registration_enabled=False,
            tags=c.tags(),
            opts=c.child_opts(),
        )
        zone_id, made = own.id, [own, link]
    grant = authorization.RoleAssignment(
        f"{name}-private-dns-zone-contributor",
        role_assignment_name=guid(c.environment, name, "private-dns-zone-contributor"),
        scope=zone_id,
        role_definition_id=role_definition(c, ROLE_PRIVATE_DNS_ZONE_CONTRIBUTOR),
        principal_id=plane.principal_id,
        principal_type="ServicePrincipal",
        opts=c.child_opts(),
    )
    return Zone(zone_id, [*made, grant])


def peer(c: AzureCluster, hub: AzureHub, vnet: network.VirtualNetwork) -> list[pulumi.Resource]:
    """The peering both ways: traffic flows once each VNet has its half
    (https://learn.microsoft.com/azure/virtual-network/virtual-network-peering-overview)."""
    name, rg = c.spec.name, c.resource_group.name
    subscription, hub_rg, hub_vnet = _parts(hub.vnet_id)
    out = network.VirtualNetworkPeering(
        f"{name}-to-hub",
        virtual_network_peering_name="to-deployer-hub",
        resource_group_name=rg,
        virtual_network_name=vnet.name,
        remote_virtual_network={"id": hub.vnet_id},
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        opts=c.child_opts(),
    )
    # The hub's half is made in the hub's subscription, which may not be the cluster's.
    hub_provider = azure_native.Provider(
        f"{name}-hub", subscription_id=subscription, opts=pulumi.ResourceOptions(parent=c)
    )
    back = network.VirtualNetworkPeering(
        f"{name}-from-hub",
        virtual_network_peering_name=f"to-{name}",
        resource_group_name=hub_rg,
        virtual_network_name=hub_vnet,
        remote_virtual_network={"id": vnet.id},
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        opts=c.child_opts(provider=hub_provider, depends_on=[out]),
    )
    return [out, back]
