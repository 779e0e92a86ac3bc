"""The path from the deployer's hub to a private OKE API endpoint, built by the cluster's own first deploy.

The hub is a DRG the hub VCN is already attached to; the stack attaches the cluster's VCN to
the same DRG. A DRG routes between the VCNs attached to it, and the default DRG route table for
VCN attachments imports the routes of every attachment ("a single statement with match criteria
MATCH_ALL"), so the DRG learns the cluster's VCN CIDR with no rule added per cluster; the hub's
subnets send the clusters' address plan to the DRG once, a route its owner sets up with the hub
(docs/private-deploy.md). Sources:
https://docs.oracle.com/en-us/iaas/Content/Network/Tasks/managingDRGs.htm and
https://docs.oracle.com/en-us/iaas/tools/dotnet/90.4.0/api/Oci.CoreService.Models.DrgRouteDistribution.html
(the default VCN table's import distribution).

The cluster's side is a route to each hub range through the DRG in the private route table the
API subnet uses (network.py), and the API NSG admits 6443 from those ranges
(`network.api_clients`). 12250 stays closed to the hub: Oracle's table opens it to worker nodes
only, for their traffic to the control plane; a kubectl or Helm client uses 6443
(https://docs.oracle.com/en-us/iaas/Content/ContEng/Concepts/contengnetworkconfig.htm,
Kubernetes API endpoint subnet security rules).

A local peering gateway pair was the other way to join two VCNs of a region; it needs a rule in
the hub VCN's route table to the cluster, and an OCI route table is one resource holding all its
rules, so the stack would have to take over a table it does not own (or the hub's owner add a
rule for each cluster by hand). The DRG needs neither.

DNS needs nothing: the kubeconfig (`OciCluster`) names the endpoint by `endpoints.privateEndpoint`,
"the private native networking Kubernetes API server endpoint", an address and port in the API
subnet (pulumi-oci 5.5.0 `containerengine.outputs.ClusterEndpoint`), not by `vcnHostnameEndpoint`,
a name under the cluster VCN's own `oraclevcn.com` domain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi_oci.core as core

from components.spec import OciHub

if TYPE_CHECKING:
    from components.targets.oci import OciCluster


def attach(c: OciCluster, hub: OciHub, vcn: core.Vcn) -> core.DrgAttachment:
    """The cluster's VCN on the hub's DRG, in the DRG's default route table for VCN attachments (no
    `drg_route_table_id`), which is what imports it for the hub."""
    name = c.spec.name
    return core.DrgAttachment(
        f"{name}-hub",
        drg_id=hub.drg_id,
        display_name=f"{name}-hub",
        network_details=core.DrgAttachmentNetworkDetailsArgs(type="VCN", id=vcn.id),
        freeform_tags=c.tags(),
        opts=c.child_opts(),
    )


def routes(hub: OciHub) -> list[core.RouteTableRouteRuleArgs]:
    """Each hub range through the DRG; the table holding these waits for `attach`, so no rule of it names a DRG
    the VCN is not on yet."""
    return [
        core.RouteTableRouteRuleArgs(
            network_entity_id=hub.drg_id,
            destination=cidr,
            destination_type="CIDR_BLOCK",
            description="The deployer's hub, through its DRG",
        )
        for cidr in hub.cidrs
    ]
