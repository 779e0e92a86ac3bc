"""A workload's global name: health-checked DNS routing to each cluster's gateway, in the zone's own provider.

The routing lives in the zone's provider, outside every cluster: a cluster that goes down cannot take its own
failover with it. Whoever hosts the zone (`expose.global.dns`) probes each cluster's gateway and answers only with
gateways that answer (failover: the secondary while the primary fails; weighted and latency: the healthy ones):

- route53: one record per cluster, each with its own health check;
- clouddns: one record set with a routing policy (`primary_backup`, `wrr`, `geo`) whose items are the gateways'
  IP addresses as health-checked external endpoints, under one global HTTPS health check;
- azure: a Traffic Manager profile with an external endpoint per gateway and an HTTPS monitor, and a CNAME of the
  global name to the profile in the Azure DNS zone.

The clusters' external-dns leave these names alone (`workloads.platform.global_names`).

Argument names: pulumi_aws route53/record.py and route53/health_check.py, pulumi_gcp dns/record_set.py and
compute/health_check.py, pulumi_azure_native trafficmanager/profile.py and dns/record_set.py (the pinned SDKs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.spec import (
    AwsSpec,
    AzureSpec,
    ClusterBase,
    GcpSpec,
    GlobalRouting,
    StackSpec,
    WorkloadSpec,
    ip_or_none,
    traffic_manager_name,
)

# Route 53 health checkers probe every 30 s by default; 10 s ("fast") costs more per check and shortens a failover
# to about three failed probes. Source: https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
REQUEST_INTERVAL = 10
FAILURE_THRESHOLD = 3


def health_check_args(w: WorkloadSpec, cluster: ClusterBase) -> dict[str, Any]:
    """An HTTPS probe of the workload's health path through the cluster's gateway, sent with the global name.

    The gateway routes by host name, so the probe carries the global name (as `fqdn` with an `ip_address`, or as
    the host it resolves when the gateway is known by name) and SNI for the listener's certificate.
    """
    address = _gateway(cluster)
    where = {"ip_address": address, "fqdn": _routed(w).name} if ip_or_none(address) is not None else {"fqdn": address}
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
    g, address = _routed(w), _gateway(cluster)
    return {
        "name": g.name,
        "type": record_type(address),
        "ttl": g.ttl,
        "records": [address],
        "set_identifier": cluster.name,
        **routing_policy(g, cluster),
    }


def record_type(address: str) -> str:
    """A for an IPv4 gateway address, AAAA for IPv6, CNAME for a name (`spec._global_routing` keeps one kind)."""
    ip = ip_or_none(address)
    return "CNAME" if ip is None else "A" if ip.version == 4 else "AAAA"


def _gateway(cluster: ClusterBase) -> str:
    address = cluster.platform.gateway.address
    assert address is not None
    return address


def _routed(w: WorkloadSpec) -> GlobalRouting:
    assert w.expose is not None and w.expose.global_routing is not None
    return w.expose.global_routing


def build(stack: StackSpec, parents: Mapping[str, pulumi.Resource]) -> None:
    """The routing of every global name in the stack, each in the provider that hosts its zone."""
    routed = [w for w in stack.workloads if w.expose is not None and w.expose.global_routing is not None]
    by_dns = {dns: [w for w in routed if _routed(w).dns == dns] for dns in ("route53", "clouddns", "azure")}
    if by_dns["route53"]:
        _route53(stack, by_dns["route53"], parents)
    if by_dns["clouddns"]:
        _clouddns(stack, by_dns["clouddns"])
    if by_dns["azure"]:
        _azure(stack, by_dns["azure"])


def _route53(stack: StackSpec, routed: list[WorkloadSpec], parents: Mapping[str, pulumi.Resource]) -> None:
    import pulumi_aws as aws

    # Route 53 is global; its API lives in us-east-1 (https://docs.aws.amazon.com/general/latest/gr/r53.html).
    provider = aws.Provider("global-dns", region="us-east-1")
    zones: dict[str, Any] = {}
    for w in routed:
        g = _routed(w)
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


# ------------------------------------------------------------------------------------------------- Cloud DNS

CLOUD_DNS_CHECK_REGIONS = ("us-east4", "europe-west1", "asia-southeast1")
"""Where Google probes the gateways from: a health check of external endpoints names exactly three source regions
(pulumi_gcp compute/health_check.py `source_regions`); one per continent, so one region's network trouble does not
fail a gateway everywhere."""
CLOUD_DNS_CHECK_INTERVAL = 30
"""The shortest interval a health check with source regions takes (same source: `checkIntervalSec` >= 30)."""


def cloud_dns_health_check_args(w: WorkloadSpec) -> dict[str, Any]:
    """An HTTPS probe of every gateway of the global name, sent with the global name as its Host.

    One check serves the whole record set: Cloud DNS applies the routing policy's `health_check` to each external
    endpoint. Restrictions of a check with source regions (no SSL/HTTP2/gRPC, no proxy header, interval >= 30 s):
    pulumi_gcp compute/health_check.py `source_regions`.
    """
    g = _routed(w)
    return {
        "description": f"{g.name} on each cluster's gateway (orquestra expose.global)",
        "check_interval_sec": CLOUD_DNS_CHECK_INTERVAL,
        "timeout_sec": 5,
        "healthy_threshold": 2,
        "unhealthy_threshold": FAILURE_THRESHOLD,
        "https_health_check": {"port": 443, "host": g.name, "request_path": w.health_path},
        "source_regions": list(CLOUD_DNS_CHECK_REGIONS),
    }


def cloud_dns_location(g: GlobalRouting, cluster: ClusterBase) -> str:
    """The GCP region a cluster stands for in a geo item: `regions`, or a GKE cluster's own region."""
    return g.regions.get(cluster.name) or (cluster.region if isinstance(cluster, GcpSpec) else "")


def cloud_dns_routing_policy(stack: StackSpec, w: WorkloadSpec, health_check: pulumi.Input[str]) -> dict[str, Any]:
    """failover -> primary_backup (the primary's address, the secondary as the backup geo item), weighted -> wrr,
    latency -> geo, each item's address a health-checked external endpoint.

    Source: https://cloud.google.com/dns/docs/routing-policies-overview and pulumi_gcp dns/record_set.py
    (RecordSetRoutingPolicy: `health_check` for external endpoints, `primary_backup.backup_geos`).
    """
    g = _routed(w)
    clusters = [stack.cluster(name) for name in w.clusters]

    def target(cluster: ClusterBase) -> dict[str, Any]:
        return {"health_checked_targets": {"external_endpoints": [_gateway(cluster)]}}

    if g.policy == "failover":
        primary = next(c for c in clusters if c.name == g.primary)
        backups = [c for c in clusters if c.name != g.primary]
        return {
            "health_check": health_check,
            "primary_backup": {
                "primary": {"external_endpoints": [_gateway(primary)]},
                "backup_geos": [{"location": cloud_dns_location(g, c), **target(c)} for c in backups],
            },
        }
    if g.policy == "weighted":
        return {"health_check": health_check, "wrrs": [{"weight": g.weights[c.name], **target(c)} for c in clusters]}
    return {
        "health_check": health_check,
        "geos": [{"location": cloud_dns_location(g, c), **target(c)} for c in clusters],
    }


def _managed_zone(zones: list[Any], dns_name: str) -> str:
    """The public managed zone serving `dns_name` (Cloud DNS names end with a dot)."""
    for zone in zones:
        if zone.dns_name == f"{dns_name}." and zone.visibility == "public":
            return str(zone.name)
    raise ValueError(f"no public Cloud DNS managed zone for {dns_name} in the project (expose.global.zone)")


def _clouddns(stack: StackSpec, routed: list[WorkloadSpec]) -> None:
    import pulumi_gcp as gcp

    providers: dict[str, Any] = {}
    zones: dict[tuple[str, str], pulumi.Output[str]] = {}
    for w in routed:
        g = _routed(w)
        assert g.project is not None
        if g.project not in providers:
            providers[g.project] = gcp.Provider(f"global-dns-{g.project}", project=g.project)
        provider = providers[g.project]
        if (g.project, g.zone) not in zones:
            listed = gcp.dns.get_managed_zones_output(
                project=g.project, opts=pulumi.InvokeOutputOptions(provider=provider)
            )
            zones[g.project, g.zone] = listed.managed_zones.apply(lambda found, zone=g.zone: _managed_zone(found, zone))
        opts = pulumi.ResourceOptions(provider=provider)
        check = gcp.compute.HealthCheck(
            f"{w.name}-global-health", project=g.project, **cloud_dns_health_check_args(w), opts=opts
        )
        address = _gateway(stack.cluster(w.clusters[0]))
        gcp.dns.RecordSet(
            f"{w.name}-global",
            project=g.project,
            managed_zone=zones[g.project, g.zone],
            name=f"{g.name}.",
            type=record_type(address),
            ttl=g.ttl,
            routing_policy=cloud_dns_routing_policy(stack, w, check.id),
            opts=opts,
        )


# --------------------------------------------------------------------------------------- Azure Traffic Manager

TRAFFIC_MANAGER_METHODS = {"failover": "Priority", "weighted": "Weighted", "latency": "Performance"}
"""Source: https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods"""
EXTERNAL_ENDPOINT = "Microsoft.Network/trafficManagerProfiles/externalEndpoints"


def traffic_manager_endpoint(g: GlobalRouting, cluster: ClusterBase) -> dict[str, Any]:
    """An external endpoint at the cluster's gateway address, with what its routing method reads.

    Priority 1 for the primary and 2 for the secondary (1-1000, unique), the weight (1-1000), or for Performance the
    Azure location that stands for the cluster (required for external endpoints). Source: pulumi_azure_native
    trafficmanager/_inputs.py EndpointArgs, https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods
    """
    endpoint: dict[str, Any] = {
        "name": cluster.name,
        "type": EXTERNAL_ENDPOINT,
        "target": _gateway(cluster),
        "endpoint_status": "Enabled",
    }
    if g.policy == "failover":
        endpoint["priority"] = 1 if cluster.name == g.primary else 2
    elif g.policy == "weighted":
        endpoint["weight"] = g.weights[cluster.name]
    else:
        endpoint["endpoint_location"] = g.regions.get(cluster.name) or (
            cluster.region if isinstance(cluster, AzureSpec) else ""
        )
    return endpoint


def traffic_manager_profile_args(stack: StackSpec, w: WorkloadSpec) -> dict[str, Any]:
    """The profile: its routing method, DNS name and TTL, an HTTPS monitor of the health path sent with the global
    name as Host (the Gateway routes by it), and one endpoint per cluster.

    Probing every 10 s with a 5 s timeout and 3 tolerated failures (10 s allows a 5-9 s timeout; 0-9 tolerated
    failures): https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring
    """
    g = _routed(w)
    assert g.resource_group is not None
    relative = traffic_manager_name(g.name)
    return {
        "resource_group_name": g.resource_group,
        "profile_name": relative,
        "location": "global",
        "profile_status": "Enabled",
        "traffic_routing_method": TRAFFIC_MANAGER_METHODS[g.policy],
        "dns_config": {"relative_name": relative, "ttl": g.ttl},
        "monitor_config": {
            "protocol": "HTTPS",
            "port": 443,
            "path": w.health_path,
            "interval_in_seconds": REQUEST_INTERVAL,
            "timeout_in_seconds": 5,
            "tolerated_number_of_failures": FAILURE_THRESHOLD,
            "custom_headers": [{"name": "Host", "value": g.name}],
        },
        "endpoints": [traffic_manager_endpoint(g, stack.cluster(name)) for name in w.clusters],
        "tags": {"orquestra.io/workload": w.name},
    }


def _azure(stack: StackSpec, routed: list[WorkloadSpec]) -> None:
    import pulumi_azure_native as azure_native

    providers: dict[str | None, Any] = {}
    for w in routed:
        g = _routed(w)
        assert g.resource_group is not None
        if g.subscription not in providers:
            suffix = f"-{g.subscription}" if g.subscription else ""
            providers[g.subscription] = azure_native.Provider(
                f"global-dns-azure{suffix}", subscription_id=g.subscription
            )
        opts = pulumi.ResourceOptions(provider=providers[g.subscription])
        profile = azure_native.trafficmanager.Profile(
            f"{w.name}-global", **traffic_manager_profile_args(stack, w), opts=opts
        )
        # A CNAME, so the name lies below the zone (`spec._global_routing` refuses the apex).
        azure_native.dns.RecordSet(
            f"{w.name}-global",
            resource_group_name=g.resource_group,
            zone_name=g.zone,
            relative_record_set_name=g.name.removesuffix(f".{g.zone}"),
            record_type="CNAME",
            ttl=g.ttl,
            cname_record={"cname": profile.dns_config.apply(lambda c: c.fqdn if c else None)},
            opts=opts,
        )
