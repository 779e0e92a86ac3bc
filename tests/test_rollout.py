"""Rollout strategies: the spec, what the platform installs for them, the Canary Flagger runs, and the worst case."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from components import spec
from components.spec import Rollout, SpecError
from components.workloads import charts, rollout
from preflight import admission, render, validate
from preflight.engine import Plan
from tests.harness import plan_spec, plan_stack
from tests.snapshot import document

PODINFO = "ghcr.io/stefanprodan/podinfo:6.9.2"
ACCEPTED = [{"rule": "unanalysed-rollout", "reason": "a batch API whose clients retry, reviewed in PLAT-7"}]
CANARY = "kubernetes:flagger.app/v1beta1:Canary"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
RELEASE = "kubernetes:helm.sh/v3:Release"


def stack(env: str = "prod", **workload: Any) -> dict[str, Any]:
    return {
        "environment": env,
        "clusters": [{"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig"}],
        "workloads": [
            {"name": "web", "image": PODINFO, "clusters": ["lab"], "port": 9898, "expose": {"host": "web.example.com"}}
            | workload
        ],
    }


def strategy(config: dict[str, Any]) -> str:
    return spec.parse(config).workloads[0].rollout.strategy


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as err:
        spec.parse(config)
    return err.value.problems


# ------------------------------------------------------------------------ spec


def test_prod_exposed_workloads_default_to_canary_and_the_rest_to_rolling() -> None:
    assert strategy(stack("prod")) == "canary"
    assert strategy(stack("staging")) == "rolling"
    assert strategy(stack("dev")) == "rolling"
    unexposed = stack("prod")
    del unexposed["workloads"][0]["expose"]
    assert strategy(unexposed) == "rolling"
    assert strategy(stack("prod", rollout={"strategy": "rolling"}, acceptedRisks=ACCEPTED)) == "rolling"
    assert problems(stack("prod", rollout={"strategy": "rolling"})) == [
        "orquestra:workloads[0].rollout.strategy: 'rolling'; allowed: canary or blueGreen for a workload behind the "
        "Gateway (a new version is analysed before it serves everyone) in prod; or accept the risk: "
        "acceptedRisks: [{rule: unanalysed-rollout, reason: ...}]"
    ]
    assert strategy(stack("dev", rollout={"strategy": "blueGreen"})) == "blueGreen"


@pytest.mark.parametrize(
    ("rollout_", "line"),
    [
        ({"strategy": "linear"}, "orquestra:workloads[0].rollout.strategy: 'linear'; allowed: one of rolling, canary"),
        ({"steps": [50, 10]}, "orquestra:workloads[0].rollout.steps: [50, 10]; allowed: one or more traffic"),
        ({"steps": []}, "orquestra:workloads[0].rollout.steps: []; allowed: one or more traffic"),
        ({"steps": [10, 100]}, "orquestra:workloads[0].rollout.steps[1]: 100; allowed: less than or equal to 99"),
        ({"threshold": 0}, "orquestra:workloads[0].rollout.threshold: 0; allowed: greater than or equal to 1"),
        ({"intervalSeconds": 5}, "orquestra:workloads[0].rollout.intervalSeconds: 5; allowed: greater than or equal"),
        ({"maxSurge": "0%"}, "orquestra:workloads[0].rollout.maxSurge: '0%'; allowed: "),
        ({"successRate": 101}, "orquestra:workloads[0].rollout.successRate: 101; allowed: less than or equal to 100"),
        ({"strategy": "canary", "stepz": [1]}, "orquestra:workloads[0].rollout.stepz: unknown key"),
    ],
)
def test_a_bad_rollout_value_fails_in_one_line(rollout_: dict[str, Any], line: str) -> None:
    found = problems(stack(rollout=rollout_))
    assert len(found) == 1 and found[0].startswith(line), found


def test_traffic_shifting_needs_a_route_and_a_gateway() -> None:
    unexposed = stack("dev", rollout={"strategy": "canary"})
    del unexposed["workloads"][0]["expose"]
    assert problems(unexposed) == [
        "orquestra:workloads[0].rollout.strategy: 'canary'; allowed: rolling for a workload with no expose "
        "(canary and blueGreen shift traffic through its HTTPRoute)"
    ]
    no_gateway = stack("prod")
    no_gateway["clusters"][0]["platform"] = {"gateway": {"enabled": False}}
    assert problems(no_gateway) == [
        "orquestra:workloads[0].rollout.strategy: 'canary'; allowed: rolling: cluster 'lab' has "
        "platform.gateway.enabled: false, and traffic shifts through the Gateway"
    ]


# ------------------------------------------------------------------ worst case


def _simulate(steps: list[int], threshold: int, outcomes: tuple[bool, ...]) -> tuple[str, int, int] | None:
    """Flagger's loop as its scheduler runs it, one tick per interval; (end, intervals served, weight-intervals).

    Independent of `rollout.exposure`: tick 0 moves the canary to the first step; every later tick first rolls
    back at `threshold` failures, else judges the interval just served: a pass advances (or promotes at the last
    step), a failure holds and counts. None when the outcomes run out before the rollout ends.
    """
    weight_index, failed, served, weighted = 0, 0, 0, 0
    for passed in outcomes:
        served, weighted = served + 1, weighted + steps[weight_index]
        if failed >= threshold:
            return "rolled back", served, weighted
        if not passed:
            failed += 1
        elif weight_index == len(steps) - 1:
            return "promoted", served, weighted
        else:
            weight_index += 1
    return None


@pytest.mark.parametrize(("steps", "threshold"), [([10, 25, 50], 3), ([20], 1), ([5, 10, 20, 40], 2), ([50], 4)])
def test_the_worst_case_is_the_most_any_rolled_back_version_serves(steps: list[int], threshold: int) -> None:
    interval = 30
    worst = rollout.exposure(Rollout(strategy="canary", steps=steps, threshold=threshold, interval_seconds=interval))
    ends = [
        end
        for n in range(1, len(steps) + threshold + 2)
        for outcomes in itertools.product((True, False), repeat=n)
        if (end := _simulate(steps, threshold, outcomes)) is not None and end[0] == "rolled back"
    ]
    assert worst.seconds == max(served for _, served, _ in ends) * interval
    assert worst.traffic_seconds == max(weighted for _, _, weighted in ends) * interval / 100
    assert worst.peak_weight == steps[-1]


def test_the_worst_case_of_the_defaults_by_hand() -> None:
    # 10% and 25% for one minute each, then 50% for the three failed checks and the minute until the rollback.
    worst = rollout.exposure(Rollout(strategy="canary"))
    assert (worst.seconds, worst.traffic_seconds) == (6 * 60, (10 + 25 + 4 * 50) * 60 / 100)
    for strategy_ in ("blueGreen", "rolling"):
        assert rollout.exposure(Rollout(strategy=strategy_)) == rollout.Exposure(None, None, 100)


def test_preflight_prints_and_records_each_rollout() -> None:
    doc = document("prod-aws")
    assert doc["rollouts"] == [
        {
            "workload": "api",
            "strategy": "canary",
            "intervalSeconds": 60,
            "threshold": 3,
            "successRateMin": 99.0,
            "latencyP99MaxMs": 500,
            "steps": [10, 25, 50],
            "worstCase": {"seconds": 360, "trafficSeconds": 141.0, "peakWeight": 50},
        }
    ]
    assert document("staging-aws")["rollouts"] == [
        {"workload": "api", "strategy": "rolling", "maxUnavailable": 0, "maxSurge": "25%"}
    ]


def test_blue_green_records_that_nothing_rolls_it_back_once_switched() -> None:
    (w,) = spec.parse(stack(rollout={"strategy": "blueGreen", "iterations": 4})).workloads
    doc = rollout.document(w)
    assert (doc["iterations"], doc["worstCase"]) == (4, {"seconds": None, "trafficSeconds": None, "peakWeight": 100})
    assert "4 checks every 60s with no live traffic, then 100%" in rollout.summary(w)


# ------------------------------------------------------------------------ plan


def _plan(env: str = "prod", **workload: Any) -> Plan:
    plan = plan_spec(stack(env, **workload), stack=f"rollout-{env}")
    assert plan.ok, plan.errors
    return plan


def test_flagger_is_installed_only_where_a_workload_asks_for_it() -> None:
    assert [r for r in _plan("dev").resources(RELEASE) if r.plain["chart"] == "flagger"] == []
    flagger = [r.plain for r in _plan("prod").resources(RELEASE) if r.plain["chart"] == "flagger"]
    assert len(flagger) == 1
    assert (flagger[0]["version"], flagger[0]["repositoryOpts"]["repo"]) == ("1.44.0", "https://flagger.app")
    assert charts.locked("flagger", "1.44.0", "https://flagger.app") is charts.FLAGGER
    values = flagger[0]["values"]
    assert values["meshProvider"] == "gatewayapi:v1" and values["prometheus"]["install"] is True


def test_a_canary_replaces_the_workloads_service_and_route_and_keeps_its_pods_covered() -> None:
    plan = _plan("prod")
    assert plan.resources(ROUTE) == [] and plan.resources("kubernetes:core/v1:Service") == []
    canary = plan.one(CANARY).plain
    assert canary["spec"]["targetRef"]["name"] == "web"
    # Deleting the Canary (the workload leaves canary) scales the Deployment back before the primary goes.
    assert canary["spec"]["revertOnDeletion"] is True
    assert canary["spec"]["service"]["hosts"] == ["web.example.com"]
    assert [p["sectionName"] for p in canary["spec"]["service"]["gatewayRefs"]] == ["http", "https-web"]
    analysis = canary["spec"]["analysis"]
    assert (analysis["stepWeights"], analysis["threshold"], analysis["interval"]) == ([10, 25, 50], 3, "1m")
    assert {m["templateRef"]["name"] for m in analysis["metrics"]} == {
        m.plain["metadata"]["name"] for m in plan.resources("kubernetes:flagger.app/v1beta1:MetricTemplate")
    }
    # Flagger renames the primary's name label; the PDB and NetworkPolicy select on a label it copies as is.
    pod = plan.one("kubernetes:apps/v1:Deployment").plain["spec"]["template"]["metadata"]["labels"]
    for kind in ("kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        reg = plan.one(kind).plain["spec"]
        chosen = reg.get("selector", reg.get("podSelector"))["matchLabels"]
        assert chosen == {rollout.WORKLOAD_LABEL: "web"} and pod[rollout.WORKLOAD_LABEL] == "web"


def test_blue_green_checks_iterations_instead_of_steps() -> None:
    analysis = _plan("prod", rollout={"strategy": "blueGreen", "iterations": 4}).one(CANARY).plain["spec"]["analysis"]
    assert analysis["iterations"] == 4 and "stepWeights" not in analysis


def test_rolling_keeps_its_own_service_and_route_and_the_surge_it_is_given() -> None:
    plan = _plan("prod", rollout={"strategy": "rolling", "maxSurge": "50%"}, acceptedRisks=ACCEPTED)
    assert plan.resources(CANARY) == [] and len(plan.resources(ROUTE)) == 1
    strategy_ = plan.one("kubernetes:apps/v1:Deployment").plain["spec"]["strategy"]
    assert strategy_ == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "50%"}}


# ------------------------------------------------------------------ validation


def test_canary_objects_validate_against_flaggers_crds_and_its_chart_renders() -> None:
    plan = plan_stack("prod-aws")
    review = admission.review(plan)
    assert [r.line() for r in review.rejections] == []
    assert [f.line() for f in review.findings if "flagger" in f.line()] == []
    flagger = next(r for r in review.releases() if r.chart.key == "flagger")
    kinds = {obj["kind"] for obj in flagger.installed}
    assert {"CustomResourceDefinition", "Deployment", "ConfigMap"} <= kinds  # the bundled Prometheus is rendered


def test_the_crd_refuses_a_broken_canary() -> None:
    crds = validate.crds_of([("flagger", c) for c in render.crd_folder("flagger", charts.FLAGGER.version)])
    crd = crds[("flagger.app", "v1beta1", "Canary")]
    good = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "web", "namespace": "web"}}
    good["spec"] = _plan("prod").one(CANARY).plain["spec"]
    assert validate.custom(good, crd)[0] == []
    bad = copy.deepcopy(good)
    bad["spec"]["analysis"]["interval"] = "1h"  # the CRD's pattern: ^[0-9]+(m|s)
    assert [p.field for p in validate.custom(bad, crd)[0]] == ["spec.analysis.interval"]
    bad = copy.deepcopy(good)
    del bad["spec"]["analysis"]["stepWeights"]  # none of interval+threshold+(iterations|stepWeight|stepWeights)
    assert validate.custom(bad, crd)[0] != []


# ------------------------------------------------------------------- policies


def test_a_prod_route_without_a_canary_passes_only_where_the_stack_accepts_the_risk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from policies.rules.rollout import HTTP_ROUTE
    from tests.test_policies import check_stack

    route = {"metadata": {"name": "web", "namespace": "web"}, "spec": {"rules": [{"backendRefs": [{"name": "web"}]}]}}
    assert check_stack("rollout-prod-analysis", [(HTTP_ROUTE, "web", route)]) != []
    assert check_stack("rollout-prod-analysis", [(HTTP_ROUTE, "web", route)], env="staging") == []
    accepted = [{"name": "web", "acceptedRisks": [{"rule": "unanalysed-rollout", "reason": "a reviewed reason"}]}]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"orquestra:workloads": json.dumps(accepted)}))
    assert check_stack("rollout-prod-analysis", [(HTTP_ROUTE, "web", route)]) == []


def test_thresholds_are_read_as_the_analyzer_hands_them_over() -> None:
    from policies.rules.rollout import CANARY, good_canary
    from tests.test_policies import check

    assert check("rollout-rollback-thresholds", CANARY, good_canary(threshold=3.0)) == []
    assert check("rollout-rollback-thresholds", CANARY, good_canary(threshold=0)) != []
    missing = good_canary()
    del missing["spec"]["analysis"]["threshold"]
    assert any("threshold must be set" in m for m in check("rollout-rollback-thresholds", CANARY, missing))


def test_a_canary_answers_to_every_name_the_route_it_replaces_would() -> None:
    from tests.test_global_routing import stack as hybrid

    config = hybrid()
    config["clusters"][0]["ssh"]["privateKey"] = {"secure": "v1:key"}
    config["workloads"][0]["expose"]["host"] = "hello-euw1.example.com"
    plan = plan_spec(config, stack="rollout-hybrid-hosts")
    assert plan.ok, plan.errors
    canaries = {c.name.split("-")[0]: c.plain["spec"]["service"] for c in plan.resources(CANARY)}
    assert set(canaries) == {"dc1", "euw1"}
    own = {"dc1": "dc1-edge.example.com", "euw1": "euw1-gateway.example.com"}
    for cluster, service in canaries.items():
        # The gateway's own name is what Route 53's health check of a name-addressed gateway sends as Host.
        assert set(service["hosts"]) == {"hello-euw1.example.com", "hello.example.com", own[cluster]}
