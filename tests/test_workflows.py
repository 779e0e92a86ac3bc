"""The CI/CD workflows keep the properties the project relies on: fork-safe PRs, pinned actions, gated deploys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return doc


def steps(doc: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_actions_are_pinned_to_exact_versions(name: str) -> None:
    for step in steps(load(name)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", step["uses"]), step["uses"]


def test_pull_request_workflow_is_fork_safe() -> None:
    doc = load("pull-request.yml")
    assert set(doc[True]) == {"pull_request"}  # YAML reads the `on:` key as True
    assert doc["permissions"] == {"contents": "read"}
    for job_name in ("check", "preflight"):
        job = doc["jobs"][job_name]
        assert "permissions" not in job
        assert "secrets." not in yaml.safe_dump(job)
    preflight = " ".join(s.get("run", "") for s in doc["jobs"]["preflight"]["steps"])
    assert "python -m preflight" in preflight and "--no-policies" not in preflight
    preview = doc["jobs"]["preview"]
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    [action] = [s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert action["with"]["policyPacks"] == "policies" and action["with"]["comment-on-pr"] is True


def test_deploy_walks_dev_staging_prod_behind_environments() -> None:
    doc = load("deploy.yml")
    jobs = doc["jobs"]
    assert "dev" in jobs["staging"]["needs"] and "staging" in jobs["prod"]["needs"]
    assert [jobs[e]["with"]["stack"] for e in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    up = load("deploy-stack.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    runs = [s.get("run", "") for s in up["steps"]]
    assert any("python -m preflight" in r for r in runs)
    [action] = [s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policies"


def test_drift_is_scheduled_and_expects_no_changes() -> None:
    doc = load("drift.yml")
    assert "schedule" in doc[True]
    [action] = [s for s in steps(doc) if s.get("uses", "").startswith("pulumi/actions@")]
    assert action["with"]["command"] == "preview" and action["with"]["expect-no-changes"] is True
