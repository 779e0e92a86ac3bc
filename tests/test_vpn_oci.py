"""A declared site's Site-to-Site VPN to an OKE cluster: what the spec refuses, and what gets registered, on the
mock engine."""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
from functools import cache
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from components.runtime import UNKNOWN_SECRET
from components.spec import Site
from components.targets.oci.vpn import INSIDE_POOL, inside_ranges
from preflight import answers, policy, rejects, stackconfig
from preflight.engine import PROJECT_DIR, Plan, Registration, Secret
from tests.harness import plan_spec
from tests.test_sites import parsed, problems

LINK = "orquestra:site:VpnLink"
CPE = "oci:Core/cpe:Cpe"
IPSEC = "oci:Core/ipsec:Ipsec"
TUNNEL = "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement"
DRG = "oci:Core/drg:Drg"
ATTACHMENT = "oci:Core/drgAttachment:DrgAttachment"
ROUTE_TABLE = "oci:Core/routeTable:RouteTable"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa"
HUB_DRG = "ocid1.drg.oc1.eu-frankfurt-1.aaaaaaaa4nqkzb2yvtlf6wq3xjm5hc7rd2sgupe6oa7bkiy3lzvfx5tmq4wa"
KEY = "SiteKeyForOkeTunnels2026"
SITE_CIDRS = ["192.168.0.0/16"]


def stack(hub: bool = True, **site: Any) -> dict[str, Any]:
    """The hybrid stack's on-prem `dc1` on its site, plus an OKE cluster the site reaches by VPN: a prod one with a
    private API behind a hub DRG (`hub`), or a dev one with a public API and no hub."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"]
    dc1 = copy.deepcopy(config["orquestra:clusters"][0])
    dc1["site"] = "dc1"
    dc1.pop("platform")
    oke: dict[str, Any] = {
        "name": "oke",
        "target": "oci",
        "region": "eu-frankfurt-1",
        "compartmentId": COMPARTMENT,
        "network": {"cidr": "10.20.0.0/16"},
    }
    if hub:
        oke["apiAccess"] = {"private": True}
        oke["deployer"] = {"runner": "dc1-deployer", "hub": {"drgId": HUB_DRG, "cidrs": ["10.250.0.0/20"]}}
    else:
        oke["apiAccess"] = {"publicCidrs": ["198.51.100.0/24"]}
    peer = {"address": "203.0.113.10", "asn": 65010}
    return {
        "environment": "prod" if hub else "dev",
        "clusters": [dc1, oke],
        "sites": [{"name": "dc1", "cidrs": SITE_CIDRS, "peer": peer, "vpn": ["oke"], **site}],
    }


def static() -> dict[str, Any]:
    """The dev stack, its site routed statically (no ASN)."""
    return stack(hub=False, peer={"address": "203.0.113.10"})


@cache
def plan(hub: bool = True, key: bool = False) -> Plan:
    """With `hub`, the prod stack over BGP; else the dev one over static routes. With `key`, the site's own key."""
    config = stack() if hub else static()
    if key:
        config["sites"][0]["peer"]["preSharedKey"] = KEY
    result = plan_spec(config)
    assert result.errors == []
    return result


# ------------------------------------------------------------------------- spec


def test_the_stack_parses_with_the_oke_cluster_linked() -> None:
    spec = parsed(stack())
    assert spec.site("dc1").vpn == ["oke"]
    assert [s.name for s in spec.cluster("oke").vpn_sites] == ["dc1"]
    assert spec.cluster("dc1").vpn_sites == ()


def test_a_key_with_characters_oci_refuses_is_one_line_that_hides_it() -> None:
    key = "Site.Key_with.dots"
    found = problems(stack(peer={"address": "203.0.113.10", "preSharedKey": SecretStr(key)}))
    assert found == [
        "orquestra:sites[0].peer.preSharedKey: [secret]; allowed: letters and digits only for a VPN to 'oke' on oci "
        "(OCI takes letters, digits and spaces)"
    ]
    assert key not in " ".join(found)


def test_an_encrypted_key_is_not_judged_offline() -> None:
    # Preflight cannot decrypt a `secure:` key: it holds the unknown-secret sentinel, which no key rule may refuse.
    spec = parsed(stack(peer={"address": "203.0.113.10", "preSharedKey": SecretStr(UNKNOWN_SECRET)}))
    peer = spec.site("dc1").peer
    assert peer is not None and peer.pre_shared_key is not None


def test_a_vcn_the_stack_does_not_own_is_refused() -> None:
    config = stack(hub=False)
    subnet = "ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaa"
    config["clusters"][1]["existingVcn"] = {
        "vcnId": "ocid1.vcn.oc1.eu-frankfurt-1.aaaaaaaadaqix7wadjl5alraxvirc4ef76xcql3g6alldu47g6wws5rs4mif",
        "workerSubnetId": f"{subnet}2rpwvnh5n6ivbmgwmhwx3bz6p6dsnkcaqxcbh7ffoyfh4ptsnfpa",
        "apiSubnetId": f"{subnet}3rpwvnh5n6ivbmgwmhwx3bz6p6dsnkcaqxcbh7ffoyfh4ptsnfpa",
        "lbSubnetId": f"{subnet}4rpwvnh5n6ivbmgwmhwx3bz6p6dsnkcaqxcbh7ffoyfh4ptsnfpa",
    }
    assert any(
        p.startswith("orquestra:sites[0].vpn[0]: 'oke'; allowed: a cluster whose VCN the stack creates")
        for p in problems(config)
    ), problems(config)


# ------------------------------------------------------------ inside addresses


def site(name: str, *clusters: str) -> Site:
    return Site(name=name, cidrs=SITE_CIDRS, vpn=list(clusters))


def test_inside_ranges_are_two_link_local_30s_clear_of_the_metadata_address() -> None:
    first, second = inside_ranges(site("dc1", "oke"), "oke")
    assert first.prefixlen == second.prefixlen == 30 and first != second
    for inside in (first, second):
        assert inside.subnet_of(INSIDE_POOL)
        assert ipaddress.ip_address("169.254.169.254") not in inside
        # Clear of GCP's and Azure's blocks, which one device may hold too.
        assert not inside.overlaps(ipaddress.ip_network("169.254.64.0/18"))
        assert not inside.overlaps(ipaddress.ip_network("169.254.21.0/24"))


# ----------------------------------------------------------------- registered


def test_the_cloud_end_hangs_from_the_link() -> None:
    link = plan().one(LINK, "dc1-oke")
    assert [r.name for r in plan().resources(CPE) if r.parent == link.urn] == ["dc1-oke-cpe"]
    assert [r.name for r in plan().resources(IPSEC) if r.parent == link.urn] == ["dc1-oke-ipsec"]
    names = sorted(r.name for r in plan().resources(TUNNEL) if r.parent == link.urn)
    assert names == ["dc1-oke-tunnel-1", "dc1-oke-tunnel-2"]


def test_the_connection_joins_the_sites_cpe_to_the_hubs_drg() -> None:
    cpe, ipsec = plan().one(CPE), plan().one(IPSEC).plain
    assert cpe.plain["ipAddress"] == "203.0.113.10" and cpe.plain["compartmentId"] == COMPARTMENT
    assert ipsec["cpeId"] == cpe.id and ipsec["drgId"] == HUB_DRG
    # The VCN stays on the hub's DRG alone: no DRG of the stack's own, one attachment.
    assert plan().resources(DRG) == []
    assert [a.name for a in plan().resources(ATTACHMENT)] == ["oke-hub"]


def test_without_a_hub_the_cluster_gets_a_drg_of_its_own() -> None:
    cluster = plan(hub=False).one("orquestra:targets:OciCluster")
    drg = plan(hub=False).one(DRG, "oke-drg")
    attachment = plan(hub=False).one(ATTACHMENT, "oke-drg-vcn")
    assert drg.parent == attachment.parent == cluster.urn
    vcn = plan(hub=False).one("oci:Core/vcn:Vcn", "oke-vcn")
    assert attachment.plain["drgId"] == drg.id and attachment.plain["networkDetails"] == {"type": "VCN", "id": vcn.id}
    assert plan(hub=False).one(IPSEC).plain["drgId"] == drg.id


def test_two_ikev2_tunnels_with_bgp_on_their_own_30s() -> None:
    ipsec = plan().one(IPSEC)
    # The tunnels are static until configured, so the connection carries the site's ranges; BGP ignores them.
    assert ipsec.plain["staticRoutes"] == SITE_CIDRS
    tunnels = sorted(plan().resources(TUNNEL), key=lambda t: t.name)
    ids = {t.plain["tunnelId"] for t in tunnels}
    assert len(ids) == 2
    for tunnel, inside in zip(tunnels, inside_ranges(parsed(stack()).site("dc1"), "oke"), strict=True):
        t = tunnel.plain
        assert t["ipsecId"] == ipsec.id and t["ikeVersion"] == "V2" and t["routing"] == "BGP"
        assert t["bgpSessionInfo"] == {
            "customerBgpAsn": "65010",
            "customerInterfaceIp": f"{inside[2]}/30",
            "oracleInterfaceIp": f"{inside[1]}/30",
        }


def test_a_site_without_an_asn_is_routed_statically() -> None:
    assert plan(hub=False).one(IPSEC).plain["staticRoutes"] == SITE_CIDRS
    for tunnel in plan(hub=False).resources(TUNNEL):
        assert tunnel.plain["routing"] == "STATIC" and "bgpSessionInfo" not in tunnel.plain
        assert tunnel.plain["ikeVersion"] == "V2"


@pytest.mark.parametrize("hub", [True, False])
def test_the_private_route_table_sends_the_site_to_the_drg(hub: bool) -> None:
    drg = HUB_DRG if hub else plan(hub=False).one(DRG).id
    table = plan(hub).one(ROUTE_TABLE, "oke-private-rt")
    to_drg = {r["destination"] for r in table.plain["routeRules"] if r["networkEntityId"] == drg}
    assert set(SITE_CIDRS) <= to_drg
    # The table waits for the attachment that puts the VCN on that DRG.
    attachment = plan(hub).one(ATTACHMENT)
    assert attachment.urn in table.dependencies


def test_a_cluster_without_sites_routes_nothing_to_a_drg() -> None:
    config = static()
    config.pop("sites")
    config["clusters"][0].pop("site")
    unlinked = plan_spec(config)
    assert unlinked.errors == []
    assert unlinked.resources(DRG) == [] and unlinked.resources(ATTACHMENT) == []
    rules = unlinked.one(ROUTE_TABLE, "oke-private-rt").plain["routeRules"]
    assert all(not str(r["networkEntityId"]).startswith("ocid1.drg.") for r in rules)


def test_the_site_reaches_the_private_api_and_the_internal_load_balancers() -> None:
    api = [
        r.plain
        for r in plan().resources(NSG_RULE)
        if r.name.startswith("oke-api-in-clients-") and r.plain.get("source") in SITE_CIDRS
    ]
    assert len(api) == 1 and api[0]["tcpOptions"]["destinationPortRange"] == {"min": 6443, "max": 6443}
    listeners = plan().one(SECURITY_LIST, "oke-lbs-sl").plain["ingressSecurityRules"]
    from_site = sorted(r["tcpOptions"]["min"] for r in listeners if r["source"] in SITE_CIDRS)
    assert from_site == [80, 443]
    # The workers stay closed to the site.
    workers = [r.plain for r in plan().resources(NSG_RULE) if r.name.startswith("oke-workers-in-")]
    assert all(r.get("source") not in SITE_CIDRS for r in workers)


# -------------------------------------------------------------------- secrets


@pytest.mark.parametrize("key", [False, True])
def test_the_key_is_secret_in_both_tunnels_and_never_in_the_plan(key: bool) -> None:
    tunnels = plan(key=key).resources(TUNNEL)
    assert len(tunnels) == 2
    for tunnel in tunnels:
        assert isinstance(tunnel.inputs["sharedSecret"], Secret)
        assert "sharedSecret" in tunnel.additional_secret_outputs
    value = tunnels[0].plain["sharedSecret"]
    assert value and value == tunnels[1].plain["sharedSecret"]
    text = json.dumps([r.to_json() for r in plan(key=key).registrations], default=repr)
    assert value not in text
    if key:
        assert value == KEY
    else:
        generated = plan().one("random:index/randomPassword:RandomPassword", "dc1-oke-psk")
        assert generated.parent == plan().one(LINK).urn


def test_the_device_gets_the_tunnels_from_the_stack_outputs() -> None:
    value = plan().stack_outputs["sites"]["dc1"]["oke"]
    assert isinstance(value["preSharedKey"], Secret) and not isinstance(value["tunnels"], Secret)
    headends = [
        answers.resource_outputs(TUNNEL, t.name, t.plain, plan().stack)["vpnIp"]
        for t in sorted(plan().resources(TUNNEL), key=lambda t: t.name)
    ]
    assert len(set(headends)) == 2
    assert [t["address"] for t in value["tunnels"]] == headends
    assert value["cloudAsn"] == 31898 and value["peerAsn"] == 65010
    for t, inside in zip(value["tunnels"], inside_ranges(parsed(stack()).site("dc1"), "oke"), strict=True):
        assert t["insideCidr"] == str(inside)
        assert t["cloudBgpAddress"] == str(inside[1]) and t["peerBgpAddress"] == str(inside[2])
    static_device = plan(hub=False).stack_outputs["sites"]["dc1"]["oke"]
    assert static_device["cloudAsn"] is None and all(set(t) == {"address"} for t in static_device["tunnels"])


# ------------------------------------------------------------ preflight checks


@pytest.mark.parametrize("hub", [True, False])
def test_preflight_finds_nothing_to_reject_and_the_vpn_policies_pass(hub: bool) -> None:
    assert rejects.run(plan(hub)) == []
    config = stackconfig.from_values(stack() if hub else static(), stack="test")
    result = policy.analyze(plan(hub), config, policy.load_pack_config("prod"))
    vpn = [v for v in result.violations if v.policy.startswith("oci-vpn")]
    assert vpn == [], [v.line() for v in vpn]
    assert {"oci-vpn-key-secret", "oci-vpn-both-tunnels"} <= set(result.config)


def altered(change: Any, hub: bool = True) -> Plan:
    """A copy of the plan with `change(registration)` applied to a copy of each registration."""
    regs = [
        dataclasses.replace(r, inputs=dict(r.inputs), additional_secret_outputs=list(r.additional_secret_outputs))
        for r in plan(hub).registrations
    ]
    for r in regs:
        change(r)
    return dataclasses.replace(plan(hub), registrations=regs)


def test_the_key_rule_sees_a_plain_key_through_the_analyzer() -> None:
    def plain_key(r: Registration) -> None:
        if r.type == TUNNEL:
            r.inputs["sharedSecret"] = "aPlainKey"
            r.additional_secret_outputs = [k for k in r.additional_secret_outputs if k != "sharedSecret"]

    config = stackconfig.from_values(stack(), stack="test")
    result = policy.analyze(altered(plain_key), config, policy.load_pack_config("prod"))
    found = sorted({(v.policy, v.level, v.resource) for v in result.violations if v.policy == "oci-vpn-key-secret"})
    assert found == [("oci-vpn-key-secret", "mandatory", f"{TUNNEL} dc1-oke-tunnel-{i}") for i in (1, 2)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bgpSessionInfo", {"customerBgpAsn": "65010", "customerInterfaceIp": "169.254.9.1/29"}, "IPv4 /30 or /31"),
        (
            "bgpSessionInfo",
            {"customerBgpAsn": "65010", "customerInterfaceIp": "169.254.9.2/30", "oracleInterfaceIp": "169.254.9.6/30"},
            "the same /30 or /31",
        ),
        ("bgpSessionInfo", {"customerInterfaceIp": "169.254.9.2/30", "oracleInterfaceIp": "169.254.9.1/30"}, "ASN"),
    ],
)
def test_what_oci_refuses_of_a_bgp_tunnel_is_rejected(field: str, value: Any, message: str) -> None:
    def change(r: Registration) -> None:
        if r.type == TUNNEL and r.name == "dc1-oke-tunnel-1":
            r.inputs[field] = value

    found = [x for x in rejects.run(altered(change)) if x.subject == f"{TUNNEL} dc1-oke-tunnel-1"]
    assert found and any(message in x.message for x in found), [x.line() for x in found]


def test_a_static_connection_without_routes_is_rejected() -> None:
    def change(r: Registration) -> None:
        if r.type == IPSEC:
            r.inputs["staticRoutes"] = []

    found = [x for x in rejects.run(altered(change, hub=False)) if x.subject == f"{IPSEC} dc1-oke-ipsec"]
    assert [x.field for x in found] == ["staticRoutes"], [x.line() for x in found]


def test_more_site_ranges_than_static_routes_is_one_line() -> None:
    cidrs = [f"192.168.{i}.0/24" for i in range(11)]
    assert problems(stack(cidrs=cidrs)) == [
        "orquestra:sites[0].cidrs: a list; allowed: at most 10 ranges for a VPN to 'oke' on oci (an IPSec "
        "connection's static routes); summarise them"
    ]


def test_a_site_range_over_the_tunnels_block_is_one_line() -> None:
    assert problems(stack(cidrs=["192.168.0.0/16", "169.254.200.0/24"])) == [
        "orquestra:sites[0].cidrs[1]: '169.254.200.0/24'; allowed: a range outside 169.254.192.0/18, where the "
        "tunnels to oci cluster 'oke' take their inside and BGP addresses"
    ]


def test_a_multicast_static_route_is_rejected() -> None:
    def change(r: Registration) -> None:
        if r.type == IPSEC:
            r.inputs["staticRoutes"] = ["224.0.0.0/24"]

    found = [x for x in rejects.run(altered(change, hub=False)) if x.subject == f"{IPSEC} dc1-oke-ipsec"]
    assert [x.field for x in found] == ["staticRoutes[0]"], [x.line() for x in found]
