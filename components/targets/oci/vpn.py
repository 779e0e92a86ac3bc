"""The OCI end of a site-to-site VPN: an IPSec connection on the DRG of the OKE cluster's VCN, to the site's CPE.

- The DRG. A VCN is attached to one DRG at most (preflight/rejects/oci.py, `one_drg_per_vcn`). A cluster whose
  deployer names a hub DRG is already on it (deployer.py), so its sites' VPNs end on that DRG too: refusing them
  would make a private cluster reachable from a hub or from its sites, never both. The DRG's default route tables
  then carry a site's routes to every VCN on the hub's DRG and theirs to the site, as they carry the cluster's
  VCN to the hub; the hub's owner who wants otherwise gives the DRG route tables of their own. Without a hub the
  stack makes a DRG per cluster (`drg`), in the network, because the VCN's route table names it.
- Routes, VCN side. An OCI route table is one resource holding every rule, and the cluster's network builds it
  before the links exist, so the network routes each linked site's `cidrs` to the DRG itself (`routes`, from
  `ClusterBase.vpn_sites`). DRG side: nothing to add. The default DRG route table for VCN attachments imports
  the routes of every attachment, the IPSec tunnels' included, and the default table for IPSec tunnel
  attachments imports the VCN attachments' routes, so the DRG sends the VCN's range into the tunnels ("The
  default VCN table's import distribution has a single statement with match criteria MATCH_ALL [...] The other
  table's import distribution has a statement to import routes from attachments with the VCN type",
  https://docs.oracle.com/en-us/iaas/tools/oci-cli/3.28.2/oci_cli_docs/cmdref/network/drg-route-distribution.html).
- The connection: a `Cpe` with the site's public address and an `Ipsec` naming it and the DRG. Oracle creates
  the connection "with two default static tunnels" (https://docs.cloud.oracle.com/iaas/tools/terraform-provider-oci/latest/docs/r/core_ipsec.html),
  ending on two VPN headends of the region ("By default, Oracle provides you with two VPN headends in the region
  to terminate the tunnels", https://www.ateam-oracle.com/vpn-connect-simpe-implementation-part-12); each gets
  an `IpsecConnectionTunnelManagement`: IKEv2, the link's key, and BGP when the peer has an ASN (each tunnel's
  inside interface a /30 of 169.254.192.0/18, `inside_ranges`) or static routing. The connection's
  `staticRoutes` are the site's `cidrs` either way: its tunnels are static until configured, and a static
  tunnel needs "at least one valid static route (you're allowed a maximum of 10)"; once both tunnels route by
  BGP, Oracle ignores them ("Oracle uses the IPSec connection's static routes when routing a tunnel's traffic
  only if that tunnel's routing attribute = STATIC",
  https://docs.oracle.com/en-us/iaas/tools/dotnet/latest/api/Oci.CoreService.Models.IPSecConnection.html).
- Security: a private API endpoint admits 6443 from the sites' ranges and an internal load balancer its
  listeners (network.py): those are what a site reaches the cluster by. The worker NSG stays closed to the sites:
  pods (flannel) have no address a site can route to, and node ports are the load balancers' business. Traffic
  from the cluster to a site leaves by the worker NSG's egress rule and returns statefully.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_oci.core as core

from components.runtime import UNKNOWN_SECRET
from components.spec import Problem, Site, tunnel_block_problems, tunnel_ranges

if TYPE_CHECKING:
    from components.cluster import KubernetesCluster
    from components.spec import OciSpec
    from components.targets.oci import OciCluster

TUNNELS = 2
"""Oracle's two tunnels per IPSec connection (the module's docstring); the link configures both."""
MAX_STATIC_ROUTES = 10
"""An IPSec connection's static routes, at most (the module's docstring)."""

# The shared secret: "Only numbers, letters, and spaces are allowed"
# (https://docs.oracle.com/en-us/iaas/tools/python/latest/api/core/models/oci.core.models.UpdateIPSecConnectionTunnelSharedSecretDetails.html).
# The spec's key rule (`spec.PRE_SHARED_KEY`) also takes periods and underscores, which OCI refuses.
SHARED_SECRET_FORBIDDEN = frozenset("._")

# A BGP inside interface "must be a /30 or /31" (pulumi-oci `core.IpsecConnectionTunnelManagementBgpSessionInfoArgs`,
# customer_interface_ip and oracle_interface_ip). Link-local /30s from the top quarter of 169.254.0.0/16: clear of
# 169.254.169.254, the instance metadata address of every OCI instance, and of the blocks the other clouds' links
# take theirs from (GCP 169.254.64.0/18, Azure 169.254.21.0-169.254.22.255), so one device can end links to several.
INSIDE_POOL = ipaddress.IPv4Network("169.254.192.0/18")
"""A link's slot is a /29: one /30 per tunnel."""


def site_ranges(spec: OciSpec) -> list[str]:
    """Every range of the sites whose VPN ends in this cluster's VCN."""
    return [cidr for site in spec.vpn_sites for cidr in site.cidrs]


def routes(spec: OciSpec, drg_id: pulumi.Input[str]) -> list[core.RouteTableRouteRuleArgs]:
    """Each site's ranges through the DRG, for the VCN's private route table (network.py)."""
    return [
        core.RouteTableRouteRuleArgs(
            network_entity_id=drg_id,
            destination=cidr,
            destination_type="CIDR_BLOCK",
            description=f"Site {site.name}, through the DRG's IPSec connection",
        )
        for site in spec.vpn_sites
        for cidr in site.cidrs
    ]


def drg(c: OciCluster, vcn: core.Vcn) -> tuple[pulumi.Output[str], core.DrgAttachment]:
    """A DRG of the cluster's own with its VCN attached, in the DRG's default route table for VCN attachments."""
    name, tags = c.spec.name, c.tags()
    gateway = core.Drg(
        f"{name}-drg",
        compartment_id=c.spec.compartment_id,
        display_name=f"{name}-drg",
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    attachment = core.DrgAttachment(
        f"{name}-drg-vcn",
        drg_id=gateway.id,
        display_name=f"{name}-vcn",
        network_details=core.DrgAttachmentNetworkDetailsArgs(type="VCN", id=vcn.id),
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    return gateway.id, attachment


def inside_ranges(site: Site, cluster: str) -> list[ipaddress.IPv4Network]:
    """Each tunnel's /30 on the link from `site` to `cluster`, out of `INSIDE_POOL` (`spec.tunnel_ranges`)."""
    return tunnel_ranges(site, cluster, INSIDE_POOL, TUNNELS)


def check(site: Site, cluster: Any) -> Iterator[Problem]:
    """What OCI refuses that the spec shows: a VCN the stack does not route, a site range over the tunnels' block,
    more ranges than static routes, a key with characters OCI refuses."""
    if getattr(cluster, "existing_vcn", None) is not None:
        yield Problem(
            f"vpn[{site.vpn.index(cluster.name)}]",
            cluster.name,
            "a cluster whose VCN the stack creates (not existingVcn): the VPN routes the site's ranges in the VCN's "
            "route tables, which this stack does not own",
        )
    yield from tunnel_block_problems(site, cluster, INSIDE_POOL)
    if len(site.cidrs) > MAX_STATIC_ROUTES:
        yield Problem(
            "cidrs",
            site.cidrs,
            f"at most {MAX_STATIC_ROUTES} ranges for a VPN to '{cluster.name}' on oci (an IPSec connection's "
            "static routes); summarise them",
        )
    key = site.peer.pre_shared_key if site.peer is not None else None
    if (
        key is not None
        and key.get_secret_value() != UNKNOWN_SECRET
        and SHARED_SECRET_FORBIDDEN & set(key.get_secret_value())
    ):
        yield Problem(
            "peer.preSharedKey",
            key,
            f"letters and digits only for a VPN to '{cluster.name}' on oci (OCI takes letters, digits and spaces)",
        )


def build(
    site: Site, cluster: KubernetesCluster[Any], key: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> Mapping[str, Any]:
    """The site's CPE, its IPSec connection on the cluster's DRG, and both tunnels' settings."""
    assert site.peer is not None  # `Site.problems`
    c: OciCluster = cluster  # type: ignore[assignment]
    spec, link = c.spec, f"{site.name}-{c.spec.name}"
    drg_id = c.network.drg_id
    assert drg_id is not None  # network.py: a cluster with sites is on a DRG
    tags = c.tags(site=site.name)
    cpe = core.Cpe(
        f"{link}-cpe",
        compartment_id=spec.compartment_id,
        ip_address=site.peer.address,
        display_name=site.name,
        freeform_tags=tags,
        opts=opts,
    )
    asn = site.peer.asn
    ipsec = core.Ipsec(
        f"{link}-ipsec",
        compartment_id=spec.compartment_id,
        cpe_id=cpe.id,
        drg_id=drg_id,
        static_routes=list(site.cidrs),
        display_name=link,
        freeform_tags=tags,
        opts=opts,
    )
    # Oracle creates the tunnels with the connection; they are configured, not created, by the stack.
    found = core.get_ipsec_connection_tunnels_output(ipsec_id=ipsec.id, opts=pulumi.InvokeOutputOptions(parent=ipsec))
    ids = found.ip_sec_connection_tunnels.apply(lambda ts: sorted(t.id for t in ts))
    ranges = inside_ranges(site, spec.name)
    tunnels: list[dict[str, Any]] = []
    cloud_asn: pulumi.Output[int | None] | None = None
    for i in range(TUNNELS):
        inside = ranges[i]
        oracle_ip, peer_ip = (f"{inside[n]}/{inside.prefixlen}" for n in (1, 2))
        managed = core.IpsecConnectionTunnelManagement(
            f"{link}-tunnel-{i + 1}",
            ipsec_id=ipsec.id,
            tunnel_id=ids.apply(lambda found, i=i: found[i]),
            display_name=f"{link}-{i + 1}",
            ike_version="V2",
            routing="BGP" if asn is not None else "STATIC",
            shared_secret=key,
            bgp_session_info=core.IpsecConnectionTunnelManagementBgpSessionInfoArgs(
                customer_bgp_asn=str(asn), customer_interface_ip=peer_ip, oracle_interface_ip=oracle_ip
            )
            if asn is not None
            else None,
            # The SDK marks sharedSecret secret itself; said again, so the key's secrecy does not rest on it.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["sharedSecret"])),
        )
        tunnel: dict[str, Any] = {"address": managed.vpn_ip}
        if asn is not None:
            tunnel.update(insideCidr=str(inside), cloudBgpAddress=str(inside[1]), peerBgpAddress=str(inside[2]))
            if cloud_asn is None:
                cloud_asn = managed.bgp_session_info.apply(
                    lambda b: int(b.oracle_bgp_asn) if b is not None and b.oracle_bgp_asn else None
                )
        tunnels.append(tunnel)
    return {"tunnels": tunnels, "asn": cloud_asn}
