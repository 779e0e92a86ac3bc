"""`python -m preflight <stack> --against <ref>`: the offline change review and its replacement table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight import engine, mirror, review
from preflight.replacements import TABLE, forcing
from tests.harness import plan_spec
from tests.test_target_aws import NODE_GROUP, cluster

EKS = "aws:eks/cluster:Cluster"


def _plan(**over: Any) -> dict[str, Any]:
    plan = plan_spec({"environment": "dev", "clusters": [cluster(**over)]}, stack="review")
    assert plan.ok, plan.errors
    return plan.to_json()


POOLS = [{"name": "general", "min": 1, "max": 3, "instanceTypes": ["m6i.large"]}]


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return _plan(kubernetesVersion="1.34", nodePools=POOLS)


def _by(changes: list[review.Change], type_: str) -> list[review.Change]:
    return [c for c in changes if c.type == type_]


def test_the_same_plan_twice_changes_nothing(base: dict[str, Any]) -> None:
    assert review.compare(base, _plan(kubernetesVersion="1.34", nodePools=POOLS)) == []


def test_an_instance_type_replaces_the_node_group_and_says_why(base: dict[str, Any]) -> None:
    other = [{**POOLS[0], "instanceTypes": ["m7i.large"]}]
    changes = review.compare(base, _plan(kubernetesVersion="1.34", nodePools=other))
    (group,) = _by(changes, NODE_GROUP)
    assert group.op == "replace" and group.flagged and group.stateful == "node pool"
    assert [p for p, _ in group.forced] == ["instanceTypes[0]"]
    assert group.values == (('"m6i.large"', '"m7i.large"'),)
    assert "node_group.go" in group.forced[0][1]


def test_a_minor_upgrade_updates_the_cluster_in_place(base: dict[str, Any]) -> None:
    changes = review.compare(base, _plan(kubernetesVersion="1.35", nodePools=POOLS))
    (eks,) = _by(changes, EKS)
    assert eks.op == "update" and eks.paths == ("version",) and not eks.flagged
    assert all(c.op != "replace" for c in changes), [c.line() for c in changes if c.op == "replace"]


def _doc(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(resources)}


def _res(type_: str, name: str, inputs: dict[str, Any], **options: Any) -> dict[str, Any]:
    urn = f"urn:pulumi:s::p::{type_}::{name}"
    return {"urn": urn, "type": type_, "name": name, "custom": True, "inputs": inputs, **options}


def test_ignored_properties_are_no_update() -> None:
    old = _doc(_res(NODE_GROUP, "pool", {"scalingConfig": {"desiredSize": 3}}))
    ignore = ["scalingConfig.desiredSize"]
    new = _doc(_res(NODE_GROUP, "pool", {"scalingConfig": {"desiredSize": 5}}, ignoreChanges=ignore))
    assert review.compare(old, new) == []


def test_creates_deletes_and_a_deleted_cluster_is_flagged() -> None:
    old = _doc(_res(EKS, "gone", {"name": "gone"}), _res("aws:iam/role:Role", "kept", {"name": "r"}))
    new = _doc(_res("aws:iam/role:Role", "kept", {"name": "r"}), _res("aws:iam/role:Role", "new", {"name": "n"}))
    changes = review.compare(old, new)
    assert [(c.op, c.name) for c in changes] == [("delete", "gone"), ("create", "new")]
    assert changes[0].flagged


def test_a_stack_new_at_the_base_creates_everything_and_components_are_not_counted() -> None:
    component = {**_res("orquestra:targets:AwsCluster", "c", {}), "custom": False}
    changes = review.compare(None, _doc(component, _res(EKS, "eks", {"name": "eks"})))
    assert [(c.op, c.name) for c in changes] == [("create", "eks")]


def test_replace_on_changes_counts_and_unknown_types_only_update() -> None:
    old = _doc(_res("x:y:Z", "a", {"k": 1, "j": 1}, replaceOnChanges=["k"]))
    new = _doc(_res("x:y:Z", "a", {"k": 2, "j": 2}, replaceOnChanges=["k"]))
    (change,) = review.compare(old, new)
    assert change.op == "replace" and change.forced == (("k", "the program's replaceOnChanges"),)
    assert not change.flagged  # not a type the table knows as stateful


def test_secrets_compare_redacted_and_paths_quote_odd_keys() -> None:
    old = _doc(_res("x:y:Z", "a", {"password": "[secret]", "labels": {"app.kubernetes.io/name": "a"}}))
    new = _doc(_res("x:y:Z", "a", {"password": "[secret]", "labels": {"app.kubernetes.io/name": "b"}}))
    (change,) = review.compare(old, new)
    assert change.paths == ('labels["app.kubernetes.io/name"]',)
    assert change.line().endswith('labels["app.kubernetes.io/name"] "a" => "b"')


def test_every_table_entry_names_its_source_and_types_the_targets_register() -> None:
    for type_, entry in TABLE.items():
        assert entry.source and entry.paths, type_
        assert forcing(type_, [entry.paths[0]]) == [(entry.paths[0], entry.source)]
    assert forcing(NODE_GROUP, ["scalingConfig.minSize", "labels.team"]) == []
    # A whole block that changes covers the forcing properties inside it.
    assert forcing("gcp:container/nodePool:NodePool", ["nodeConfig"])


def test_a_bad_ref_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = review.main("dev", "no-such-ref-anywhere", None, None, engine.PROJECT_DIR)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no-such-ref-anywhere" in err[0] and "allowed" in err[0]
    assert review.main("dev", "--upload-pack=x", None, None, engine.PROJECT_DIR) == 2


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True, capture_output=True
    )


def test_both_revisions_are_planned_by_their_own_code(tmp_path: Path) -> None:
    """A copy of this tree as a repository of one commit; the working copy changes the dev stack's workload."""
    archive = subprocess.run(["git", "-C", str(engine.PROJECT_DIR), "ls-files", "-z"], capture_output=True, check=True)
    for name in archive.stdout.decode().split("\0"):
        if name and (engine.PROJECT_DIR / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes((engine.PROJECT_DIR / name).read_bytes())
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    stack_file = tmp_path / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(stack_file.read_text())
    workload = config["config"]["orquestra:workloads"][0]
    workload["image"] = workload["image"].rsplit(":", 1)[0] + ":6.9.3"
    stack_file.write_text(yaml.safe_dump(config))

    out = tmp_path / "review.json"
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "dev", "--against", "HEAD", "--json", str(out)],
        cwd=tmp_path,
        env={**os.environ, mirror.MIRROR_ENV: str(mirror.mirror_dir())},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["counts"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    (change,) = document["changes"]
    assert change["type"] == "kubernetes:apps/v1:Deployment"
    assert change["paths"] == ["spec.template.spec.containers[0].image"]
    assert "6.9.3" in review.markdown(document)
