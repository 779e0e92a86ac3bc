"""A workload's global name (`expose.global`): Route 53 records and health checks, the clusters' side, the spec."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from components.spec import SpecError, parse
from preflight import engine, policy, rejects, stackconfig
from preflight.diagram import mermaid
from preflight.engine import PROJECT_DIR, Plan, Registration
from tests.harness import plan_stack

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def hybrid() -> Plan:
    return plan_stack("hybrid")


def by_cluster(plan: Plan, type_: str) -> dict[str, Registration]:
    return {r.name.split("-")[0]: r for r in plan.resources(type_)}


def test_each_cluster_gets_a_health_checked_failover_record_at_its_gateway_address() -> None:
    plan = hybrid()
    records, checks = by_cluster(plan, RECORD), by_cluster(plan, HEALTH_CHECK)
    assert set(records) == set(checks) == {"dc1", "euw1"}
    addresses = {"dc1": "dc1-edge.example.com", "euw1": "euw1-gateway.example.com"}
    roles = {"dc1": "PRIMARY", "euw1": "SECONDARY"}
    for cluster, record in records.items():
        r, check = record.plain, checks[cluster]
        assert r["name"] == "hello.example.com" and r["setIdentifier"] == cluster
        assert r["type"] == "CNAME" and r["records"] == [addresses[cluster]]
        assert r["failoverRoutingPolicies"] == [{"type": roles[cluster]}]
        # The record carries its own cluster's check, and the check probes the record's target.
        assert check.urn in record.dependencies
        assert r["healthCheckId"] == f"{check.name}-id"
        assert check.plain["fqdn"] == addresses[cluster]
        assert (check.plain["type"], check.plain["port"], check.plain["resourcePath"]) == ("HTTPS", 443, "/healthz")
        assert check.plain["enableSni"] is True
    zones = {r.plain["zoneId"] for r in records.values()}
    invoked = [args for token, args in plan.invokes if token == "aws:route53/getZone:getZone"]
    assert {"name": "example.com", "privateZone": False}.items() <= invoked[0].items() and len(zones) == 1


def test_every_cluster_serves_and_certifies_the_global_name() -> None:
    plan = hybrid()
    for cluster, gateway in by_cluster(plan, GATEWAY).items():
        listeners = {ln["name"]: ln for ln in gateway.plain["spec"]["listeners"]}
        listener = listeners["https-hello-global"]
        assert listener["hostname"] == "hello.example.com", cluster
        assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "hello-global-tls"}]
        # cert-manager's gateway-shim issues a certificate for each listener of an annotated Gateway.
        assert "cert-manager.io/cluster-issuer" in gateway.plain["metadata"]["annotations"]
    for cluster, route in by_cluster(plan, ROUTE).items():
        assert route.plain["spec"]["hostnames"] == ["hello.example.com"], cluster
        sections = {p["sectionName"] for p in route.plain["spec"]["parentRefs"]}
        assert sections == {"http", "https-hello-global"}


def test_external_dns_leaves_the_global_name_to_route53_and_publishes_the_gateway_name() -> None:
    plan = hybrid()
    release = next(r for r in plan.resources("kubernetes:helm.sh/v3:Release") if r.name == "euw1-external-dns")
    values = release.plain["values"]
    assert values["domainFilters"] == ["example.com"] and values["excludeDomains"] == ["hello.example.com"]
    proxy = next(r for r in plan.resources("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy") if "euw1" in r.name)
    service = proxy.plain["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"]["external-dns.alpha.kubernetes.io/hostname"] == "euw1-gateway.example.com"


def test_the_diagram_draws_the_global_name_to_both_gateways() -> None:
    text = mermaid(hybrid())
    ids = {
        name: line.split("[")[0].strip()
        for line in text.splitlines()
        for name in ("dc1-envoy-gateway", "euw1-envoy-gateway")
        if f'["{name}<br/>' in line
    }
    assert '  g0{{"hello.example.com<br/>global name"}}' in text
    assert f'  g0 -. "failover PRIMARY" .-> {ids["dc1-envoy-gateway"]}' in text
    assert f'  g0 -. "failover SECONDARY" .-> {ids["euw1-envoy-gateway"]}' in text


# ------------------------------------------------------------------------- spec


def shipped() -> tuple[dict[str, Any], dict[str, Any]]:
    """The hybrid stack file's `orquestra:` namespace and its other keys (`aws:region`), as the file gives them."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"]
    namespace = {k.removeprefix("orquestra:"): v for k, v in config.items() if k.startswith("orquestra:")}
    return namespace, {k: v for k, v in config.items() if not k.startswith("orquestra:")}


def stack() -> dict[str, Any]:
    """The hybrid stack's `orquestra:` namespace, its SSH key a secret."""
    namespace = shipped()[0]
    namespace["clusters"][0]["ssh"]["privateKey"] = SecretStr("key")
    return namespace


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(config)
    return info.value.problems


def with_global(**g: Any) -> dict[str, Any]:
    config = stack()
    config["workloads"][0]["expose"]["global"] = {"name": "hello.example.com", "zone": "example.com", **g}
    return config


def test_the_hybrid_stack_parses() -> None:
    workload = parse(stack()).workloads[0]
    assert workload.expose is not None and workload.expose.global_routing is not None
    assert workload.expose.global_routing.primary == "dc1"


def gateway(config: dict[str, Any], cluster: int, **over: Any) -> dict[str, Any]:
    config["clusters"][cluster].setdefault("platform", {}).setdefault("gateway", {}).update(over)
    return config


@pytest.mark.parametrize(
    ("config", "key", "allowed"),
    [
        (with_global(policy="failover", primary="dc2"), "expose.global.primary", "one of the workload's clusters"),
        (with_global(policy="failover"), "expose.global.primary", "one of the workload's clusters (dc1, euw1)"),
        (
            with_global(policy="weighted", primary="dc1", weights={"dc1": 1, "euw1": 1}),
            "expose.global.primary",
            "unset",
        ),
        (with_global(policy="weighted", weights={"dc1": 90}), "expose.global.weights", "a weight for each"),
        (with_global(policy="weighted", weights={"dc1": 256, "euw1": 0}), "expose.global.weights.dc1", "255"),
        (with_global(policy="latency"), "expose.global.regions", "an AWS region for cluster 'dc1' (onprem)"),
        (with_global(policy="latency", regions={"dc1": "mars-1"}), "expose.global.regions.dc1", "AWS region"),
        (with_global(policy="failover", primary="dc1", dns="cloud-dns"), "expose.global.dns", "route53"),
        (with_global(policy="failover", primary="dc1", name="example.com"), "expose.global.name", "below the zone"),
        (with_global(policy="failover", primary="dc1", name="hello.other.org"), "expose.global.name", "below the zone"),
        (gateway(stack(), 0, address=None), "expose.global.name", "cluster 'dc1' with platform.gateway.enabled"),
        (gateway(stack(), 0, address="192.168.10.200"), "expose.global.name", "a public IP"),
        (gateway(stack(), 1, public=False), "expose.global.name", "platform.gateway.public: true"),
        (gateway(stack(), 0, address="198.51.99.7"), "expose.global.name", "all IPs of one family"),
        (gateway(stack(), 0, address="2001:db9::7"), "expose.global.name", "all IPs of one family"),
    ],
)
def test_a_global_name_routing_cannot_serve_names_the_key_and_what_is_allowed(
    config: dict[str, Any], key: str, allowed: str
) -> None:
    lines = problems(config)
    assert any(f"orquestra:workloads[0].{key}:" in line and allowed in line for line in lines), lines


def test_failover_takes_exactly_two_clusters() -> None:
    config = stack()
    config["clusters"].append(copy.deepcopy(config["clusters"][1]))
    third = config["clusters"][2]
    third.update(name="euw2", region="eu-west-2")
    third["network"] = {"cidr": "10.70.0.0/16", "podCidr": "10.170.0.0/16", "serviceCidr": "10.220.0.0/20"}
    third["platform"]["gateway"]["address"] = "euw2-gateway.example.com"
    config["workloads"][0]["clusters"].append("euw2")
    (line,) = problems(config)
    assert "workloads[0].clusters" in line and "exactly two clusters for failover" in line


def test_weighted_and_latency_records_carry_their_policy() -> None:
    from components.globaldns import record_args

    weighted = parse(with_global(policy="weighted", weights={"dc1": 80, "euw1": 20}))
    w = weighted.workloads[0]
    assert [record_args(w, weighted.cluster(c))["weighted_routing_policies"] for c in ("dc1", "euw1")] == [
        [{"weight": 80}],
        [{"weight": 20}],
    ]
    latency = parse(with_global(policy="latency", regions={"dc1": "eu-central-1"}))
    w = latency.workloads[0]
    # An aws cluster stands for its own region unless told otherwise.
    assert [record_args(w, latency.cluster(c))["latency_routing_policies"] for c in ("dc1", "euw1")] == [
        [{"region": "eu-central-1"}],
        [{"region": "eu-west-1"}],
    ]


def test_an_ip_gateway_address_gets_an_a_record_and_a_check_that_sends_the_global_name() -> None:
    from components.globaldns import health_check_args, record_args

    config = gateway(gateway(stack(), 0, address="198.51.99.7"), 1, address="198.51.99.8")
    parsed = parse(config)
    w, dc1 = parsed.workloads[0], parsed.cluster("dc1")
    assert record_args(w, dc1)["type"] == "A" and record_args(w, dc1)["records"] == ["198.51.99.7"]
    check = health_check_args(w, dc1)
    assert (check["ip_address"], check["fqdn"]) == ("198.51.99.7", "hello.example.com")


# ----------------------------------------------------------------- address plan


def test_a_peer_routed_range_may_not_hold_a_service_range() -> None:
    config = stack()
    config["clusters"][0]["network"]["serviceCidr"] = "10.60.128.0/17"
    assert problems(config) == [
        "orquestra:clusters[1].network.cidr: '10.60.0.0/16'; allowed: a range that does not overlap "
        "clusters[0].network.serviceCidr (10.60.128.0/17, cluster 'dc1')"
    ]


def test_overlay_pod_and_service_ranges_may_repeat_across_clusters() -> None:
    config = stack()
    # EKS's podCidr is unused (the VPC CNI gives pods VPC addresses); on-prem pods and services stay inside dc1.
    config["clusters"][1]["network"]["serviceCidr"] = "10.43.0.0/20"
    config["clusters"][1]["network"]["podCidr"] = "10.42.0.0/16"
    parse(config)


def test_routed_pod_ranges_count_where_pods_are_vpc_native() -> None:
    config = stack()
    config["clusters"].append(
        {
            "name": "gke",
            "target": "gcp",
            "region": "europe-west1",
            "project": "acme-platform",
            "network": {"cidr": "10.80.0.0/16", "podCidr": "192.168.10.0/25", "serviceCidr": "10.81.0.0/20"},
        }
    )
    lines = [p for p in problems(config) if "clusters[2].network.podCidr" in p]
    assert lines and "clusters[0].network.cidr (192.168.10.0/24, cluster 'dc1')" in lines[0], lines


# ------------------------------------------------------- Cloud DNS and Traffic Manager

CLOUD_DNS_RECORD = "gcp:dns/recordSet:RecordSet"
CLOUD_DNS_CHECK = "gcp:compute/healthCheck:HealthCheck"
PROFILE = "azure-native:trafficmanager:Profile"
AZURE_RECORD = "azure-native:dns:RecordSet"
PUBLIC = {"dc1": "198.51.99.7", "euw1": "198.51.99.8"}


def on(dns: str, config: dict[str, Any] | None = None, **g: Any) -> dict[str, Any]:
    """The hybrid layout with its global name in another provider's zone; Cloud DNS probes gateways by IP."""
    config = config if config is not None else stack()
    given = config["workloads"][0]["expose"]["global"]
    given.update(dns=dns, **g)
    # EKS keeps its own names in a Route 53 zone delegated below the global one and issues from its own CA: its
    # DNS-01 solver writes Route 53 only, and the global zone now lives elsewhere.
    platform = config["clusters"][1]["platform"]
    platform["dns"] = {"zone": "aws.example.com"}
    platform["certManager"] = {"issuer": "internal-ca"}
    gateway(config, 1, address="euw1-gateway.aws.example.com")
    # dc1's DNS-01 key writes Route 53 only: with the global zone elsewhere it issues from its own CA.
    config["clusters"][0]["platform"]["certManager"] = {"issuer": "internal-ca"}
    if dns == "clouddns":
        given.setdefault("project", "acme-dns")
        given.setdefault("regions", {"euw1": "europe-west1"})
        for i, cluster in enumerate(("dc1", "euw1")):
            gateway(config, i, address=PUBLIC[cluster])
    else:
        given.setdefault("resourceGroup", "dns")
    return config


@cache
def planned(dns: str) -> tuple[Plan, list[str], list[str]]:
    """The hybrid layout switched to `dns`, planned as preflight plans it: registrations, rejections, policies."""
    namespace, extra = shipped()
    config = stackconfig.from_values(on(dns, namespace), stack=f"hybrid-{dns}", extra=extra)
    plan = engine.run(config)
    assert plan.ok, plan
    result = policy.analyze(plan, config, policy.load_pack_config(parse(stack()).environment))
    return plan, [r.line() for r in rejects.run(plan)], [v.line() for v in result.mandatory]


@pytest.mark.parametrize("dns", ["clouddns", "azure"])
def test_the_hybrid_layout_in_another_zone_provider_plans_clean(dns: str) -> None:
    plan, rejected, mandatory = planned(dns)
    assert (rejected, mandatory) == ([], [])
    # Nothing of Route 53 is built for a zone it does not host.
    assert not plan.resources(RECORD) and not plan.resources(HEALTH_CHECK)


def test_cloud_dns_fails_over_from_the_primary_to_the_secondary_as_its_backup_geo() -> None:
    plan = planned("clouddns")[0]
    (record,) = plan.resources(CLOUD_DNS_RECORD)
    (check,) = plan.resources(CLOUD_DNS_CHECK)
    r = record.plain
    assert (r["name"], r["type"], r["project"]) == ("hello.example.com.", "A", "acme-dns")
    # The managed zone is the public one the project lists for example.com, found by an invoke in that project.
    assert r["managedZone"] == "example-com"
    invoked = [args for token, args in plan.invokes if token == "gcp:dns/getManagedZones:getManagedZones"]
    assert invoked and invoked[0]["project"] == "acme-dns"
    policy_ = r["routingPolicy"]
    assert policy_["primaryBackup"] == {
        "primary": {"externalEndpoints": [PUBLIC["dc1"]]},
        "backupGeos": [{"location": "europe-west1", "healthCheckedTargets": {"externalEndpoints": [PUBLIC["euw1"]]}}],
    }
    # The external endpoints are probed by the record set's own health check, HTTPS with the global name as Host.
    assert policy_["healthCheck"].startswith(f"projects/acme-dns/global/healthChecks/{check.name}")
    assert check.urn in record.dependencies
    c = check.plain
    assert c["httpsHealthCheck"] == {"port": 443, "host": "hello.example.com", "requestPath": "/healthz"}
    assert len(c["sourceRegions"]) == 3 and c["checkIntervalSec"] >= 30 and c["project"] == "acme-dns"
    # Both live in the zone's project through a provider of their own.
    providers = {r.urn: r for r in plan.resources("pulumi:providers:gcp")}
    assert {providers[x.provider.rsplit("::", 1)[0]].plain["project"] for x in (record, check)} == {"acme-dns"}


def test_cloud_dns_weighted_and_latency_items_carry_each_gateway_and_its_share_or_location() -> None:
    from components.globaldns import cloud_dns_routing_policy

    weighted = parse(on("clouddns", policy="weighted", primary=None, weights={"dc1": 80, "euw1": 20}, regions={}))
    routing = cloud_dns_routing_policy(weighted, weighted.workloads[0], "hc")
    assert routing == {
        "health_check": "hc",
        "wrrs": [
            {"weight": 80, "health_checked_targets": {"external_endpoints": [PUBLIC["dc1"]]}},
            {"weight": 20, "health_checked_targets": {"external_endpoints": [PUBLIC["euw1"]]}},
        ],
    }
    latency = parse(
        on("clouddns", policy="latency", primary=None, regions={"dc1": "europe-west3", "euw1": "europe-west1"})
    )
    locations = [item["location"] for item in cloud_dns_routing_policy(latency, latency.workloads[0], "hc")["geos"]]
    assert locations == ["europe-west3", "europe-west1"]


def test_traffic_manager_routes_by_priority_probes_https_with_the_global_name_and_is_the_cname_target() -> None:
    plan = planned("azure")[0]
    (profile,) = plan.resources(PROFILE)
    (record,) = plan.resources(AZURE_RECORD)
    p = profile.plain
    assert p["trafficRoutingMethod"] == "Priority" and p["location"] == "global"
    assert {(e["name"], e["target"], e["priority"]) for e in p["endpoints"]} == {
        ("dc1", "dc1-edge.example.com", 1),
        ("euw1", "euw1-gateway.aws.example.com", 2),
    }
    assert {e["type"] for e in p["endpoints"]} == {"Microsoft.Network/trafficManagerProfiles/externalEndpoints"}
    monitor = p["monitorConfig"]
    assert (monitor["protocol"], monitor["port"], monitor["path"]) == ("HTTPS", 443, "/healthz")
    assert monitor["customHeaders"] == [{"name": "Host", "value": "hello.example.com"}]
    r = record.plain
    assert (r["zoneName"], r["relativeRecordSetName"], r["recordType"]) == ("example.com", "hello", "CNAME")
    assert r["cnameRecord"] == {"cname": f"{p['dnsConfig']['relativeName']}.trafficmanager.net"}
    assert profile.urn in record.dependencies and r["resourceGroupName"] == p["resourceGroupName"] == "dns"


def test_traffic_manager_weights_and_performance_locations() -> None:
    from components.globaldns import traffic_manager_profile_args

    weighted = parse(on("azure", policy="weighted", primary=None, weights={"dc1": 900, "euw1": 100}))
    args = traffic_manager_profile_args(weighted, weighted.workloads[0])
    assert args["traffic_routing_method"] == "Weighted"
    assert [e["weight"] for e in args["endpoints"]] == [900, 100]
    latency = parse(
        on("azure", policy="latency", primary=None, regions={"dc1": "germanywestcentral", "euw1": "westeurope"})
    )
    args = traffic_manager_profile_args(latency, latency.workloads[0])
    assert args["traffic_routing_method"] == "Performance"
    assert [e["endpoint_location"] for e in args["endpoints"]] == ["germanywestcentral", "westeurope"]


@pytest.mark.parametrize(
    ("config", "key", "allowed"),
    [
        (on("clouddns", project=None), "expose.global.project", "the GCP project"),
        (on("azure", resourceGroup=None), "expose.global.resourceGroup", "the resource group of the Azure DNS zone"),
        (with_global(policy="failover", primary="dc1", project="acme-dns"), "expose.global.project", "dns: clouddns"),
        (on("clouddns", regions={}), "expose.global.regions", "a GCP region for cluster 'euw1' (aws)"),
        (on("clouddns", regions={"euw1": "eu-west-1"}), "expose.global.regions.euw1", "a GCP region"),
        (on("clouddns", regions={"dc1": "europe-west3", "euw1": "europe-west1"}), "expose.global.regions.dc1", "unset"),
        (
            gateway(on("clouddns"), 0, address="2001:db9::7"),
            "expose.global.name",
            "all IPs of one family",
        ),
        (
            gateway(on("clouddns"), 0, address="dc1-edge.example.com"),
            "expose.global.name",
            "Cloud DNS health-checks external endpoints by IP only",
        ),
        (
            on("azure", policy="weighted", primary=None, weights={"dc1": 0, "euw1": 1}),
            "expose.global.weights.dc1",
            "1-1000",
        ),
        (
            with_global(policy="weighted", weights={"dc1": 256, "euw1": 1}),
            "expose.global.weights.dc1",
            "0-255 (Route 53",
        ),
        (on("azure", policy="latency", primary=None), "expose.global.regions", "an Azure location for cluster 'dc1'"),
        (on("azure", name=f"{'a' * 60}.example.com"), "expose.global.name", "63 characters"),
        (
            with_global(policy="failover", primary="dc1", dns="azure", resourceGroup="dns"),
            "expose.global.dns",
            "one zone has one host",
        ),
    ],
)
def test_each_zone_provider_refuses_what_it_cannot_route_the_key_and_what_is_allowed(
    config: dict[str, Any], key: str, allowed: str
) -> None:
    lines = problems(config)
    assert any(f"orquestra:workloads[0].{key}:" in line and allowed in line for line in lines), lines


def test_the_rules_hold_on_the_planned_routing_and_catch_what_it_would_leave_unchecked() -> None:
    from tests.test_policies import check

    record = planned("clouddns")[0].resources(CLOUD_DNS_RECORD)[0].plain
    assert check("clouddns-routed-record-health-check", CLOUD_DNS_RECORD, record) == []
    backup = {"location": "europe-west1", "rrdatas": ["198.51.99.8"]}
    unchecked = copy.deepcopy(record)
    unchecked["routingPolicy"]["primaryBackup"]["backupGeos"] = [backup]
    assert check("clouddns-routed-record-health-check", CLOUD_DNS_RECORD, unchecked) == [
        "hello.example.com.: routingPolicy.primaryBackup.backupGeos[0] answers europe-west1 "
        "without healthCheckedTargets"
    ]
    profile = planned("azure")[0].resources(PROFILE)[0].plain
    assert check("traffic-manager-https-monitor", PROFILE, profile) == []
    served = copy.deepcopy(profile)
    served["endpoints"][1]["alwaysServe"] = "Enabled"
    assert check("traffic-manager-https-monitor", PROFILE, served) == [
        "endpoint euw1 has alwaysServe Enabled, so it is never probed"
    ]


# -------------------------------------------------------------------- rejects


def test_cloud_dns_refuses_a_name_target_a_private_one_and_mixed_policies() -> None:
    from tests.rejecting import fields, plan_of, reg

    record = planned("clouddns")[0].resources(CLOUD_DNS_RECORD)[0].plain
    assert fields(plan_of(reg(CLOUD_DNS_RECORD, "r", record))) == set()
    bad = copy.deepcopy(record)
    bad["routingPolicy"]["primaryBackup"]["primary"]["externalEndpoints"] = ["dc1-edge.example.com"]
    bad["routingPolicy"]["primaryBackup"]["backupGeos"][0]["healthCheckedTargets"]["externalEndpoints"] = ["10.0.0.5"]
    bad["routingPolicy"]["wrrs"] = [{"weight": 1, "healthCheckedTargets": {"externalEndpoints": ["2001:db9::7"]}}]
    assert fields(plan_of(reg(CLOUD_DNS_RECORD, "r", bad))) == {
        ("r", "routingPolicy.primaryBackup"),
        ("r", "routingPolicy.primaryBackup.primary.externalEndpoints[0]"),
        ("r", "routingPolicy.primaryBackup.backupGeos[0].healthCheckedTargets.externalEndpoints[0]"),
        ("r", "routingPolicy.wrrs[0].healthCheckedTargets.externalEndpoints[0]"),
    }
    assert fields(plan_of(reg(CLOUD_DNS_RECORD, "r", {**record, "type": "CNAME"}))) == {("r", "type")}


def test_a_health_check_with_source_regions_takes_three_and_probes_every_30_seconds() -> None:
    from tests.rejecting import fields, plan_of, reg

    check = planned("clouddns")[0].resources(CLOUD_DNS_CHECK)[0].plain
    assert fields(plan_of(reg(CLOUD_DNS_CHECK, "hc", check))) == set()
    bad = {
        **check,
        "sourceRegions": ["us-east4", "europe-west1"],
        "checkIntervalSec": 10,
        "timeoutSec": 15,
        "httpsHealthCheck": {**check["httpsHealthCheck"], "proxyHeader": "PROXY_V1"},
    }
    assert fields(plan_of(reg(CLOUD_DNS_CHECK, "hc", bad))) == {
        ("hc", "sourceRegions"),
        ("hc", "checkIntervalSec"),
        ("hc", "timeoutSec"),
        ("hc", "httpsHealthCheck.proxyHeader"),
    }


def test_traffic_manager_refuses_off_range_probing_priorities_weights_and_a_located_less_performance_endpoint() -> None:
    from tests.rejecting import fields, plan_of, reg

    profile = planned("azure")[0].resources(PROFILE)[0].plain
    assert fields(plan_of(reg(PROFILE, "p", profile))) == set()
    bad = copy.deepcopy(profile)
    bad["monitorConfig"].update(timeoutInSeconds=10, toleratedNumberOfFailures=12)
    bad["endpoints"][1].update(priority=1, target="198.51.99.8")
    bad["dnsConfig"]["relativeName"] = "hello.example.com"
    assert fields(plan_of(reg(PROFILE, "p", bad))) == {
        ("p", "monitorConfig.timeoutInSeconds"),
        ("p", "monitorConfig.toleratedNumberOfFailures"),
        ("p", "dnsConfig.relativeName"),
        ("p", "endpoints"),
    }
    weighted = copy.deepcopy(profile)
    weighted["trafficRoutingMethod"] = "Performance"
    for e in weighted["endpoints"]:
        e.pop("priority")
    weighted["endpoints"][0]["weight"] = 0
    assert fields(plan_of(reg(PROFILE, "p", weighted))) == {
        ("p", "endpoints[0].weight"),
        ("p", "endpoints[0].endpointLocation"),
        ("p", "endpoints[1].endpointLocation"),
    }


def test_estimates_price_the_cloud_dns_check_and_leave_traffic_manager_visibly_unpriced() -> None:
    from preflight.estimates import estimate

    clouddns = estimate(planned("clouddns")[0])
    (check,) = [i for i in clouddns.items if i.type == CLOUD_DNS_CHECK]
    assert check.cost.monthly == pytest.approx(0.002739726 * 730) and "external health check" in check.cost.basis
    assert CLOUD_DNS_RECORD not in clouddns.not_priced and CLOUD_DNS_CHECK not in clouddns.not_priced
    azure = estimate(planned("azure")[0])
    assert azure.not_priced.get(PROFILE) == 1 and AZURE_RECORD not in azure.not_priced
    assert PROFILE not in azure.not_timed and CLOUD_DNS_RECORD not in clouddns.not_timed
