"""A workload's global name: health-checked Route 53 records, one per cluster's gateway, under one routing policy.

The records live in the zone's provider, outside every cluster: a cluster that goes down cannot take its own
failover with it. Each record carries the health check of its cluster's gateway, so Route 53 answers only with
gateways that answer (failover: the secondary while the primary fails; weighted and latency: the healthy ones).
The clusters' external-dns leave these names alone (`workloads.platform.global_names`).

Argument names: pulumi_aws route53/record.py and route53/health_check.py (the pinned SDK).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.spec import AwsSpec, ClusterBase, GlobalRouting, StackSpec, WorkloadSpec, ip_or_none

# Route 53 health checkers probe every 30 s by default; 10 s ("fast") costs more per check and shortens a failover
# to about three failed probes. Source: https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
REQUEST_INTERVAL = 10
FAILURE_THRESHOLD = 3


def health_check_args(w: WorkloadSpec, cluster: ClusterBase) -> dict[str, Any]:
    """An HTTPS probe of the workload's health path through the cluster's gateway, sent with the global name.

    The gateway routes by host name, so the probe carries the global name (as `fqdn` with an `ip_address`, or as
    the host it resolves when the gateway is known by name) and SNI for the listener's certificate.
    """
    assert w.expose is not None and w.expose.global_routing is not None
    address = cluster.platform.gateway.address
    assert address is not None
    where = (
        {"ip_address": address, "fqdn": w.expose.global_routing.name}
        if ip_or_none(address) is not None
        else {"fqdn": address}
    )
    return {
        **where,
        "type": "HTTPS",
        "port": 443,
        "enable_sni": True,
        "resource_path": w.health_path,
        "request_interval": REQUEST_INTERVAL,
        "failure_threshold": FAILURE_THRESHOLD,
        "tags": {"Name": f"{w.name}-{cluster.name}", "orquestra.io/workload": w.name},
    }


def routing_policy(g: GlobalRouting, cluster: ClusterBase) -> dict[str, Any]:
    """The record's routing block; `spec._global_routing` has checked the policy's parameters."""
    if g.policy == "failover":
        role = "PRIMARY" if cluster.name == g.primary else "SECONDARY"
        return {"failover_routing_policies": [{"type": role}]}
    if g.policy == "weighted":
        return {"weighted_routing_policies": [{"weight": g.weights[cluster.name]}]}
    region = g.regions.get(cluster.name) or (cluster.region if isinstance(cluster, AwsSpec) else "")
    return {"latency_routing_policies": [{"region": region}]}


def record_args(w: WorkloadSpec, cluster: ClusterBase) -> dict[str, Any]:
    """One record of the global name's set: the cluster's gateway address, its set identifier and its policy."""
    assert w.expose is not None and w.expose.global_routing is not None
    g = w.expose.global_routing
    address = cluster.platform.gateway.address
    assert address is not None
    return {
        "name": g.name,
        "type": "A" if ip_or_none(address) is not None else "CNAME",
        "ttl": g.ttl,
        "records": [address],
        "set_identifier": cluster.name,
        **routing_policy(g, cluster),
    }


def build(stack: StackSpec, parents: Mapping[str, pulumi.Resource]) -> None:
    """The health checks and records of every global name in the stack (Route 53 is the only `dns` so far)."""
    routed = [w for w in stack.workloads if w.expose is not None and w.expose.global_routing is not None]
    if not routed:
        return
    import pulumi_aws as aws

    # Route 53 is global; its API lives in us-east-1 (https://docs.aws.amazon.com/general/latest/gr/r53.html).
    provider = aws.Provider("global-dns", region="us-east-1")
    zones: dict[str, Any] = {}
    for w in routed:
        assert w.expose is not None and w.expose.global_routing is not None
        g = w.expose.global_routing
        if g.zone not in zones:
            zones[g.zone] = aws.route53.get_zone_output(
                name=g.zone, private_zone=False, opts=pulumi.InvokeOutputOptions(provider=provider)
            )
        for name in w.clusters:
            cluster = stack.cluster(name)
            opts = pulumi.ResourceOptions(parent=parents[name], provider=provider)
            check = aws.route53.HealthCheck(
                f"{name}-{w.name}-global-health", **health_check_args(w, cluster), opts=opts
            )
            aws.route53.Record(
                f"{name}-{w.name}-global",
                zone_id=zones[g.zone].zone_id,
                health_check_id=check.id,
                **record_args(w, cluster),
                opts=opts,
            )
