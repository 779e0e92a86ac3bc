"""The pack served over gRPC exactly as the engine runs it, fed with preflight plans."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from preflight import policy
from preflight.__main__ import main
from preflight.engine import UNKNOWN, Plan, Registration, Secret
from preflight.stackconfig import StackConfig

PROJECT = "orquestra"


def reg(type_: str, name: str, inputs: dict[str, Any], **kw: Any) -> Registration:
    return Registration(
        urn=f"urn:pulumi:t::{PROJECT}::{type_}::{name}",
        type=type_,
        name=name,
        parent=kw.get("parent", ""),
        custom=kw.get("custom", True),
        provider=kw.get("provider", ""),
        dependencies=kw.get("dependencies", []),
        protect=kw.get("protect", False),
        inputs=inputs,
    )


def planted() -> Plan:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                # A secret input must reach the rules decoded, not as its signature.
                "spec": {"containers": [{"name": "web", "image": Secret("registry.example.com/web:latest")}]},
            },
        },
    }
    return Plan(
        stack="t",
        registrations=[
            reg("pulumi:pulumi:Stack", f"{PROJECT}-t", {}, custom=False),
            reg(
                "aws:eks/cluster:Cluster",
                "open",
                {"version": "1.35", "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
            ),
            reg(
                "aws:eks/cluster:Cluster",
                "pending",
                {"version": "1.35", "vpcConfig": {"endpointPublicAccess": UNKNOWN}},
            ),
            reg("kubernetes:apps/v1:Deployment", "web", deployment),
        ],
        stack_outputs={},
        invokes=[],
        errors=[],
        warnings=[],
    )


def config(env: str) -> StackConfig:
    return StackConfig(project=PROJECT, stack="t", values={f"{PROJECT}:environment": env}, secret_keys=[])


@pytest.fixture(scope="module")
def prod() -> policy.PolicyResult:
    return policy.analyze(planted(), config("prod"), policy.load_pack_config("prod"))


def found(result: policy.PolicyResult, name: str, resource: str) -> list[policy.Violation]:
    return [v for v in result.violations if v.policy == name and v.resource.endswith(resource)]


def test_planted_world_open_api_is_a_mandatory_violation(prod: policy.PolicyResult) -> None:
    [v] = found(prod, "eks-api-not-world-open", "aws:eks/cluster:Cluster open")
    assert v.level == "mandatory"
    assert "0.0.0.0/0" in v.message
    assert v.urn.endswith("::open")


def test_unknown_during_preview_is_advisory_and_named(prod: policy.PolicyResult) -> None:
    pending = found(prod, "eks-private-endpoint", "aws:eks/cluster:Cluster pending")
    assert [v.level for v in pending] == ["advisory"]
    assert "cannot be checked during preview: vpcConfig.endpointPublicAccess is unknown" in pending[0].message


def test_secret_inputs_arrive_decoded(prod: policy.PolicyResult) -> None:
    [v] = found(prod, "k8s-pinned-images", "Deployment web")
    assert v.level == "mandatory" and "registry.example.com/web:latest" in v.message


def test_stack_rules_run_through_analyze_stack(prod: policy.PolicyResult) -> None:
    [v] = found(prod, "k8s-pod-disruption-budget", "Deployment web")
    assert v.level == "mandatory"


def test_config_reconciles_like_the_cli(prod: policy.PolicyResult) -> None:
    assert prod.config["eks-supported-version"]["properties"]["supportedVersions"] == ["1.34", "1.35", "1.36"]
    assert prod.config["eks-private-endpoint"] == {
        "enforcementLevel": "mandatory",
        "properties": {"environment": "prod"},
    }


def test_dev_config_makes_lockdown_advisory() -> None:
    dev = policy.analyze(planted(), config("dev"), policy.load_pack_config("dev"))
    assert {v.level for v in found(dev, "eks-private-endpoint", "open")} == {"advisory"}
    assert not found(dev, "eks-deletion-protection", "open")  # prod-only expectation
    assert {v.level for v in found(dev, "eks-api-not-world-open", "open")} == {"mandatory"}


def test_all_and_unknown_policy_names_in_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "cfg.json"
    path.write_text('{"all": "disabled", "eks-api-not-world-open": "advisory"}')
    result = policy.analyze(planted(), config("prod"), policy.load_pack_config(str(path)))
    assert {v.policy for v in result.violations} == {"eks-api-not-world-open"}
    assert {v.level for v in result.violations} == {"advisory"}
    path.write_text('{"no-such-rule": "mandatory"}')
    with pytest.raises(policy.PolicyError, match="'no-such-rule' is not a policy"):
        policy.analyze(planted(), config("prod"), policy.load_pack_config(str(path)))


def _project(tmp_path: Path, env: str) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(
        textwrap.dedent(
            f"""\
            config:
              {PROJECT}:environment: {env}
              {PROJECT}:clusters:
                - name: local
                  target: existing
                  kubeconfigPath: ~/.kube/config
            """
        )
    )
    (tmp_path / "__main__.py").write_text(
        textwrap.dedent(
            """\
            import pulumi_kubernetes as k8s

            k8s.core.v1.Service(
                "gateway",
                metadata={"name": "gateway", "namespace": "gateway"},
                spec={"type": "LoadBalancer", "ports": [{"port": 443}], "selector": {"app": "gateway"}},
            )
            """
        )
    )
    return tmp_path


def test_preflight_exits_3_on_a_mandatory_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, "dev")
    assert main(["bad", "--project-dir", str(project)]) == 3
    out = capsys.readouterr().out
    assert "[mandatory] k8s-public-load-balancer-opt-in kubernetes:core/v1:Service gateway" in out
    assert main(["bad", "--project-dir", str(project), "--no-policies"]) == 0
    assert main(["bad", "--project-dir", str(project), "--policy-config", "prod"]) == 3


def test_preflight_reports_a_bad_policy_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, "dev")
    assert main(["bad", "--project-dir", str(project), "--policy-config", "qa"]) == 2
    assert "neither an environment" in capsys.readouterr().err


def test_a_well_formed_workload_passes_every_rule_over_grpc() -> None:
    """Numbers arrive as doubles and strings stay strings: no rule may trip on the wire format itself."""
    from policies.rules.kubernetes import GOOD_CONTAINER
    from policies.rules.kubernetes import GOOD_PDB as PDB_OBJ
    from policies.rules.kubernetes import good_deployment as deployment
    from policies.rules.kubernetes import good_service as service

    # A numeric runAsUser alone proves non-root; over the wire it is a double.
    security = {k: v for k, v in GOOD_CONTAINER["securityContext"].items() if k != "runAsNonRoot"}  # type: ignore[attr-defined]
    web = deployment(
        {"ports": [{"containerPort": 9898, "name": "http"}], "securityContext": {**security, "runAsUser": 10001}}
    )
    web["spec"]["template"]["spec"]["automountServiceAccountToken"] = False
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", **PDB_OBJ}
    pdb["spec"] = {**pdb["spec"], "minAvailable": 1}
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hello", "namespace": "hello"},
        "spec": {
            "minReplicas": 3,
            "maxReplicas": 12,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"},
        },
    }
    lb = service({"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"})
    plan = Plan(
        stack="t",
        registrations=[
            reg("pulumi:pulumi:Stack", f"{PROJECT}-t", {}, custom=False),
            reg("kubernetes:apps/v1:Deployment", "hello", web),
            reg("kubernetes:policy/v1:PodDisruptionBudget", "hello", pdb),
            reg("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hello", hpa),
            reg("kubernetes:core/v1:Service", "gateway", lb),
        ],
        stack_outputs={},
        invokes=[],
        errors=[],
        warnings=[],
    )
    result = policy.analyze(plan, config("prod"), policy.load_pack_config("prod"))
    assert [v.line() for v in result.violations] == []


def test_schema_version_comes_from_a_stack_whose_clusters_key_holds_a_secret() -> None:
    """A `secure:` kubeconfig makes the whole clusters key secret; its versions must still reach the pack."""
    from preflight import stackconfig

    flow = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "x"},
        "spec": {"priorityLevelConfiguration": {"name": "global-default"}},
    }
    clusters = [{"name": "old", "target": "existing", "kubeconfig": {"secure": "v1:abc"}, "kubernetesVersion": "1.31"}]
    cfg = stackconfig.from_values({"clusters": clusters}, stack="t")
    assert "orquestra:clusters" in cfg.secret_keys
    provider = reg("pulumi:providers:kubernetes", "old-k8s", {"kubeconfig": Secret(UNKNOWN)})
    fs = reg("kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", "x", flow, provider=f"{provider.urn}::id")
    plan = Plan("t", [provider, fs], {}, [], [], [])
    result = policy.analyze(plan, cfg, policy.load_pack_config("dev"))
    assert [v.line() for v in result.violations if v.policy == "k8s-schema-valid"] == []


@pytest.mark.parametrize(("env", "level"), [("dev", "ADVISORY"), ("prod", "MANDATORY")])
def test_without_pack_config_levels_follow_the_stack_environment(env: str, level: str) -> None:
    """`pulumi preview --policy-pack policies` with no config: the pack reads orquestra:environment itself."""
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    with policy.serve(config(env)) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel) for p in info.policies}
    assert levels["eks-private-endpoint"] == level
    assert levels["k8s-no-host-path"] == "MANDATORY"
    assert info.supportsConfig


def test_chart_findings_are_advisory_unless_the_programs_values_can_fix_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.workloads import platform
    from tests.conftest import plan_spec

    real = platform.cert_manager_values
    monkeypatch.setattr(
        platform, "cert_manager_values", lambda env: {k: v for k, v in real(env).items() if k != "startupapicheck"}
    )
    cluster = {"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig"}
    plan = plan_spec({"environment": "prod", "clusters": [cluster], "workloads": []}, stack="chart-findings")
    result = policy.analyze(plan, config("prod"), policy.load_pack_config("prod"))
    in_charts = [v for v in result.violations if v.resource.startswith("release ")]
    job = "release lab-cert-manager: Job/cert-manager/cert-manager-startupapicheck"
    fixable = [v for v in in_charts if v.resource == job and v.policy == "k8s-resource-limits"]
    assert [
        (v.level, v.message.endswith("(in the chart's objects; values.startupapicheck.resources can fix it)"))
        for v in fixable
    ] == [("mandatory", True)]
    probes = [v for v in in_charts if v.policy == "k8s-probes"]
    assert probes and {v.level for v in probes} == {"advisory"}, "no values key of cert-manager adds those probes"
    assert all(v.message.endswith("(in the chart's objects)") for v in probes)
