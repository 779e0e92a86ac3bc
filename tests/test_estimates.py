"""Cost model, deploy-time critical path and diagram: hand-built plans, a real-SDK program, the dev stack."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from preflight import diagram, engine, estimates
from preflight.__main__ import main
from preflight.engine import Plan, Registration, Secret
from preflight.estimates import HOURS_PER_MONTH as H
from preflight.estimates import create_seconds, critical_path, estimate
from tests.harness import plan_spec, plan_stack
from tests.sdk import SITE, declared

# ------------------------------------------------------------------ plan builders


def reg(
    type_: str,
    name: str,
    *,
    parent: Registration | None = None,
    custom: bool = True,
    provider: Registration | None = None,
    deps: tuple[Registration, ...] = (),
    prop: dict[str, tuple[Registration, ...]] | None = None,
    inputs: dict[str, Any] | None = None,
) -> Registration:
    parent_urn = parent.urn if parent else ""
    return Registration(
        urn=f"urn:pulumi:t::orquestra::{type_}::{name}",
        type=type_,
        name=name,
        parent=parent_urn,
        custom=custom,
        provider=f"{provider.urn}::{name}-provider-id" if provider else "",
        dependencies=[d.urn for d in deps],
        property_dependencies={k: [d.urn for d in v] for k, v in (prop or {}).items()},
        inputs=inputs or {},
    )


def plan_of(*regs: Registration) -> Plan:
    return Plan("t", list(regs), {}, [], [], [])


def seconds(type_: str, **inputs: Any) -> float:
    return create_seconds(reg(type_, "x", inputs=inputs))[0]


def monthly(plan: Plan, name: str) -> float:
    return next(i.cost.monthly for i in estimate(plan).items if i.name == name)


EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NAT = "aws:ec2/natGateway:NatGateway"
VPC = "aws:ec2/vpc:Vpc"
RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"

# ------------------------------------------------------------------- cost model


def test_eks_node_group_costs_instance_price_times_minimum_size() -> None:
    group = reg(
        NODE_GROUP,
        "general",
        inputs={"instanceTypes": ["m6i.large"], "scalingConfig": {"minSize": 3, "desiredSize": 5, "maxSize": 12}},
    )
    assert monthly(plan_of(group), "general") == pytest.approx(3 * estimates.aws.AWS_INSTANCE_HOURLY["m6i.large"] * H)


def test_eks_node_group_reads_instance_type_from_its_launch_template() -> None:
    template = reg("aws:ec2/launchTemplate:LaunchTemplate", "lt", inputs={"instanceType": "c6i.large"})
    group = reg(NODE_GROUP, "ng", prop={"launchTemplate": (template,)}, inputs={"scalingConfig": {"minSize": 2}})
    assert monthly(plan_of(template, group), "ng") == pytest.approx(
        2 * estimates.aws.AWS_INSTANCE_HOURLY["c6i.large"] * H
    )


def test_instance_type_missing_from_the_table_is_reported_not_guessed() -> None:
    group = reg(NODE_GROUP, "gpu", inputs={"instanceTypes": ["p5.48xlarge"], "scalingConfig": {"minSize": 1}})
    est = estimate(plan_of(group))
    assert est.monthly == 0
    assert est.not_priced == {NODE_GROUP: 1}


def test_aws_cluster_total_is_the_sum_of_control_plane_nat_gateways_keys_and_nodes() -> None:
    parts = [
        reg(EKS, "eks"),
        *(reg(NAT, f"nat-{z}") for z in "abc"),
        reg("aws:kms/key:Key", "key"),
        reg(VPC, "vpc"),
        reg("aws:iam/role:Role", "role"),
        reg(NODE_GROUP, "ng", inputs={"instanceTypes": ["t3.large"], "scalingConfig": {"minSize": 1}}),
    ]
    est = estimate(plan_of(*parts))
    expected = (
        estimates.aws.EKS_CONTROL_PLANE_HOURLY * H
        + 3 * estimates.aws.AWS_NAT_GATEWAY_HOURLY * H
        + estimates.aws.AWS_KMS_KEY_MONTHLY
        + estimates.aws.AWS_INSTANCE_HOURLY["t3.large"] * H
    )
    assert est.monthly == pytest.approx(expected)
    assert est.not_priced == {}
    assert [i.cost.monthly for i in est.items] == sorted((i.cost.monthly for i in est.items), reverse=True)
    assert {i.name for i in est.items} == {"eks", "nat-a", "nat-b", "nat-c", "key", "ng"}


@pytest.mark.parametrize(
    ("inputs", "nodes"),
    [
        ({"location": "us-central1", "autoscaling": {"minNodeCount": 1, "maxNodeCount": 3}}, 3),
        ({"location": "us-central1", "nodeLocations": ["us-central1-a", "us-central1-b"], "nodeCount": 2}, 4),
        ({"location": "us-central1-a", "autoscaling": {"minNodeCount": 2}}, 2),
        ({"location": "us-central1", "autoscaling": {"totalMinNodeCount": 4, "totalMaxNodeCount": 9}}, 4),
    ],
)
def test_gke_node_pool_counts_nodes_per_zone(inputs: dict[str, Any], nodes: int) -> None:
    pool = reg(
        "gcp:container/nodePool:NodePool", "pool", inputs={**inputs, "nodeConfig": {"machineType": "n2-standard-4"}}
    )
    assert monthly(plan_of(pool), "pool") == pytest.approx(
        nodes * estimates.gcp.GCP_MACHINE_HOURLY["n2-standard-4"] * H
    )


def test_gke_cluster_fee_and_regional_clusters_take_longer() -> None:
    regional = reg(
        "gcp:container/cluster:Cluster", "r", inputs={"location": "europe-west1", "removeDefaultNodePool": True}
    )
    zonal = reg(
        "gcp:container/cluster:Cluster", "z", inputs={"location": "europe-west1-b", "removeDefaultNodePool": True}
    )
    plan = plan_of(regional, zonal)
    assert monthly(plan, "r") == monthly(plan, "z") == pytest.approx(estimates.gcp.GKE_CLUSTER_FEE_HOURLY * H)
    assert create_seconds(regional)[0] > create_seconds(zonal)[0]


def test_cloud_nat_on_gcp_is_billed_per_vm_of_the_plan() -> None:
    pool = reg(
        "gcp:container/nodePool:NodePool",
        "pool",
        inputs={
            "location": "us-central1",
            "autoscaling": {"minNodeCount": 1},
            "nodeConfig": {"machineType": "e2-standard-2"},
        },
    )
    nat = reg("gcp:compute/routerNat:RouterNat", "nat")
    assert monthly(plan_of(pool, nat), "nat") == pytest.approx(3 * estimates.gcp.GCP_NAT_PER_VM_HOURLY * H)


def test_aks_standard_tier_fee_plus_inline_system_pool_and_agent_pool() -> None:
    cluster = reg(
        "azure-native:containerservice:ManagedCluster",
        "aks",
        inputs={
            "sku": {"name": "Base", "tier": "Standard"},
            "agentPoolProfiles": [
                {"name": "system", "vmSize": "Standard_D2s_v5", "enableAutoScaling": True, "minCount": 2, "count": 3}
            ],
        },
    )
    pool = reg(
        "azure-native:containerservice:AgentPool",
        "general",
        inputs={"vmSize": "Standard_D4s_v5", "enableAutoScaling": False, "count": 3},
    )
    free = reg(
        "azure-native:containerservice:ManagedCluster",
        "free",
        inputs={
            "sku": {"tier": "Free"},
            "agentPoolProfiles": [{"name": "s", "vmSize": "Standard_D2s_v5", "count": 1}],
            "networkProfile": {"outboundType": "userAssignedNATGateway"},
        },
    )
    plan = plan_of(cluster, pool, free)
    d2, d4 = estimates.azure.AZURE_VM_HOURLY["Standard_D2s_v5"], estimates.azure.AZURE_VM_HOURLY["Standard_D4s_v5"]
    # Default egress: AKS adds a Standard load balancer with a public IP, outside the program.
    outbound = (estimates.azure.AZURE_LOAD_BALANCER_HOURLY + estimates.azure.AZURE_PUBLIC_IP_HOURLY) * H
    assert monthly(plan, "aks") == pytest.approx(
        estimates.azure.AKS_TIER_HOURLY["standard"] * H + 2 * d2 * H + outbound
    )
    assert monthly(plan, "general") == pytest.approx(3 * d4 * H)
    # A NAT gateway the program registers itself is priced as its own resource, not here.
    assert monthly(plan, "free") == pytest.approx(d2 * H)


def test_spot_pools_are_priced_at_on_demand_and_say_so() -> None:
    group = reg(
        NODE_GROUP,
        "spot",
        inputs={"instanceTypes": ["m6i.large"], "capacityType": "SPOT", "scalingConfig": {"minSize": 1}},
    )
    item = estimate(plan_of(group)).items[0]
    assert item.cost.monthly == pytest.approx(estimates.aws.AWS_INSTANCE_HOURLY["m6i.large"] * H)
    assert "spot" in item.cost.basis


def test_report_lists_top_items_then_the_rest_and_the_critical_path() -> None:
    nats = [reg(NAT, f"nat-{i:02d}") for i in range(12)]
    key = reg("aws:kms/key:Key", "key", deps=(nats[0],))
    est = estimate(plan_of(*nats, key))
    lines = estimates.report_lines(est, top=10)
    assert lines[0].endswith(
        f"${12 * estimates.aws.AWS_NAT_GATEWAY_HOURLY * H + estimates.aws.AWS_KMS_KEY_MONTHLY:,.2f}"
    )
    rest = [line for line in lines if line.endswith("3 more")]
    assert len(rest) == 1
    shown = float(rest[0].split("$")[1].split()[0].replace(",", ""))
    assert shown == pytest.approx(
        estimates.aws.AWS_NAT_GATEWAY_HOURLY * H * 2 + estimates.aws.AWS_KMS_KEY_MONTHLY, abs=0.005
    )
    time_header = next(i for i, line in enumerate(lines) if line.startswith("Deploy time"))
    assert [line.split()[-1] for line in lines[time_header + 1 :]] == ["nat-00", "key"]


def test_doks_ha_control_plane_and_node_pools() -> None:
    cluster = reg(
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "doks",
        inputs={"ha": True, "nodePool": {"size": "s-2vcpu-4gb", "autoScale": True, "minNodes": 2, "maxNodes": 5}},
    )
    pool = reg(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "extra",
        inputs={"size": "s-4vcpu-8gb", "nodeCount": 3},
    )
    plan = plan_of(cluster, pool)
    prices = estimates.digitalocean.DO_DROPLET_MONTHLY
    assert monthly(plan, "doks") == pytest.approx(estimates.digitalocean.DOKS_HA_MONTHLY + 2 * prices["s-2vcpu-4gb"])
    assert monthly(plan, "extra") == pytest.approx(3 * prices["s-4vcpu-8gb"])


def _cluster_with(package_type: str) -> tuple[Registration, Registration, Registration]:
    component = reg("orquestra:targets:Test", "c", custom=False)
    cloud = reg(package_type, "control-plane", parent=component)
    provider = reg(K8S_PROVIDER, "c-k8s", parent=component, prop={"kubeconfig": (cloud,)})
    return component, cloud, provider


def test_load_balancer_services_and_chart_values_cost_a_cloud_load_balancer() -> None:
    component, cloud, provider = _cluster_with(EKS)
    service = reg(
        "kubernetes:core/v1:Service",
        "lb",
        parent=component,
        provider=provider,
        inputs={"spec": {"type": "LoadBalancer"}},
    )
    internal = reg(
        "kubernetes:core/v1:Service", "cip", parent=component, provider=provider, inputs={"spec": {"type": "ClusterIP"}}
    )
    chart = reg(
        RELEASE,
        "gateway",
        parent=component,
        provider=provider,
        inputs={"chart": "ingress-nginx", "values": {"controller": {"service": {"type": "LoadBalancer"}}}},
    )
    plan = plan_of(component, cloud, provider, service, internal, chart)
    each = estimates.LOAD_BALANCER_MONTHLY["aws"]
    assert monthly(plan, "lb") == pytest.approx(each)
    assert monthly(plan, "gateway") == pytest.approx(each)
    assert "cip" not in {i.name for i in estimate(plan).items}


def test_load_balancer_on_a_cluster_without_a_cloud_costs_nothing() -> None:
    component = reg("orquestra:targets:ExistingCluster", "local", custom=False)
    provider = reg(K8S_PROVIDER, "local-k8s", parent=component)
    service = reg(
        "kubernetes:core/v1:Service",
        "lb",
        parent=component,
        provider=provider,
        inputs={"spec": {"type": "LoadBalancer"}},
    )
    assert estimate(plan_of(component, provider, service)).monthly == 0


def test_unknown_types_are_listed_and_components_are_free() -> None:
    plan = plan_of(
        reg("orquestra:x:Thing", "comp", custom=False),
        reg("someprovider:index/widget:Widget", "w1"),
        reg("someprovider:index/widget:Widget", "w2"),
        reg("proxmoxve:index/vm:Vm", "vm"),
    )
    est = estimate(plan)
    assert est.not_priced == {"someprovider:index/widget:Widget": 2, "proxmoxve:index/vm:Vm": 1}
    assert est.not_timed == {"someprovider:index/widget:Widget": 2}


def test_secret_inputs_are_priced_but_never_shown() -> None:
    group = reg(
        NODE_GROUP,
        "ng",
        inputs={"instanceTypes": Secret(["m6i.xlarge"]), "scalingConfig": {"minSize": 2}},
    )
    est = estimate(plan_of(group))
    assert est.monthly == pytest.approx(2 * estimates.aws.AWS_INSTANCE_HOURLY["m6i.xlarge"] * H)
    assert "m6i.xlarge" not in json.dumps(est.to_json())
    assert "m6i.xlarge" not in "\n".join(estimates.report_lines(est))


# ---------------------------------------------------------------- critical path


def test_diamond_takes_the_longer_branch() -> None:
    vpc = reg(VPC, "vpc")
    nat = reg(NAT, "nat", deps=(vpc,))
    eks = reg(EKS, "eks", deps=(vpc,))
    group = reg(NODE_GROUP, "ng", deps=(nat, eks))
    total, chain = critical_path(plan_of(vpc, nat, eks, group))
    assert total == pytest.approx(seconds(VPC) + seconds(EKS) + seconds(NODE_GROUP))
    assert [s.name for s in chain] == ["vpc", "eks", "ng"]
    assert chain[-1].finish == pytest.approx(total)


def test_property_dependencies_count_like_explicit_ones() -> None:
    vpc = reg(VPC, "vpc")
    eks = reg(EKS, "eks", prop={"vpcConfig": (vpc,)})
    total, chain = critical_path(plan_of(vpc, eks))
    assert total == pytest.approx(seconds(VPC) + seconds(EKS))
    assert [s.name for s in chain] == ["vpc", "eks"]


def test_a_release_waits_for_the_cluster_through_its_provider() -> None:
    eks = reg(EKS, "eks")
    group = reg(NODE_GROUP, "ng", deps=(eks,))
    provider = reg(K8S_PROVIDER, "k8s", prop={"kubeconfig": (eks,)}, deps=(group,))
    release = reg(RELEASE, "cert-manager", provider=provider, inputs={"chart": "cert-manager"})
    total, chain = critical_path(plan_of(eks, group, provider, release))
    assert total == pytest.approx(seconds(EKS) + seconds(NODE_GROUP) + seconds(RELEASE, chart="cert-manager"))
    assert [s.name for s in chain] == ["eks", "ng", "cert-manager"]
    # The release names no dependency of its own: only the provider edge orders it.
    assert release.dependencies == [] and release.property_dependencies == {}


def test_children_of_a_component_run_in_parallel() -> None:
    component = reg("orquestra:targets:Test", "c", custom=False)
    pools = [reg(NODE_GROUP, f"pool-{i}", parent=component) for i in range(3)]
    nat = reg(NAT, "nat", parent=component)
    total, chain = critical_path(plan_of(component, *pools, nat))
    assert total == pytest.approx(seconds(NODE_GROUP))
    assert len(chain) == 1 and chain[0].type == NODE_GROUP


def test_depending_on_a_component_waits_for_all_its_children() -> None:
    component = reg("orquestra:targets:Test", "c", custom=False)
    slow = reg(EKS, "eks", parent=component)
    fast = reg(NAT, "nat", parent=component)
    # The SDK expands a dependency on a component to its children; a recorded component URN means the same.
    after = reg(RELEASE, "after", deps=(component,), inputs={"chart": "metrics-server"})
    total, chain = critical_path(plan_of(component, slow, fast, after))
    assert total == pytest.approx(seconds(EKS) + seconds(RELEASE, chart="metrics-server"))
    assert [s.name for s in chain] == ["eks", "after"]


def test_children_of_a_component_wait_for_the_components_own_dependencies() -> None:
    vpc = reg(VPC, "vpc")
    nat = reg(NAT, "nat", deps=(vpc,))
    component = reg("orquestra:x:Workloads", "w", custom=False, deps=(nat,))
    child = reg("kubernetes:core/v1:Namespace", "ns", parent=component)
    total, chain = critical_path(plan_of(vpc, nat, component, child))
    assert total == pytest.approx(seconds(VPC) + seconds(NAT) + seconds("kubernetes:core/v1:Namespace"))
    assert [s.name for s in chain] == ["vpc", "nat", "ns"]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"chart": "cert-manager"}, estimates.kubernetes.HELM_CHART_SECONDS["cert-manager"]),
        (
            {"chart": "oci://quay.io/jetstack/charts/cert-manager"},
            estimates.kubernetes.HELM_CHART_SECONDS["cert-manager"],
        ),
        ({"chart": "jetstack/cert-manager", "skipAwait": True}, estimates.kubernetes.HELM_SKIP_AWAIT_SECONDS),
        ({"chart": "some-chart-nobody-knows"}, estimates.kubernetes.HELM_DEFAULT_SECONDS),
    ],
)
def test_helm_release_time_follows_the_chart_and_skip_await(inputs: dict[str, Any], expected: float) -> None:
    assert seconds(RELEASE, **inputs) == expected


def test_child_of_a_custom_resource_waits_for_its_create() -> None:
    eks = reg(EKS, "eks")
    addon = reg("aws:eks/addon:Addon", "coredns", parent=eks)
    total, _ = critical_path(plan_of(eks, addon))
    assert total == pytest.approx(seconds(EKS) + seconds("aws:eks/addon:Addon"))


def test_a_dependency_cycle_does_not_hang() -> None:
    a = reg(NAT, "a")
    b = reg(NAT, "b", deps=(a,))
    a.dependencies.append(b.urn)
    total, _ = critical_path(plan_of(a, b))
    assert seconds(NAT) <= total <= 2 * seconds(NAT)


# --------------------------------------------------------- tables match the SDKs

TABLE_TYPES = sorted(
    t
    for t in {*estimates.COSTS, *estimates.FREE, *estimates.ON_PREM, *estimates.CREATE_SECONDS, *diagram.MAJOR_TYPES}
    if not t.startswith("pulumi:providers:")
)


@pytest.mark.skipif(SITE is None, reason="the provider SDKs are not installed for this interpreter")
@pytest.mark.parametrize("token", TABLE_TYPES)
def test_every_table_key_is_a_type_token_of_an_installed_sdk(token: str) -> None:
    assert declared(token), f"{token} is declared by no installed SDK"


@pytest.mark.skipif(SITE is None, reason="the provider SDKs are not installed for this interpreter")
@pytest.mark.parametrize(
    ("source", "wire_names"),
    [
        ("pulumi_aws/eks/_inputs.py", ["minSize"]),
        ("pulumi_aws/eks/node_group.py", ["instanceTypes", "scalingConfig", "launchTemplate", "capacityType"]),
        ("pulumi_aws/ec2/launch_template.py", ["instanceType"]),
        ("pulumi_aws/ec2/vpc_endpoint.py", ["vpcEndpointType", "subnetIds"]),
        ("pulumi_gcp/container/_inputs.py", ["minNodeCount", "totalMinNodeCount", "machineType"]),
        ("pulumi_gcp/container/node_pool.py", ["nodeLocations", "nodeCount", "initialNodeCount", "nodeConfig"]),
        ("pulumi_gcp/container/cluster.py", ["removeDefaultNodePool", "enableAutopilot"]),
        ("pulumi_gcp/compute/address.py", ["addressType"]),
        ("pulumi_gcp/kms/_inputs.py", ["protectionLevel"]),
        (
            "pulumi_azure_native/containerservice/_inputs.py",
            ["vmSize", "minCount", "enableAutoScaling", "scaleSetPriority", "outboundType"],
        ),
        ("pulumi_azure_native/containerservice/managed_cluster.py", ["agentPoolProfiles"]),
        ("pulumi_digitalocean/_inputs.py", ["autoScale", "minNodes", "nodeCount"]),
        ("pulumi_digitalocean/container_registry.py", ["subscriptionTierSlug"]),
        ("pulumi_digitalocean/load_balancer.py", ["sizeUnit"]),
        ("pulumi_kubernetes/helm/v3/Release.py", ["skipAwait", "repositoryOpts"]),
    ],
)
def test_cost_models_read_property_names_the_sdks_declare(source: str, wire_names: list[str]) -> None:
    assert SITE is not None
    text = (SITE / source).read_text()
    for wire in wire_names:
        assert f'name="{wire}"' in text, f"{source} declares no property {wire}"


# -------------------------------------------------------------- shipped stacks


def test_dev_stack_costs_nothing_and_its_path_runs_through_the_gateway() -> None:
    plan = plan_stack("dev")
    assert plan.ok, plan.errors
    est = estimate(plan)
    # An existing cluster: nothing billed, everything known to the tables.
    assert est.monthly == 0 and est.items == []
    assert est.not_priced == {} and est.not_timed == {}
    # The slowest chain: the Gateway's namespace, the Gateway API CRDs, the controller, its custom resources,
    # then the route.
    steps = [plan.by_urn(s.urn) for s in est.path]
    assert [s.name for s in steps[:2]] == ["local-gateway-namespace", "local-gateway-crds"]
    assert steps[-1].name == "local-hello-route"
    for earlier, later in itertools.pairwise(steps):
        assert earlier.urn in later.dependencies, (earlier.name, later.name)
    assert est.deploy_seconds == pytest.approx(sum(create_seconds(r)[0] for r in steps))
    assert plan.to_json()["estimates"]["deploySeconds"] == est.deploy_seconds


def test_workloads_on_one_cluster_deploy_in_parallel() -> None:
    def plan_with(names: tuple[str, ...]) -> Plan:
        return plan_spec(
            {
                "clusters": [
                    {
                        "name": "local",
                        "target": "existing",
                        "kubeconfigPath": "~/.kube/config",
                        "kubernetesVersion": "1.35",
                    }
                ],
                "workloads": [
                    {"name": name, "image": "ghcr.io/stefanprodan/podinfo:6.9.2", "clusters": ["local"], "port": 9898}
                    for name in names
                ],
            }
        )

    one, three = plan_with(("one",)), plan_with(("one", "two", "three"))
    assert one.ok and three.ok, (one.errors, three.errors)
    assert {n.name for n in three.resources("kubernetes:core/v1:Namespace")} >= {
        "local-one",
        "local-two",
        "local-three",
    }
    # Two more workloads add work beside the first, not after it.
    assert critical_path(three)[0] == pytest.approx(critical_path(one)[0])


def test_cli_prints_cost_and_time_and_writes_diagram_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, plan_json = tmp_path / "dev.mmd", tmp_path / "dev.json"
    assert main(["dev", "--diagram", str(out), "--json", str(plan_json)]) == 0
    printed = capsys.readouterr().out
    assert "Monthly cost" in printed and "$0.00" in printed
    assert "Deploy time (critical path" in printed and "local-hello" in printed
    text = out.read_text()
    assert text.startswith("flowchart LR\n")
    assert re.search(r'subgraph (n\d+)\["local · orquestra ExistingCluster"\]', text)
    provider = re.search(r'(n\d+)\["local-k8s<br/>kubernetes provider"\]', text)
    namespace = re.search(r'(n\d+)\["local-hello<br/>kubernetes Namespace"\]', text)
    assert provider and namespace
    assert f"{provider.group(1)} --> {namespace.group(1)}" in text
    assert json.loads(plan_json.read_text())["estimates"]["monthlyUsd"] == 0


def test_diagram_keeps_major_resources_and_draws_dependencies_through_plumbing() -> None:
    stack = reg("pulumi:pulumi:Stack", "orquestra-t", custom=False)
    component = reg("orquestra:targets:AwsCluster", "prod", custom=False, parent=stack)
    vpc = reg(VPC, "prod-vpc", parent=component)
    subnet = reg("aws:ec2/subnet:Subnet", "prod-private-a", parent=component, deps=(vpc,))
    role = reg("aws:iam/role:Role", "prod-cluster", parent=component)
    attach = reg(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "prod-cluster-policy", parent=component, deps=(role,)
    )
    eks = reg(EKS, "prod-eks", parent=component, deps=(attach,), prop={"vpcConfig": (subnet,)})
    text = diagram.mermaid(plan_of(stack, component, vpc, subnet, role, attach, eks))
    assert "prod-private-a" not in text and "prod-cluster-policy" not in text
    ids = dict(re.findall(r'(n\d+)\["([^<"]+)<br/>', text))
    by_name = {name: node for node, name in ids.items()}
    assert f"{by_name['prod-vpc']} --> {by_name['prod-eks']}" in text
    assert re.search(r'subgraph n\d+\["prod · orquestra AwsCluster"\]', text)


# ------------------------------------------- real SDK resources on the mock engine

_PROGRAM = """
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


class Network(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("orquestra:test:Network", name)
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block="10.0.0.0/16", opts=child)
        self.subnets = [
            aws.ec2.Subnet(f"{name}-{zone}", vpc_id=self.vpc.id, cidr_block=f"10.0.{i}.0/24", opts=child)
            for i, zone in enumerate("ab")
        ]
        self.nats = [
            aws.ec2.NatGateway(f"{name}-nat-{i}", subnet_id=subnet.id, opts=child)
            for i, subnet in enumerate(self.subnets)
        ]
        self.register_outputs({})


net = Network("e2e")
role = aws.iam.Role("e2e-role", assume_role_policy="{}")
cluster = aws.eks.Cluster(
    "e2e-eks", role_arn=role.arn, vpc_config={"subnet_ids": [s.id for s in net.subnets]}
)
group = aws.eks.NodeGroup(
    "e2e-ng",
    cluster_name=cluster.name,
    node_role_arn=role.arn,
    subnet_ids=[s.id for s in net.subnets],
    instance_types=["m6i.large"],
    scaling_config={"min_size": 2, "desired_size": 2, "max_size": 6},
    opts=pulumi.ResourceOptions(depends_on=[net]),
)
provider = k8s.Provider(
    "e2e-k8s", kubeconfig=pulumi.Output.secret(cluster.endpoint), opts=pulumi.ResourceOptions(depends_on=[group])
)
k8s.helm.v3.Release(
    "e2e-cert-manager",
    chart="cert-manager",
    version="v1.19.1",
    repository_opts={"repo": "https://charts.jetstack.io"},
    values={"crds": {"enabled": True}},
    opts=pulumi.ResourceOptions(provider=provider),
)
"""


_STACK = """\
config:
  orquestra:clusters:
    - {name: local, target: existing, kubeconfigPath: ~/.kube/config, kubernetesVersion: "1.35"}
"""


@dataclass(frozen=True)
class CliPlan:
    plan: dict[str, Any]
    diagram: str

    def resource(self, name: str) -> dict[str, Any]:
        return next(r for r in self.plan["resources"] if r["name"] == name)


@pytest.fixture(scope="module")
def sdk_plan(tmp_path_factory: pytest.TempPathFactory) -> CliPlan:
    """A small AWS program built with the real SDKs, planned by the CLI in its own process.

    Wire names and recorded edges are then the SDK's and the engine's own, and the
    AWS SDK never loads into the test process (other tests check which SDKs a stack loads).
    """
    project = tmp_path_factory.mktemp("project")
    (project / "Pulumi.yaml").write_text("name: orquestra\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks").mkdir()
    (project / "stacks" / "Pulumi.e2e.yaml").write_text(_STACK)
    (project / "__main__.py").write_text(_PROGRAM)
    out_json, out_mmd = project / "plan.json", project / "plan.mmd"
    argv = ["e2e", "--project-dir", str(project), "--json", str(out_json), "--diagram", str(out_mmd), "--no-policies"]
    run = subprocess.run(
        [sys.executable, "-m", "preflight", *argv],
        cwd=engine.PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Deploy time" in run.stdout
    return CliPlan(json.loads(out_json.read_text()), out_mmd.read_text())


def test_real_sdk_registrations_are_priced_from_their_wire_inputs(sdk_plan: CliPlan) -> None:
    est = sdk_plan.plan["estimates"]
    expected = {
        "e2e-ng": 2 * estimates.aws.AWS_INSTANCE_HOURLY["m6i.large"] * H,
        "e2e-eks": estimates.aws.EKS_CONTROL_PLANE_HOURLY * H,
        "e2e-nat-0": estimates.aws.AWS_NAT_GATEWAY_HOURLY * H,
        "e2e-nat-1": estimates.aws.AWS_NAT_GATEWAY_HOURLY * H,
    }
    assert {i["name"]: i["monthlyUsd"] for i in est["items"]} == pytest.approx(expected, abs=0.01)
    assert est["monthlyUsd"] == pytest.approx(sum(expected.values()), abs=0.01)
    assert est["notPriced"] == {} and est["notTimed"] == {}


def test_real_sdk_critical_path_runs_through_the_provider(sdk_plan: CliPlan) -> None:
    est = sdk_plan.plan["estimates"]
    chain = [s["name"] for s in est["criticalPath"]]
    # vpc -> subnet -> EKS -> node group -> (provider) -> release; NAT gateways run beside the cluster.
    assert chain[0] == "e2e-vpc" and chain[-3:] == ["e2e-eks", "e2e-ng", "e2e-cert-manager"]
    release = sdk_plan.resource("e2e-cert-manager")
    expected = (
        seconds(VPC)
        + seconds("aws:ec2/subnet:Subnet")
        + seconds(EKS)
        + seconds(NODE_GROUP)
        + seconds(RELEASE, chart=release["inputs"]["chart"])
    )
    assert est["deploySeconds"] == pytest.approx(expected)
    assert release["dependencies"] == [] and release["provider"], "the release is ordered by its provider alone"


def test_real_sdk_diagram_groups_the_component_and_drops_implied_edges(sdk_plan: CliPlan) -> None:
    text = sdk_plan.diagram
    by_name = {name: node for node, name in re.findall(r'(n\d+)\["([^<"]+)<br/>', text)}
    assert "e2e-role" not in by_name and "e2e-a" not in by_name
    assert re.search(r'subgraph n\d+\["e2e · orquestra Network"\]', text)
    edges = set(re.findall(r"(n\d+) --> (n\d+)", text))
    assert (by_name["e2e-vpc"], by_name["e2e-eks"]) in edges
    assert (by_name["e2e-eks"], by_name["e2e-ng"]) in edges
    assert (by_name["e2e-ng"], by_name["e2e-k8s"]) in edges
    assert (by_name["e2e-k8s"], by_name["e2e-cert-manager"]) in edges
    # Implied by vpc -> eks -> ng and ng -> provider: not drawn again.
    assert (by_name["e2e-vpc"], by_name["e2e-ng"]) not in edges
    assert (by_name["e2e-eks"], by_name["e2e-k8s"]) not in edges
