"""`python -m preflight <stack> --upgrade-to <minor>`: ordered steps, blockers and duration per cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.pins import EKS_ADDONS
from components.spec import parse
from preflight import upgrade
from preflight.__main__ import main
from preflight.engine import Plan
from tests.harness import plan_spec, plan_stack
from tests.test_target_aws import NODE_GROUP, cluster

SPEC: dict[str, Any] = {"environment": "dev", "clusters": [cluster(kubernetesVersion="1.34")]}


@pytest.fixture(scope="module")
def plan() -> Plan:
    found = plan_spec(SPEC, stack="upgrade")
    assert found.ok, found.errors
    return found


def test_hops_go_one_minor_at_a_time() -> None:
    assert upgrade.hops("1.34", "1.36") == ["1.35", "1.36"]
    assert upgrade.hops("1.35", "1.35") == []


def test_the_skew_policy() -> None:
    assert upgrade.skew_problems("1.35", "1.34", "1.35") == []
    assert upgrade.skew_problems("1.35", "1.32", "1.32") == []
    assert any("newer than kube-apiserver" in p for p in upgrade.skew_problems("1.34", "1.35", "1.34"))
    assert any("more than 3 minors older" in p for p in upgrade.skew_problems("1.36", "1.32", "1.32"))
    assert any("kube-proxy 1.36 is newer" in p for p in upgrade.skew_problems("1.35", "1.35", "1.36"))


@pytest.mark.parametrize(
    ("constraint", "minor", "ok"),
    [
        (">= 1.22.0-0", "1.36", True),
        (">= 1.22.0-0", "1.21", False),
        (">=1.25.0 <1.35.0", "1.34", True),
        (">=1.25.0, <1.35.0", "1.35", False),
        ("~1.34", "1.35", False),
        ("1.30 - 1.34", "1.34", True),
        ("<1.20 || >=1.36", "1.36", True),
        ("1.34.x", "1.35", False),
    ],
)
def test_helm_kube_version_constraints(constraint: str, minor: str, ok: bool) -> None:
    assert upgrade.satisfies(constraint, minor) is ok


def test_a_chart_constraint_is_read_from_its_archive() -> None:
    from components.workloads.charts import CERT_MANAGER

    constraint = upgrade.kube_version(CERT_MANAGER.key, CERT_MANAGER.version)
    assert constraint is not None and upgrade.satisfies(constraint, "1.36")


def test_an_api_the_next_minor_removed_is_found_in_its_schemas() -> None:
    flow = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "x"},
        "spec": {"priorityLevelConfiguration": {"name": "x"}},
    }
    custom = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "x"}}
    found = upgrade.removed_apis([("release a", flow), ("release a", custom)], "1.31", "1.32")
    assert found == ["release a: FlowSchema flowcontrol.apiserver.k8s.io/v1beta3"]
    assert upgrade.removed_apis([("release a", flow)], "1.31", "1.31") == []


def test_eks_moves_control_plane_then_add_ons_then_nodes_per_minor(plan: Plan) -> None:
    (found,) = upgrade.plan_upgrade(plan, parse(SPEC), "1.36")
    assert found.blockers == [], found.blockers
    kinds = [(s.minor, s.what.split(" ")[0]) for s in found.steps]
    assert kinds == [
        ("1.35", "EKS"),
        ("1.35", "EKS"),
        ("1.35", "node"),
        ("1.36", "EKS"),
        ("1.36", "EKS"),
        ("1.36", "node"),
    ]
    assert "control plane" in found.steps[0].what and "add-ons" in found.steps[1].what
    assert EKS_ADDONS["1.36"]["kube-proxy"] in found.steps[4].what
    assert all(s.seconds > 0 for s in found.steps) and found.seconds == sum(s.seconds for s in found.steps)


def test_node_groups_without_a_version_stay_behind(plan: Plan) -> None:
    stale = copy.deepcopy(plan)
    for reg in stale.resources(NODE_GROUP):
        reg.inputs.pop("version", None)
    (found,) = upgrade.plan_upgrade(stale, parse(SPEC), "1.36")
    assert not any(s.what.startswith("node pools") for s in found.steps)
    assert any("does not follow the control plane" in n and "keep 1.34" in n for n in found.notes)
    # The first minor is allowed (nodes one behind); EKS refuses the second while the groups lag.
    assert found.blockers == [
        "at 1.36: EKS refuses to move the control plane while node groups eks-system run 1.34, not 1.35"
    ]


def test_a_minor_the_target_does_not_run_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--upgrade-to", "1.40"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1.40" in err[0] and "allowed" in err[0]
    assert main(["dev", "--upgrade-to", "1.30"]) == 2
    assert "no downgrade" in capsys.readouterr().err
    assert main(["dev", "--upgrade-to", "latest"]) == 2


def test_a_pool_rolls_its_minimum_nodes_in_batches_of_its_surge(plan: Plan) -> None:
    group = copy.deepcopy(plan.resources(NODE_GROUP)[0])
    once = upgrade.create_seconds(group)[0]
    group.inputs["scalingConfig"] = {"minSize": 6, "maxSize": 9, "desiredSize": 6}
    group.inputs["updateConfig"] = {"maxUnavailablePercentage": 50}
    assert upgrade._rolls(group) == 2 * once
    group.inputs["updateConfig"] = {"maxUnavailable": 1}
    assert upgrade._rolls(group) == 6 * once
    group.inputs.pop("updateConfig")
    group.inputs["upgradeSettings"] = {"maxSurge": "33%"}
    assert upgrade._rolls(group) == 3 * once


def test_k3s_servers_move_before_agents() -> None:
    from components.spec import NAMESPACE
    from preflight import engine, stackconfig

    config = stackconfig.load(engine.PROJECT_DIR, "onprem")
    (found,) = upgrade.plan_upgrade(plan_stack("onprem"), parse(config.namespace(NAMESPACE)), "1.36")
    assert [s.what.split(" ->")[0] for s in found.steps] == ["k3s servers", "k3s agents"]
    assert "v1.36" in found.steps[0].what and found.blockers == []
