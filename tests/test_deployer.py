"""A private Kubernetes API is reached from the deployer the stack declares, on its first deploy too.

The spec refuses a cluster whose API its deployer cannot reach, one line naming the
key and the missing piece; the plan joins each cloud's cluster network to the hub
(peering or attachment, routes both ways, the API's firewall, the name's DNS) and
makes every Kubernetes call wait for that path.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.spec import SpecError, parse
from preflight import __main__ as preflight_cli
from preflight.answers import aws as aws_answers
from preflight.engine import PROJECT_DIR, Plan, Registration
from tests.harness import plan_spec, plan_stack
from tests.rejecting import fields, plan_of, reg, rejected

AZURE_GROUP = "00000000-0000-0000-0000-000000000000"
HUB_VPC = "vpc-0a1b2c3d4e5f60718"
HUB_RTB = "rtb-0a1b2c3d4e5f60718"
AWS_HUB = {"vpcId": HUB_VPC, "cidrs": ["10.0.0.0/20"], "routeTableIds": [HUB_RTB]}


def aws(**over: Any) -> dict[str, Any]:
    return {
        "name": "eks",
        "target": "aws",
        "region": "eu-west-1",
        "network": {"cidr": "10.30.0.0/16", "podCidr": "10.130.0.0/16", "serviceCidr": "10.230.0.0/20"},
        "deployer": {"runner": "deploy-eu", "hub": AWS_HUB},
        **over,
    }


def gcp(**over: Any) -> dict[str, Any]:
    return {
        "name": "gke",
        "target": "gcp",
        "region": "europe-west1",
        "project": "acme-prod",
        "network": {"cidr": "10.20.0.0/20", "podCidr": "10.64.0.0/14", "serviceCidr": "10.68.0.0/20"},
        "deployer": {
            "runner": "deploy-eu",
            "hub": {"network": "projects/acme-hub/global/networks/hub", "cidrs": ["10.0.0.0/20"]},
        },
        **over,
    }


HUB_DRG = "ocid1.drg.oc1.eu-frankfurt-1.aaaaaaaa4nqkzb2yvtlf6wq3xjm5hc7rd2sgupe6oa7bkiy3lzvfx5tmq4wa"
OCI_HUB = {"drgId": HUB_DRG, "cidrs": ["10.0.0.0/20"]}


def oci(**over: Any) -> dict[str, Any]:
    return {
        "name": "oke",
        "target": "oci",
        "region": "eu-frankfurt-1",
        "compartmentId": "ocid1.compartment.oc1..aaaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa",
        "network": {"cidr": "10.30.0.0/16", "podCidr": "10.244.0.0/16", "serviceCidr": "10.96.0.0/20"},
        "deployer": {"runner": "deploy-eu", "hub": OCI_HUB},
        **over,
    }


def lines(clusters: list[dict[str, Any]], environment: str = "prod") -> list[str]:
    with pytest.raises(SpecError) as info:
        parse({"environment": environment, "clusters": clusters})
    return info.value.problems


def one_line(clusters: list[dict[str, Any]], path: str, allowed: str, environment: str = "prod") -> str:
    found = lines(copy.deepcopy(clusters), environment)
    assert len(found) == 1, found
    (line,) = found
    assert line.startswith(f"orquestra:{path}: ") and "; allowed: " in line, line
    assert allowed in line, line
    return line


def test_the_shipped_deployers_parse() -> None:
    parse({"environment": "prod", "clusters": [aws()]})
    parse({"environment": "prod", "clusters": [gcp()]})
    parse({"environment": "prod", "clusters": [oci()]})


# --------------------------------------------------------------- spec: reachable or refused


def test_a_private_api_with_no_deployer_names_the_missing_hub() -> None:
    line = one_line([aws(deployer=None)], "clusters[0].deployer.hub", "a hub (a VPC to peer with")
    assert ": missing; " in line and "first deploy" in line
    one_line([gcp(deployer=None)], "clusters[0].deployer.hub", "a hub network to peer with")
    aks = {"name": "aks", "target": "azure", "region": "westeurope", "adminGroupObjectIds": [AZURE_GROUP]}
    one_line([aks], "clusters[0].deployer.hub", "a hub VNet to peer with")
    one_line([oci(deployer=None)], "clusters[0].deployer.hub", "a hub DRG to attach the cluster's VCN to")


def test_an_oci_hub_is_a_drg_outside_the_cluster_ranges() -> None:
    one_line(
        [
            oci(
                deployer={
                    "runner": "r",
                    "hub": {**OCI_HUB, "drgId": "ocid1.vcn.oc1.eu-frankfurt-1.aaaaaaaaxyzxyzxyzxyzxyz"},
                }
            )
        ],
        "clusters[0].deployer.hub.drgId",
        "an OCID of a drg",
    )
    one_line(
        [oci(deployer={"runner": "r", "hub": {**OCI_HUB, "cidrs": ["10.244.8.0/24"]}})],
        "clusters[0].deployer.hub.cidrs[0]",
        "network.podCidr (10.244.0.0/16)",
    )
    line = one_line(
        [oci(deployer={"runner": "r", "hub": {"cidrs": ["10.0.0.0/20"]}})], "clusters[0].deployer.hub.drgId", ""
    )
    assert ": missing; " in line
    byo = {
        "vcnId": "ocid1.vcn.oc1.eu-frankfurt-1.aaaaaaaa4nqkzb2yvtlf6wq3xjm5hc7rd2sgupe6oa7bkiy3lzvfx5tmq4wb",
        **{
            key: "ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaa4nqkzb2yvtlf6wq3xjm5hc7rd2sgupe6oa7bkiy3lzvfx5tmq4wc"
            for key in ("workerSubnetId", "apiSubnetId", "lbSubnetId")
        },
    }
    one_line([oci(existingVcn=byo)], "clusters[0].deployer.hub", "none with existingVcn")


def test_a_runner_alone_does_not_reach_a_private_api() -> None:
    one_line([aws(deployer={"runner": "deploy-eu"})], "clusters[0].deployer.hub", "a hub")


def test_a_hub_needs_the_runner_that_sits_in_it() -> None:
    line = one_line([aws(deployer={"hub": AWS_HUB})], "clusters[0].deployer.runner", "self-hosted runner")
    assert ": missing; " in line


def test_a_hub_overlapping_the_cluster_network_is_refused() -> None:
    hub = {**AWS_HUB, "cidrs": ["10.30.128.0/20"]}
    one_line(
        [aws(deployer={"runner": "r", "hub": hub})],
        "clusters[0].deployer.hub.cidrs[0]",
        "a range that does not overlap network.cidr (10.30.0.0/16)",
    )
    pods = {**AWS_HUB, "cidrs": ["10.130.0.0/24"]}
    one_line([aws(deployer={"runner": "r", "hub": pods})], "clusters[0].deployer.hub.cidrs[0]", "network.podCidr")


def test_an_aws_hub_is_a_peered_vpc_with_its_route_tables_or_a_transit_gateway() -> None:
    both = {**AWS_HUB, "transitGatewayId": "tgw-0a1b2c3d4e5f60718"}
    one_line([aws(deployer={"runner": "r", "hub": both})], "clusters[0].deployer.hub.vpcId", "either vpcId")
    tables = {"vpcId": HUB_VPC, "cidrs": ["10.0.0.0/20"]}
    one_line([aws(deployer={"runner": "r", "hub": tables})], "clusters[0].deployer.hub.routeTableIds", "route tables")
    parse(
        {
            "environment": "prod",
            "clusters": [
                aws(
                    deployer={
                        "runner": "r",
                        "hub": {"transitGatewayId": "tgw-0a1b2c3d4e5f60718", "cidrs": ["10.0.0.0/20"]},
                    }
                )
            ],
        }
    )


def test_an_existing_vpc_has_no_path_to_a_hub() -> None:
    byo = {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-01234567", "subnet-89abcdef"]}
    one_line([aws(existingVpc=byo)], "clusters[0].deployer.hub", "none with existingVpc")


def test_public_endpoints_are_reached_from_the_runners_listed_ranges() -> None:
    public = {"private": False, "publicCidrs": ["203.0.113.0/24"]}
    parse(
        {
            "environment": "staging",
            "clusters": [aws(apiAccess=public, deployer={"runner": "r", "cidrs": ["203.0.113.16/28"]})],
        }
    )
    one_line(
        [aws(apiAccess=public, deployer={"runner": "r", "cidrs": ["198.51.100.0/28"]})],
        "clusters[0].deployer.cidrs[0]",
        "a range inside apiAccess.publicCidrs (203.0.113.0/24)",
        "staging",
    )
    one_line(
        [aws(apiAccess=public, deployer={"cidrs": ["203.0.113.16/28"]})],
        "clusters[0].deployer.runner",
        "self-hosted runner whose egress ranges",
        "staging",
    )
    one_line([aws(apiAccess=public)], "clusters[0].deployer.hub", "none on a public API endpoint", "staging")
    one_line(
        [aws(deployer={"runner": "r", "hub": AWS_HUB, "cidrs": ["203.0.113.0/28"]})],
        "clusters[0].deployer.cidrs",
        "none: a private API endpoint is reached from deployer.hub",
    )


def test_one_stack_deploys_from_one_runner() -> None:
    second = aws(
        name="eks2", network={"cidr": "10.31.0.0/16", "podCidr": "10.131.0.0/16", "serviceCidr": "10.231.0.0/20"}
    )
    second["deployer"] = {"runner": "deploy-us", "hub": AWS_HUB}
    one_line([aws(), second], "clusters[1].deployer.runner", "'deploy-eu', the runner of clusters[0]")


def test_a_runner_label_is_what_runs_on_can_name() -> None:
    one_line(
        [aws(deployer={"runner": "self hosted", "hub": AWS_HUB})], "clusters[0].deployer.runner", "a string matching"
    )


def test_gke_with_a_hub_has_no_peering_range_for_its_control_plane() -> None:
    one_line([gcp(masterCidr="172.16.0.32/28")], "clusters[0].masterCidr", "unset with deployer.hub")


def test_preflight_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    stack = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.prod-azure.yaml").read_text())
    del stack["config"]["orquestra:clusters"][0]["deployer"]["runner"]
    (tmp_path / "stacks" / "Pulumi.p.yaml").write_text(yaml.safe_dump(stack))
    assert preflight_cli.main(["p", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "orquestra:clusters[0].deployer.runner: missing; allowed: the label of a self-hosted runner" in err


# --------------------------------------------------------------- plans: the path is built


def waits_for(plan: Plan, release: Registration, path: list[Registration]) -> bool:
    """Whether `release` waits, through its dependencies or its provider's (a resource waits for its provider to be
    created, and the provider for what it depends on), for every resource of `path`."""
    wanted = {r.urn for r in path}
    seen: set[str] = set()
    todo = [release.urn]
    while todo:
        urn = todo.pop()
        if urn in seen or not urn:
            continue
        seen.add(urn)
        r = plan.by_urn(urn)
        todo.extend(r.dependencies)
        todo.extend(u for deps in r.property_dependencies.values() for u in deps)
        if r.provider:
            todo.append(r.provider.rsplit("::", 1)[0])
    return wanted <= seen


def first_release(plan: Plan) -> Registration:
    return plan.resources("kubernetes:helm.sh/v3:Release")[0]


def test_eks_peers_with_the_hub_routes_both_ways_and_admits_443_from_it() -> None:
    plan = plan_stack("prod-aws")
    peering = plan.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    vpc = plan.one("aws:ec2/vpc:Vpc")
    assert peering.plain["peerVpcId"] == HUB_VPC and peering.plain["vpcId"] == vpc.id and peering.plain["autoAccept"]
    routes = [r.plain for r in plan.resources("aws:ec2/route:Route") if r.plain.get("vpcPeeringConnectionId")]
    assert {r["vpcPeeringConnectionId"] for r in routes} == {peering.id}
    back = [r for r in routes if r["routeTableId"] == HUB_RTB]
    assert [r["destinationCidrBlock"] for r in back] == ["10.30.0.0/16"], "the hub routes to the cluster's VPC"
    tables = {t.id for t in plan.resources("aws:ec2/routeTable:RouteTable")}
    there = {r["routeTableId"] for r in routes if r["destinationCidrBlock"] == "10.0.0.0/20"}
    assert there == tables and len(tables) == 4, "every route table of the VPC routes to the hub"
    (rule,) = plan.resources("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    eks = plan.one("aws:eks/cluster:Cluster")
    group = aws_answers.RESOURCES["aws:eks/cluster:Cluster"](eks.name, eks.plain, "prod-aws")
    assert rule.plain["securityGroupId"] == group["vpcConfig"]["clusterSecurityGroupId"]
    assert (rule.plain["cidrIpv4"], rule.plain["ipProtocol"], rule.plain["fromPort"], rule.plain["toPort"]) == (
        "10.0.0.0/20",
        "tcp",
        443,
        443,
    )
    to_hub = [r for r in plan.resources("aws:ec2/route:Route") if r.plain.get("vpcPeeringConnectionId")]
    assert waits_for(plan, first_release(plan), [peering, rule, *to_hub])
    # No DNS resource: EKS answers the private endpoint's name from public DNS (components/targets/aws/deployer.py).
    assert not plan.resources("aws:route53/zoneAssociation:ZoneAssociation")


def test_hybrid_attaches_its_vpc_to_the_hubs_transit_gateway_for_the_runners_network() -> None:
    plan = plan_stack("hybrid")
    attachment = plan.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    private = {s.id for s in plan.resources("aws:ec2/subnet:Subnet") if "private" in s.name}
    assert attachment.plain["transitGatewayId"] == "tgw-0a1b2c3d4e5f60718"
    assert set(attachment.plain["subnetIds"]) == private
    # The hub routes the runner's management network only; dc1's LAN goes over the stack's own VPN.
    routes = [r.plain for r in plan.resources("aws:ec2/route:Route") if r.plain.get("transitGatewayId")]
    assert {r["destinationCidrBlock"] for r in routes} == {"192.168.20.0/28"} and len(routes) == 4
    rule = plan.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "euw1-api-from-hub-0")
    assert rule.plain["cidrIpv4"] == "192.168.20.0/28" and rule.plain["fromPort"] == 443
    priced = {i.name for i in plan.estimates().items if i.type.endswith("VpcAttachment")}
    assert priced == {"euw1-hub"}, "an attachment is billed by the hour"


def test_gke_peers_both_ways_authorizes_the_hub_and_puts_its_endpoint_in_the_subnetwork() -> None:
    plan = plan_stack("prod-gcp")
    hub = "https://www.googleapis.com/compute/v1/projects/acme-network-hub/global/networks/hub"
    network = plan.one("gcp:compute/network:Network")
    own = f"https://www.googleapis.com/compute/v1/{network.id}"
    peerings = {
        (p.plain["network"], p.plain["peerNetwork"])
        for p in plan.resources("gcp:compute/networkPeering:NetworkPeering")
    }
    assert peerings == {(own, hub), (hub, own)}
    cluster = plan.one("gcp:container/cluster:Cluster")
    authorized = cluster.plain["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert {"cidrBlock": "10.0.0.0/20", "displayName": "deployer-hub-0"} in authorized
    private = cluster.plain["privateClusterConfig"]
    subnet = plan.one("gcp:compute/subnetwork:Subnetwork")
    assert private["privateEndpointSubnetwork"] == subnet.id and "masterIpv4CidrBlock" not in private
    assert private["enablePrivateEndpoint"] and private["masterGlobalAccessConfig"]["enabled"]
    endpoint = ipaddress.ip_address(plan.stack_outputs["clusters"]["gke-prod"]["endpoint"].removeprefix("https://"))
    assert endpoint in ipaddress.ip_network(subnet.plain["ipCidrRange"]), "the hub reaches it over the peering"
    assert waits_for(plan, first_release(plan), plan.resources("gcp:compute/networkPeering:NetworkPeering"))


def test_aks_peers_both_ways_and_links_its_own_private_dns_zone_to_the_hub() -> None:
    plan = plan_stack("prod-azure")
    hub = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-hub"
        "/providers/Microsoft.Network/virtualNetworks/vnet-hub"
    )
    vnet = plan.one("azure-native:network:VirtualNetwork")
    peerings = {p.name: p.plain for p in plan.resources("azure-native:network:VirtualNetworkPeering")}
    out, back = peerings["weu-prod-to-hub"], peerings["weu-prod-from-hub"]
    assert out["remoteVirtualNetwork"]["id"] == hub and out["virtualNetworkName"] == vnet.plain["virtualNetworkName"]
    assert back["remoteVirtualNetwork"]["id"] == vnet.id
    assert (back["resourceGroupName"], back["virtualNetworkName"]) == ("rg-network-hub", "vnet-hub")
    assert out["allowVirtualNetworkAccess"] and back["allowVirtualNetworkAccess"]
    zone = plan.one("azure-native:privatedns:PrivateZone")
    assert zone.plain["privateZoneName"] == "privatelink.westeurope.azmk8s.io"
    link = plan.one("azure-native:privatedns:VirtualNetworkLink")
    assert link.plain["virtualNetwork"]["id"] == hub and link.plain["privateZoneName"] == zone.plain["privateZoneName"]
    assert link.plain["registrationEnabled"] is False
    aks = plan.one("azure-native:containerservice:ManagedCluster")
    assert aks.plain["apiServerAccessProfile"]["privateDNSZone"] == zone.id
    grants = [
        g.plain for g in plan.resources("azure-native:authorization:RoleAssignment") if g.plain["scope"] == zone.id
    ]
    assert len(grants) == 1 and grants[0]["roleDefinitionId"].endswith("b12aa53e-6015-4669-85d0-8515ebb3ae7f")
    assert waits_for(plan, aks, [zone, link]), "AKS writes its record into the zone it is given"
    assert waits_for(plan, first_release(plan), plan.resources("azure-native:network:VirtualNetworkPeering"))


def test_oke_attaches_its_vcn_to_the_hub_drg_routes_to_it_and_admits_6443_from_it() -> None:
    plan = plan_stack("prod-oci")
    vcn = plan.one("oci:Core/vcn:Vcn")
    attachment = plan.one("oci:Core/drgAttachment:DrgAttachment")
    assert attachment.plain["drgId"] == HUB_DRG
    assert attachment.plain["networkDetails"] == {"type": "VCN", "id": vcn.id}
    assert "drgRouteTableId" not in attachment.plain, "the DRG's default VCN table imports the cluster's VCN"
    subnets = {s.name.removeprefix("oke-prod-"): s.plain for s in plan.resources("oci:Core/subnet:Subnet")}
    tables = {t.id: t for t in plan.resources("oci:Core/routeTable:RouteTable")}
    api_table = tables[subnets["api"]["routeTableId"]]
    to_hub = [r for r in api_table.plain["routeRules"] if r["networkEntityId"] == HUB_DRG]
    assert [(r["destination"], r["destinationType"]) for r in to_hub] == [("10.0.0.0/20", "CIDR_BLOCK")]
    assert attachment.urn in api_table.dependencies, "a rule names the DRG only once the VCN is on it"
    drg_rules = {t.name for t in tables.values() if any(r["networkEntityId"] == HUB_DRG for r in t.plain["routeRules"])}
    assert drg_rules == {api_table.name}, "the only table routing to the hub is the private one the API subnet uses"
    api_nsg = next(
        n for n in plan.resources("oci:Core/networkSecurityGroup:NetworkSecurityGroup") if n.name.endswith("-api-nsg")
    )
    from_hub = [
        r
        for r in plan.resources("oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule")
        if r.plain.get("source") == "10.0.0.0/20"
    ]
    assert len(from_hub) == 1, "6443 only: 12250 is the workers' port to the control plane"
    (hub_rule,) = from_hub
    rule = hub_rule.plain
    assert rule["networkSecurityGroupId"] == api_nsg.id and rule["direction"] == "INGRESS" and rule["protocol"] == "6"
    assert rule["tcpOptions"]["destinationPortRange"] == {"min": 6443, "max": 6443}
    assert waits_for(plan, first_release(plan), [attachment, api_table, hub_rule])
    # No DNS resource: the kubeconfig names the endpoint by its private address (components/targets/oci/deployer.py).
    endpoint = plan.stack_outputs["clusters"]["oke-prod"]["endpoint"].removeprefix("https://")
    ipaddress.ip_address(endpoint.rsplit(":", 1)[0])  # an address, not the VCN-only hostname
    assert not plan.resources("oci:Dns/zone:Zone")


def test_a_public_oke_cluster_has_no_hub_path() -> None:
    plan = plan_spec(
        {"environment": "dev", "clusters": [oci(apiAccess={"publicCidrs": ["192.0.2.0/24"]}, deployer=None)]}
    )
    assert plan.errors == [] and not plan.resources("oci:Core/drgAttachment:DrgAttachment")
    for table in plan.resources("oci:Core/routeTable:RouteTable"):
        assert all(not str(r["networkEntityId"]).startswith("ocid1.drg.") for r in table.plain["routeRules"])


def attachments_plan(*drgs: str) -> Plan:
    vcn = reg("oci:Core/vcn:Vcn", "vcn", {"cidrBlocks": ["10.30.0.0/16"]}, id="ocid1.vcn.oc1.x.1")
    return plan_of(
        vcn,
        *(
            reg(
                "oci:Core/drgAttachment:DrgAttachment",
                f"a{i}",
                {"drgId": d, "networkDetails": {"type": "VCN", "id": vcn.id}},
            )
            for i, d in enumerate(drgs)
        ),
    )


def test_oci_refuses_a_second_drg_on_one_vcn() -> None:
    other = HUB_DRG[:-1] + "b"
    assert fields(attachments_plan(HUB_DRG, other)) == {("a1", "drgId")}
    assert fields(attachments_plan(HUB_DRG)) == set()
    assert not [r for r in rejected(plan_stack("prod-oci")) if "drgAttachment" in r.subject]


# --------------------------------------------------------------- what AWS would refuse anyway


def peering_plan(hub_range: str) -> Plan:
    vpc = reg("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.30.0.0/16"}, id="vpc-1")
    table = reg("aws:ec2/routeTable:RouteTable", "rt", {"vpcId": "vpc-1"}, id="rtb-1")
    peering = reg(
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "hub", {"vpcId": "vpc-1", "peerVpcId": HUB_VPC}, id="pcx-1"
    )
    there = {"routeTableId": "rtb-1", "destinationCidrBlock": hub_range, "vpcPeeringConnectionId": "pcx-1"}
    back = {"routeTableId": HUB_RTB, "destinationCidrBlock": "10.30.0.0/16", "vpcPeeringConnectionId": "pcx-1"}
    routes = [reg("aws:ec2/route:Route", "there", there), reg("aws:ec2/route:Route", "back", back)]
    return plan_of(vpc, table, peering, *routes)


def test_aws_refuses_to_peer_overlapping_vpcs() -> None:
    assert fields(peering_plan("10.30.64.0/20")) == {("hub", "peerVpcId")}
    assert fields(peering_plan("10.0.0.0/20")) == set()


def test_the_shipped_peering_passes_the_rule() -> None:
    assert not [r for r in rejected(plan_stack("prod-aws")) if "vpcPeeringConnection" in r.subject]
