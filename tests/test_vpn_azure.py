"""A site-to-site VPN from a declared site to an AKS cluster's VNet: what is registered, what the site is told."""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
from functools import cache
from typing import Any

import pytest
import yaml

from components.spec import parse
from components.targets.azure import network, vpn
from preflight import policy
from preflight.answers import azure as answers
from preflight.engine import PROJECT_DIR, Plan, Registration, Secret, reveal
from preflight.estimates import create_seconds, estimate, prerequisites
from preflight.stackconfig import StackConfig
from tests.harness import plan_spec
from tests.rejecting import fields, plan_of, reg, rejected
from tests.test_sites import problems
from tests.test_target_azure import DEV

GATEWAY = "azure-native:network:VirtualNetworkGateway"
LOCAL = "azure-native:network:LocalNetworkGateway"
CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
SUBNET = "azure-native:network:Subnet"
AKS = "azure-native:containerservice:ManagedCluster"
LINK = "orquestra:site:VpnLink"
SITE_CIDRS = ["192.168.10.0/24", "192.168.20.0/24"]


def site(name: str = "dc1", **peer: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cidrs": SITE_CIDRS if name == "dc1" else ["192.168.30.0/24"],
        "peer": {"address": "203.0.113.10" if name == "dc1" else "203.0.113.20", **peer},
        "vpn": ["weu-dev"],
    }


def dev_stack(*sites: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(DEV)
    config["sites"] = list(sites) or [site(asn=65010)]
    return config


@cache
def bgp() -> Plan:
    plan = plan_spec(dev_stack(), stack="dev-azure")
    assert plan.ok, plan.errors
    return plan


@cache
def static() -> Plan:
    plan = plan_spec(dev_stack(site(preSharedKey="Site.Key_0f.dc1")), stack="dev-azure")
    assert plan.ok, plan.errors
    return plan


@cache
def prod() -> Plan:
    """The shipped prod-azure cluster (private, three zones) with a site: read, not changed."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.prod-azure.yaml").read_text())["config"]
    namespace = {k.removeprefix("orquestra:"): v for k, v in config.items() if k.startswith("orquestra:")}
    namespace["sites"] = [{**site(asn=65010), "vpn": ["weu-prod"]}]
    plan = plan_spec(namespace, stack="prod-azure")
    assert plan.ok, plan.errors
    return plan


def device(plan: Plan, cluster: str = "weu-dev", name: str = "dc1") -> dict[str, Any]:
    out: dict[str, Any] = reveal(plan.stack_outputs["sites"])[name][cluster]
    return out


def r_type_count(plan: Plan, type_: str) -> int:
    return len(plan.resources(type_))


def component(plan: Plan, type_: str) -> Registration:
    (found,) = [r for r in plan.registrations if r.type == type_]
    return found


# ------------------------------------------------------------------- the gateway


def test_one_active_active_az_gateway_in_its_gateway_subnet() -> None:
    plan = bgp()
    gw = plan.one(GATEWAY).plain
    assert (gw["gatewayType"], gw["vpnType"], gw["sku"]) == (
        "Vpn",
        "RouteBased",
        {"name": "VpnGw1AZ", "tier": "VpnGw1AZ"},
    )
    assert gw["activeActive"] is True and gw["enableBgp"] is True
    subnet = plan.one(SUBNET, "weu-dev-gateway-subnet").plain
    assert subnet["subnetName"] == "GatewaySubnet" and subnet["addressPrefix"] == "10.0.255.192/27"
    ips = {r.id: r.plain for r in plan.resources(PUBLIC_IP)}
    configs = gw["ipConfigurations"]
    assert [c["name"] for c in configs] == list(vpn.INSTANCES)
    # One public IP per instance: two tunnels to every site.
    assert len({c["publicIPAddress"]["id"] for c in configs}) == 2 and set(ips) == {
        c["publicIPAddress"]["id"] for c in configs
    }
    assert {c["subnet"]["id"].rsplit("/", 1)[-1] for c in configs} == {"GatewaySubnet"}
    for ip in ips.values():
        assert ip["sku"]["name"] == "Standard" and ip["publicIPAllocationMethod"] == "Static"
        assert ip["zones"] == ["1", "2", "3"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.40.0.0/20", "172.16.0.0/24", "10.9.0.0/25", "10.0.0.0/8"])
def test_the_gateway_subnet_never_overlaps_the_clusters_subnets(cidr: str) -> None:
    gateway = ipaddress.ip_network(network.gateway_cidr(cidr) or "")
    vnet = ipaddress.ip_network(cidr)
    assert gateway.prefixlen == 27 and gateway.subnet_of(vnet)
    nodes = next(vnet.subnets(new_prefix=min(vnet.prefixlen + 2, 28)))
    apiserver = list(vnet.subnets(new_prefix=28))[-1]
    assert not gateway.overlaps(nodes) and not gateway.overlaps(apiserver)


def test_the_gateway_and_its_ips_hang_from_the_cluster_and_the_site_end_from_its_link() -> None:
    plan = bgp()
    cluster = component(plan, "orquestra:targets:AzureCluster")
    link = component(plan, LINK)
    for r in [plan.one(GATEWAY), *plan.resources(PUBLIC_IP), plan.one(SUBNET, "weu-dev-gateway-subnet")]:
        assert r.parent == cluster.urn, r.name
    for r in [plan.one(LOCAL), plan.one(CONNECTION)]:
        assert r.parent == link.urn, r.name


def test_nothing_of_the_cluster_waits_for_the_gateway() -> None:
    """The gateway takes ~45 minutes: the cluster, its pools and workloads must not wait for it."""
    plan = bgp()
    waits = prerequisites(plan)
    gateway = plan.one(GATEWAY).urn

    def closure(urn: str) -> set[str]:
        seen: set[str] = set()
        todo = [urn]
        while todo:
            for dep in waits.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    connection = plan.one(CONNECTION).urn
    assert gateway in closure(connection)  # the walk sees what does wait for the gateway
    vpn_end = {gateway, connection, component(plan, LINK).urn}
    waiting = [r.name for r in plan.registrations if r.urn not in vpn_end and gateway in closure(r.urn)]
    assert waiting == []
    # The other way round: the GatewaySubnet waits for the cluster and its pools (one change at a time in a VNet).
    subnet = plan.one(SUBNET, "weu-dev-gateway-subnet").dependencies
    assert {plan.one(AKS).urn, *(p.urn for p in plan.resources("azure-native:containerservice:AgentPool"))} <= set(
        subnet
    )


# ---------------------------------------------------------------------- routes


def test_bgp_routes_both_ways_over_apipa_addresses() -> None:
    plan = bgp()
    gw, local, connection = plan.one(GATEWAY).plain, plan.one(LOCAL).plain, plan.one(CONNECTION).plain
    out = device(plan)
    assert gw["bgpSettings"]["asn"] == vpn.AZURE_ASN == out["cloudAsn"] and out["peerAsn"] == 65010
    custom = [p["customBgpIpAddresses"][0] for p in gw["bgpSettings"]["bgpPeeringAddresses"]]
    assert [t["cloudBgpAddress"] for t in out["tunnels"]] == custom and len(set(custom)) == 2
    for address in custom:
        assert ipaddress.ip_address(address) in ipaddress.ip_network("169.254.21.0/24")
    configs = [p["ipconfigurationId"] for p in gw["bgpSettings"]["bgpPeeringAddresses"]]
    assert configs == [f"{plan.one(GATEWAY).id}/ipConfigurations/{name}" for name in vpn.INSTANCES]
    # The site's routes come from BGP: the local gateway names the device's speaker and no prefixes.
    assert local["bgpSettings"] == {"asn": 65010, "bgpPeeringAddress": out["tunnels"][0]["peerBgpAddress"]}
    assert "localNetworkAddressSpace" not in local and local["gatewayIpAddress"] == "203.0.113.10"
    assert connection["enableBgp"] is True
    # The VNet's ranges the device routes into the tunnels (and Azure advertises by BGP).
    assert out["routes"] == ["10.0.0.0/16"]


def test_static_routes_both_ways_without_an_asn() -> None:
    plan = static()
    local, connection, out = plan.one(LOCAL).plain, plan.one(CONNECTION).plain, device(plan)
    assert local["localNetworkAddressSpace"] == {"addressPrefixes": SITE_CIDRS} and "bgpSettings" not in local
    assert connection["enableBgp"] is False
    assert out["cloudAsn"] is None and out["routes"] == ["10.0.0.0/16"]
    assert [set(t) for t in out["tunnels"]] == [{"address"}, {"address"}]


def test_the_device_is_told_both_tunnels_outside_addresses() -> None:
    plan = bgp()
    addresses = [t["address"] for t in device(plan)["tunnels"]]
    ips = {r.plain["publicIpAddressName"]: r for r in plan.resources(PUBLIC_IP)}
    assert addresses == [answers.public_ip("dev-azure", f"weu-dev-vpn-{i}") for i in vpn.INSTANCES]
    assert set(ips) == {f"weu-dev-vpn-{i}" for i in vpn.INSTANCES}


def test_an_ikev2_ipsec_connection_from_the_gateway_to_the_site() -> None:
    plan = bgp()
    connection = plan.one(CONNECTION).plain
    assert (connection["connectionType"], connection["connectionProtocol"]) == ("IPsec", "IKEv2")
    assert connection["virtualNetworkGateway1"] == {"id": plan.one(GATEWAY).id}
    assert connection["localNetworkGateway2"] == {"id": plan.one(LOCAL).id}


def test_two_sites_share_the_clusters_one_gateway() -> None:
    plan = plan_spec(dev_stack(site(asn=65010), site("dc2", asn=65020)), stack="dev-azure")
    assert plan.ok, plan.errors
    assert r_type_count(plan, GATEWAY) == 1 and r_type_count(plan, PUBLIC_IP) == 2
    assert r_type_count(plan, LOCAL) == 2 and r_type_count(plan, CONNECTION) == 2
    peers = {device(plan, name=s)["tunnels"][0]["peerBgpAddress"] for s in ("dc1", "dc2")}
    assert len(peers) == 2
    gateway = plan.one(GATEWAY).id
    assert {r.plain["virtualNetworkGateway1"]["id"] for r in plan.resources(CONNECTION)} == {gateway}
    assert [r for r in rejected(plan) if "network" in r.subject] == []


def test_the_sites_of_one_gateway_never_share_a_bgp_address() -> None:
    taken: set[str] = set()
    for _ in range(253):
        taken.add(vpn.peer_bgp_address("dc1", "weu-dev", taken))
    assert len(taken) == 253 and all(ipaddress.ip_address(a) in vpn.PEER_APIPA for a in taken)
    assert not {"169.254.22.0", "169.254.22.255"} & taken


@pytest.mark.parametrize("cluster", ["weu-dev", "weu-prod", "a", "cluster-with-a-long-name-x"])
def test_each_instance_gets_its_own_apipa_address_inside_azures_range(cluster: str) -> None:
    first, second = (ipaddress.ip_address(a) for a in vpn.cloud_bgp_addresses(cluster))
    assert first != second and {first, second} <= set(vpn.CLOUD_APIPA.hosts())
    assert not {first, second} & {vpn.CLOUD_APIPA[0], vpn.CLOUD_APIPA[-1], vpn.CLOUD_APIPA[1]}


# --------------------------------------------------------------------- secrets


def test_the_pre_shared_key_is_secret_in_the_plan_state_and_export() -> None:
    plan = static()
    connection = plan.one(CONNECTION)
    assert isinstance(connection.inputs["sharedKey"], Secret)
    assert connection.inputs["sharedKey"].value == "Site.Key_0f.dc1"
    assert "sharedKey" in connection.additional_secret_outputs
    assert isinstance(plan.stack_outputs["sites"]["dc1"]["weu-dev"]["preSharedKey"], Secret)
    assert device(plan)["preSharedKey"] == "Site.Key_0f.dc1"
    # A generated key (no preSharedKey in the spec) is the link's random password, secret too.
    assert isinstance(bgp().one(CONNECTION).inputs["sharedKey"], Secret)


def _analyze(plan: Plan, env: str) -> policy.PolicyResult:
    config = StackConfig(project="orquestra", stack="t", values={"orquestra:environment": env}, secret_keys=[])
    return policy.analyze(plan, config, policy.load_pack_config(env))


def test_the_key_policy_tells_a_secret_key_from_a_plain_one() -> None:
    plan = static()
    vpn_rules = {"azure-vpn-key-secret", "azure-vpn-redundant"}
    assert [v for v in _analyze(plan, "dev").violations if v.policy in vpn_rules] == []
    # What the pack sees of the key is the engine's: the connection's additionalSecretOutputs.
    leaked = [
        dataclasses.replace(r, inputs={**r.inputs, "sharedKey": "Site.Key_0f.dc1"}, additional_secret_outputs=[])
        if r.type == CONNECTION
        else r
        for r in plan.registrations
    ]
    found = [v for v in _analyze(dataclasses.replace(plan, registrations=leaked), "dev").violations]
    [v] = [v for v in found if v.policy == "azure-vpn-key-secret"]
    assert v.level == "mandatory" and "Site.Key_0f.dc1" not in v.message


def test_prod_passes_the_redundancy_rule_and_a_single_instance_gateway_fails_it() -> None:
    plan = prod()
    assert plan.one(GATEWAY).plain["sku"]["name"].endswith("AZ")
    # With a hub, the GatewaySubnet also waits for the peerings, the VNet's other changes.
    peerings = {r.urn for r in plan.resources("azure-native:network:VirtualNetworkPeering")}
    assert peerings and peerings <= set(plan.one(SUBNET, "weu-prod-gateway-subnet").dependencies)
    assert [v for v in _analyze(plan, "prod").violations if v.policy.startswith("azure-vpn")] == []
    standby = [
        dataclasses.replace(r, inputs={**r.inputs, "activeActive": False}) if r.type == GATEWAY else r
        for r in plan.registrations
    ]
    found = _analyze(dataclasses.replace(plan, registrations=standby), "prod").violations
    assert [v.level for v in found if v.policy == "azure-vpn-redundant"] == ["mandatory"]


# ------------------------------------------------------------------------ spec


@pytest.mark.parametrize(
    ("asn", "reserved"), [(65515, True), (65518, True), (8075, True), (64500, True), (65010, False)]
)
def test_a_peer_asn_azure_reserves_is_one_line(asn: int, reserved: bool) -> None:
    config = dev_stack(site(asn=asn))
    if not reserved:
        parse(config)
        return
    assert problems(config) == [
        f"orquestra:sites[0].peer.asn: {asn}; allowed: an ASN Azure takes from a VPN peer: not 8074, 8075, 12076, "
        "65515, 65517-65520 (Azure's) nor 23456, 64496-64511, 65535-65551 (IANA's); Azure's own end is 65515"
    ]


def test_a_reserved_asn_on_a_site_linked_to_two_aks_clusters_is_still_one_line() -> None:
    config = dev_stack({**site(asn=65517), "vpn": ["weu-dev", "weu-two"]})
    config["clusters"].append(
        {**copy.deepcopy(DEV["clusters"][0]), "name": "weu-two", "network": {"cidr": "10.8.0.0/16"}}
    )
    assert [p for p in problems(config) if "peer.asn" in p] == [
        p for p in problems(dev_stack(site(asn=65517))) if "peer.asn" in p
    ]


def test_a_vnet_with_no_room_for_the_gateway_subnet_is_one_line() -> None:
    config = dev_stack()
    config["clusters"][0]["network"] = {"cidr": "10.0.0.0/26", "podCidr": "10.100.0.0/16"}
    [line] = [p for p in problems(config) if p.startswith("orquestra:sites[0]")]
    assert line.startswith("orquestra:sites[0].vpn[0]: 'weu-dev'; allowed: a cluster whose network.cidr (10.0.0.0/26)")


# --------------------------------------------------------------------- rejects


def test_the_built_vpn_passes_every_reject_rule() -> None:
    assert [r for r in rejected(bgp()) if "network" in r.subject] == []
    assert [r for r in rejected(static()) if "network" in r.subject] == []


def gateway(**over: Any) -> dict[str, Any]:
    configs = [
        {"name": name, "publicIPAddress": {"id": f"pip{i}-id"}, "subnet": {"id": "/x/subnets/GatewaySubnet"}}
        for i, name in enumerate(vpn.INSTANCES)
    ]
    bgp_settings = {
        "asn": 65515,
        "bgpPeeringAddresses": [
            {"ipconfigurationId": f"/gw/ipConfigurations/{name}", "customBgpIpAddresses": [f"169.254.21.{i + 2}"]}
            for i, name in enumerate(vpn.INSTANCES)
        ],
    }
    return {
        "gatewayType": "Vpn",
        "sku": {"name": "VpnGw1AZ"},
        "activeActive": True,
        "ipConfigurations": configs,
        "bgpSettings": bgp_settings,
        **over,
    }


def ips(sku: str = "Standard") -> list[Registration]:
    return [reg(PUBLIC_IP, f"pip{i}", {"sku": {"name": sku}}) for i in range(2)]


def test_what_azure_refuses_of_a_vpn_gateway() -> None:
    assert fields(plan_of(reg(GATEWAY, "gw", gateway()), *ips())) == set()
    one_config = gateway(ipConfigurations=gateway()["ipConfigurations"][:1])
    apipa = gateway()
    apipa["bgpSettings"]["bgpPeeringAddresses"][1]["customBgpIpAddresses"] = ["169.254.100.1"]
    assert fields(plan_of(reg(GATEWAY, "gw", gateway(sku={"name": "VpnGw1"})), *ips())) == {("gw", "sku.name")}
    # One IP configuration: not active-active, and the second instance's BGP address names a configuration gone.
    assert fields(plan_of(reg(GATEWAY, "gw", one_config), *ips())) == {
        ("gw", "ipConfigurations"),
        ("gw", "bgpSettings.bgpPeeringAddresses[1].ipconfigurationId"),
    }
    assert fields(plan_of(reg(GATEWAY, "gw", gateway()), *ips("Basic"))) == {
        ("gw", "ipConfigurations[0].publicIPAddress"),
        ("gw", "ipConfigurations[1].publicIPAddress"),
    }
    assert fields(plan_of(reg(GATEWAY, "gw", apipa), *ips())) == {
        ("gw", "bgpSettings.bgpPeeringAddresses[1].customBgpIpAddresses")
    }
    assert fields(plan_of(reg(GATEWAY, "gw", gateway(bgpSettings={"asn": 65517})), *ips())) == {
        ("gw", "bgpSettings.asn")
    }


def test_what_azure_refuses_of_a_local_gateway_and_a_gateway_subnet() -> None:
    bare = reg(LOCAL, "site", {"gatewayIpAddress": "203.0.113.10"})
    echo = reg(
        LOCAL,
        "echo",
        {"gatewayIpAddress": "203.0.113.10", "bgpSettings": {"asn": 65010, "bgpPeeringAddress": "203.0.113.10"}},
    )
    small = reg(SUBNET, "gw", {"subnetName": "GatewaySubnet", "addressPrefix": "10.0.255.248/30"})
    assert fields(plan_of(bare, echo, small)) == {
        ("site", "localNetworkAddressSpace.addressPrefixes"),
        ("echo", "bgpSettings.bgpPeeringAddress"),
        ("gw", "addressPrefix"),
    }


def test_two_sites_of_one_gateway_with_one_device_address_or_bgp_address_are_refused() -> None:
    def local(name: str, address: str, bgp: str) -> Registration:
        return reg(LOCAL, name, {"gatewayIpAddress": address, "bgpSettings": {"asn": 65010, "bgpPeeringAddress": bgp}})

    def connection(name: str, site: str, gateway: str = "gw-id") -> Registration:
        return reg(CONNECTION, name, {"virtualNetworkGateway1": {"id": gateway}, "localNetworkGateway2": {"id": site}})

    sites = [local("a", "203.0.113.10", "169.254.22.1"), local("b", "203.0.113.10", "169.254.22.2")]
    sites.append(local("c", "203.0.113.30", "169.254.22.1"))
    found = rejected(plan_of(*sites, connection("ca", "a-id"), connection("cb", "b-id"), connection("cc", "c-id")))
    assert sorted((r.subject.rsplit(" ", 1)[-1], r.message.split(" is ")[0]) for r in found) == [
        ("cb", "its device address 203.0.113.10"),
        ("cc", "its BGP address 169.254.22.1"),
    ]
    # The same device on two gateways (two clusters) is fine.
    assert rejected(plan_of(*sites[:2], connection("ca", "a-id"), connection("cb", "b-id", "other-gw-id"))) == []


# ------------------------------------------------------------------- estimates


def test_the_gateway_is_priced_and_takes_45_minutes() -> None:
    plan = bgp()
    est = estimate(plan)
    items = {i.name: i for i in est.items}
    assert items["weu-dev-vpn"].cost.monthly == pytest.approx(0.21 * 730)
    assert {i.type for i in est.items if i.name.startswith("weu-dev-vpn-instance")} == {PUBLIC_IP}
    assert create_seconds(plan.one(GATEWAY)) == (2700.0, True)
    assert LOCAL not in est.not_priced and CONNECTION not in est.not_priced and GATEWAY not in est.not_timed
