"""What OCI would refuse in a plan: flexible shape sizes, names, VCN and subnet ranges, pod and service ranges, a
site's IPSec tunnels."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

CLUSTER = "oci:ContainerEngine/cluster:Cluster"
NODE_POOL = "oci:ContainerEngine/nodePool:NodePool"
VCN = "oci:Core/vcn:Vcn"
SUBNET = "oci:Core/subnet:Subnet"
DRG_ATTACHMENT = "oci:Core/drgAttachment:DrgAttachment"
IPSEC = "oci:Core/ipsec:Ipsec"
TUNNEL = "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement"

SHAPES = "https://docs.oracle.com/en-us/iaas/Content/Compute/References/computeshapes.htm#flexible"
FLEX_LIMITS: dict[str, tuple[int, int]] = {
    # Shape -> (max OCPUs, max memory GB) of a VM; every flexible shape takes 1 to 64 GB per OCPU.
    "VM.Standard.E5.Flex": (94, 1049),
    "VM.Standard.E4.Flex": (64, 1024),
    "VM.Standard3.Flex": (32, 512),
    "VM.Standard.A1.Flex": (80, 512),
    "VM.Optimized3.Flex": (18, 256),
}
GB_PER_OCPU = (1, 64)
VCN_RANGES = "https://docs.oracle.com/en-us/iaas/Content/Network/Concepts/overview.htm (VCNs and Subnets)"
OKE_RANGES = "https://docs.oracle.com/en-us/iaas/Content/ContEng/Concepts/contengnetworkconfig.htm (VCN Configuration)"
NAMES = "https://docs.oracle.com/en-us/iaas/api/#/en/containerengine/20180222/datatypes/CreateClusterDetails"
ONE_DRG = (
    "https://docs.oracle.com/en/engineered-systems/private-cloud-appliance/3.0-latest/ceapi/"
    "op-20160918-drgattachments-post.html (Core API 20160918, CreateDrgAttachment)"
)
BGP_SESSION = "https://docs.oracle.com/en-us/iaas/tools/dotnet/latest/api/Oci.CoreService.Models.CreateIPSecTunnelBgpSessionDetails.html"
STATIC_ROUTES = "https://docs.cloud.oracle.com/iaas/tools/terraform-provider-oci/latest/docs/r/core_ipsec.html"
MAX_STATIC_ROUTES = 10
MAX_NAME = 255
"""Cluster and node pool names, as CreateClusterDetails/CreateNodePoolDetails take them."""


def flex_shape(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    shape, config = inputs.get("nodeShape"), inputs.get("nodeShapeConfig") or {}
    if not known(shape) or not known(config):
        return
    limits = FLEX_LIMITS.get(str(shape))
    if str(shape).endswith(".Flex") and not config:
        yield reject(r, "nodeShapeConfig", f"{shape} is flexible: it needs ocpus and memoryInGbs", SHAPES)
    if limits is None or not config:
        return
    ocpus, memory = float(config.get("ocpus") or 0), float(config.get("memoryInGbs") or 0)
    if not 1 <= ocpus <= limits[0]:
        yield reject(r, "nodeShapeConfig.ocpus", f"{ocpus:g} OCPUs; {shape} takes 1 to {limits[0]}", SHAPES)
    if not 1 <= memory <= limits[1]:
        yield reject(r, "nodeShapeConfig.memoryInGbs", f"{memory:g} GB; {shape} takes 1 to {limits[1]} GB", SHAPES)
    if ocpus and not GB_PER_OCPU[0] <= memory / ocpus <= GB_PER_OCPU[1]:
        yield reject(
            r,
            "nodeShapeConfig.memoryInGbs",
            f"{memory:g} GB for {ocpus:g} OCPUs; a flexible shape takes "
            f"{GB_PER_OCPU[0]} to {GB_PER_OCPU[1]} GB per OCPU",
            SHAPES,
        )


def name_length(r: Registration, plan: Plan) -> Iterator[Rejection]:
    name = view(r).get("name")
    if known(name) and name and len(str(name)) > MAX_NAME:
        yield reject(r, "name", f"{len(str(name))} characters; at most {MAX_NAME}", NAMES)


def vcn_ranges(r: Registration, plan: Plan) -> Iterator[Rejection]:
    for cidr in view(r).get("cidrBlocks") or []:
        if not known(cidr):
            continue
        net = ipaddress.ip_network(str(cidr), strict=False)
        if net.version == 4 and not 16 <= net.prefixlen <= 30:
            yield reject(r, "cidrBlocks", f"{cidr}; a VCN range is /16 to /30", VCN_RANGES)


def _vcn_ranges(plan: Plan, vcn_id: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    for v in plan.resources(VCN):
        if v.id == vcn_id:
            return [ipaddress.ip_network(str(c), strict=False) for c in view(v).get("cidrBlocks") or [] if known(c)]
    return []


def subnet_in_vcn(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    cidr, ranges = inputs.get("cidrBlock"), _vcn_ranges(plan, inputs.get("vcnId"))
    if not known(cidr) or not cidr or not ranges:
        return
    net = ipaddress.ip_network(str(cidr), strict=False)
    if not any(net.version == v.version and net.subnet_of(v) for v in ranges):  # type: ignore[arg-type]
        yield reject(r, "cidrBlock", f"{cidr} is outside the VCN's {', '.join(map(str, ranges))}", VCN_RANGES)
    if net.version == 4 and net.prefixlen > 30:
        yield reject(r, "cidrBlock", f"{cidr}; a subnet is at most a /30", VCN_RANGES)


def pod_and_service_ranges(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """OKE: the pods and services ranges must not overlap the VCN's, nor each other."""
    inputs = view(r)
    config = (inputs.get("options") or {}).get("kubernetesNetworkConfig") or {}
    ranges = _vcn_ranges(plan, inputs.get("vcnId"))
    named = [(k, config.get(k)) for k in ("podsCidr", "servicesCidr") if known(config.get(k)) and config.get(k)]
    for key, cidr in named:
        net = ipaddress.ip_network(str(cidr), strict=False)
        for vcn in ranges:
            if net.overlaps(vcn):
                yield reject(
                    r, f"options.kubernetesNetworkConfig.{key}", f"{cidr} overlaps the VCN's {vcn}", OKE_RANGES
                )
    if len(named) == 2 and ipaddress.ip_network(str(named[0][1])).overlaps(ipaddress.ip_network(str(named[1][1]))):
        yield reject(r, "options.kubernetesNetworkConfig", f"{named[0][1]} overlaps {named[1][1]}", OKE_RANGES)


def _attached_vcn(inputs: dict[str, Any]) -> Any:
    return (inputs.get("networkDetails") or {}).get("id") or inputs.get("vcnId")


def one_drg_per_vcn(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A later attachment of a VCN to another DRG: "A VCN can be attached to only one DRG at a time"."""
    inputs = view(r)
    vcn, drg = _attached_vcn(inputs), inputs.get("drgId")
    if not known(vcn) or not vcn or not known(drg):
        return
    for other in plan.resources(DRG_ATTACHMENT):
        if other.urn == r.urn:
            return
        theirs = view(other)
        if _attached_vcn(theirs) == vcn and theirs.get("drgId") != drg:
            yield reject(r, "drgId", f"{drg}; the VCN is already attached to {theirs.get('drgId')}", ONE_DRG)


def _inside(value: Any) -> ipaddress.IPv4Interface | None:
    try:
        inside = ipaddress.ip_interface(str(value))
    except ValueError:
        return None
    return inside if isinstance(inside, ipaddress.IPv4Interface) else None


def tunnel_routing(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """BGP needs the CPE's ASN and both ends of the inside interface, "a /30 or /31"; STATIC needs no ASN ("If the
    tunnel's routing attribute is set to STATIC, the customerBgpAsn must be null")."""
    inputs = view(r)
    routing, bgp = inputs.get("routing"), inputs.get("bgpSessionInfo") or {}
    if not known(routing) or not known(bgp):
        return
    if routing == "STATIC" and bgp.get("customerBgpAsn"):
        yield reject(r, "bgpSessionInfo.customerBgpAsn", "set on a STATIC tunnel; it must be null", BGP_SESSION)
    if routing != "BGP":
        return
    if not str(bgp.get("customerBgpAsn") or "").isdigit():
        yield reject(
            r, "bgpSessionInfo.customerBgpAsn", f"{bgp.get('customerBgpAsn')!r}; BGP needs the CPE's ASN", BGP_SESSION
        )
    ends: dict[str, ipaddress.IPv4Interface] = {}
    for end in ("customerInterfaceIp", "oracleInterfaceIp"):
        inside = _inside(bgp.get(end))
        if inside is None or inside.network.prefixlen not in (30, 31):
            yield reject(r, f"bgpSessionInfo.{end}", f"{bgp.get(end)!r}; BGP needs an IPv4 /30 or /31", BGP_SESSION)
        else:
            ends[end] = inside
    if len(ends) == 2:
        cpe, oracle = ends["customerInterfaceIp"], ends["oracleInterfaceIp"]
        if cpe.network != oracle.network or cpe.ip == oracle.ip:
            yield reject(
                r,
                "bgpSessionInfo",
                f"{cpe} and {oracle}: two addresses of one inside interface, the same /30 or /31",
                BGP_SESSION,
            )


def static_routes(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """No multicast or class E static route (pulumi-oci `core.IpsecArgs.static_routes`); a connection with a
    STATIC tunnel needs one at least, and takes 10 at most (`STATIC_ROUTES`)."""
    inputs = view(r)
    routes = inputs.get("staticRoutes") or []
    if not known(routes):
        return
    if len(routes) > MAX_STATIC_ROUTES:
        yield reject(r, "staticRoutes", f"{len(routes)} routes; at most {MAX_STATIC_ROUTES}", STATIC_ROUTES)
    for i, route in enumerate(routes):
        net = ipaddress.ip_network(str(route), strict=False)
        if net.version == 4 and (net.is_multicast or net.subnet_of(ipaddress.IPv4Network("240.0.0.0/4"))):
            yield reject(r, f"staticRoutes[{i}]", f"{route}; not a multicast or class E range", STATIC_ROUTES)
    if routes or not r.id:
        return
    mine = [t for t in plan.resources(TUNNEL) if view(t).get("ipsecId") == r.id]
    if any(view(t).get("routing") == "STATIC" for t in mine):
        yield reject(r, "staticRoutes", "empty while a tunnel uses STATIC routing; at least one route", STATIC_ROUTES)


RULES: Table = {
    NODE_POOL: (flex_shape, name_length),
    CLUSTER: (name_length, pod_and_service_ranges),
    VCN: (vcn_ranges,),
    SUBNET: (subnet_in_vcn,),
    DRG_ATTACHMENT: (one_drg_per_vcn,),
    TUNNEL: (tunnel_routing,),
    IPSEC: (static_routes,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
