"""A declared site's Site-to-Site VPN to an EKS cluster (components/targets/aws/vpn.py): what is registered, the
stack output the site's device is set up from, the spec's AWS rules, the rejects and the diagram."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest
import yaml

from components.spec import parse
from preflight.diagram import mermaid
from preflight.engine import PROJECT_DIR, UNKNOWN, Plan, Registration, Secret, redact, reveal
from tests.harness import plan_spec, plan_stack
from tests.rejecting import fields, plan_of, reg
from tests.test_global_routing import stack
from tests.test_sites import problems

VGW = "aws:ec2/vpnGateway:VpnGateway"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VPN = "aws:ec2/vpnConnection:VpnConnection"
VPN_ROUTE = "aws:ec2/vpnConnectionRoute:VpnConnectionRoute"
PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LINK = "orquestra:site:VpnLink"
KEYS = ("tunnel1PresharedKey", "tunnel2PresharedKey")


def hybrid() -> Plan:
    return plan_stack("hybrid")


def urn_of(plan: Plan, type_: str, name: str) -> str:
    return plan.one(type_, name).urn


def device(plan: Plan, site: str = "dc1", cluster: str = "euw1") -> dict[str, Any]:
    found = reveal(plan.stack_outputs["sites"])[site][cluster]
    assert isinstance(found, dict)
    return found


# --------------------------------------------------------------- the hybrid stack


def test_the_gateway_is_the_clusters_and_propagates_into_every_route_table_of_its_vpc() -> None:
    plan = hybrid()
    gateway = plan.one(VGW)
    assert gateway.name == "euw1-vgw" and gateway.parent == urn_of(plan, "orquestra:targets:AwsCluster", "euw1")
    assert gateway.plain["vpcId"] == plan.one("aws:ec2/vpc:Vpc", "euw1-vpc").id
    assert gateway.plain["amazonSideAsn"] == "64512"
    tables = {t.id for t in plan.resources("aws:ec2/routeTable:RouteTable") if t.name.startswith("euw1-")}
    propagated = {p.plain["routeTableId"] for p in plan.resources(PROPAGATION)}
    assert len(tables) == 4 and propagated == tables  # public, and private in each of the 3 zones
    assert {p.plain["vpnGatewayId"] for p in plan.resources(PROPAGATION)} == {gateway.id}


def test_the_link_owns_the_customer_gateway_and_a_bgp_connection_of_two_strong_tunnels() -> None:
    plan = hybrid()
    link = urn_of(plan, LINK, "dc1-euw1")
    customer, connection = plan.one(CGW), plan.one(VPN)
    assert customer.parent == link and connection.parent == link
    assert customer.plain == {
        "type": "ipsec.1",
        "ipAddress": "203.0.113.10",
        "bgpAsn": "65010",
        "deviceName": "dc1-euw1",
        "tags": {"Name": "dc1-euw1"},
    }
    inputs = connection.plain
    assert inputs["vpnGatewayId"] == plan.one(VGW).id and inputs["customerGatewayId"] == customer.id
    assert inputs["staticRoutesOnly"] is False and inputs["type"] == "ipsec.1"
    for t in (1, 2):
        assert inputs[f"tunnel{t}IkeVersions"] == ["ikev2"]
        assert inputs[f"tunnel{t}Phase1EncryptionAlgorithms"] == ["AES256", "AES256-GCM-16"]
        assert min(inputs[f"tunnel{t}Phase2DhGroupNumbers"]) >= 14
    # With BGP the routes come from the device: no static route.
    assert plan.resources(VPN_ROUTE) == []
    # The connection waits for both gateways, and the customer gateway is a sibling, not a dependency of the VPC.
    assert {plan.one(VGW).urn, customer.urn} <= set(connection.dependencies)


def test_the_pre_shared_keys_are_secret_in_the_plan_and_never_in_its_json() -> None:
    plan = hybrid()
    connection = plan.one(VPN)
    for key in ("tunnel1PresharedKey", "tunnel2PresharedKey"):
        assert isinstance(connection.inputs[key], Secret)
        assert key in connection.additional_secret_outputs
        assert redact(connection.inputs)[key] == "[secret]"
    # One key per link, generated: 40 letters, the same on both tunnels.
    password = plan.one("random:index/randomPassword:RandomPassword", "dc1-euw1-psk")
    assert password.parent == urn_of(plan, LINK, "dc1-euw1")
    assert password.plain["length"] == 40 and password.plain["special"] is False
    # Of the link's device settings only the key is secret: the tunnels and routes are for the device's admin.
    device = plan.stack_outputs["sites"]["dc1"]["euw1"]
    assert isinstance(device["preSharedKey"], Secret) and not isinstance(device["tunnels"], Secret)
    assert redact(plan.stack_outputs)["sites"]["dc1"]["euw1"]["preSharedKey"] == "[secret]"


def test_the_api_admits_the_site_on_443_only() -> None:
    plan = hybrid()
    rules = [r for r in plan.resources(INGRESS) if r.parent == urn_of(plan, LINK, "dc1-euw1")]
    assert [(r.plain["cidrIpv4"], r.plain["ipProtocol"], r.plain["fromPort"], r.plain["toPort"]) for r in rules] == [
        ("192.168.10.0/24", "tcp", 443, 443)
    ]
    # The group EKS made for the cluster, the one the deployer's hub is admitted on too.
    assert rules[0].plain["securityGroupId"] == plan.one(INGRESS, "euw1-api-from-hub-0").plain["securityGroupId"]


def test_the_site_device_gets_both_tunnels_the_asns_and_the_vpcs_range() -> None:
    out = device(hybrid())
    assert out["cloudAsn"] == 64512 and out["peerAsn"] == 65010
    assert out["routes"] == ["10.60.0.0/16"]
    assert isinstance(out["preSharedKey"], str) and len(out["preSharedKey"]) == 40
    assert len(out["tunnels"]) == 2
    addresses = {t["address"] for t in out["tunnels"]}
    assert len(addresses) == 2
    for tunnel in out["tunnels"]:
        assert set(tunnel) == {"address", "insideCidr", "cloudBgpAddress", "peerBgpAddress"}
        network = re.fullmatch(r"169\.254\.(\d+)\.(\d+)/30", tunnel["insideCidr"])
        assert network is not None
        base = int(network.group(2))
        assert tunnel["cloudBgpAddress"] == f"169.254.{network.group(1)}.{base + 1}"
        assert tunnel["peerBgpAddress"] == f"169.254.{network.group(1)}.{base + 2}"


def test_the_tunnels_inside_ranges_are_chosen_from_aws_own_block_clear_of_the_other_clouds() -> None:
    from components.targets.aws import vpn as aws_vpn
    from components.targets.azure import vpn as azure_vpn
    from components.targets.gcp import vpn as gcp_vpn
    from components.targets.oci import vpn as oci_vpn

    plan = hybrid()
    inputs = plan.one(VPN).plain
    ranges = [ipaddress.ip_network(inputs[f"tunnel{t}InsideCidr"]) for t in (1, 2)]
    assert all(r.prefixlen == 30 and r.subnet_of(aws_vpn.INSIDE_POOL) for r in ranges) and not ranges[0].overlaps(
        ranges[1]
    )
    # AWS's reserved /30s and the metadata address, and every other cloud's tunnel block, are outside the pool.
    taken = [f"169.254.{i}.0/30" for i in range(6)] + ["169.254.169.252/30"]
    others = [gcp_vpn.INSIDE_POOL, oci_vpn.INSIDE_POOL, azure_vpn.CLOUD_APIPA, azure_vpn.PEER_APIPA]
    assert not any(aws_vpn.INSIDE_POOL.overlaps(ipaddress.ip_network(n)) for n in [*taken, *others])
    # The device is told the same ranges, with AWS's end first.
    assert [t["insideCidr"] for t in device(plan)["tunnels"]] == [str(r) for r in ranges]


def test_a_site_range_inside_the_tunnels_block_is_refused() -> None:
    found = problems(with_site(cidrs=["169.254.128.0/24"]))
    line = "orquestra:sites[0].cidrs[0]: '169.254.128.0/24'; allowed: a range outside 169.254.128.0/19"
    assert any(p.startswith(line) for p in found), found


def test_the_diagram_draws_the_site_and_its_link_to_the_vpn_gateway() -> None:
    text = mermaid(hybrid())
    assert '  s0[("dc1<br/>site")]' in text
    gateway = re.search(r'(n\d+)\["euw1-vgw<br/>aws ec2 VpnGateway"\]', text)
    assert gateway is not None
    assert f'  s0 ---|"IPsec · BGP · 2 tunnels"| {gateway.group(1)}' in text
    assert "dc1-euw1" not in text  # the link is an edge, not a box


def test_the_snapshot_shows_the_keys_redacted() -> None:
    from tests.snapshot import DIR

    doc = json.loads((DIR / "hybrid.json").read_text())
    connections = [r for r in doc["resources"] if r["type"] == VPN]
    assert connections and all(
        r["inputs"][key] == "[secret]" for r in connections for key in ("tunnel1PresharedKey", "tunnel2PresharedKey")
    )


# ------------------------------------------------------------- other shapes


def shipped() -> dict[str, Any]:
    """The hybrid stack's `orquestra:` namespace as its file has it, secrets as `{secure: ...}` leaves."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"]
    return {k.removeprefix("orquestra:"): v for k, v in config.items() if k.startswith("orquestra:")}


def with_site(config: dict[str, Any] | None = None, **site: Any) -> dict[str, Any]:
    config = stack() if config is None else config
    config["sites"][0].update(site)
    return config


def test_a_peer_without_bgp_gets_static_routes_and_a_placeholder_asn() -> None:
    config = with_site(shipped(), cidrs=["192.168.10.0/24", "172.20.0.0/22"], peer={"address": "198.51.100.7"})
    plan = plan_spec(config, stack="hybrid")
    assert plan.one(CGW).plain["bgpAsn"] == "65000"
    connection = plan.one(VPN)
    assert connection.plain["staticRoutesOnly"] is True
    routes = plan.resources(VPN_ROUTE)
    assert sorted(r.plain["destinationCidrBlock"] for r in routes) == ["172.20.0.0/22", "192.168.10.0/24"]
    assert {r.plain["vpnConnectionId"] for r in routes} == {connection.id}
    assert all(r.parent == urn_of(plan, LINK, "dc1-euw1") for r in routes)
    out = device(plan)
    assert out["cloudAsn"] is None and out["peerAsn"] is None
    assert all(set(t) == {"address", "insideCidr"} for t in out["tunnels"])
    assert '"IPsec · static · 2 tunnels"' in mermaid(plan)


def test_a_given_key_is_used_on_both_tunnels_and_nothing_is_generated() -> None:
    key = "Site.dc1_key.2026"
    config = with_site(shipped(), peer={"address": "203.0.113.10", "asn": 65010, "preSharedKey": key})
    plan = plan_spec(config, stack="hybrid")
    inputs = plan.one(VPN).inputs
    assert reveal(inputs["tunnel1PresharedKey"]) == key == reveal(inputs["tunnel2PresharedKey"])
    assert [r for r in plan.resources("random:index/randomPassword:RandomPassword") if r.name.endswith("-psk")] == []
    assert key not in json.dumps([r.to_json() for r in plan.registrations])


def test_two_sites_share_the_clusters_one_gateway() -> None:
    config = shipped()
    config["sites"].append(
        {
            "name": "dc2",
            "cidrs": ["192.168.30.0/24"],
            "peer": {"address": "198.51.100.20", "asn": 65020},
            "vpn": ["euw1"],
        }
    )
    plan = plan_spec(config, stack="hybrid")
    assert len(plan.resources(VGW)) == 1 and len(plan.resources(PROPAGATION)) == 4
    assert sorted(r.name for r in plan.resources(CGW)) == ["dc1-euw1-cgw", "dc2-euw1-cgw"]
    assert {r.plain["vpnGatewayId"] for r in plan.resources(VPN)} == {plan.one(VGW).id}
    assert set(reveal(plan.stack_outputs["sites"])) == {"dc1", "dc2"}


# ------------------------------------------------------------------------ spec


@pytest.mark.parametrize(
    ("peer", "line"),
    [
        (
            {"address": "203.0.113.10", "asn": 64512},
            "orquestra:sites[0].peer.asn: 64512; allowed: an ASN other than the virtual private gateway's (64512)",
        ),
        (
            {"address": "203.0.113.10", "asn": 9059},
            "orquestra:sites[0].peer.asn: 9059; allowed: an ASN AWS does not reserve in eu-west-1",
        ),
    ],
)
def test_an_asn_aws_refuses_is_one_line(peer: dict[str, Any], line: str) -> None:
    found = problems(with_site(peer=peer))
    assert len(found) == 1 and found[0].startswith(line), found


def test_a_public_asn_aws_reserves_elsewhere_is_fine_here() -> None:
    parse(with_site(peer={"address": "203.0.113.10", "asn": 10124}))


def test_an_existing_vpc_cannot_end_a_vpn() -> None:
    config = stack()
    euw1 = config["clusters"][1]
    euw1["existingVpc"] = {
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "privateSubnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
    }
    del euw1["deployer"]["hub"]
    euw1["apiAccess"] = {"private": False, "publicCidrs": ["203.0.113.10/32"]}
    assert any(
        p.startswith("orquestra:sites[0].vpn[0]: 'euw1'; allowed: a cluster whose VPC the stack creates")
        for p in problems(config)
    ), problems(config)


def test_a_hub_over_the_site_is_refused() -> None:
    config = stack()
    config["clusters"][1]["deployer"]["hub"]["cidrs"] = ["192.168.10.0/24"]
    assert any(p.startswith("orquestra:sites[0].cidrs[0]: '192.168.10.0/24'") for p in problems(config))


# ---------------------------------------------------------------------- rejects


def _gateway(name: str, vpc: str, asn: str = "64512") -> Registration:
    return reg(VGW, name, {"vpcId": vpc, "amazonSideAsn": asn}, id=f"vgw-{name}")


def test_aws_refuses_a_second_gateway_on_a_vpc_and_a_public_amazon_asn() -> None:
    plan = plan_of(_gateway("a", "vpc-1"), _gateway("b", "vpc-1"), _gateway("c", "vpc-2", asn="65535"))
    assert fields(plan) == {("b", "vpcId"), ("c", "amazonSideAsn")}


def test_aws_refuses_equal_bgp_asns_but_not_on_static_routes() -> None:
    gateway = _gateway("g", "vpc-1")
    customer = reg(CGW, "c", {"type": "ipsec.1", "ipAddress": "203.0.113.10", "bgpAsn": "64512"}, id="cgw-c")
    bgp = reg(VPN, "bgp", {"vpnGatewayId": "vgw-g", "customerGatewayId": "cgw-c", "staticRoutesOnly": False})
    static = reg(VPN, "static", {"vpnGatewayId": "vgw-g", "customerGatewayId": "cgw-c", "staticRoutesOnly": True})
    assert fields(plan_of(gateway, customer, bgp, static)) == {("bgp", "customerGatewayId")}


def test_aws_refuses_off_range_and_reserved_customer_asns_and_a_duplicate_gateway() -> None:
    def customer(name: str, **inputs: Any) -> Registration:
        return reg(CGW, name, {"type": "ipsec.1", "ipAddress": "203.0.113.10", **inputs})

    plan = plan_of(
        customer("ok", bgpAsn="65010", deviceName="a"),
        customer("again", bgpAsn="65010", deviceName="a"),
        customer("big", bgpAsn="4200000000", deviceName="b"),
        customer("reserved", bgpAsn="7224", deviceName="c"),
        customer("extended", bgpAsnExtended="4200000000", deviceName="d"),
    )
    assert fields(plan) == {("again", "deviceName"), ("big", "bgpAsn"), ("reserved", "bgpAsn")}


def test_aws_refuses_reserved_malformed_repeated_and_shared_inside_ranges() -> None:
    def connection(name: str, one: str, two: str, gateway: str = "vgw-g") -> Registration:
        return reg(
            VPN,
            name,
            {"vpnGatewayId": gateway, "staticRoutesOnly": True, "tunnel1InsideCidr": one, "tunnel2InsideCidr": two},
        )

    plan = plan_of(
        connection("a-ok", "169.254.128.0/30", "169.254.128.4/30"),
        connection("b-reserved", "169.254.5.0/30", "169.254.169.252/30"),
        connection("c-size", "169.254.130.0/29", "10.0.0.0/30"),
        connection("d-same", "169.254.131.0/30", "169.254.131.0/30"),
        connection("e-taken", "169.254.128.4/30", "169.254.132.0/30"),
        connection("f-other-gateway", "169.254.128.0/30", "169.254.128.4/30", gateway="vgw-h"),
        connection("g-junk", "a range", "169.254.133.0/30"),
    )
    assert fields(plan) == {
        ("b-reserved", "tunnel1InsideCidr"),
        ("b-reserved", "tunnel2InsideCidr"),
        ("c-size", "tunnel1InsideCidr"),
        ("c-size", "tunnel2InsideCidr"),
        ("d-same", "tunnel2InsideCidr"),
        ("e-taken", "tunnel1InsideCidr"),
        ("g-junk", "tunnel1InsideCidr"),
    }


def test_the_hybrid_plan_passes_the_vpn_rejects() -> None:
    from preflight.rejects import aws

    assert [r for r in aws.check(hybrid()) if "vpn" in r.subject.lower() or "Gateway" in r.subject] == []


# ----------------------------------------------------------------- policy pack


def test_the_pack_tells_a_secret_key_from_a_plain_one_as_a_preview_sends_them() -> None:
    from preflight import policy
    from preflight.stackconfig import StackConfig

    def connection(name: str, key: Any, secret_outputs: list[str]) -> Registration:
        inputs = {"tunnel1PresharedKey": key, "tunnel2PresharedKey": key, "tunnel1IkeVersions": ["ikev2"]}
        inputs["tunnel2IkeVersions"] = ["ikev2"]
        return Registration(
            urn=f"urn:pulumi:t::orquestra::{VPN}::{name}",
            type=VPN,
            name=name,
            inputs=inputs,
            additional_secret_outputs=secret_outputs,
        )

    stack_reg = Registration(
        urn="urn:pulumi:t::orquestra::pulumi:pulumi:Stack::orquestra-t",
        type="pulumi:pulumi:Stack",
        name="orquestra-t",
        custom=False,
    )
    # As pulumi-aws registers one: secret inputs, and both keys in additionalSecretOutputs.
    sdk = connection("sdk", Secret("k3yOfTheLink"), ["customerGatewayConfiguration", *KEYS])
    plain = connection("plain", "k3yOfTheLink", [])
    plan = Plan("t", [stack_reg, sdk, plain], {}, [], [], [])
    config = StackConfig(project="orquestra", stack="t", values={"orquestra:environment": "prod"}, secret_keys=[])
    result = policy.analyze(plan, config, policy.load_pack_config("prod"))
    found = [(v.resource, v.level, v.message) for v in result.violations if v.policy.startswith("aws-vpn-")]
    assert found == [
        (
            f"{VPN} plain",
            "mandatory",
            f"{key} is a plain value: mark it secret (pulumi.Output.secret, or additionalSecretOutputs)",
        )
        for key in KEYS
    ]


def test_an_encrypted_key_reaches_the_tunnels_as_an_unknown_secret() -> None:
    # Offline a `secure:` key cannot be read: the tunnels get an unknown secret, never the placeholder text.
    config = with_site(shipped(), peer={"address": "198.51.100.7", "asn": 65010, "preSharedKey": {"secure": "v1:k"}})
    plan = plan_spec(config, stack="hybrid")
    connection = plan.one(VPN)
    for key in ("tunnel1PresharedKey", "tunnel2PresharedKey"):
        value = connection.inputs[key]
        assert isinstance(value, Secret) and value.value is UNKNOWN, value
    assert [r for r in plan.resources("random:index/randomPassword:RandomPassword") if r.name.endswith("-psk")] == []
