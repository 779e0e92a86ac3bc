"""OKE target on the mock engine: what is registered for dev and prod, and what is refused before it."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
from typing import Any

import pytest
import yaml

from preflight.answers.oci import KUBERNETES_VERSIONS, SERVICES_LABEL, availability_domains
from preflight.engine import Plan, Registration, Secret, reveal
from tests.harness import build_spec, plan_spec, plan_stack
from tests.rejecting import fields, plan_of, reg, rejected

CLUSTER = "oci:ContainerEngine/cluster:Cluster"
POOL = "oci:ContainerEngine/nodePool:NodePool"
VCN = "oci:Core/vcn:Vcn"
SUBNET = "oci:Core/subnet:Subnet"
NSG = "oci:Core/networkSecurityGroup:NetworkSecurityGroup"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
POLICY = "oci:Identity/policy:Policy"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa"

MINIMAL: dict[str, Any] = {
    "name": "lab",
    "target": "oci",
    "region": "eu-frankfurt-1",
    "compartmentId": COMPARTMENT,
    "apiAccess": {"publicCidrs": ["192.0.2.0/24"]},
}
"""The smallest valid oci cluster: what the contract test builds (tests/test_contract.py)."""


def dev_plan(**over: Any) -> Plan:
    return plan_spec({"environment": "dev", "clusters": [{**MINIMAL, **over}]})


@pytest.fixture(scope="module")
def dev() -> Plan:
    plan = dev_plan()
    assert plan.errors == []
    return plan


@pytest.fixture(scope="module")
def prod() -> Plan:
    plan = plan_stack("prod-oci")
    assert plan.errors == []
    return plan


def rules(plan: Plan, nsg: str) -> list[dict[str, Any]]:
    """The NSG rules of one NSG (`<cluster>-api-nsg`), as planned."""
    group = plan.one(NSG, nsg)
    return [r.plain for r in plan.resources(NSG_RULE) if group.urn in r.property_dependencies["networkSecurityGroupId"]]


# ------------------------------------------------------------------ network


def test_subnets_are_carved_from_the_vcn_and_private_where_it_matters(dev: Plan, prod: Plan) -> None:
    vcn = prod.one(VCN)
    assert vcn.plain["cidrBlocks"] == ["10.30.0.0/16"]
    subnets = {s.name: s.plain for s in prod.resources(SUBNET)}
    assert subnets["oke-prod-workers"]["cidrBlock"] == "10.30.0.0/17"
    assert subnets["oke-prod-lbs"]["cidrBlock"] == "10.30.128.0/19"
    assert subnets["oke-prod-api"]["cidrBlock"] == "10.30.255.240/28"
    net = ipaddress.ip_network("10.30.0.0/16")
    assert all(ipaddress.ip_network(s["cidrBlock"]).subnet_of(net) for s in subnets.values())  # type: ignore[arg-type]
    # Prod: private API, internal gateway: nothing public, no internet gateway.
    assert all(s["prohibitPublicIpOnVnic"] is True for s in subnets.values())
    assert prod.resources("oci:Core/internetGateway:InternetGateway") == []
    # Dev: a public API endpoint (restricted by NSG) needs a public API subnet and the internet gateway.
    assert dev.one(SUBNET, "lab-api").plain["prohibitPublicIpOnVnic"] is False
    assert dev.one(SUBNET, "lab-workers").plain["prohibitPublicIpOnVnic"] is True
    assert len(dev.resources("oci:Core/internetGateway:InternetGateway")) == 1


def test_private_subnets_egress_through_nat_and_the_service_gateway(prod: Plan) -> None:
    (table,) = prod.resources("oci:Core/routeTable:RouteTable")
    # The deployer's hub routes through its DRG (tests/test_deployer.py); the rest is egress.
    egress = [r for r in table.plain["routeRules"] if not r["networkEntityId"].startswith("ocid1.drg.")]
    routes = {r["destinationType"]: r for r in egress}
    assert routes["CIDR_BLOCK"]["destination"] == "0.0.0.0/0"
    assert routes["SERVICE_CIDR_BLOCK"]["destination"] == SERVICES_LABEL
    nat, sgw = prod.one("oci:Core/natGateway:NatGateway"), prod.one("oci:Core/serviceGateway:ServiceGateway")
    assert nat.urn in table.property_dependencies["routeRules"] and sgw.urn in table.property_dependencies["routeRules"]


def test_no_subnet_falls_back_to_the_vcns_default_security_list(prod: Plan) -> None:
    lists = {s.urn: s for s in prod.resources("oci:Core/securityList:SecurityList")}
    for subnet in prod.resources(SUBNET):
        (used,) = subnet.property_dependencies["securityListIds"]
        assert used in lists
    closed = prod.one("oci:Core/securityList:SecurityList", "oke-prod-closed-sl").plain
    assert closed["ingressSecurityRules"] == [] and closed["egressSecurityRules"] == []
    lbs = prod.one("oci:Core/securityList:SecurityList", "oke-prod-lbs-sl").plain
    # An internal gateway's listeners are reachable from the VCN only.
    assert {r["source"] for r in lbs["ingressSecurityRules"]} == {"10.30.0.0/16"}
    assert {(r["tcpOptions"]["min"], r["tcpOptions"]["max"]) for r in lbs["egressSecurityRules"]} == {
        (30000, 32767),
        (10256, 10256),
    }


def test_the_api_admits_the_workers_and_only_the_declared_clients(dev: Plan, prod: Plan) -> None:
    def clients(plan: Plan, nsg: str) -> set[str]:
        return {
            r["source"] for r in rules(plan, nsg) if r["direction"] == "INGRESS" and r.get("sourceType") == "CIDR_BLOCK"
        }

    assert clients(dev, "lab-api-nsg") == {"192.0.2.0/24"}
    assert clients(prod, "oke-prod-api-nsg") == {"10.30.0.0/16", "10.0.0.0/20"}, (
        "a private endpoint: only from inside the VCN and the deployer's hub"
    )
    ports = {
        r["tcpOptions"]["destinationPortRange"]["min"]
        for r in rules(prod, "oke-prod-api-nsg")
        if r["direction"] == "INGRESS" and r.get("sourceType") == "NETWORK_SECURITY_GROUP" and r["protocol"] == "6"
    }
    assert ports == {6443, 12250}


def test_no_rule_opens_the_api_or_ssh_to_the_internet(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        for r in plan.resources(NSG_RULE):
            rule = r.plain
            if rule["direction"] == "INGRESS" and rule.get("source") == "0.0.0.0/0":
                assert rule["protocol"] == "1" and rule["icmpOptions"] == {"type": 3, "code": 4}, r.name


# ------------------------------------------------------------------ control plane


def test_an_enhanced_cluster_with_vault_encrypted_secrets(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        cluster = plan.one(CLUSTER)
        assert cluster.plain["type"] == "ENHANCED_CLUSTER"
        key = plan.one("oci:Kms/key:Key")
        assert key.urn in cluster.property_dependencies["kmsKeyId"]
        assert key.plain["keyShape"] == {"algorithm": "AES", "length": 32}
        policy = plan.one(POLICY, f"{cluster.plain['name']}-oke-keys")
        assert policy.urn in cluster.dependencies
        (statement,) = policy.plain["statements"]
        assert "request.principal.type = 'cluster'" in statement and key.id in statement
        assert cluster.plain["options"]["addOns"] == {"isKubernetesDashboardEnabled": False, "isTillerEnabled": False}


def test_the_endpoint_is_private_in_prod_and_the_newest_patch_of_the_minor(dev: Plan, prod: Plan) -> None:
    assert prod.one(CLUSTER).plain["endpointConfig"]["isPublicIpEnabled"] is False
    assert dev.one(CLUSTER).plain["endpointConfig"]["isPublicIpEnabled"] is True
    newest = max((v for v in KUBERNETES_VERSIONS if v.startswith("v1.34.")), key=lambda v: int(v.split(".")[2]))
    assert prod.one(CLUSTER).plain["kubernetesVersion"] == newest == "v1.34.2"
    assert all(p.plain["kubernetesVersion"] == newest for p in prod.resources(POOL))


def test_a_key_of_the_stacks_own_and_image_verification() -> None:
    key = "ocid1.key.oc1.eu-frankfurt-1.bbpq3zz7aaaaa.abyhqljr2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa"
    signer = key.replace("abyhq", "abzzz")
    plan = dev_plan(kmsKeyId=key, imageSigningKeyIds=[signer])
    assert plan.errors == []
    cluster = plan.one(CLUSTER).plain
    assert cluster["kmsKeyId"] == key and plan.resources("oci:Kms/vault:Vault") == []
    assert cluster["imagePolicyConfig"] == {"isPolicyEnabled": True, "keyDetails": [{"kmsKeyId": signer}]}
    (policy,) = [p.plain for p in plan.resources(POLICY) if p.name == "lab-oke-keys"]
    assert [key in s for s in policy["statements"]] == [True, False]
    assert [signer in s for s in policy["statements"]] == [False, True]


def test_deletion_protection_in_prod_only(dev: Plan, prod: Plan) -> None:
    assert prod.one(CLUSTER).protect and prod.one("oci:Kms/key:Key").protect
    assert not any(r.protect for r in dev.resources() if r.type.startswith("oci:"))


# ------------------------------------------------------------------ nodes


def test_pools_are_flex_shapes_sized_by_the_spec(prod: Plan) -> None:
    pools = {p.plain["name"]: p.plain for p in prod.resources(POOL)}
    assert pools["system"]["nodeShapeConfig"] == {"ocpus": 2, "memoryInGbs": 16}
    assert pools["general"]["nodeShapeConfig"] == {"ocpus": 4, "memoryInGbs": 32}
    assert {p["nodeShape"] for p in pools.values()} == {"VM.Standard.E5.Flex"}
    image = pools["general"]["nodeSourceDetails"]
    assert image["sourceType"] == "IMAGE" and image["bootVolumeSizeInGbs"] == "50"
    names = {s["imageId"]: s["sourceName"] for s in _node_pool_sources()}
    assert "-OKE-1.34.2-" in names[image["imageId"]] and "aarch64" not in names[image["imageId"]]


def _node_pool_sources() -> list[dict[str, str]]:
    from preflight.answers.oci import INVOKES

    return list(INVOKES["oci:ContainerEngine/getNodePoolOption:getNodePoolOption"]({})["sources"])


def test_pools_spread_over_availability_and_fault_domains(prod: Plan) -> None:
    pools = {p.plain["name"]: p.plain for p in prod.resources(POOL)}
    placements = pools["general"]["nodeConfigDetails"]["placementConfigs"]
    assert [p["availabilityDomain"] for p in placements] == availability_domains()
    assert all(p["faultDomains"] == ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"] for p in placements)
    spot = pools["batch-spot"]["nodeConfigDetails"]["placementConfigs"]
    assert [p["availabilityDomain"] for p in spot] == ["Uocm:EU-FRANKFURT-1-AD-2", "Uocm:EU-FRANKFURT-1-AD-3"]
    assert all(p["preemptibleNodeConfig"]["preemptionAction"]["type"] == "TERMINATE" for p in spot)
    assert all("preemptibleNodeConfig" not in p for p in placements)


def test_labels_and_taints_reach_the_kubelet(prod: Plan) -> None:
    pools = {p.plain["name"]: p.plain for p in prod.resources(POOL)}
    labels = {(label["key"], label["value"]) for label in pools["batch-spot"]["initialNodeLabels"]}
    assert {
        ("workload-class", "batch"),
        ("orquestra.io/pool", "batch-spot"),
        ("orquestra.io/role", "workload"),
    } <= labels
    script = base64.b64decode(pools["batch-spot"]["nodeMetadata"]["user_data"]).decode()
    assert "oke_init_script" in script and '--register-with-taints=workload-class=batch:NoSchedule"' in script
    assert "user_data" not in pools["general"].get("nodeMetadata", {}), "no taints: OKE's own cloud-init"


def test_the_autoscaler_add_on_owns_every_pools_size(prod: Plan) -> None:
    addon = prod.one("oci:ContainerEngine/addon:Addon")
    config = {c["key"]: c["value"] for c in addon.plain["configurations"]}
    pools = {p.plain["name"]: p for p in prod.resources(POOL)}
    assert config["authType"] == "workload"
    assert config["nodes"].split(",") == [
        f"{lo}:{hi}:{pools[name].id}" for name, lo, hi in (("system", 3, 6), ("general", 3, 24), ("batch-spot", 0, 30))
    ]
    assert all(p.ignore_changes == ["nodeConfigDetails.size"] for p in pools.values())
    assert pools["general"].plain["nodeConfigDetails"]["size"] == 3
    policy = prod.one(POLICY, "oke-prod-cluster-autoscaler").plain
    assert all("request.principal.service_account = 'cluster-autoscaler'" in s for s in policy["statements"])
    assert all(prod.one(CLUSTER).id in s for s in policy["statements"])


# ------------------------------------------------------------------ kubeconfig and capabilities


def test_the_kubeconfig_is_an_exec_credential_and_secret() -> None:
    hub = {"drgId": "ocid1.drg.oc1.eu-frankfurt-1.aaaaaaaa4nqkzb2yvtlf6wq3xjm5hc7rd2sgupe6oa7bkiy3lzvfx5tmq4wa"}
    private = {
        **MINIMAL,
        "apiAccess": {"private": True},
        "deployer": {"runner": "r", "hub": {**hub, "cidrs": ["10.9.0.0/20"]}},
    }
    built = build_spec({"environment": "prod", "clusters": [private]})
    provider = built.plan.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    config = yaml.safe_load(reveal(provider.inputs["kubeconfig"]))
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "oci"
    assert user["user"]["exec"]["args"][:3] == ["ce", "cluster", "generate-token"]
    assert built.plan.one(CLUSTER).id in user["user"]["exec"]["args"]
    assert "token" not in json.dumps(user["user"]).replace("generate-token", "")
    assert config["clusters"][0]["cluster"]["server"] == "https://10.0.255.242:6443", "the private endpoint"


def test_capabilities_say_how_oke_does_things() -> None:
    built = build_spec({"clusters": [MINIMAL]})
    (cluster,) = built.clusters.values()
    caps = cluster.capabilities()
    assert caps.pod_identity == "oke-workload-identity" and caps.default_storage_class == "oci-bv"
    assert caps.node_autoscaler == "cluster-autoscaler" and caps.node_autoscaler_installed
    assert caps.lb_annotations_internal["service.beta.kubernetes.io/oci-load-balancer-internal"] == "true"
    assert caps.lb_annotations_public["service.beta.kubernetes.io/oci-load-balancer-shape"] == "flexible"
    assert "service.beta.kubernetes.io/oci-load-balancer-internal" not in caps.lb_annotations_public
    assert caps.zones == ("Uocm:EU-FRANKFURT-1-AD-1",)


# ------------------------------------------------------------------ refused before anything registers


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"network": {"cidr": "10.0.0.0/26"}}, "network.cidr"),
        (
            {"nodePools": [{"name": "a", "instanceTypes": ["VM.Standard.E5.Flex", "VM.Standard.E4.Flex"]}]},
            "nodePools[0].instanceTypes",
        ),
        ({"nodePools": [{"name": "a", "diskSizeGb": 30}]}, "nodePools[0].diskSizeGb"),
        (
            {"nodePools": [{"name": "a", "instanceTypes": ["VM.GPU.A10.1"]}], "poolShapes": {"a": {"ocpus": 2}}},
            "poolShapes.a",
        ),
        ({"poolShapes": {"nope": {"ocpus": 2}}}, "poolShapes.nope"),
        ({"nodePools": [{"name": "a", "zones": ["eu-frankfurt-1a"]}]}, "nodePools[0].zones[0]"),
        (
            {"compartmentId": "ocid1.vcn.oc1..aaaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa"},
            "compartmentId",
        ),
        ({"region": "frankfurt"}, "region"),
        ({"nodePools": [{"name": "a", "zones": ["Uocm:US-ASHBURN-1-AD-1"]}]}, "nodePools[0].zones[0]"),
    ],
)
def test_bad_specs_are_refused_with_one_line_each(over: dict[str, Any], key: str) -> None:
    plan = dev_plan(**over)
    assert any(e.startswith(f"orquestra:clusters[0].{key}: ") and "allowed: " in e for e in plan.errors), plan.errors
    assert not plan.resources(CLUSTER)


def test_an_existing_vcn_is_joined_not_created() -> None:
    def ocid(kind: str, tail: str) -> str:
        return f"ocid1.{kind}.oc1.eu-frankfurt-1.amaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gyn{tail}"

    existing = {
        "vcnId": ocid("vcn", "vcna"),
        "workerSubnetId": ocid("subnet", "wrkr"),
        "apiSubnetId": ocid("subnet", "apis"),
        "lbSubnetId": ocid("subnet", "lbss"),
    }
    plan = dev_plan(existingVcn=existing)
    assert plan.errors == []
    assert not any(r.type.startswith("oci:Core/") for r in plan.resources())
    cluster = plan.one(CLUSTER).plain
    assert cluster["vcnId"] == existing["vcnId"]
    assert cluster["endpointConfig"]["subnetId"] == existing["apiSubnetId"]
    assert cluster["options"]["serviceLbSubnetIds"] == [existing["lbSubnetId"]]
    placement = plan.one(POOL).plain["nodeConfigDetails"]["placementConfigs"][0]
    assert placement["subnetId"] == existing["workerSubnetId"]


# ------------------------------------------------------------------ preflight's view


def test_the_prod_plan_is_priced_and_its_rejections_catch_bad_shapes(prod: Plan) -> None:
    from preflight import estimates
    from preflight.rejects import oci as rejects

    est = estimates.estimate(prod)
    assert est.not_priced == {} and est.not_timed == {}
    assert list(rejects.check(prod)) == []
    pool = prod.one(POOL, "oke-prod-general")
    bad = dataclasses.replace(pool, inputs={**pool.inputs, "nodeShapeConfig": {"ocpus": 2, "memoryInGbs": 256}})
    plan = dataclasses.replace(prod, registrations=[bad if r is pool else r for r in prod.registrations])
    found = [r.line() for r in rejects.check(plan)]
    assert any("per OCPU" in line for line in found), found


def _vcn(cidr: str = "10.0.0.0/16") -> Registration:
    return reg(VCN, "vcn", {"cidrBlocks": [cidr]}, id="vcn-id")


def _oke(**network: str) -> Registration:
    config = {"podsCidr": "10.244.0.0/16", "servicesCidr": "10.96.0.0/20", **network}
    return reg(CLUSTER, "oke", {"name": "oke", "vcnId": "vcn-id", "options": {"kubernetesNetworkConfig": config}})


def _pool(shape: str = "VM.Standard.E5.Flex", **config: float) -> Registration:
    inputs: dict[str, Any] = {"name": "pool", "nodeShape": shape}
    if config:
        inputs["nodeShapeConfig"] = config
    return reg(POOL, "pool", inputs)


def test_a_well_formed_oke_plan_passes() -> None:
    subnet = reg(SUBNET, "workers", {"vcnId": "vcn-id", "cidrBlock": "10.0.0.0/17"})
    assert rejected(plan_of(_vcn(), subnet, _oke(), _pool(ocpus=2, memoryInGbs=16))) == []


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"ocpus": 95, "memoryInGbs": 128}, "nodeShapeConfig.ocpus"),
        ({"ocpus": 2, "memoryInGbs": 1100}, "nodeShapeConfig.memoryInGbs"),
        ({"ocpus": 1, "memoryInGbs": 65}, "nodeShapeConfig.memoryInGbs"),
        ({}, "nodeShapeConfig"),
    ],
)
def test_flexible_shapes_take_only_their_ocpu_and_memory_ranges(config: dict[str, float], field: str) -> None:
    assert fields(plan_of(_pool(**config))) == {("pool", field)}


def test_vcn_and_subnet_ranges_are_what_the_network_service_takes() -> None:
    assert fields(plan_of(_vcn("10.0.0.0/15"))) == {("vcn", "cidrBlocks")}
    outside = reg(SUBNET, "lbs", {"vcnId": "vcn-id", "cidrBlock": "10.1.0.0/24"})
    assert fields(plan_of(_vcn(), outside)) == {("lbs", "cidrBlock")}


def test_pods_and_services_stay_apart_from_the_vcn_and_each_other() -> None:
    assert fields(plan_of(_vcn(), _oke(podsCidr="10.0.128.0/17"))) == {
        ("oke", "options.kubernetesNetworkConfig.podsCidr")
    }
    assert fields(plan_of(_vcn(), _oke(servicesCidr="10.244.16.0/20"))) == {("oke", "options.kubernetesNetworkConfig")}


def test_the_newest_oke_image_is_told_by_numbers_and_arm_by_the_ampere_shapes() -> None:
    from components.targets.oci.nodes import AMPERE, image_order

    older, newer = "Oracle-Linux-8.9-2025.05.01-0-OKE-1.34.2-1000", "Oracle-Linux-8.10-2025.04.01-0-OKE-1.34.2-1001"
    assert max([older, newer]) == older, "as text, 8.9 sorts after 8.10"
    assert max([older, newer], key=image_order) == newer
    assert image_order("Oracle-Linux-8.10-aarch64-2025.06.17-1-OKE-1.34.2-1") == (8, 10, 2025, 6, 17, 1)
    arm = ["VM.Standard.A1.Flex", "BM.Standard.A1.160", "VM.Standard.A4.Flex"]
    assert [bool(AMPERE.search(s)) for s in [*arm, "VM.GPU.A10.1", "VM.Standard.E5.Flex"]] == [True] * 3 + [False] * 2
