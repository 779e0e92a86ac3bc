"""What GKE would refuse in a plan: the control plane's range, secondary ranges, release channel and versions."""

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


RULES: Table = {
    CLUSTER: (master_range, secondary_ranges_exist, node_version_on_create),
    "gcp:container/nodePool:NodePool": (pools_follow_the_channel,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
