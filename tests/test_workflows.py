"""The CI/CD workflows keep the properties the project relies on.

Fork-safe pull requests, actions pinned to commits, no template expansion inside
shell, short-lived credentials only, least permissions, and a deploy that walks
every stack CI can reach, grouped by the environment the stack declares.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.spec import parse
from components.targets import REGISTRY
from preflight import pipeline, stackconfig
from preflight.engine import PROJECT_DIR

GITHUB = PROJECT_DIR / ".github"
WORKFLOWS = GITHUB / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *GITHUB.glob("actions/*/action.yml")])


def load(name: str) -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return doc


def all_steps(doc: dict[Any, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def uses(step: dict[str, Any]) -> str:
    return str(step.get("uses", ""))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GITHUB)))
def test_actions_are_pinned_to_a_commit_with_its_version_beside_it(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        ref = line.split("uses:", 1)[1].strip()
        if ref.startswith("$/"):
            continue  # this repository, at the commit being run
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", ref), line


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_expression_is_expanded_inside_a_shell_script(path: Path) -> None:
    """Inputs reach `run:` through `env:`, so no value can become shell code."""
    for step in all_steps(yaml.safe_load(path.read_text())):
        assert "${{" not in step.get("run", ""), step


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_long_lived_credential_is_used(path: Path) -> None:
    text = path.read_text()
    assert "secrets: inherit" not in text
    assert "secrets." not in text, "credentials come by OIDC or ESC, never from stored secrets"
    for key in ("aws-access-key-id", "aws-secret-access-key", "credentials_json", "creds:", "PULUMI_ACCESS_TOKEN:"):
        assert key not in text, key


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_permissions_are_read_only_unless_a_job_asks(name: str) -> None:
    doc = load(name)
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        granted = job.get("permissions", {})
        assert set(granted) <= {"contents", "id-token", "pull-requests", "issues", "actions"}
        assert granted.get("contents", "read") == "read" and granted.get("actions", "read") == "read"


def test_pull_request_workflow_is_fork_safe() -> None:
    doc = load("pull-request.yml")
    assert set(doc[True]) == {"pull_request"}  # YAML reads the `on:` key as True
    for job_name in ("check", "stacks", "preflight"):
        job = doc["jobs"][job_name]
        assert "permissions" not in job and "environment" not in job
        assert "vars." not in yaml.safe_dump(job)
    preflight = " ".join(s.get("run", "") for s in doc["jobs"]["preflight"]["steps"])
    assert "python -m preflight" in preflight and "--no-policies" not in preflight
    preview = doc["jobs"]["preview"]
    assert preview["if"].startswith("github.event.pull_request.head.repo.full_name == github.repository")
    assert preview["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.reachable) }}"
    assert preview["runs-on"] == "${{ matrix.runner }}"
    [action] = [s for s in preview["steps"] if uses(s).startswith("pulumi/actions@")]
    assert action["with"]["command"] == "preview" and action["with"]["policyPacks"] == "policies"
    assert action["with"]["comment-on-pr"] is True


def test_deploy_walks_dev_staging_prod_behind_environments() -> None:
    jobs = load("deploy.yml")["jobs"]
    find = " ".join(s.get("run", "") for s in jobs["stacks"]["steps"])
    assert "python -m preflight.pipeline deploy" in find
    assert "dev" in jobs["staging"]["needs"] and "staging" in jobs["prod"]["needs"]
    for env in ("dev", "staging", "prod"):
        job = jobs[env]
        assert job["uses"] == "$/.github/workflows/deploy-stack.yml"
        assert job["strategy"]["matrix"]["include"] == f"${{{{ fromJSON(needs.stacks.outputs.{env}) }}}}"
        assert job["with"]["environment"] == "${{ matrix.environment }}"
        assert "secrets" not in job
    up = load("deploy-stack.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.environment }}" and up["runs-on"] == "${{ inputs.runner }}"
    steps = up["steps"]
    assert steps[0]["if"] == "${{ !inputs.reachable }}" and "exit 1" in steps[0]["run"]
    order = [uses(s).split("@")[0] or s.get("run", "") for s in steps]
    preflight = next(i for i, s in enumerate(order) if "python -m preflight" in s)
    login = order.index("$/.github/actions/cloud-login")
    up_step = order.index("pulumi/actions")
    assert preflight < login < up_step, "the offline checks gate any credential and the deploy"
    action = steps[up_step]["with"]
    assert action["command"] == "up" and action["policyPacks"] == "policies"
    assert action["policyPackConfigs"] == "policies/config/${{ inputs.environment }}.json"
    # pulumi/actions v7.0.0 selects the stack unless `upsert` (action.yml): a stack file's first merge creates it.
    assert action["upsert"] is True


def test_cloud_login_uses_each_clouds_official_oidc_action() -> None:
    doc = yaml.safe_load((GITHUB / "actions" / "cloud-login" / "action.yml").read_text())
    by_action = {uses(s).split("@")[0]: s for s in doc["runs"]["steps"]}
    assert by_action["pulumi/auth-actions"]["with"]["requested-token-type"].startswith("urn:pulumi:token-type:")
    assert "role-to-assume" in by_action["aws-actions/configure-aws-credentials"]["with"]
    assert "workload_identity_provider" in by_action["google-github-actions/auth"]["with"]
    assert set(by_action["azure/login"]["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert "environment" in by_action["pulumi/esc-action"]["with"]
    for cloud, action in (("aws", "aws-actions/configure-aws-credentials"), ("gcp", "google-github-actions/auth")):
        assert f"'{cloud}'" in by_action[action]["if"]


def test_drift_is_scheduled_and_expects_no_changes() -> None:
    doc = load("drift.yml")
    assert "schedule" in doc[True]
    [action] = [s for s in all_steps(doc) if uses(s).startswith("pulumi/actions@") and "with" in s]
    assert action["with"]["command"] == "preview" and action["with"]["expect-no-changes"] is True


def test_drift_says_which_properties_drifted_before_the_preview() -> None:
    steps = all_steps(load("drift.yml"))
    [classify] = [i for i, s in enumerate(steps) if "python -m preflight.drift" in s.get("run", "")]
    [preview] = [i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "preview"]
    assert classify < preview
    assert "pulumi refresh --preview-only --json" in steps[classify]["run"]
    # The classifier's exit status survives its pipe into tee: `shell: bash` runs `bash -eo pipefail`.
    assert "| tee" in steps[classify]["run"] and steps[classify]["shell"] == "bash"
    assert "drift.txt" in steps[-1]["run"]  # the issue carries the report


def test_every_stack_gets_an_offline_review_and_one_comment_runs_no_pull_request_code() -> None:
    jobs = load("pull-request.yml")["jobs"]
    review = jobs["review"]
    assert "permissions" not in review and "environment" not in review
    assert review["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    [checkout] = [s for s in review["steps"] if uses(s).startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be there to plan it
    script = " ".join(s.get("run", "") for s in review["steps"])
    assert '--against "${BASE_SHA}"' in script and "python -m preflight.review" in script
    comment = jobs["review-comment"]
    assert comment["if"].startswith("github.event.pull_request.head.repo.full_name == github.repository")
    assert comment["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "write"}
    assert not any(uses(s) for s in comment["steps"]), "no checkout: the job that can write runs no PR code"


# ------------------------------------------------------------- what CD deploys


def test_a_global_name_needs_the_login_of_its_zones_cloud_even_with_no_cluster_there() -> None:
    from tests.test_global_routing import stack

    config = stack()
    # dc1 issuing from its own CA: no DNS-01 key in AWS either.
    config["clusters"][0]["platform"]["certManager"] = {"issuer": "internal-ca"}
    spec = parse(config)
    on_prem_only = dataclasses.replace(spec, clusters=tuple(c for c in spec.clusters if c.target == "onprem"))
    assert pipeline.logins(on_prem_only) == ["aws", "esc"]  # Route 53 holds the global name's records
    no_global = dataclasses.replace(on_prem_only, workloads=())
    assert pipeline.logins(no_global) == ["esc"]
    with_key = dataclasses.replace(parse(stack()), workloads=())
    assert "aws" in pipeline.logins(dataclasses.replace(with_key, clusters=with_key.clusters[:1]))


def test_every_shipped_stack_is_grouped_by_its_own_environment() -> None:
    found = {j.stack: j for j in pipeline.jobs()}
    for name in stackconfig.stacks(PROJECT_DIR):
        config = stackconfig.load(PROJECT_DIR, name)
        clusters = config.values["orquestra:clusters"]
        local = any(c.get("target") == "existing" and "kubeconfigPath" in c for c in clusters)
        if local:
            assert name not in found, f"{name} adopts a workstation's kubeconfig; CI must never deploy it"
            continue
        job = found[name]
        assert job.environment == config.values.get("orquestra:environment", "dev")
        expected = {REGISTRY[c["target"]].credentials for c in clusters} - {None}
        assert set(job.clouds) == expected
    outputs = pipeline.outputs("deploy", list(found.values()))
    assert set(outputs) == {"dev", "staging", "prod"}
    for env, listed in outputs.items():
        assert all(j["environment"] == env for j in json.loads(listed))
    assert "dev" not in found and json.loads(outputs["dev"]) == []


def declared_runners(name: str) -> set[str]:
    """The runner labels a stack file's clusters declare, read from the file, not through the pipeline."""
    clusters = stackconfig.load(PROJECT_DIR, name).values["orquestra:clusters"]
    return {c["deployer"]["runner"] for c in clusters if "runner" in (c.get("deployer") or {})}


def test_each_stack_runs_on_the_runner_its_deployer_names() -> None:
    found = {j.stack: j for j in pipeline.jobs()}
    expected = {
        "staging-aws": pipeline.HOSTED_RUNNER,
        "prod-do": pipeline.HOSTED_RUNNER,
        "prod-aws": "deploy-aws-euw1",
        "prod-gcp": "deploy-gcp-euw1",
        "prod-azure": "deploy-azure-weu",
        "prod-oci": "deploy-oci-fra",
        "prod-tanzu": "dc1-vsphere",
        "onprem": "dc1-deployer",
        "hybrid": "dc1-deployer",
    }
    assert {s: j.runner for s, j in found.items()} == expected
    for name, job in found.items():
        assert declared_runners(name) <= {job.runner}
        # Every shipped stack CD deploys can be reached from its runner, private endpoints and sites included.
        assert job.reachable and job.why == "", name
    previewed = {j["stack"] for j in json.loads(pipeline.outputs("preview", list(found.values()))["stacks"])}
    assert previewed == set(expected)


def test_an_onprem_site_with_no_deployer_is_refused_with_its_reason(tmp_path: Path) -> None:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    onprem = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.onprem.yaml").read_text())
    del onprem["config"]["orquestra:clusters"][0]["deployer"]
    (tmp_path / "stacks" / "Pulumi.site.yaml").write_text(yaml.safe_dump(onprem))
    (job,) = pipeline.jobs(tmp_path)
    assert job.runner == pipeline.HOSTED_RUNNER and not job.reachable
    assert "SSH" in job.why and "deployer.runner" in job.why
    assert json.loads(pipeline.outputs("preview", [job])["stacks"]) == []


def test_a_private_stack_with_no_deployer_stops_the_pipeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    prod = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.prod-gcp.yaml").read_text())
    del prod["config"]["orquestra:clusters"][0]["deployer"]
    (tmp_path / "stacks" / "Pulumi.p.yaml").write_text(yaml.safe_dump(prod))
    assert pipeline.main(["deploy", "--project-dir", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("stacks/Pulumi.p.yaml: orquestra:clusters[0].deployer.hub: missing; allowed: a hub network")


def test_a_new_stack_file_is_deployed_without_editing_a_workflow(tmp_path: Path) -> None:
    for item in ("Pulumi.yaml", "stacks"):
        src = PROJECT_DIR / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    staging = yaml.safe_load((tmp_path / "stacks" / "Pulumi.staging-aws.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.qa-eu.yaml").write_text(yaml.safe_dump(staging))
    groups = pipeline.outputs("deploy", pipeline.jobs(tmp_path))
    assert "qa-eu" in {j["stack"] for j in json.loads(groups["staging"])}
    assert pipeline.main(["deploy", "--project-dir", str(tmp_path)]) == 0


def test_a_stack_ci_cannot_read_stops_the_pipeline_with_the_specs_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text("config:\n  orquestra:environment: qa\n")
    assert pipeline.main(["deploy", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "stacks/Pulumi.bad.yaml: orquestra:environment: 'qa'" in err
