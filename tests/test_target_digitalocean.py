"""DOKS target on the mock engine: what is registered for dev and prod, and what is refused before it."""

from __future__ import annotations

import ipaddress
import json
import uuid
from typing import Any

import pytest
import yaml

from components.targets.digitalocean.tags import do_tags
from preflight import admission
from preflight.answers.digitalocean import KUBERNETES_VERSIONS
from preflight.engine import Plan, Registration, Secret
from tests.harness import build_spec, plan_spec, plan_stack

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
VPC = "digitalocean:index/vpc:Vpc"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
COMPONENT = "orquestra:targets:DigitalOceanCluster"
VERSIONS = "digitalocean:index/getKubernetesVersions:getKubernetesVersions"

DEV_CIDRS = ["192.0.2.0/24"]


def dev_cluster(**over: Any) -> dict[str, Any]:
    return {
        "name": "lab",
        "target": "digitalocean",
        "region": "ams3",
        "apiAccess": {"publicCidrs": DEV_CIDRS},
        **over,
    }


MINIMAL: dict[str, Any] = dev_cluster()
"""The smallest valid digitalocean cluster: what the contract test builds (tests/test_contract.py)."""


def dev_plan(**over: Any) -> Plan:
    return plan_spec({"environment": "dev", "clusters": [dev_cluster(**over)]})


@pytest.fixture(scope="module")
def dev() -> Plan:
    plan = dev_plan()
    assert plan.errors == []
    return plan


@pytest.fixture(scope="module")
def prod() -> Plan:
    plan = plan_stack("prod-do")
    assert plan.errors == []
    return plan


def cluster(plan: Plan) -> Registration:
    return plan.one(CLUSTER)


# ------------------------------------------------------------------ network


def test_vpc_uses_network_cidr_and_cluster_sits_in_it(dev: Plan, prod: Plan) -> None:
    vpc = dev.one(VPC, "lab-vpc")
    assert vpc.plain["ipRange"] == "10.0.0.0/16"
    assert vpc.plain["region"] == "ams3"
    assert vpc.urn in cluster(dev).property_dependencies["vpcUuid"]
    assert str(uuid.UUID(cluster(dev).plain["vpcUuid"])) == cluster(dev).plain["vpcUuid"]
    prod_vpc = prod.one(VPC, "shop-fra-vpc")
    assert prod_vpc.plain["ipRange"] == "10.20.0.0/20"
    assert prod_vpc.urn in cluster(prod).property_dependencies["vpcUuid"]
    assert cluster(prod).plain["clusterSubnet"] == "10.120.0.0/16"
    assert cluster(prod).plain["serviceSubnet"] == "10.220.0.0/20"


# ------------------------------------------------------------------ control plane


def test_ha_control_plane_only_in_prod(dev: Plan, prod: Plan) -> None:
    assert cluster(dev).plain["ha"] is False
    assert cluster(prod).plain["ha"] is True


def test_upgrades_and_maintenance_window(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        inputs = cluster(plan).plain
        assert inputs["surgeUpgrade"] is True
        assert inputs["autoUpgrade"] is True
    assert cluster(dev).plain["maintenancePolicy"] == {"day": "sunday", "startTime": "03:00"}
    assert cluster(prod).plain["maintenancePolicy"] == {"day": "sunday", "startTime": "02:00"}
    # The provider computes the duration; setting it would be rejected.
    assert "duration" not in cluster(prod).plain["maintenancePolicy"]


def test_maintenance_and_upgrade_switches_follow_spec() -> None:
    plan = dev_plan(autoUpgrade=False, surgeUpgrade=False, maintenance={"day": "wednesday", "start": "22:30"})
    inputs = cluster(plan).plain
    assert inputs["autoUpgrade"] is False
    assert inputs["surgeUpgrade"] is False
    assert inputs["maintenancePolicy"] == {"day": "wednesday", "startTime": "22:30"}


def test_control_plane_firewall_allows_only_api_access_cidrs(dev: Plan, prod: Plan) -> None:
    assert cluster(dev).plain["controlPlaneFirewall"] == {"enabled": True, "allowedAddresses": DEV_CIDRS}
    firewall = cluster(prod).plain["controlPlaneFirewall"]
    assert firewall["enabled"] is True
    assert firewall["allowedAddresses"] == ["203.0.113.0/24", "198.51.100.16/28"]
    for cidr in firewall["allowedAddresses"]:
        assert ipaddress.ip_network(cidr).prefixlen > 0


def test_version_resolved_from_prefix_and_pinned_to_newest_patch(dev: Plan, prod: Plan) -> None:
    assert (VERSIONS, {"versionPrefix": "1.34."}) in prod.invokes
    assert cluster(prod).plain["version"] == "1.34.3-do.1"
    assert cluster(dev).plain["version"] == max(v for v in KUBERNETES_VERSIONS if v.startswith("1.34."))
    newer = dev_plan(kubernetesVersion="1.35")
    assert cluster(newer).plain["version"] == "1.35.1-do.0"
    assert (VERSIONS, {"versionPrefix": "1.35."}) in newer.invokes


def test_destroy_removes_what_kubernetes_created(dev: Plan, prod: Plan) -> None:
    assert cluster(dev).plain["destroyAllAssociatedResources"] is True
    assert cluster(prod).plain["destroyAllAssociatedResources"] is True


def test_deletion_protection_in_prod_only(dev: Plan, prod: Plan) -> None:
    assert cluster(prod).protect is True
    assert prod.one(REGISTRY).protect is True
    assert cluster(dev).protect is False
    assert all(not r.protect for r in dev.resources() if r.type.startswith("digitalocean:"))


# ------------------------------------------------------------------ node pools


def test_first_pool_is_default_pool_and_others_are_node_pools(prod: Plan) -> None:
    default = cluster(prod).plain["nodePool"]
    assert default["name"] == "system"
    assert default["size"] == "s-4vcpu-8gb"
    assert (default["autoScale"], default["minNodes"], default["maxNodes"]) == (True, 2, 3)
    assert default["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]
    assert default["labels"]["orquestra.io/role"] == "system"
    pool = prod.one(POOL, "shop-fra-general")
    inputs = pool.plain
    assert inputs["name"] == "general"
    assert (inputs["autoScale"], inputs["minNodes"], inputs["maxNodes"], inputs["nodeCount"]) == (True, 3, 10, 3)
    assert inputs["labels"]["workload-class"] == "general"
    assert inputs["taints"] == []
    assert cluster(prod).urn in pool.property_dependencies["clusterId"]
    assert [r.name for r in prod.resources(POOL)] == ["shop-fra-general"]


def test_dev_defaults_give_one_small_autoscaled_pool(dev: Plan) -> None:
    default = cluster(dev).plain["nodePool"]
    assert (default["name"], default["size"]) == ("general", "s-2vcpu-4gb")
    assert (default["autoScale"], default["minNodes"], default["maxNodes"]) == (True, 1, 3)
    assert dev.resources(POOL) == []


def test_autoscaler_owns_node_counts(dev: Plan, prod: Plan) -> None:
    assert "nodePool.nodeCount" in cluster(dev).ignore_changes
    assert "nodePool.nodeCount" in cluster(prod).ignore_changes
    assert prod.one(POOL).ignore_changes == ["nodeCount"]


def test_tags_everywhere_in_digitalocean_format(dev: Plan, prod: Plan) -> None:
    tags = cluster(prod).plain["tags"]
    assert {
        "orquestra-cluster:shop-fra",
        "orquestra-environment:prod",
        "managed-by:pulumi",
        "team:platform",
    } <= set(tags)
    assert "orquestra-environment:dev" in cluster(dev).plain["tags"]
    assert set(tags) <= set(cluster(prod).plain["nodePool"]["tags"])
    assert "orquestra-pool:general" in prod.one(POOL).plain["tags"]
    assert set(tags) <= set(prod.one(POOL).plain["tags"])


def test_tag_conversion_keeps_to_digitalocean_alphabet() -> None:
    assert do_tags({"owner": "ops@example.com", "tier": "", "a/b": "c=d"}) == [
        "a-b:c-d",
        "owner:ops-example-com",
        "tier",
    ]


# ------------------------------------------------------------------ registry


def test_registry_integration_in_prod(prod: Plan) -> None:
    registry = prod.one(REGISTRY, "shop-fra-registry")
    assert registry.plain["subscriptionTierSlug"] == "professional"
    assert registry.plain["region"] == "fra1"
    assert cluster(prod).plain["registryIntegration"] is True
    assert registry.urn in cluster(prod).dependencies


def test_no_registry_unless_asked(dev: Plan) -> None:
    assert dev.resources(REGISTRY) == []
    assert cluster(dev).plain["registryIntegration"] is False


# ------------------------------------------------------------------ contract


def _kubeconfig(plan: Plan) -> dict[str, Any]:
    out = plan.one(COMPONENT).outputs["kubeconfig"]
    assert isinstance(out, Secret)
    # The provider's own kubeconfig (with its 7-day token) is not what is published.
    assert "dop_v1_" not in out.value
    doc: dict[str, Any] = yaml.safe_load(out.value)
    return doc


def test_plan_json_carries_no_kubeconfig(prod: Plan) -> None:
    text = json.dumps(prod.to_json())
    assert "exec-credential" not in text
    assert "certificate-authority-data" not in text
    component = next(r for r in prod.to_json()["resources"] if r["type"] == COMPONENT)
    assert component["outputs"]["kubeconfig"] == "[secret]"


def test_kubeconfig_is_secret_and_uses_doctl_exec_auth(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        doc = _kubeconfig(plan)
        user = doc["users"][0]["user"]
        assert "token" not in user
        assert user["exec"]["command"] == "doctl"
        assert user["exec"]["args"][:4] == ["kubernetes", "cluster", "kubeconfig", "exec-credential"]
        server = doc["clusters"][0]["cluster"]["server"]
        cluster_id = user["exec"]["args"][-1]
        assert server == f"https://{uuid.UUID(cluster_id)}.k8s.ondigitalocean.com"
        assert doc["clusters"][0]["cluster"]["certificate-authority-data"]
    assert _kubeconfig(prod)["current-context"] == "do-fra1-shop-fra"
    provider = prod.one("pulumi:providers:kubernetes", "shop-fra-k8s")
    assert isinstance(provider.inputs["kubeconfig"], Secret)


def test_workloads_wait_for_cluster_and_node_pools(prod: Plan) -> None:
    provider = prod.one("pulumi:providers:kubernetes", "shop-fra-k8s")
    assert cluster(prod).urn in provider.property_dependencies["kubeconfig"]
    assert prod.one(POOL).urn not in provider.dependencies
    manager = next(r for r in prod.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "cert-manager")
    assert {cluster(prod).urn, prod.one(POOL).urn} <= set(manager.dependencies)


def test_every_resource_is_parented_to_the_component(prod: Plan) -> None:
    component = prod.one(COMPONENT, "shop-fra")
    children = {r.type for r in prod.children(component)}
    assert {VPC, CLUSTER, POOL, REGISTRY, "pulumi:providers:kubernetes"} <= children
    assert all(r.parent == component.urn for r in prod.resources() if r.type.startswith("digitalocean:"))


def test_published_outputs(prod: Plan) -> None:
    outputs = prod.one(COMPONENT).outputs
    assert outputs["clusterName"] == "shop-fra"
    assert outputs["kubernetesVersion"] == "1.34"
    assert outputs["endpoint"].endswith(".k8s.ondigitalocean.com")


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_capabilities(environment: str) -> None:
    built = build_spec({"environment": environment, "clusters": [dev_cluster()]})
    assert built.plan.ok, built.plan.errors
    caps = built.clusters["lab"].capabilities()
    assert caps.load_balancer == "cloud"
    assert caps.node_autoscaler == "cloud"
    assert caps.default_storage_class == "do-block-storage"
    assert caps.pod_identity == "none"
    assert caps.zones == ()
    assert caps.region == "ams3"
    prefix = "service.beta.kubernetes.io/do-loadbalancer-"
    assert caps.lb_annotations_public[f"{prefix}name"] == "lab-public"
    assert f"{prefix}network" not in caps.lb_annotations_public
    assert caps.lb_annotations_internal[f"{prefix}network"] == "INTERNAL"
    assert caps.lb_annotations_public[f"{prefix}size-unit"] == ("2" if environment == "prod" else "1")


# ------------------------------------------------------------------ refused before anything is registered


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"apiAccess": {"private": True}}, "apiAccess.private"),
        ({"network": {"cidr": "10.0.0.0/12"}}, "network.cidr"),
        ({"maintenance": {"hours": 6}}, "maintenance.hours"),
        ({"nodePools": [{"name": "a", "spot": True}]}, "nodePools[0].spot"),
        ({"nodePools": [{"name": "a", "zones": ["fra1-a"]}]}, "nodePools[0].zones"),
        ({"nodePools": [{"name": "a", "instanceTypes": ["s-2vcpu-4gb", "s-4vcpu-8gb"]}]}, "nodePools[0].instanceTypes"),
        ({"nodePools": [{"name": "a", "min": 0}]}, "nodePools[0].min"),
    ],
)
def test_what_doks_cannot_do_fails_before_registration(over: dict[str, Any], key: str) -> None:
    plan = dev_plan(**over)
    assert any(e.startswith(f"orquestra:clusters[0].{key}: ") and "allowed: " in e for e in plan.errors), plan.errors
    assert [r for r in plan.resources() if r.type.startswith("digitalocean:")] == []


def test_prod_without_api_cidrs_is_refused() -> None:
    cfg = dev_cluster()
    del cfg["apiAccess"]
    plan = plan_spec({"environment": "prod", "clusters": [cfg]})
    assert any(e.startswith("orquestra:clusters[0].apiAccess.publicCidrs: ") for e in plan.errors), plan.errors
    assert plan.resources(CLUSTER) == []


def test_world_open_api_is_refused() -> None:
    plan = dev_plan(apiAccess={"publicCidrs": ["0.0.0.0/0"]})
    assert any("apiAccess.publicCidrs[0]" in e for e in plan.errors), plan.errors
    assert plan.resources(CLUSTER) == []


def test_doks_keeps_its_own_gateway_api_crds_and_the_platform_installs_only_envoy_gateways() -> None:
    """DOKS installs and manages the Gateway API CRDs on VPC-native clusters from 1.33; a second owner would fail.

    Source: https://docs.digitalocean.com/products/kubernetes/how-to/use-gateway-api/
    """
    plan = plan_stack("prod-do")
    assert plan.one(CLUSTER).plain["clusterSubnet"]  # VPC-native networking
    crds = plan.one("kubernetes:helm.sh/v3:Release", "shop-fra-gateway-crds").plain["values"]["crds"]
    assert crds["gatewayAPI"]["enabled"] is False and crds["envoyGateway"]["enabled"] is True
    (cluster,) = admission.review(plan).clusters
    served = {crd["spec"]["names"]["kind"] for crd in cluster.cloud_crds}
    assert {"Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ReferenceGrant"} <= served
    # The program's Gateway and GatewayClass are validated against them, with nothing rejected.
    assert [r.line() for r in admission.review(plan).rejections] == []
    # Elsewhere the platform still installs the Gateway API's CRDs itself.
    other = plan_stack("prod-aws").one("kubernetes:helm.sh/v3:Release", "eks-prod-gateway-crds").plain["values"]
    assert other["crds"]["gatewayAPI"]["enabled"] is True
