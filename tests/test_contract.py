"""Every registered target, built from its smallest spec, keeps the cluster contract.

The contract (`components/cluster.py`): a secret kubeconfig, a Kubernetes provider
built from it, an endpoint, a cluster name and a version, and capabilities the
workloads layer can trust: what they say is what got registered. Each target's
test module gives its smallest valid cluster as `MINIMAL`; what is specific to one
cloud stays in that module.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.cluster import Capabilities, KubernetesCluster
from components.targets import REGISTRY, Target, sdk_modules
from preflight import estimates
from preflight.engine import Plan, Registration, Secret, reveal
from tests.harness import Built, build_spec

ROOT = Path(__file__).resolve().parent.parent
TARGETS = list(REGISTRY.values())
RELEASE = "kubernetes:helm.sh/v3:Release"


def minimal(target: Target) -> dict[str, Any]:
    module = importlib.import_module(target.tests.removesuffix(".py").replace("/", "."))
    cluster: dict[str, Any] = module.MINIMAL
    return cluster


@cache
def built(key: str) -> Built:
    result = build_spec({"clusters": [minimal(REGISTRY[key])]}, stack=f"contract-{key}")
    assert result.plan.ok, result.plan.errors
    return result


def ids(target: Target) -> str:
    return target.key


def parts(key: str) -> tuple[Plan, KubernetesCluster[Any], Registration, Capabilities]:
    result = built(key)
    (cluster,) = result.clusters.values()
    component = result.plan.one(f"orquestra:targets:{type(cluster).__name__}")
    return result.plan, cluster, component, cluster.capabilities()


def releases(plan: Plan) -> dict[str, Registration]:
    return {r.plain["name"]: r for r in plan.resources(RELEASE)}


def owns(target: Target, reg: Registration) -> bool:
    return reg.type.startswith(target.type_prefixes)


# ------------------------------------------------------------------- the component


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_the_component_is_the_registered_class_named_like_its_type_token(target: Target) -> None:
    _, cluster, component, _ = parts(target.key)
    assert type(cluster) is target.load()
    assert component.type == f"orquestra:targets:{target.component.split(':')[1]}"
    assert component.name == minimal(target)["name"]


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_it_publishes_a_secret_kubeconfig_an_endpoint_a_name_and_its_version(target: Target) -> None:
    plan, cluster, component, _ = parts(target.key)
    outputs = component.outputs
    assert isinstance(outputs["kubeconfig"], Secret), "the kubeconfig is a secret wherever it goes"
    assert outputs["endpoint"] and outputs["clusterName"]
    assert outputs["kubernetesVersion"] == cluster.spec.kubernetes_version
    exported = plan.stack_outputs["clusters"][cluster.spec.name]
    assert isinstance(exported["kubeconfig"], Secret) and exported["target"] == target.key


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_kubernetes_provider_is_built_from_that_kubeconfig(target: Target) -> None:
    plan, cluster, component, _ = parts(target.key)
    provider = plan.one("pulumi:providers:kubernetes", f"{cluster.spec.name}-k8s")
    assert provider.parent == component.urn
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    assert reveal(provider.inputs["kubeconfig"]) == reveal(component.outputs["kubeconfig"])
    # A target's own API groups live on its management cluster, not on the cluster it builds.
    in_cluster = [r for r in plan.resources() if r.type.startswith("kubernetes:") and not owns(target, r)]
    assert in_cluster and all(r.provider.startswith(provider.urn) for r in in_cluster)


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_every_resource_of_its_clouds_is_its_descendant(target: Target) -> None:
    plan, _, component, _ = parts(target.key)
    inside = {r.urn for r in plan.descendants(component)}
    mine = [r for r in plan.resources() if owns(target, r)]
    assert all(r.urn in inside for r in mine), [r.name for r in mine if r.urn not in inside]
    assert bool(mine) == bool(target.type_prefixes)


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_the_platform_waits_for_what_the_cluster_says_each_part_needs(target: Target) -> None:
    """Charts with pods wait for `nodes`, CRD charts for the API alone, the Gateway for all of `ready`."""
    plan, cluster, _, caps = parts(target.key)
    nodes = {plan.one(r.pulumi_resource_type, r.pulumi_resource_name).urn for r in cluster.nodes}
    ready = {plan.one(r.pulumi_resource_type, r.pulumi_resource_name).urn for r in cluster.ready}
    assert nodes <= ready
    provider = plan.one("pulumi:providers:kubernetes", cluster.provider.pulumi_resource_name)
    # The control plane may also be the first pool's only handle (Cluster API's topology); any other pool is not
    # the provider's to wait for.
    control_plane = getattr(cluster, "cluster", None)
    api = {d for ds in provider.property_dependencies.values() for d in ds}
    if control_plane is not None:
        api.add(plan.one(control_plane.pulumi_resource_type, control_plane.pulumi_resource_name).urn)
    assert not set(provider.dependencies) & (nodes - api)
    platform = releases(plan)
    assert {"envoy-gateway", "cert-manager", "metrics-server"} - set(caps.managed_services) <= set(platform)
    for release in platform.values():
        if release.parent.endswith(f"::{cluster.spec.name}-platform"):
            if release.plain["chart"].endswith(("crds-helm", "-crd")):
                assert not nodes & set(release.dependencies), release.name
            else:
                assert nodes <= set(release.dependencies), release.name
    gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert ready <= set(gateway.dependencies)


# ---------------------------------------------------------------- its capabilities


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_pod_identity_is_one_the_registry_says_it_offers(target: Target) -> None:
    _, _, _, caps = parts(target.key)
    assert caps.pod_identity in target.pod_identity


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_load_balancer_is_what_got_registered(target: Target) -> None:
    plan, _, _, caps = parts(target.key)
    pools = plan.resources("kubernetes:metallb.io/v1beta1:IPAddressPool")
    service = plan.one("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy").plain["spec"]["provider"]["kubernetes"][
        "envoyService"
    ]
    if caps.load_balancer == "metallb":
        (pool,) = pools
        assert caps.metallb_pool and pool.plain["spec"]["addresses"] == list(caps.metallb_pool)
        assert "metallb" in releases(plan)
    else:
        assert pools == [] and "metallb" not in releases(plan)
    if caps.load_balancer == "none":
        assert service == {"type": "NodePort"}
    else:
        assert service["type"] == "LoadBalancer"
        expected = {k: v for k, v in caps.lb_annotations_internal.items()}
        assert expected.items() <= service["annotations"].items(), "the gateway is internal unless opted in"


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_node_autoscaler_is_what_got_registered(target: Target) -> None:
    plan, _, _, caps = parts(target.key)
    charts = releases(plan)
    assert ("karpenter" in charts) == (caps.node_autoscaler == "karpenter")
    wants_chart = caps.node_autoscaler == "cluster-autoscaler" and not caps.node_autoscaler_installed
    assert ("cluster-autoscaler" in charts) == wants_chart
    if caps.node_autoscaler == "karpenter":
        assert plan.resources("kubernetes:karpenter.sh/v1:NodePool"), "workload pools are Karpenter NodePools"
    if caps.node_autoscaler in ("cloud", "karpenter", "cluster-autoscaler"):
        assert caps.node_autoscaler_installed or wants_chart


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_storage_and_metrics_are_what_got_registered(target: Target) -> None:
    plan, _, _, caps = parts(target.key)
    assert caps.default_storage_class
    defaults = [
        r.plain["metadata"]["name"]
        for r in plan.resources("kubernetes:storage.k8s.io/v1:StorageClass")
        if r.plain["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert defaults in ([], [caps.default_storage_class]), "a class the target makes default is the one it names"
    if "metrics-server" in caps.managed_services:
        assert "metrics-server" not in releases(plan), "the cloud runs its own; a second one would collide"
    else:
        assert releases(plan)["metrics-server"].plain["values"]["args"] == list(caps.metrics_server_args)


# ----------------------------------------------------- its estimates and answers


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_every_type_it_registers_has_a_price_and_a_create_time_in_its_own_module(target: Target) -> None:
    plan, _, _, _ = parts(target.key)
    est = estimates.estimate(plan)
    assert est.not_timed == {}
    assert set(est.not_priced) <= estimates.ON_PREM
    if target.estimates:
        module = importlib.import_module(target.estimates)
        known = {*module.COSTS, *module.FREE, *getattr(module, "ON_PREM", ())}
        types = {r.type for r in plan.resources() if r.custom and owns(target, r)}
        assert types - known == set(), "priced (or free) in the target's own estimates module"
        assert types - set(module.CREATE_SECONDS) == set(), "timed in the target's own estimates module"


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_every_invoke_it_makes_is_answered_by_its_own_answers_module(target: Target) -> None:
    plan, _, _, _ = parts(target.key)
    tokens = {token for token, _ in plan.invokes}
    assert bool(tokens) <= bool(target.answers)
    if target.answers:
        assert tokens <= set(importlib.import_module(target.answers).INVOKES)


# ------------------------------------------------------------ in a fresh process

PROBE = """
import json, sys
from preflight import engine, stackconfig
plan = engine.run(stackconfig.from_values({"clusters": [json.loads(sys.argv[1])]}))
assert plan.ok, plan.errors
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_building_it_loads_its_own_sdks_and_no_other_targets(target: Target) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(minimal(target))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1])) & sdk_modules()
    own = set(target.sdks.values())
    assert loaded <= own, sorted(loaded - own)
    assert bool(loaded) == bool(own), "the probe really built the cluster"
