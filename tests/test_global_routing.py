"""A workload's global name (`expose.global`): Route 53 records and health checks, the clusters' side, the spec."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from components.spec import SpecError, parse
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


def stack() -> dict[str, Any]:
    """The hybrid stack's `orquestra:` namespace as the shipped file gives it, its SSH key a secret."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"]
    namespace = {k.removeprefix("orquestra:"): v for k, v in config.items() if k.startswith("orquestra:")}
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
        (gateway(stack(), 0, address="198.51.99.7"), "expose.global.name", "all IPs (A records) or all host names"),
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
