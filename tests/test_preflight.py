"""Offline plans: the program on the mock engine, the CLI, and secrets in what leaves it."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from preflight import answers, engine, stackconfig
from preflight.__main__ import main
from tests.harness import plan_spec, plan_stack
from tests.sdk import SITE, declared

ROOT = Path(__file__).resolve().parent.parent
STACKS = stackconfig.stacks(ROOT)
SECRET = "token: kubeconfig-s3cr3t-value"
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {{server: "https://10.1.2.3:6443"}}
contexts:
- name: lab
  context: {{cluster: lab, user: admin}}
current-context: lab
users:
- name: admin
  user: {{{SECRET}}}
"""


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_plans_cleanly(stack: str) -> None:
    plan = plan_stack(stack)
    assert plan.ok, plan.errors
    root = plan.one("pulumi:pulumi:Stack")
    assert root.name == f"orquestra-{stack}"
    config = stackconfig.load(ROOT, stack)
    clusters = config.values["orquestra:clusters"]
    for cluster in clusters:
        component = next(r for r in plan.registrations if r.name == cluster["name"] and r.parent == root.urn)
        assert component.type.startswith("orquestra:targets:")
        assert not component.custom
        provider = plan.one("pulumi:providers:kubernetes", f"{cluster['name']}-k8s")
        assert provider.parent == component.urn
        assert isinstance(provider.inputs["kubeconfig"], engine.Secret), (
            "the kubeconfig reaches the provider as a secret"
        )
    # Every resource is under a component, never loose at the stack root.
    for reg in plan.registrations:
        if reg.type != "pulumi:pulumi:Stack":
            assert reg.parent, reg.urn
            parent = plan.by_urn(reg.parent)
            assert parent.type == "pulumi:pulumi:Stack" or not parent.custom or reg.type.startswith("kubernetes:")
    outputs = plan.stack_outputs["clusters"]
    assert set(outputs) == {c["name"] for c in clusters}
    for out in outputs.values():
        assert isinstance(out["kubeconfig"], engine.Secret)


@pytest.mark.parametrize("stack", STACKS)
def test_json_plan_of_every_shipped_stack_holds_no_secret_value(stack: str) -> None:
    plan = plan_stack(stack)
    dumped = json.dumps(plan.to_json())
    secrets: list[str] = []
    for reg in plan.registrations:
        _collect_secrets(reg.inputs, secrets)
        _collect_secrets(reg.outputs, secrets)
    _collect_secrets(plan.stack_outputs, secrets)
    for value in secrets:
        assert value not in dumped
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    for ciphertext in _secure_values(raw):
        assert ciphertext not in dumped


def _secure_values(value: object) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [str(value["secure"])]
        return [s for v in value.values() for s in _secure_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in _secure_values(v)]
    return []


def _collect_secrets(value: object, into: list[str], inside: bool = False) -> None:
    if isinstance(value, engine.Secret):
        _collect_secrets(value.value, into, True)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_secrets(v, into, inside)
    elif isinstance(value, list):
        for v in value:
            _collect_secrets(v, into, inside)
    elif inside and isinstance(value, str) and len(value) >= 8:
        into.append(value)


def test_dev_stack_resources_parents_and_dependencies() -> None:
    plan = plan_stack("dev")
    cluster = plan.one("orquestra:targets:ExistingCluster", "local")
    provider = plan.one("pulumi:providers:kubernetes", "local-k8s")
    assert provider.parent == cluster.urn
    assert provider.plain["context"] == "kind-orquestra"
    assert provider.plain["enableServerSideApply"] == "true"
    # Kubernetes objects go through the cluster's own provider.
    k8s_objects = [r for r in plan.registrations if r.type.startswith("kubernetes:")]
    assert k8s_objects
    for obj in k8s_objects:
        assert obj.provider.startswith(provider.urn + "::"), obj.urn
        assert cluster.urn in (obj.parent, *(r.urn for r in _ancestors(plan, obj)))
    # A workload of the spec shows up in the plan.
    assert any("hello" in r.name for r in k8s_objects)


def _ancestors(plan: engine.Plan, reg: engine.Registration) -> list[engine.Registration]:
    out = []
    while reg.parent:
        reg = plan.by_urn(reg.parent)
        out.append(reg)
    return out


def test_plans_are_deterministic() -> None:
    first = plan_spec({"clusters": [_existing()]}, stack="determinism")
    second = plan_spec({"clusters": [_existing()]}, stack="determinism")
    assert [r.to_json() for r in first.registrations] == [r.to_json() for r in second.registrations]
    # Everything after its parent and its dependencies.
    position = {r.urn: i for i, r in enumerate(first.registrations)}
    for r in first.registrations:
        assert all(position[d] < position[r.urn] for d in (r.parent, *r.dependencies) if d in position)


def _existing(**over: object) -> dict[str, object]:
    return {"name": "lab", "target": "existing", "kubeconfig": KUBECONFIG, **over}


def test_inline_kubeconfig_is_secret_everywhere() -> None:
    plan = plan_spec({"clusters": [_existing()]})
    assert plan.ok, plan.errors
    provider = plan.one("pulumi:providers:kubernetes", "lab-k8s")
    assert isinstance(provider.inputs["kubeconfig"], engine.Secret)
    assert SECRET in provider.plain["kubeconfig"]
    dumped = json.dumps(plan.to_json())
    assert "s3cr3t" not in dumped
    assert "[secret]" in dumped
    assert plan.stack_outputs["clusters"]["lab"]["endpoint"] == "https://10.1.2.3:6443"


def test_kubeconfig_file_is_cut_down_to_the_stack_context(tmp_path: Path) -> None:
    from components.targets.existing import from_file

    other = KUBECONFIG.replace("lab", "prod").replace("admin", "root").replace(SECRET, "token: other-credential")
    doc = yaml.safe_load(KUBECONFIG)
    extra = yaml.safe_load(other)
    for key in ("clusters", "contexts", "users"):
        doc[key] += extra[key]
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    text, endpoint = from_file(str(path), "lab")
    kubeconfig = yaml.safe_load(text)
    assert [c["name"] for c in kubeconfig["contexts"]] == ["lab"]
    assert "other-credential" not in text
    assert endpoint == "https://10.1.2.3:6443"


def test_an_offline_plan_reads_no_kubeconfig_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    plan = plan_spec(
        {"clusters": [{"name": "lab", "target": "existing", "kubeconfigPath": str(path), "context": "lab"}]}
    )
    assert plan.ok, plan.errors
    kubeconfig = plan.one("pulumi:providers:kubernetes", "lab-k8s").inputs["kubeconfig"]
    assert isinstance(kubeconfig, engine.Secret) and kubeconfig.value is engine.UNKNOWN
    dumped = json.dumps(plan.to_json())
    assert "s3cr3t" not in dumped and str(tmp_path) not in dumped


def test_the_same_stack_plans_the_same_whatever_the_machine_holds(tmp_path: Path) -> None:
    """HOME and KUBECONFIG point at different kubeconfigs (or none): the plan does not change by a byte."""
    outputs = []
    for i, content in enumerate([KUBECONFIG.replace("lab", "kind-orquestra"), None]):
        home = tmp_path / f"home{i}"
        (home / ".kube").mkdir(parents=True)
        if content is not None:
            (home / ".kube" / "config").write_text(content)
        env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(home / ".kube" / "config")}
        result = subprocess.run(
            [sys.executable, "-m", "preflight", "dev", "--json", "-"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert "s3cr3t" not in result.stdout and str(home) not in result.stdout
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


def test_encrypted_config_becomes_an_unknown_secret() -> None:
    plan = plan_spec({"clusters": [_existing(kubeconfig={"secure": "v1:AAAABBBBCCCC"})]})
    assert plan.ok, plan.errors
    provider = plan.one("pulumi:providers:kubernetes", "lab-k8s")
    kubeconfig = provider.inputs["kubeconfig"]
    assert isinstance(kubeconfig, engine.Secret) and kubeconfig.value is engine.UNKNOWN
    assert "AAAABBBB" not in json.dumps(plan.to_json())


def test_a_renamed_cluster_aliases_every_resource_to_its_old_name() -> None:
    before = plan_spec({"clusters": [_existing()], "workloads": [_workload("lab")]}, stack="rename")
    after = plan_spec(
        {"clusters": [_existing(name="lab2", renamedFrom="lab")], "workloads": [_workload("lab2")]}, stack="rename"
    )
    assert after.ok, after.errors
    old_names = {r.name for r in before.registrations}
    for reg in after.registrations:
        if reg.type == "pulumi:pulumi:Stack":
            continue
        assert reg.name.startswith("lab2")
        # pulumi-kubernetes adds type aliases of its own (older API versions); the name alias is ours.
        names = [a["spec"]["name"] for a in reg.aliases if "name" in a["spec"]]
        assert names == ["lab" + reg.name[len("lab2") :]], reg.name
        assert names[0] in old_names


def _workload(cluster: str) -> dict[str, object]:
    return {"name": "web", "image": "ghcr.io/acme/web:1.0.0", "clusters": [cluster]}


def test_program_reports_spec_errors_as_lines_without_registering_anything() -> None:
    plan = plan_spec({"clusters": [_existing(name="Bad_Name")], "workloads": [{"name": "w", "image": "nginx"}]})
    assert not plan.ok
    assert (
        "orquestra:clusters[0].name: 'Bad_Name'; allowed: a string matching ^[a-z]([-a-z0-9]*[a-z0-9])?$" in plan.errors
    )
    assert any(e.startswith("orquestra:workloads[0].image: 'nginx'") for e in plan.errors)
    assert [r.type for r in plan.registrations] == ["pulumi:pulumi:Stack"]


def test_unavailable_target_fails_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.targets import REGISTRY

    gone = dataclasses.replace(REGISTRY["existing"], component="components.targets.nosuch:Nope")
    monkeypatch.setitem(REGISTRY, "existing", gone)  # type: ignore[arg-type]
    plan = plan_spec({"clusters": [_existing()]})
    assert len(plan.errors) == 2, plan.errors
    assert plan.errors[0].startswith("orquestra:clusters[0].target: 'existing'; allowed: a target available")
    assert "'existing' is not yet available" in plan.errors[0]
    assert [r.type for r in plan.registrations] == ["pulumi:pulumi:Stack"]


def test_missing_kubeconfig_file_fails_outside_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.spec import SpecError, load, parse

    config = {"clusters": [{"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig"}]}
    monkeypatch.delenv("ORQUESTRA_OFFLINE", raising=False)
    with pytest.raises(SpecError) as err:
        load(config)
    assert err.value.problems == [
        "orquestra:clusters[0].kubeconfigPath: '/nonexistent/kubeconfig'; "
        "allowed: the path of a kubeconfig file on this machine"
    ]
    assert parse(config).clusters[0].name == "lab", "reading the stack file needs no kubeconfig"
    monkeypatch.setenv("ORQUESTRA_OFFLINE", "1")
    assert load(config).clusters[0].name == "lab", "an offline plan needs none either"


# ------------------------------------------------------------------------------ CLI


def test_cli_prints_the_tree_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev"]) == 0
    out = capsys.readouterr().out
    assert "orquestra:targets:ExistingCluster  local" in out
    assert "pulumi:providers:kubernetes  local-k8s" in out
    assert "resources to create" in out


def test_cli_json_plan_is_complete_and_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.json"
    assert main(["dev", "--json", str(target)]) == 0
    doc = json.loads(target.read_text())
    types = {r["type"] for r in doc["resources"]}
    assert {"pulumi:pulumi:Stack", "orquestra:targets:ExistingCluster", "pulumi:providers:kubernetes"} <= types
    provider = next(r for r in doc["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    for key in ("parent", "dependencies", "provider", "protect", "ignoreChanges", "inputs"):
        assert key in provider
    assert doc["policies"]["config"] == "dev"
    assert not [v for v in doc["policies"]["violations"] if v["level"] == "mandatory"]


def test_cli_config_error_exits_2_with_one_line_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.broken.yaml").write_text(
        "config:\n  orquestra:environment: prod\n  orquestra:clusters:\n"
        "    - {name: lab, target: existing, kubeconfig: {secure: v1:abc}, kubernetesVersion: '1.12'}\n"
    )
    assert main(["broken", "--project-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "stacks/Pulumi.broken.yaml:4: orquestra:clusters[0].kubernetesVersion: '1.12'; allowed: one of "
        "1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36, 1.37 on existing"
    ]
    assert "Traceback" not in captured.err + captured.out


def test_cli_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuchstack"]) == 2
    err = capsys.readouterr().err
    assert "no stack 'nosuchstack'" in err and "dev" in err


def test_two_runs_of_a_stack_print_the_same_plan_byte_for_byte() -> None:
    def once() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "preflight", "hybrid", "--json", "-"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert once() == once()


def test_module_entry_point_runs_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "preflight", "dev", "--json", "-"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "dev"


@pytest.mark.skipif(SITE is None, reason="the provider SDKs are not installed for this interpreter")
def test_every_answer_in_the_table_is_for_a_real_sdk_token() -> None:
    """A misspelled type would silently get no computed outputs; a misspelled invoke would never be asked."""
    invokes, resources = answers.tokens()
    assert invokes and resources
    for token in [*invokes, *resources]:
        assert declared(token), f"{token} is declared by no installed SDK"
