"""The nightly drift report: what drifted, and what the program ignores on purpose (components/ignores.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.ignores import IGNORED, ignored, reason
from preflight import drift
from preflight.engine import Plan
from tests.harness import plan_spec
from tests.test_target_aws import EKS, NODE_GROUP, cluster

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(scope="module")
def plan() -> Plan:
    # cluster-autoscaler sizes the node groups; under Karpenter the program keeps their count at `min`.
    found = plan_spec({"environment": "dev", "clusters": [cluster(nodeAutoscaler="cluster-autoscaler")]}, stack="drift")
    assert found.ok, found.errors
    return found


def _state(reg: Any, **outputs: Any) -> dict[str, Any]:
    return {"urn": reg.urn, "type": reg.type, "inputs": {}, "outputs": outputs}


def refresh_digest(plan: Plan) -> dict[str, Any]:
    """What `pulumi refresh --preview-only --json` prints the morning after: the autoscaler grew a node group,
    someone tagged the cluster by hand and widened its API allow-list, someone deleted its log group, the VPC is
    as it was."""
    group = plan.resources(NODE_GROUP)[0]
    eks = plan.one(EKS)
    vpc = plan.resources("aws:ec2/vpc:Vpc")[0]
    log = plan.resources("aws:cloudwatch/logGroup:LogGroup")[0]
    return {
        "steps": [
            {
                "op": "refresh",
                "urn": group.urn,
                "oldState": _state(group, scalingConfig={"desiredSize": 2, "minSize": 2, "maxSize": 6}),
                "newState": _state(group, scalingConfig={"desiredSize": 5, "minSize": 2, "maxSize": 6}),
            },
            {
                "op": "refresh",
                "urn": eks.urn,
                "oldState": _state(eks, tags={"orquestra.io/cluster": "eks"}, version="1.35"),
                "newState": _state(eks, tags={"orquestra.io/cluster": "eks", "owner": "ops"}, version="1.35"),
            },
            {
                "op": "update",
                "urn": eks.urn,
                "diffReasons": ["vpcConfig"],
                "detailedDiff": {"vpcConfig.publicAccessCidrs[1]": {"kind": "delete", "inputDiff": False}},
            },
            {"op": "same", "urn": vpc.urn, "oldState": _state(vpc, cidrBlock="10.0.0.0/16")},
            {"op": "delete", "urn": log.urn, "oldState": _state(log, name="/aws/eks/eks/cluster", retentionInDays=90)},
        ],
        "changeSummary": {"same": 1, "update": 2, "delete": 1},
    }


def test_an_autoscaled_count_is_expected_and_a_hand_edit_is_drift(plan: Plan) -> None:
    found = drift.classify(refresh_digest(plan), drift.ignores_of(plan))
    by_path = {(d.type, d.path): d for d in found}
    count = by_path[(NODE_GROUP, "scalingConfig.desiredSize")]
    assert count.expected and "autoscaler" in str(count.why_ignored)
    assert not by_path[(EKS, "tags.owner")].expected
    assert not by_path[(EKS, "vpcConfig.publicAccessCidrs[1]")].expected
    assert by_path[("aws:cloudwatch/logGroup:LogGroup", drift.GONE)]
    assert len(found) == 4  # unchanged properties and the unchanged VPC are not reported
    lines = drift.report("drift", found)
    assert lines[0] == "Drift of stack 'drift': 3 drifted, 1 changed as the program expects"


def test_every_ignored_property_of_every_shipped_stack_has_its_reason() -> None:
    for snapshot in sorted(SNAPSHOTS.glob("*.json")):
        for r in json.loads(snapshot.read_text())["resources"]:
            for path in r["ignoreChanges"]:
                assert reason(r["type"], path), f"{snapshot.name}: {r['type']} ignores {path} without a reason"


def test_the_program_ignores_exactly_the_table(plan: Plan) -> None:
    for reg in plan.registrations:
        if reg.ignore_changes:
            assert reg.ignore_changes == ignored(reg.type), reg.urn
    assert all(i.reason for entries in IGNORED.values() for i in entries)


def test_the_command_plans_the_stack_for_its_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urn = "urn:pulumi:dev::orquestra::orquestra:workloads:Service$kubernetes:apps/v1:Deployment::local-hello-deployment"
    spec: dict[str, Any] = {"replicas": 2, "template": {"spec": {"containers": [{"image": "podinfo:6.9.2"}]}}}
    after = json.loads(json.dumps(spec))
    after["replicas"] = 7
    digest = {
        "steps": [
            {
                "op": "refresh",
                "urn": urn,
                "oldState": {"type": "kubernetes:apps/v1:Deployment", "outputs": {"spec": spec}},
                "newState": {"type": "kubernetes:apps/v1:Deployment", "outputs": {"spec": after}},
            }
        ]
    }
    path = tmp_path / "refresh.json"
    path.write_text(json.dumps(digest))
    assert drift.main(["dev", str(path)]) == 0
    out = capsys.readouterr().out
    assert "spec.replicas (ignored on purpose: the HorizontalPodAutoscaler" in out

    after["template"]["spec"]["containers"][0]["image"] = "podinfo:latest"
    path.write_text(json.dumps(digest))
    assert drift.main(["dev", str(path)]) == 1
    assert "spec.template.spec.containers[0].image" in capsys.readouterr().out


def test_unreadable_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "refresh.json"
    path.write_text("Previewing refresh (dev):")
    assert drift.main(["dev", str(path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
