"""What GKE, Cloud DNS and Cloud VPN would refuse in a plan: the control plane's range, secondary ranges, release
channel and versions; a global name's routed record set and its health check; a site's HA VPN and Cloud Router."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view, view_of

CLUSTER = "gcp:container/cluster:Cluster"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
# pulumi-gcp container.Cluster `private_cluster_config.master_ipv4_cidr_block`: "must not overlap with any other
# ranges in use within the cluster's network, and it must be a /28"; the private range rule:
# https://cloud.google.com/kubernetes-engine/docs/how-to/legacy/network-isolation and RFC 1918.
MASTER = "pulumi-gcp ClusterPrivateClusterConfig.master_ipv4_cidr_block; https://www.rfc-editor.org/rfc/rfc1918"
RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
RANGES = "https://cloud.google.com/kubernetes-engine/docs/how-to/alias-ips#secondary_ranges"
CHANNELS = "https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels"
ROUTER = "gcp:compute/router:Router"
INTERFACE = "gcp:compute/routerInterface:RouterInterface"
EXTERNAL_GATEWAY = "gcp:compute/externalVpnGateway:ExternalVpnGateway"
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# pulumi-gcp RouterInterface.ip_range: "must be in the RFC3927 link-local IP space"; a BGP session's two addresses
# share its subnet (https://cloud.google.com/network-connectivity/docs/router/how-to/configuring-bgp).
BGP = "pulumi-gcp RouterInterface.ip_range; https://cloud.google.com/network-connectivity/docs/router/how-to/configuring-bgp"
# pulumi-gcp RouterBgp.asn: "Must be an RFC6996 private ASN, either 16-bit or 32-bit".
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))
ASN = "pulumi-gcp RouterBgp.asn; https://www.rfc-editor.org/rfc/rfc6996"
# pulumi-gcp ExternalVpnGatewayInterface.id: "0 - SINGLE_IP_INTERNALLY_REDUNDANT", "0, 1 - TWO_IPS_REDUNDANCY",
# "0, 1, 2, 3 - FOUR_IPS_REDUNDANCY"; HA VPN "supports the dynamic routing option" only
# (https://cloud.google.com/vpn/docs/concepts/choosing-networks-routing) and has interfaces 0 and 1
# (https://cloud.google.com/network-connectivity/docs/vpn/concepts/overview, HA VPN).
PEER_INTERFACES = {"SINGLE_IP_INTERNALLY_REDUNDANT": 1, "TWO_IPS_REDUNDANCY": 2, "FOUR_IPS_REDUNDANCY": 4}
HA_VPN = "pulumi-gcp VPNTunnel, ExternalVpnGatewayInterface.id; https://cloud.google.com/vpn/docs/concepts/choosing-networks-routing"


def _subnetworks(plan: Plan) -> list[dict[str, Any]]:
    return [{**view(s), "id": s.id} for s in plan.resources(SUBNETWORK)]


def _ranges(subnetwork: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("ipCidrRange", str(subnetwork.get("ipCidrRange")))]
    for r in subnetwork.get("secondaryIpRanges") or []:
        out.append((f"secondary range {r.get('rangeName')}", str(r.get("ipCidrRange"))))
    return [(label, cidr) for label, cidr in out if known(cidr) and cidr != "None"]


def master_range(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    private = inputs.get("privateClusterConfig") or {}
    cidr = private.get("masterIpv4CidrBlock")
    if not known(cidr) or not cidr:
        return
    field = "privateClusterConfig.masterIpv4CidrBlock"
    try:
        master = ipaddress.ip_network(str(cidr))
    except ValueError:
        yield reject(r, field, f"{cidr!r} is not a network", MASTER)
        return
    if master.prefixlen != 28 or not any(master.subnet_of(n) for n in RFC1918 if n.version == master.version):  # type: ignore[arg-type]
        yield reject(r, field, f"{cidr}; GKE wants a /28 of RFC 1918 space for the control plane", MASTER)
    network = inputs.get("network")
    for subnetwork in _subnetworks(plan):
        if subnetwork.get("network") != network:
            continue
        for label, other in _ranges(subnetwork):
            try:
                overlaps = master.overlaps(ipaddress.ip_network(other))
            except ValueError:
                continue  # a malformed range is the subnetwork's own problem, refused by GCP there
            if overlaps:
                yield reject(
                    r, field, f"{cidr} overlaps {label} {other} of subnetwork {subnetwork.get('name')}", MASTER
                )


def secondary_ranges_exist(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    policy = inputs.get("ipAllocationPolicy") or {}
    subnetwork = next((s for s in _subnetworks(plan) if s["id"] == inputs.get("subnetwork")), None)
    if subnetwork is None or not known(policy):
        return
    names = {str(s.get("rangeName")) for s in subnetwork.get("secondaryIpRanges") or []}
    for key in ("clusterSecondaryRangeName", "servicesSecondaryRangeName"):
        wanted = policy.get(key)
        if wanted and wanted not in names:
            yield reject(
                r,
                f"ipAllocationPolicy.{key}",
                f"{wanted!r} is no secondary range of subnetwork {subnetwork.get('name')} ({sorted(names)})",
                RANGES,
            )


def node_version_on_create(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """pulumi-gcp container.Cluster `node_version`: "Must either be unset or set to the same value as
    `min_master_version` on create"."""
    inputs = view(r)
    node, master = inputs.get("nodeVersion"), inputs.get("minMasterVersion")
    if known(node) and node and node != master:
        yield reject(
            r, "nodeVersion", f"{node} differs from minMasterVersion {master}", "pulumi-gcp Cluster.node_version"
        )


def _channel(plan: Plan, cluster_name: Any) -> str | None:
    for c in plan.resources(CLUSTER):
        if view_of(c, "name") == cluster_name:
            channel = (view_of(c, "releaseChannel") or {}).get("channel")
            return str(channel) if channel and channel != "UNSPECIFIED" else None
    return None


def pools_follow_the_channel(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """In a release channel, GKE upgrades the nodes: auto-upgrade stays on and the pool pins no version."""
    inputs = view(r)
    channel = _channel(plan, inputs.get("cluster"))
    if channel is None:
        return
    if (inputs.get("management") or {}).get("autoUpgrade") is False:
        yield reject(
            r, "management.autoUpgrade", f"false in release channel {channel}; GKE keeps auto-upgrade on", CHANNELS
        )
    if known(inputs.get("version")) and inputs.get("version"):
        yield reject(
            r,
            "version",
            f"pinned to {inputs['version']} in release channel {channel}; the channel's upgrades and the pin "
            "fight each other (pulumi-gcp NodePool.version)",
            CHANNELS,
        )


# pulumi-gcp compute.HealthCheck `source_regions` and `timeout_sec` (the pinned SDK's docstrings, from the Compute
# API's HealthCheck resource).
SOURCE_REGIONS = "pulumi-gcp compute.HealthCheck source_regions, timeout_sec"


def health_check_sources(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A check with source regions (what Cloud DNS uses on external endpoints) names exactly three, probes every
    30 s or slower, over HTTP, HTTPS or TCP without a proxy header; any check's timeout is at most its interval."""
    inputs = view(r)
    interval, timeout = inputs.get("checkIntervalSec", 5), inputs.get("timeoutSec", 5)
    if known(interval) and known(timeout) and timeout > interval:
        yield reject(r, "timeoutSec", f"{timeout} above checkIntervalSec {interval}", SOURCE_REGIONS)
    regions = inputs.get("sourceRegions")
    if not known(regions) or not regions:
        return
    if len(regions) != 3:
        yield reject(
            r, "sourceRegions", f"{len(regions)} regions; a check with source regions names exactly 3", SOURCE_REGIONS
        )
    if known(interval) and interval < 30:
        yield reject(r, "checkIntervalSec", f"{interval}; at least 30 with source regions", SOURCE_REGIONS)
    for kind in ("sslHealthCheck", "http2HealthCheck", "grpcHealthCheck"):
        if inputs.get(kind):
            yield reject(r, kind, "SSL, HTTP2 and gRPC checks take no source regions", SOURCE_REGIONS)
    for kind in ("httpHealthCheck", "httpsHealthCheck", "tcpHealthCheck"):
        block = inputs.get(kind) or {}
        if block.get("proxyHeader") not in (None, "NONE"):
            yield reject(r, f"{kind}.proxyHeader", "no proxy header with source regions", SOURCE_REGIONS)
        if kind == "tcpHealthCheck" and block.get("request"):
            yield reject(r, f"{kind}.request", "no TCP request with source regions", SOURCE_REGIONS)


# https://cloud.google.com/dns/docs/configure-routing-policies (one routing policy type per record set, a geo
# policy only as a failover's backup) and pulumi-gcp dns RecordSetRoutingPolicy (health-checked targets for A and
# AAAA only; external endpoints are Internet IP addresses).
ROUTING = "https://cloud.google.com/dns/docs/configure-routing-policies; pulumi-gcp dns.RecordSet routing_policy"


def routed_record_set(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """One policy type; health-checked targets only on A/AAAA sets, each external endpoint a public IP of the set's
    family."""
    inputs = view(r)
    routing = inputs.get("routingPolicy")
    if not isinstance(routing, dict):
        return
    kinds = [k for k in ("wrrs", "geos", "primaryBackup") if routing.get(k)]
    if len(kinds) > 1:
        yield reject(
            r, f"routingPolicy.{kinds[1]}", f"{', '.join(kinds)} together; one policy type per record set", ROUTING
        )
    backup = routing.get("primaryBackup") or {}
    endpoints: list[tuple[str, Any]] = [
        (f"primaryBackup.primary.externalEndpoints[{j}]", e)
        for j, e in enumerate((backup.get("primary") or {}).get("externalEndpoints") or [])
    ]
    for key, items in (
        ("wrrs", routing.get("wrrs")),
        ("geos", routing.get("geos")),
        ("primaryBackup.backupGeos", backup.get("backupGeos")),
    ):
        for i, item in enumerate(items or []):
            targets = (item or {}).get("healthCheckedTargets") or {}
            endpoints += [
                (f"{key}[{i}].healthCheckedTargets.externalEndpoints[{j}]", e)
                for j, e in enumerate(targets.get("externalEndpoints") or [])
            ]
    kind = inputs.get("type")
    if endpoints and known(kind) and kind not in ("A", "AAAA"):
        yield reject(r, "type", f"{kind}; health-checked targets are for A and AAAA record sets only", ROUTING)
    for key, endpoint in endpoints:
        if not known(endpoint):
            continue
        try:
            address = ipaddress.ip_address(endpoint)
        except ValueError:
            yield reject(r, f"routingPolicy.{key}", f"{endpoint!r} is not an IP address", ROUTING)
            continue
        if not address.is_global:
            yield reject(r, f"routingPolicy.{key}", f"{endpoint} is not an Internet address", ROUTING)
        if kind in ("A", "AAAA") and address.version != (4 if kind == "A" else 6):
            yield reject(r, f"routingPolicy.{key}", f"IPv{address.version} {endpoint} in a {kind} record set", ROUTING)


def _router(plan: Plan, of: dict[str, Any]) -> dict[str, Any] | None:
    """The router a router interface or peer names: by name, in its project and region."""
    place = ("name", "project", "region")
    wanted = (of.get("router"), of.get("project"), of.get("region"))
    return next((v for v in map(view, plan.resources(ROUTER)) if tuple(v.get(k) for k in place) == wanted), None)


def _inside(value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    try:
        return ipaddress.ip_interface(str(value))
    except ValueError:
        return None


def router_asn(r: Registration, plan: Plan) -> Iterator[Rejection]:
    asn = (view(r).get("bgp") or {}).get("asn")
    if known(asn) and asn is not None and not any(lo <= int(asn) <= hi for lo, hi in PRIVATE_ASNS):
        yield reject(r, "bgp.asn", f"{asn} is not a private ASN (64512-65534, 4200000000-4294967294)", ASN)


def interface_range(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """Link-local, and apart from every other BGP range in the stack: one router refuses two sessions on one range,
    and a site's device linked to several clusters could not tell their sessions apart."""
    inputs = view(r)
    value = inputs.get("ipRange")
    if not known(value) or not value:
        return
    mine = _inside(value)
    if mine is None or mine.network.version != 4 or not mine.network.subnet_of(LINK_LOCAL):  # type: ignore[arg-type]
        yield reject(r, "ipRange", f"{value} is not in {LINK_LOCAL} (link-local)", BGP)
        return
    for other in plan.resources(INTERFACE):
        if other.urn == r.urn:
            break  # each pair once, reported on the later one
        theirs = _inside(view(other).get("ipRange"))
        if theirs is not None and theirs.network.overlaps(mine.network):
            yield reject(r, "ipRange", f"{value} overlaps {other.name}'s {theirs}", BGP)


def peer_session(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """The peer's address in its interface's /30, and an ASN other than the router's (Cloud Router speaks eBGP)."""
    inputs = view(r)
    router, address = inputs.get("router"), inputs.get("peerIpAddress")
    interface = next(
        (
            view(i)
            for i in plan.resources(INTERFACE)
            if view(i).get("router") == router and view(i).get("name") == inputs.get("interface")
        ),
        None,
    )
    inside = _inside(interface.get("ipRange")) if interface else None
    if known(address) and address and inside is not None:
        net = inside.network
        peer = _inside(address)
        if peer is None or peer.ip not in net or peer.ip in (inside.ip, net.network_address, net.broadcast_address):
            yield reject(r, "peerIpAddress", f"{address} is not the peer's host of {net}", BGP)
    own = ((_router(plan, inputs) or {}).get("bgp") or {}).get("asn")
    asn = inputs.get("peerAsn")
    if known(asn) and known(own) and asn is not None and asn == own:
        yield reject(r, "peerAsn", f"{asn} is the router's own ASN; a BGP peer of Cloud Router is in another AS", ASN)


def ha_vpn_tunnel(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A tunnel of an HA VPN gateway: BGP through a router, interface 0 or 1, and a peer interface that exists."""
    inputs = view(r)
    if not inputs.get("vpnGateway"):
        return  # Classic VPN: not built here
    if not inputs.get("router"):
        yield reject(r, "router", "unset on an HA VPN tunnel, which routes only by BGP through a Cloud Router", HA_VPN)
    interface = inputs.get("vpnGatewayInterface")
    if known(interface) and interface not in (0, 1):
        yield reject(r, "vpnGatewayInterface", f"{interface}; an HA VPN gateway has interfaces 0 and 1", HA_VPN)
    peer = next((view(g) for g in plan.resources(EXTERNAL_GATEWAY) if g.id == inputs.get("peerExternalGateway")), None)
    wanted = inputs.get("peerExternalGatewayInterface")
    if peer is not None and known(wanted) and wanted is not None:
        count = PEER_INTERFACES.get(str(peer.get("redundancyType")), 0)
        if not 0 <= int(wanted) < count:
            yield reject(
                r,
                "peerExternalGatewayInterface",
                f"{wanted}; {peer.get('name')} ({peer.get('redundancyType')}) has interfaces 0..{count - 1}",
                HA_VPN,
            )


def external_gateway_interfaces(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    kind, interfaces = str(inputs.get("redundancyType")), inputs.get("interfaces") or []
    count = PEER_INTERFACES.get(kind)
    ids = sorted(int(i.get("id", 0)) for i in interfaces if known(i.get("id")))
    if count is not None and ids != list(range(count)):
        yield reject(r, "interfaces", f"ids {ids}; {kind} takes ids 0..{count - 1}, one each", HA_VPN)


BINAUTHZ_PATTERNS = "https://cloud.google.com/binary-authorization/docs/policy-yaml-reference"


def allowlist_patterns(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """Each allowlist pattern is `registry/path`, an exact name or one trailing `*` or `**` after the registry.

    AdmissionWhitelistPattern.name_pattern: "in the form registry/path/to/image. This supports a trailing *
    wildcard, but this is allowed only in text after the registry/ part" (Binary Authorization API, BINAUTHZ_PATTERNS).
    """
    for i, entry in enumerate(view(r).get("admissionWhitelistPatterns") or []):
        pattern = entry.get("namePattern") if isinstance(entry, dict) else None
        if not isinstance(pattern, str) or not known(pattern):
            continue
        registry, slash, rest = pattern.partition("/")
        stem = pattern.removesuffix("**").removesuffix("*")
        if not slash or not rest or "*" in registry or "*" in stem:
            yield reject(
                r,
                f"admissionWhitelistPatterns[{i}].namePattern",
                f"{pattern!r}: a pattern is registry/path, with at most one trailing * or ** after the registry",
                BINAUTHZ_PATTERNS,
            )


RULES: Table = {
    CLUSTER: (master_range, secondary_ranges_exist, node_version_on_create),
    # A global name's routing in Cloud DNS (components/globaldns.py).
    "gcp:compute/healthCheck:HealthCheck": (health_check_sources,),
    "gcp:dns/recordSet:RecordSet": (routed_record_set,),
    "gcp:container/nodePool:NodePool": (pools_follow_the_channel,),
    ROUTER: (router_asn,),
    INTERFACE: (interface_range,),
    "gcp:compute/routerPeer:RouterPeer": (peer_session,),
    "gcp:compute/vPNTunnel:VPNTunnel": (ha_vpn_tunnel,),
    EXTERNAL_GATEWAY: (external_gateway_interfaces,),
    "gcp:binaryauthorization/policy:Policy": (allowlist_patterns,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
