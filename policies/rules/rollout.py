"""Rollouts: what reaches users in prod is analysed first, every analysis has metrics and a rollback threshold.

The objects are Flagger's (`flagger.app/v1beta1` Canary and MetricTemplate, fluxcd/flagger
v1.44.0 `artifacts/flagger/crd.yaml`) and the Gateway API's HTTPRoute, read as registered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Severity

from policies.rules.base import Case, Context, Finding, Resource, Rule, StackCase, Unknown, per_resource
from policies.rules.kubernetes import HELM_RELEASE

CANARY = "kubernetes:flagger.app/v1beta1:Canary"
METRIC_TEMPLATE = "kubernetes:flagger.app/v1beta1:MetricTemplate"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
# Flagger's own checks, answered from the metrics server its Deployment is given (`-metrics-server`, or the
# bundled Prometheus with `prometheus.install`): docs.flagger.app/usage/metrics#builtin-metrics.
BUILTIN_METRICS = frozenset({"request-success-rate", "request-duration"})
ACCEPTED_RISK = "unanalysed-rollout"


def _namespace(r: Resource) -> str:
    return str(r.get("metadata.namespace") or "default")


def _canaries(resources: Sequence[Resource]) -> dict[tuple[str, str], Resource]:
    """Canaries by (namespace, the Deployment they take over)."""
    return {(_namespace(c), str(c.get("spec.targetRef.name"))): c for c in resources if c.type == CANARY}


def _accepted(ctx: Context) -> set[str]:
    """Workloads whose stack accepts the `unanalysed-rollout` risk by name, with a reason (components/spec.py)."""
    return {
        str(w.get("name"))
        for w in ctx.stack_config.get("orquestra:workloads") or []
        if isinstance(w, dict)
        and any(isinstance(a, dict) and a.get("rule") == ACCEPTED_RISK for a in w.get("acceptedRisks") or [])
    }


def _prod_analysis(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    if not ctx.prod:
        return
    canaries = _canaries(resources)
    accepted = _accepted(ctx)

    def route(r: Resource) -> Iterator[str]:
        for rule in r.props.each("spec.rules"):
            for backend in rule.each("backendRefs"):
                name = str(backend.get("name"))
                if (_namespace(r), name) not in canaries and name not in accepted:
                    yield (
                        f"sends traffic to {name!r}, which has no Canary: a new version reaches every user "
                        "unanalysed; set the workload's rollout.strategy to canary or blueGreen"
                    )

    def canary(c: Resource) -> Iterator[str]:
        if c.get("spec.skipAnalysis") is True:
            yield "skipAnalysis: true promotes every new version without checks"
        elif not c.props.each("spec.analysis.metrics"):
            yield "its analysis runs no metric checks"

    yield from per_resource((r for r in resources if r.type == HTTP_ROUTE), route)
    yield from per_resource((r for r in resources if r.type == CANARY), canary)


def _metrics_source(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    templates: dict[tuple[str, str], Resource] = {
        (_namespace(t), str(t.get("metadata.name"))): t for t in resources if t.type == METRIC_TEMPLATE
    }
    servers: list[bool] = []
    unknown: Unknown | None = None
    for r in resources:
        if r.type == HELM_RELEASE and r.get("chart") == "flagger":
            try:
                servers.append(bool(r.get("values.prometheus.install") or r.get("values.metricsServer")))
            except Unknown as exc:
                unknown = unknown or exc.about(r)

    def check(c: Resource) -> Iterator[str]:
        metrics = c.props.each("spec.analysis.metrics")
        if not metrics:
            yield "its analysis has no metrics: nothing can fail it, so nothing rolls it back"
        for m in metrics:
            name = str(m.get("name"))
            if m.present("templateRef"):
                ref = (str(m.get("templateRef.namespace") or _namespace(c)), str(m.get("templateRef.name")))
                template = templates.get(ref)
                if template is None:
                    yield f"metric {name!r} uses MetricTemplate {ref[0]}/{ref[1]}, which this stack does not create"
                elif not template.get("spec.provider.address") and template.get("spec.provider.type") == "prometheus":
                    yield f"MetricTemplate {ref[0]}/{ref[1]} names no Prometheus address"
            elif name in BUILTIN_METRICS and not any(servers):
                if unknown is not None:
                    raise unknown
                yield f"builtin metric {name!r} needs Flagger's metrics server, and no Flagger release here has one"

    yield from per_resource((r for r in resources if r.type == CANARY), check)


def _thresholds(r: Resource, ctx: Context) -> Iterator[str]:
    threshold = r.get("spec.analysis.threshold")
    # Numbers reach the analyzer as protobuf doubles: 3 arrives as 3.0.
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 1:
        yield "spec.analysis.threshold must be set (failed checks before rollback)"
    for m in r.props.each("spec.analysis.metrics"):
        if m.get("thresholdRange.min") is None and m.get("thresholdRange.max") is None:
            yield f"metric {m.get('name')!r} has no thresholdRange min or max: it cannot fail"


RULES = [
    Rule(
        "rollout-prod-analysis",
        "In prod, traffic from the Gateway reaches a workload only through a Canary whose analysis runs checks.",
        "lockdown",
        stack_check=_prod_analysis,
        severity=Severity.HIGH,
    ),
    Rule(
        "rollout-canary-metrics-source",
        "Every Canary's metrics come from a source the stack installs (an addressed MetricTemplate, or Flagger).",
        "baseline",
        stack_check=_metrics_source,
        severity=Severity.HIGH,
    ),
    Rule(
        "rollout-rollback-thresholds",
        "Every Canary sets the failed checks that roll it back, and a threshold range on every metric.",
        "baseline",
        (CANARY,),
        _thresholds,
        severity=Severity.HIGH,
    ),
]


# ------------------------------------------------------------------------- cases

_TEMPLATE = {"metadata": {"name": "success-rate", "namespace": "flagger-system"}}


def good_canary(**analysis: Any) -> dict[str, Any]:
    """A Canary every rule here passes; a case changes the one field its rule is about."""
    return {
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "analysis": {
                "interval": "1m",
                "threshold": 3,
                "stepWeights": [10, 50],
                "metrics": [
                    {
                        "name": "success-rate",
                        "templateRef": {"name": "success-rate", "namespace": "flagger-system"},
                        "thresholdRange": {"min": 99},
                    }
                ],
                **analysis,
            },
        },
    }


def _template(address: str | None) -> dict[str, Any]:
    provider = {"type": "prometheus", **({"address": address} if address else {})}
    return {**_TEMPLATE, "spec": {"provider": provider, "query": "1"}}


def _route(backend: str) -> dict[str, Any]:
    return {
        "metadata": {"name": backend, "namespace": "web"},
        "spec": {"rules": [{"backendRefs": [{"name": backend}]}]},
    }


CASES: dict[str, Case] = {
    "rollout-rollback-thresholds": Case(
        CANARY,
        good_canary(),
        good_canary(metrics=[{"name": "latency", "templateRef": {"name": "latency"}, "thresholdRange": {}}]),
        "cannot fail",
    ),
}

STACK_CASES: dict[str, StackCase] = {
    "rollout-prod-analysis": StackCase(
        [(CANARY, "web", good_canary()), (HTTP_ROUTE, "other", _route("web"))],
        [(HTTP_ROUTE, "web", _route("web"))],
        "no Canary",
    ),
    "rollout-canary-metrics-source": StackCase(
        [
            (CANARY, "web", good_canary()),
            (METRIC_TEMPLATE, "sr", _template("http://flagger-prometheus.flagger-system:9090")),
        ],
        [(CANARY, "web", good_canary())],
        "does not create",
    ),
}
