"""A declared site's HA VPN to a GKE cluster: what the spec refuses, and what gets registered, on the mock engine."""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from components.spec import Site
from components.targets.gcp.vpn import INSIDE_POOL, ROUTER_ASN, inside_ranges
from preflight import answers, diagram, estimates, policy, rejects, stackconfig
from preflight.engine import PROJECT_DIR, Plan, Registration, Secret
from preflight.estimates.base import HOURS_PER_MONTH
from preflight.estimates.gcp import GCP_VPN_TUNNEL_HOURLY
from tests.harness import plan_spec
from tests.test_sites import parsed, problems

LINK = "orquestra:site:VpnLink"
GATEWAY = "gcp:compute/haVpnGateway:HaVpnGateway"
PEER_GATEWAY = "gcp:compute/externalVpnGateway:ExternalVpnGateway"
ROUTER = "gcp:compute/router:Router"
TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
INTERFACE = "gcp:compute/routerInterface:RouterInterface"
PEER = "gcp:compute/routerPeer:RouterPeer"
FIREWALL = "gcp:compute/firewall:Firewall"
KEY = "Site.Key_for.gke.tunnels"
EXTRA = {"gcp:project": "acme-platform-prod", "gcp:region": "europe-west1"}


def stack(**site: Any) -> dict[str, Any]:
    """The hybrid stack's on-prem `dc1` on its site, plus a prod GKE cluster the site reaches by VPN."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"]
    dc1 = copy.deepcopy(config["orquestra:clusters"][0])
    dc1["site"] = "dc1"
    dc1.pop("platform")
    gke = {
        "name": "gke",
        "target": "gcp",
        "project": "acme-platform-prod",
        "region": "europe-west1",
        "network": {"cidr": "10.20.0.0/20", "podCidr": "10.64.0.0/14", "serviceCidr": "10.68.0.0/20"},
        "deployer": {
            "runner": "dc1-deployer",
            "hub": {"network": "projects/acme-hub/global/networks/hub", "cidrs": ["10.250.0.0/20"]},
        },
    }
    peer = {"address": "203.0.113.10", "asn": 65010}
    return {
        "environment": "prod",
        "clusters": [dc1, gke],
        "sites": [{"name": "dc1", "cidrs": ["192.168.0.0/16"], "peer": peer, "vpn": ["gke"], **site}],
    }


@cache
def plan(key: bool = False) -> Plan:
    """The stack planned; with `key`, the site gives its own pre-shared key, even unencrypted in the stack's file."""
    config = stack()
    if key:
        config["sites"][0]["peer"]["preSharedKey"] = KEY
    result = plan_spec(config, extra=EXTRA)
    assert result.errors == []
    return result


def resources(type_: str) -> list[Registration]:
    return plan().resources(type_)


# ------------------------------------------------------------------------- spec


def test_the_stack_parses_with_the_gcp_cluster_linked() -> None:
    assert parsed(stack()).site("dc1").vpn == ["gke"]


@pytest.mark.parametrize(
    ("peer", "line"),
    [
        (
            {"address": "203.0.113.10"},
            "orquestra:sites[0].peer.asn: null; allowed: the BGP ASN of the site's device: HA VPN to gcp cluster "
            "'gke' routes only by BGP",
        ),
        (
            {"address": "203.0.113.10", "asn": ROUTER_ASN},
            f"orquestra:sites[0].peer.asn: {ROUTER_ASN}; allowed: an ASN other than {ROUTER_ASN}, the Cloud Router's "
            "on gcp cluster 'gke' (eBGP: two ASes)",
        ),
    ],
)
def test_a_peer_gcp_cannot_route_to_is_one_line(peer: dict[str, Any], line: str) -> None:
    assert problems(stack(peer=peer)) == [line]


def test_a_site_range_over_the_tunnels_bgp_space_is_one_line() -> None:
    found = problems(stack(cidrs=["192.168.0.0/16", "169.254.64.0/24"]))
    assert found == [
        "orquestra:sites[0].cidrs[1]: '169.254.64.0/24'; allowed: a range outside 169.254.64.0/18, where the "
        "tunnels to gcp cluster 'gke' take their inside and BGP addresses"
    ]


def test_gcp_is_a_target_with_a_site_vpn() -> None:
    config = stack()
    config["sites"][0]["vpn"] = ["dc1"]
    assert any("(gcp" in p or ", gcp" in p for p in problems(config)), problems(config)


# ------------------------------------------------------------ inside addresses


def site(name: str, *clusters: str) -> Site:
    return Site(name=name, cidrs=["192.168.0.0/16"], vpn=list(clusters))


def test_inside_ranges_are_two_link_local_30s_of_one_29() -> None:
    first, second = inside_ranges(site("dc1", "gke"), "gke")
    assert first.prefixlen == second.prefixlen == 30
    assert first.subnet_of(INSIDE_POOL) and second.subnet_of(INSIDE_POOL)
    assert first.supernet(new_prefix=29) == second.supernet(new_prefix=29) and first != second


# ----------------------------------------------------------------- registered


def test_the_cloud_end_hangs_from_the_link() -> None:
    link = plan().one(LINK, "dc1-gke")
    for type_ in (GATEWAY, PEER_GATEWAY, ROUTER, TUNNEL, INTERFACE, PEER, FIREWALL):
        found = [r for r in resources(type_) if r.parent == link.urn]
        assert found, type_
    assert [r.name for r in resources(ROUTER) if r.parent == link.urn] == ["gke-dc1-vpn-router"]


def test_the_gateway_is_in_the_clusters_network_and_region() -> None:
    gateway = plan().one(GATEWAY).plain
    network = plan().one("gcp:compute/network:Network", "gke-vpc")
    assert gateway["network"] == network.id and gateway["region"] == "europe-west1"
    assert gateway["project"] == "acme-platform-prod" and gateway["stackType"] == "IPV4_ONLY"


def test_the_peer_is_one_address_one_interface() -> None:
    device = plan().one(PEER_GATEWAY).plain
    assert device["redundancyType"] == "SINGLE_IP_INTERNALLY_REDUNDANT"
    assert device["interfaces"] == [{"id": 0, "ipAddress": "203.0.113.10"}]


def test_two_ikev2_tunnels_one_per_interface_through_the_router() -> None:
    gateway, device = plan().one(GATEWAY), plan().one(PEER_GATEWAY)
    router = plan().one(ROUTER, "gke-dc1-vpn-router")
    tunnels = sorted((t.plain for t in resources(TUNNEL)), key=lambda t: t["vpnGatewayInterface"])
    assert [t["vpnGatewayInterface"] for t in tunnels] == [0, 1]
    for t in tunnels:
        assert t["vpnGateway"] == gateway.id and t["peerExternalGateway"] == device.id
        assert t["peerExternalGatewayInterface"] == 0 and t["ikeVersion"] == 2 and t["router"] == router.id


def test_the_router_advertises_the_routed_ranges_only() -> None:
    bgp = plan().one(ROUTER, "gke-dc1-vpn-router").plain["bgp"]
    assert bgp["asn"] == ROUTER_ASN and bgp["advertiseMode"] == "CUSTOM"
    # Nodes and VPC-native pods are routed; the service range never leaves the cluster.
    assert sorted(r["range"] for r in bgp["advertisedIpRanges"]) == ["10.20.0.0/20", "10.64.0.0/14"]


def test_each_tunnel_has_a_bgp_session_on_its_own_30() -> None:
    ranges = inside_ranges(parsed(stack()).site("dc1"), "gke")
    tunnels = {t.plain["name"]: t.plain for t in resources(TUNNEL)}
    peers = {p.plain["interface"]: p.plain for p in resources(PEER)}
    assert len(resources(INTERFACE)) == len(peers) == 2
    for i, interface in enumerate(sorted((r.plain for r in resources(INTERFACE)), key=lambda r: r["name"])):
        inside = ranges[i]
        assert interface["ipRange"] == f"{inside.network_address + 1}/30"
        assert tunnels[interface["vpnTunnel"]]["vpnGatewayInterface"] == i
        peer = peers[interface["name"]]
        assert ipaddress.ip_address(peer["peerIpAddress"]) == inside.network_address + 2
        assert peer["peerAsn"] == 65010 and peer["router"] == interface["router"] == "gke-dc1-vpn"


def test_the_key_is_secret_in_every_tunnel() -> None:
    for given in (False, True):
        for tunnel in plan(given).resources(TUNNEL):
            assert isinstance(tunnel.inputs["sharedSecret"], Secret)
            assert "sharedSecret" in tunnel.additional_secret_outputs
    generated = plan().one("random:index/randomPassword:RandomPassword", "dc1-gke-psk")
    assert generated.parent == plan().one(LINK).urn


def test_the_key_never_shows_in_the_plan() -> None:
    for given in (False, True):
        text = json.dumps([r.to_json() for r in plan(given).registrations], default=repr)
        value = plan(given).one(TUNNEL, "gke-dc1-0").plain["sharedSecret"]
        assert value and value not in text
    assert plan(True).one(TUNNEL, "gke-dc1-1").plain["sharedSecret"] == KEY


def test_the_site_is_admitted_to_the_clusters_network() -> None:
    rule = plan().one(FIREWALL).plain
    assert rule["network"] == plan().one("gcp:compute/network:Network", "gke-vpc").id
    assert rule["direction"] == "INGRESS" and rule["sourceRanges"] == ["192.168.0.0/16"]
    assert sorted(a["protocol"] for a in rule["allows"]) == ["icmp", "tcp", "udp"]


def test_the_device_gets_the_tunnels_from_the_stack_outputs() -> None:
    value = plan().stack_outputs["sites"]["dc1"]["gke"]
    assert isinstance(value["preSharedKey"], Secret) and not isinstance(value["tunnels"], Secret)
    gateway = plan().one(GATEWAY)
    computed = answers.resource_outputs(GATEWAY, gateway.name, gateway.plain, plan().stack)
    interfaces = {i["id"]: i["ipAddress"] for i in computed["vpnInterfaces"]}
    assert len(set(interfaces.values())) == 2
    assert [t["address"] for t in value["tunnels"]] == [interfaces[0], interfaces[1]]
    assert value["cloudAsn"] == ROUTER_ASN and value["peerAsn"] == 65010
    assert sorted(value["routes"]) == ["10.20.0.0/20", "10.64.0.0/14"]
    for t, inside in zip(value["tunnels"], inside_ranges(parsed(stack()).site("dc1"), "gke"), strict=True):
        assert t["insideCidr"] == str(inside) and t["peerBgpAddress"] == str(inside.network_address + 2)


def test_preflight_finds_nothing_to_reject_and_the_policies_pass() -> None:
    assert rejects.run(plan()) == []
    config = stackconfig.from_values(stack(), stack="test", extra=EXTRA)
    result = policy.analyze(plan(), config, policy.load_pack_config("prod"))
    vpn = [v for v in result.violations if v.policy.startswith("gcp-")]
    assert vpn == [], [v.line() for v in vpn]
    # The real path: the analyzer sees the key decoded; the tunnel's additionalSecretOutputs keep it secret.
    assert {"gcp-vpn-key-secret", "gcp-ha-vpn-redundant"} <= set(result.config)


def altered(change: Any) -> Plan:
    """A copy of the plan with `change(registration)` applied to a copy of each registration (a deep copy would
    lose the identity of the engine's unknown sentinel)."""
    regs = [
        dataclasses.replace(r, inputs=dict(r.inputs), additional_secret_outputs=list(r.additional_secret_outputs))
        for r in plan().registrations
    ]
    for r in regs:
        change(r)
    return dataclasses.replace(plan(), registrations=regs)


def test_the_key_rule_sees_a_plain_key_through_the_analyzer() -> None:
    def plain_key(r: Registration) -> None:
        if r.type == TUNNEL:
            r.inputs["sharedSecret"] = "a-plain-key"
            r.additional_secret_outputs = [k for k in r.additional_secret_outputs if k != "sharedSecret"]

    config = stackconfig.from_values(stack(), stack="test", extra=EXTRA)
    result = policy.analyze(altered(plain_key), config, policy.load_pack_config("prod"))
    found = sorted({(v.policy, v.level, v.resource) for v in result.violations if v.policy == "gcp-vpn-key-secret"})
    assert found == [("gcp-vpn-key-secret", "mandatory", f"{TUNNEL} gke-dc1-{i}") for i in (0, 1)]


@pytest.mark.parametrize(
    ("type_", "name", "field", "value", "message"),
    [
        (PEER, "gke-dc1-0", "peerAsn", ROUTER_ASN, "is the router's own ASN"),
        (PEER, "gke-dc1-1", "peerIpAddress", "169.254.0.9", "is not the peer's host of"),
        (INTERFACE, "gke-dc1-1", "ipRange", "10.1.0.1/30", "is not in 169.254.0.0/16"),
        (TUNNEL, "gke-dc1-1", "vpnGatewayInterface", 2, "has interfaces 0 and 1"),
        (TUNNEL, "gke-dc1-1", "peerExternalGatewayInterface", 1, "has interfaces 0..0"),
        (TUNNEL, "gke-dc1-0", "router", None, "routes only by BGP"),
        (ROUTER, "gke-dc1-vpn-router", "bgp", {"asn": 65010 + 100000}, "is not a private ASN"),
        (PEER_GATEWAY, "gke-dc1-peer", "interfaces", [{"id": 1, "ipAddress": "203.0.113.10"}], "takes ids 0..0"),
    ],
)
def test_what_gcp_refuses_is_rejected(type_: str, name: str, field: str, value: Any, message: str) -> None:
    def change(r: Registration) -> None:
        if r.type == type_ and r.name == name:
            r.inputs[field] = value

    found = [x for x in rejects.run(altered(change)) if x.subject == f"{type_} {name}" and x.field.startswith(field)]
    assert found and message in found[0].message, [x.line() for x in rejects.run(altered(change))]


def test_two_links_on_one_bgp_range_are_rejected() -> None:
    first = next(r for r in resources(INTERFACE) if r.name == "gke-dc1-0").inputs["ipRange"]

    def clash(r: Registration) -> None:
        if r.type == INTERFACE and r.name == "gke-dc1-1":
            r.inputs["ipRange"] = first

    found = [x for x in rejects.run(altered(clash)) if x.field == "ipRange"]
    assert [x.subject for x in found] == [f"{INTERFACE} gke-dc1-1"] and "overlaps gke-dc1-0" in found[0].message


def test_the_diagram_draws_the_link_by_its_gateway() -> None:
    text = diagram.mermaid(plan())
    gateway = re.search(r'^  (n\d+)\["gke-dc1-vpn<br/>gcp compute HaVpnGateway"\]$', text, re.M)
    network = re.search(r'^    (n\d+)\["gke-vpc<br/>gcp compute Network"\]$', text, re.M)
    assert gateway and network, text
    # The site's edge ends at the link's own gateway, which sits on the cluster's network.
    assert f'  s0 ---|"IPsec · BGP · 2 tunnels"| {gateway[1]}' in text.splitlines(), text
    assert f"  {gateway[1]} --> {network[1]}" in text.splitlines(), text


def test_the_link_is_priced_by_its_tunnels_and_timed() -> None:
    est = estimates.estimate(plan())
    tunnels = [i for i in est.items if i.type == TUNNEL]
    assert [i.name for i in tunnels] == ["gke-dc1-0", "gke-dc1-1"]
    assert all(i.cost.monthly == pytest.approx(GCP_VPN_TUNNEL_HOURLY * HOURS_PER_MONTH) for i in tunnels)
    vpn_types = {GATEWAY, PEER_GATEWAY, TUNNEL, INTERFACE, PEER, FIREWALL, LINK}
    assert not vpn_types & (set(est.not_priced) | set(est.not_timed))


def test_each_part_waits_for_what_it_names() -> None:
    def urn(type_: str, name: str) -> str:
        return plan().one(type_, name).urn

    gateway, device = urn(GATEWAY, "gke-dc1-vpn"), urn(PEER_GATEWAY, "gke-dc1-peer")
    router, network = urn(ROUTER, "gke-dc1-vpn-router"), urn("gcp:compute/network:Network", "gke-vpc")
    assert (
        network in plan().one(GATEWAY).dependencies and network in plan().one(ROUTER, "gke-dc1-vpn-router").dependencies
    )
    for i in range(2):
        tunnel = plan().one(TUNNEL, f"gke-dc1-{i}")
        assert {gateway, device, router} <= set(tunnel.dependencies)
        interface = plan().one(INTERFACE, f"gke-dc1-{i}")
        assert {tunnel.urn, router} <= set(interface.dependencies)
        assert {interface.urn, router} <= set(plan().one(PEER, f"gke-dc1-{i}").dependencies)
    assert network in plan().one(FIREWALL).dependencies
