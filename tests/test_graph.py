"""The order of a first deploy, an upgrade and a destroy, read from the dependency graph every shipped stack plans.

Pulumi creates a resource once everything it waits for exists, updates in the same
order, and deletes in the reverse one: a resource goes only after everything that
waits for it is gone. `preflight.estimates.prerequisites` gives the edges (explicit
and property dependencies, the provider, the parent, a component standing for all
its children); these tests assert what those edges must and must not contain, never
how long anything takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import pytest

from preflight import engine, stackconfig
from preflight.engine import Plan, Registration
from preflight.estimates import critical_path, prerequisites
from tests.harness import plan_stack

STACKS = stackconfig.stacks(engine.PROJECT_DIR)

CLUSTERS = frozenset(
    {
        "aws:eks/cluster:Cluster",
        "gcp:container/cluster:Cluster",
        "azure-native:containerservice:ManagedCluster",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "oci:ContainerEngine/cluster:Cluster",
        # A Cluster API cluster: its machine deployments are part of its topology, like DOKS's first pool.
        "kubernetes:cluster.x-k8s.io/v1beta1:Cluster",
    }
)
POOLS = frozenset(
    {
        "aws:eks/nodeGroup:NodeGroup",
        "gcp:container/nodePool:NodePool",
        "azure-native:containerservice:AgentPool",
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "oci:ContainerEngine/nodePool:NodePool",
    }
)
NETWORKS = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "gcp:compute/network:Network",
        "azure-native:network:VirtualNetwork",
        "digitalocean:index/vpc:Vpc",
    }
)
RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY_OBJECTS = frozenset(
    {
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
        "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy",
    }
)
"""The shared Gateway and what shapes its proxies' `LoadBalancer` Service."""
KARPENTER_OBJECTS = frozenset({"kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"})
"""Karpenter launches instances for these; its finalizers terminate them when they are deleted."""
CLAIMS = frozenset({"kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:apps/v1:StatefulSet"})
"""What makes the CSI driver create disks."""
CLEANERS: Mapping[str, str] = {
    "aws-load-balancer-controller": "load balancers",
    "karpenter": "Karpenter's instances",
    "metallb": "MetalLB addresses",
}
"""Charts that delete, on their cluster, what Kubernetes objects made them create."""


@cache
def closure(stack: str) -> Mapping[str, frozenset[str]]:
    """Everything each registration waits for, transitively."""
    edges = prerequisites(plan_stack(stack))
    done: dict[str, frozenset[str]] = {}

    def visit(urn: str, path: frozenset[str]) -> frozenset[str]:
        if urn in done:
            return done[urn]
        out: set[str] = set()
        for dep in edges.get(urn, frozenset()):
            if dep not in path:
                out |= {dep, *visit(dep, path | {dep})}
        done[urn] = frozenset(out)
        return done[urn]

    for urn in edges:
        visit(urn, frozenset({urn}))
    return done


def chart(reg: Registration) -> str:
    return str(reg.plain.get("name", "")) if reg.type == RELEASE else ""


def clusters_of(plan: Plan) -> list[Registration]:
    """The target components (one per cluster of the stack)."""
    return [r for r in plan.registrations if r.type.startswith("orquestra:targets:")]


def inside(plan: Plan, component: Registration, types: Iterable[str] = (), charts: Iterable[str] = ()) -> list[str]:
    """URNs of a cluster's resources of `types` or Helm releases named in `charts` (its platform included)."""
    by_urn = {r.urn: r for r in plan.registrations}
    wanted, names = set(types), set(charts)

    def under(reg: Registration) -> bool:
        node: Registration | None = reg
        while node is not None:
            if node.urn == component.urn:
                return True
            node = by_urn.get(node.parent)
        return False

    return [r.urn for r in plan.registrations if (r.type in wanted or chart(r) in names) and under(r)]


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# ------------------------------------------------------------ first deploy


@pytest.mark.parametrize("stack", STACKS)
def test_what_runs_no_pod_does_not_wait_for_nodes(stack: str) -> None:
    """CRD charts and the Gateway's namespace start with the API, not behind node pools or add-ons that need nodes."""
    plan, needs = plan_stack(stack), closure(stack)
    after_nodes = {
        r.urn
        for r in plan.registrations
        if r.type in POOLS
        or (r.type == "aws:eks/addon:Addon" and r.plain["addonName"] in {"coredns", "aws-ebs-csi-driver"})
    }
    early = [
        r
        for r in plan.registrations
        if chart(r) in {"gateway-crds", "karpenter-crd"}
        or (r.type == "kubernetes:core/v1:Namespace" and r.plain["metadata"]["name"] == "envoy-gateway-system")
    ]
    for reg in early:
        assert not needs[reg.urn] & after_nodes, (reg.name, sorted(short(u) for u in needs[reg.urn] & after_nodes))


@pytest.mark.parametrize("stack", STACKS)
def test_charts_with_pods_wait_for_the_nodes(stack: str) -> None:
    plan, needs = plan_stack(stack), closure(stack)
    for component in clusters_of(plan):
        pools = set(inside(plan, component, POOLS))
        if not pools:
            continue
        for urn in inside(plan, component, [RELEASE]):
            reg = next(r for r in plan.registrations if r.urn == urn)
            if chart(reg).endswith(("-crd", "-crds")):
                continue
            assert needs[urn] & pools, reg.name


@pytest.mark.parametrize("stack", [s for s in STACKS if s not in {"dev", "onprem"}])
def test_the_critical_path_is_control_plane_then_first_nodes_then_what_needs_them(stack: str) -> None:
    """Nothing but the control plane's own prerequisites comes before it, and after the first node pool only
    what needs nodes: no chart or object that could have started earlier lengthens the first deploy."""
    plan, needs = plan_stack(stack), closure(stack)
    _, path = critical_path(plan)
    types = [s.type for s in path]
    assert any(t in CLUSTERS for t in types), types
    first_cluster = next(i for i, t in enumerate(types) if t in CLUSTERS)
    pool_steps = [i for i, t in enumerate(types) if t in POOLS]
    if not pool_steps:
        # DOKS and Cluster API hold their first pool inside the cluster: the cluster is the first node pool.
        assert all(path[first_cluster].urn in needs[s.urn] for s in path[first_cluster + 1 :]), types
        return
    first_pool = pool_steps[0]
    assert first_cluster < first_pool, types
    for step in path[first_cluster + 1 : first_pool]:
        # Between them: only what the nodes join with (the CNI and kube-proxy add-ons, a launch template).
        assert not step.type.startswith("kubernetes:"), types
    for step in path[first_pool + 1 :]:
        assert path[first_pool].urn in needs[step.urn], (step.name, types)


# ----------------------------------------------------------------- upgrades


@pytest.mark.parametrize("stack", [s for s in STACKS if s not in {"dev", "onprem"}])
def test_nodes_follow_the_control_plane_and_deployment_addons_follow_the_nodes(stack: str) -> None:
    """An upgrade moves what carries a version in graph order: control plane, node pools, then add-ons."""
    plan = plan_stack(stack)
    by_urn = {r.urn: r for r in plan.registrations}
    clusters = {r.urn for r in plan.registrations if r.type in CLUSTERS}
    for pool in (r for r in plan.registrations if r.type in POOLS):
        version_key = {
            "aws:eks/nodeGroup:NodeGroup": "version",
            "azure-native:containerservice:AgentPool": "orchestratorVersion",
        }.get(pool.type)
        if version_key is None:
            # GKE pools (release channel, auto-upgrade) and DOKS pools take the cluster's version from
            # the cloud itself; they carry none of their own, so nothing can leave them behind.
            assert "version" not in pool.plain and "nodeVersion" not in pool.plain, pool.name
            continue
        # The version is the cluster's output, so Pulumi cannot update the pool before the control plane.
        assert set(pool.property_dependencies.get(version_key, [])) & clusters, pool.name
    for addon in plan.resources("aws:eks/addon:Addon"):
        name = addon.plain["addonName"]
        groups = [by_urn[u] for u in addon.dependencies if by_urn[u].type == "aws:eks/nodeGroup:NodeGroup"]
        if name in {"coredns", "aws-ebs-csi-driver"}:
            assert groups, f"{name} must move after the node groups"
        else:
            # vpc-cni, kube-proxy and the pod identity agent go before the nodes (addons.py says why).
            assert not groups, name
    for group in plan.resources("aws:eks/nodeGroup:NodeGroup"):
        before = {by_urn[u].plain["addonName"] for u in group.dependencies if by_urn[u].type == "aws:eks/addon:Addon"}
        assert {"vpc-cni", "kube-proxy"} <= before, group.name


# ------------------------------------------------------------------ destroy


def _cleaned_by(plan: Plan, component: Registration) -> list[tuple[str, list[str]]]:
    """(controller release, the objects it cleans up behind) for one cluster."""
    out: list[tuple[str, list[str]]] = []
    for release in inside(plan, component, charts=CLEANERS):
        name = chart(next(r for r in plan.registrations if r.urn == release))
        if name == "aws-load-balancer-controller" or name == "metallb":
            made = inside(plan, component, GATEWAY_OBJECTS) + [
                r.urn
                for r in plan.resources("kubernetes:core/v1:Service")
                if r.plain.get("spec", {}).get("type") == "LoadBalancer" and r.urn in inside(plan, component, [r.type])
            ]
        else:
            made = inside(plan, component, KARPENTER_OBJECTS)
        out.append((release, made))
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_destroy_removes_what_makes_cloud_resources_before_the_controllers_that_clean_them_up(stack: str) -> None:
    """Walking the graph backwards: Gateways and LoadBalancer Services, Karpenter's pools and any volume claims go
    first, while the controllers that delete their load balancers, instances and disks still run; then those
    controllers; then the node pools, the cluster and its network."""
    plan, needs = plan_stack(stack), closure(stack)
    for component in clusters_of(plan):
        for release, made in _cleaned_by(plan, component):
            for urn in made:
                # `urn` waits for the controller, so a destroy deletes it while the controller still runs.
                assert release in needs[urn], (short(urn), short(release))
        gateways = inside(plan, component, ["kubernetes:gateway.networking.k8s.io/v1:Gateway"])
        envoy = inside(plan, component, charts=["envoy-gateway"])
        for gateway in gateways:
            # Envoy Gateway deletes the proxies' Service when the Gateway goes: it must still be running.
            assert set(envoy) <= needs[gateway], short(gateway)
        pools = set(inside(plan, component, POOLS))
        for release, _ in _cleaned_by(plan, component):
            # The controllers run on the nodes: they go before them.
            assert not pools or needs[release] & pools, short(release)
        for claim in inside(plan, component, CLAIMS):
            drivers = [
                u
                for u in inside(plan, component, ["aws:eks/addon:Addon"])
                if next(r for r in plan.registrations if r.urn == u).plain["addonName"] == "aws-ebs-csi-driver"
            ]
            assert set(drivers) <= needs[claim], short(claim)
        clusters = set(inside(plan, component, CLUSTERS))
        networks = set(inside(plan, component, NETWORKS))
        for pool in pools:
            assert needs[pool] & clusters, short(pool)
        for cluster in clusters:
            assert not networks or needs[cluster] & networks, short(cluster)


def destroy_order(plan: Plan) -> list[Registration]:
    """One order `pulumi destroy` may take: each resource after everything that waits for it."""
    edges = prerequisites(plan)
    waiting: dict[str, set[str]] = {urn: set() for urn in edges}
    for urn, deps in edges.items():
        for dep in deps:
            waiting.setdefault(dep, set()).add(urn)
    by_urn = {r.urn: r for r in plan.registrations}
    left = {urn: len(w) for urn, w in waiting.items()}
    ready = sorted(u for u, n in left.items() if n == 0)
    order: list[Registration] = []
    while ready:
        urn = ready.pop(0)
        if urn in by_urn:
            order.append(by_urn[urn])
        for dep in sorted(edges.get(urn, ())):
            left[dep] -= 1
            if left[dep] == 0:
                ready.append(dep)
    return order


@pytest.mark.parametrize("stack", ["prod-aws", "hybrid"])
def test_a_destroy_order_deletes_load_balancers_and_instances_before_their_controllers(stack: str) -> None:
    plan = plan_stack(stack)
    order = destroy_order(plan)
    assert len(order) == len(plan.registrations), "the graph has a cycle"
    position = {r.urn: i for i, r in enumerate(order)}
    for component in clusters_of(plan):
        for release, made in _cleaned_by(plan, component):
            assert made
            assert all(position[u] < position[release] for u in made), short(release)
            for pool in inside(plan, component, POOLS):
                assert position[release] < position[pool]
        for pool in inside(plan, component, POOLS):
            for cluster in inside(plan, component, CLUSTERS):
                assert position[pool] < position[cluster]
                for network in inside(plan, component, NETWORKS):
                    assert position[cluster] < position[network]


# --------------------------------------------- names that outlive a destroy


def test_names_a_destroy_keeps_are_never_reused_by_the_next_deploy() -> None:
    """A purge-protected Key Vault stays soft-deleted for 90 days and a GCP KeyRing is never deleted, each under
    its name: the program names neither with a constant, so destroy then deploy does not collide."""
    for vault in plan_stack("prod-azure").resources("azure-native:keyvault:Vault"):
        name = vault.plain.get("vaultName")
        # Derived from the control-plane identity's principal id, which Entra ID issues anew on every create.
        assert name is None or "vaultName" in vault.property_dependencies, name
        assert vault.property_dependencies.get("vaultName"), vault.name
    for ring in plan_stack("prod-gcp").resources("gcp:kms/keyRing:KeyRing"):
        assert "name" not in ring.plain, ring.name
