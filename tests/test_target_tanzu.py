"""`target: tanzu`: a workload cluster the Supervisor builds from a Cluster API `Cluster`, and what it offers."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.targets.tanzu import kubeconfig, topology
from preflight import admission, reference, render, validate
from preflight.answers import tanzu as answers
from preflight.engine import UNKNOWN, Plan, Registration, Secret, reveal
from tests.harness import plan_spec
from tests.rejecting import fields, plan_of, reg

CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"
SUPERVISOR: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "supervisor", "cluster": {"server": "https://10.220.0.2:6443"}}],
    "contexts": [{"name": "team-a", "context": {"cluster": "supervisor", "user": "deployer", "namespace": "team-a"}}],
    "users": [{"name": "deployer", "user": {"token": "supervisor-deployer-token"}}],
    "current-context": "team-a",
}

MINIMAL: dict[str, Any] = {
    "name": "tkc",
    "target": "tanzu",
    "namespace": "team-a",
    "storageClass": "vsan-default-storage-policy",
    "managementKubeconfig": yaml.safe_dump(SUPERVISOR),
}
"""The smallest valid Tanzu cluster: what the contract test builds (tests/test_contract.py)."""


def plan_of_spec(env: str = "dev", **over: Any) -> Plan:
    plan = plan_spec({"environment": env, "clusters": [{**MINIMAL, **over}]})
    assert plan.ok, plan.errors
    return plan


def errors_of(env: str = "dev", **over: Any) -> list[str]:
    plan = plan_spec({"environment": env, "clusters": [{**MINIMAL, **over}]})
    assert not plan.ok
    return plan.errors


def cluster_spec(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.one(CLUSTER).plain["spec"]
    return spec


def deployments(plan: Plan) -> dict[str, dict[str, Any]]:
    return {md["name"]: md for md in cluster_spec(plan)["topology"]["workers"]["machineDeployments"]}


def overrides(md: dict[str, Any]) -> dict[str, Any]:
    return {v["name"]: v["value"] for v in md["variables"]["overrides"]}


# ------------------------------------------------------------------ the Cluster on the Supervisor


def test_the_cluster_is_applied_to_the_vsphere_namespace_through_the_supervisor_kubeconfig() -> None:
    plan = plan_of_spec()
    cluster = plan.one(CLUSTER, "tkc-cluster")
    supervisor = plan.one("pulumi:providers:kubernetes", "tkc-supervisor")
    assert cluster.provider.startswith(supervisor.urn)
    assert cluster.plain["metadata"]["name"] == "tkc" and cluster.plain["metadata"]["namespace"] == "team-a"
    assert isinstance(supervisor.inputs["kubeconfig"], Secret)
    assert supervisor.plain["namespace"] == "team-a"
    assert cluster.plain["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"


def test_the_release_is_the_pinned_vkr_of_the_minor_and_the_class_is_tanzus() -> None:
    topo = cluster_spec(plan_of_spec())["topology"]
    assert topo["class"] == "tanzukubernetescluster"
    assert topo["version"] == "v1.33.6+vmware.1-fips-vkr.2"
    variables = {v["name"]: v["value"] for v in topo["variables"]}
    assert variables["storageClass"] == variables["defaultStorageClass"] == "vsan-default-storage-policy"
    assert variables["vmClass"] == "best-effort-medium"


@pytest.mark.parametrize(("env", "replicas"), [("dev", 1), ("staging", 3), ("prod", 3)])
def test_control_plane_replicas_follow_the_environment(env: str, replicas: int) -> None:
    plan = plan_of_spec(env)
    assert cluster_spec(plan)["topology"]["controlPlane"]["replicas"] == replicas


def test_a_prod_cluster_is_protected() -> None:
    assert plan_of_spec("prod").one(CLUSTER).protect


POOLS = [
    {
        "name": "gpu",
        "instanceTypes": ["vgpu-a100"],
        "zones": ["zone-b"],
        "min": 1,
        "max": 4,
        "labels": {"example.com/gpu": "a100"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    },
    {"name": "fixed", "min": 2, "max": 2},
]


def test_each_pool_is_a_machine_deployment_with_its_vm_class_zone_labels_and_taints() -> None:
    mds = deployments(plan_of_spec(nodePools=POOLS))
    gpu = mds["gpu"]
    assert gpu["class"] == topology.WORKER_CLASS and gpu["failureDomain"] == "zone-b"
    values = overrides(gpu)
    assert values["vmClass"] == "vgpu-a100"
    assert {"key": "example.com/gpu", "value": "a100"} in values["nodePoolLabels"]
    assert {"key": "orquestra.io/pool", "value": "gpu"} in values["nodePoolLabels"]
    assert values["nodePoolTaints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert overrides(mds["fixed"])["vmClass"] == "best-effort-small", "the environment's VM class"
    assert "failureDomain" not in mds["fixed"] and "nodePoolTaints" not in overrides(mds["fixed"])


def test_the_autoscaler_owns_the_size_of_a_pool_whose_min_and_max_differ() -> None:
    mds = deployments(plan_of_spec(nodePools=POOLS))
    assert "replicas" not in mds["gpu"], "an unset topology count is never written over the autoscaler's"
    assert mds["gpu"]["metadata"]["annotations"] == {topology.MIN_SIZE: "1", topology.MAX_SIZE: "4"}
    assert mds["fixed"]["replicas"] == 2 and "metadata" not in mds["fixed"]


def test_without_the_platform_autoscaler_every_pool_has_its_min() -> None:
    plan = plan_of_spec(nodePools=POOLS, platform={"nodeAutoscaler": False})
    assert {name: md.get("replicas") for name, md in deployments(plan).items()} == {"gpu": 1, "fixed": 2}
    assert not [r for r in plan.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "cluster-autoscaler"]
    assert not plan.resources("kubernetes:core/v1:Secret")


# ------------------------------------------------------------------ the kubeconfig and the contract


def test_the_workload_kubeconfig_is_cluster_apis_secret_and_stays_secret() -> None:
    plan = plan_of_spec()
    component = plan.one("orquestra:targets:TanzuCluster")
    assert isinstance(component.outputs["kubeconfig"], Secret)
    doc = yaml.safe_load(reveal(component.outputs["kubeconfig"]))
    assert doc["users"][0]["name"] == "tkc-admin", "the admin user Cluster API writes"
    server = f"https://{answers.endpoint('team-a', 'tkc')}:6443"
    assert component.outputs["endpoint"] == server and doc["clusters"][0]["cluster"]["server"] == server
    provider = plan.one("pulumi:providers:kubernetes", "tkc-k8s")
    assert reveal(provider.inputs["kubeconfig"]) == reveal(component.outputs["kubeconfig"])
    cluster = plan.one(CLUSTER)
    assert cluster.urn in provider.dependencies, "connected only once the Cluster is Ready"


def test_a_kubeconfig_secret_is_decoded_from_its_value_key() -> None:
    text = "apiVersion: v1\nkind: Config\n"
    assert kubeconfig.from_secret({"value": base64.b64encode(text.encode()).decode()}) == text
    assert kubeconfig.from_secret(None) == "" and kubeconfig.server("not: [yaml") == ""


def test_the_autoscaler_runs_on_cluster_api_and_scales_only_this_cluster() -> None:
    plan = plan_of_spec()
    (cluster,) = [c for c in render.clusters(plan) if c.name == "tkc"]
    (release,) = [r for r in cluster.releases if r.name == "cluster-autoscaler"]
    (deployment,) = [o for o in release.installed if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert "--cloud-provider=clusterapi" in command
    assert "--node-group-auto-discovery=clusterapi:clusterName=tkc,namespace=team-a" in command
    assert "--cloud-config=/etc/kubernetes/mgmt-kubeconfig" in command
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["cluster-api-kubeconfig"]["secret"]["secretName"] == "cluster-autoscaler-management-kubeconfig"
    secret = plan.one("kubernetes:core/v1:Secret")
    assert secret.plain["metadata"] == {"name": "cluster-autoscaler-management-kubeconfig", "namespace": "kube-system"}
    assert isinstance(secret.inputs["stringData"], Secret)
    assert reveal(secret.inputs["stringData"]) == {"mgmt-kubeconfig": MINIMAL["managementKubeconfig"]}


def test_the_autoscaler_secret_unknown_offline_is_left_out_not_sent_empty() -> None:
    """Offline, a stack secret is unknown: the Secret's `stringData` cannot be validated, and "" is no map."""
    inputs = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": Secret(UNKNOWN)}
    assert render.manifest(reg("kubernetes:core/v1:Secret", "s", inputs)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
    }


def test_metallb_hands_out_the_specs_pool_instead_of_the_supervisor() -> None:
    plan = plan_of_spec(loadBalancer="metallb", loadBalancerPool=["10.20.30.200-10.20.30.250"])
    (pool,) = plan.resources("kubernetes:metallb.io/v1beta1:IPAddressPool")
    assert pool.plain["spec"]["addresses"] == ["10.20.30.200-10.20.30.250"]


# ------------------------------------------------------------------ the spec


@pytest.mark.parametrize(
    ("over", "path"),
    [
        ({"controlPlaneReplicas": 2}, "controlPlaneReplicas"),
        ({"nodePools": [{"name": "a", "instanceTypes": ["x-small", "x-large"]}]}, "nodePools[0].instanceTypes"),
        ({"nodePools": [{"name": "a", "zones": ["zone-a", "zone-b"]}]}, "nodePools[0].zones"),
        ({"nodePools": [{"name": "a", "spot": True}]}, "nodePools[0].spot"),
        ({"podCidr": "10.96.0.0/16"}, "serviceCidr"),
        ({"loadBalancer": "metallb"}, "loadBalancerPool"),
        ({"loadBalancerPool": ["10.0.0.1-10.0.0.9"]}, "loadBalancerPool"),
        ({"kubernetesVersion": "1.29"}, "kubernetesVersion"),
        ({"namespace": "Team_A"}, "namespace"),
    ],
)
def test_a_bad_spec_is_one_line_naming_its_key(over: dict[str, Any], path: str) -> None:
    errors = errors_of(**over)
    assert any(e.startswith(f"orquestra:clusters[0].{path}") for e in errors), errors


def test_a_single_control_plane_vm_in_prod_is_a_risk_to_accept_by_name() -> None:
    errors = errors_of("prod", controlPlaneReplicas=1)
    assert any("controlPlaneReplicas" in e and "single-server" in e for e in errors), errors


def test_the_management_kubeconfig_is_never_shown() -> None:
    plan = plan_of_spec()
    assert "supervisor-deployer-token" not in str([r.to_json() for r in plan.registrations])


# ------------------------------------------------------------------ what the Supervisor would refuse


def _cluster(**topo: Any) -> Registration:
    base: dict[str, Any] = {
        "class": "tanzukubernetescluster",
        "version": "v1.33.6+vmware.1-fips-vkr.2",
        "controlPlane": {"replicas": 3.0},
        "workers": {"machineDeployments": [{"class": "node-pool", "name": "a"}]},
    }
    return reg(CLUSTER, "c", {"metadata": {"name": "c", "namespace": "ns"}, "spec": {"topology": {**base, **topo}}})


def test_the_shipped_cluster_passes_the_structural_rules() -> None:
    assert fields(plan_of(_cluster())) == set()


@pytest.mark.parametrize(
    ("topo", "field"),
    [
        ({"version": "1.33"}, "spec.topology.version"),
        ({"controlPlane": {"replicas": 2.0}}, "spec.topology.controlPlane.replicas"),
        ({"controlPlane": {"replicas": -1.0}}, "spec.topology.controlPlane.replicas"),
        ({"class": ""}, "spec.topology.class"),
        (
            {"workers": {"machineDeployments": [{"class": "node-pool", "name": "a"}] * 2}},
            "spec.topology.workers.machineDeployments[1].name",
        ),
        (
            {"workers": {"machineDeployments": [{"class": "node-pool", "name": "a", "failureDomain": ""}]}},
            "spec.topology.workers.machineDeployments[0].failureDomain",
        ),
    ],
)
def test_what_cluster_api_refuses_is_rejected_with_its_source(topo: dict[str, Any], field: str) -> None:
    assert ("c", field) in fields(plan_of(_cluster(**topo)))


def test_without_the_crd_the_cluster_is_reported_unvalidated_not_passed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(reference.REFERENCE_ENV, str(tmp_path))
    review = admission._review(plan_of_spec())
    assert review.rejections == []
    (line,) = [f.line() for f in review.unvalidated]
    assert "tkc-cluster" in line and "cluster.x-k8s.io_clusters.yaml" in line and reference.CRDS[0].blob in line


def _reference_crd() -> dict[str, Any]:
    found = {ref.file: doc for ref, doc in reference.available()}
    if reference.CRDS[0].file not in found:
        pytest.skip(f"{reference.reference_dir() / reference.CRDS[0].file} is absent: add {reference.CRDS[0].source}")
    return dict(found[reference.CRDS[0].file])


def test_the_cluster_validates_against_cluster_apis_crd_and_a_bad_one_does_not() -> None:
    crd = validate.crds_of([("reference", _reference_crd())])[("cluster.x-k8s.io", "v1beta1", "Cluster")]
    obj = render.manifest(plan_of_spec(nodePools=POOLS).one(CLUSTER))
    assert validate.custom(obj, crd)[0] == []
    bad = {**obj, "spec": {**obj["spec"], "topology": {**obj["spec"]["topology"], "controlPlane": {"count": 3}}}}
    assert validate.custom(bad, crd)[0], "an unknown field of the topology is refused"
