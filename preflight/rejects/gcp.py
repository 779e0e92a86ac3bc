"""What GKE and Cloud DNS would refuse in a plan: the control plane's range, secondary ranges, release channel and
versions; a global name's routed record set and its health check."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

CLUSTER = "gcp:container/cluster:Cluster"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
# pulumi-gcp container.Cluster `private_cluster_config.master_ipv4_cidr_block`: "must not overlap with any other
# ranges in use within the cluster's network, and it must be a /28"; the private range rule:
# https://cloud.google.com/kubernetes-engine/docs/how-to/legacy/network-isolation and RFC 1918.
MASTER = "pulumi-gcp ClusterPrivateClusterConfig.master_ipv4_cidr_block; https://www.rfc-editor.org/rfc/rfc1918"
RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
RANGES = "https://cloud.google.com/kubernetes-engine/docs/how-to/alias-ips#secondary_ranges"
CHANNELS = "https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels"


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
        inputs = view(c)
        if inputs.get("name") == cluster_name:
            channel = (inputs.get("releaseChannel") or {}).get("channel")
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


RULES: Table = {
    CLUSTER: (master_range, secondary_ranges_exist, node_version_on_create),
    # A global name's routing in Cloud DNS (components/globaldns.py).
    "gcp:compute/healthCheck:HealthCheck": (health_check_sources,),
    "gcp:dns/recordSet:RecordSet": (routed_record_set,),
    "gcp:container/nodePool:NodePool": (pools_follow_the_channel,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
