"""Progressive delivery: Flagger drives the weights of a workload's HTTPRoute from live metrics.

A `canary` or `blueGreen` workload gets a Flagger `Canary` instead of its own Service
and HTTPRoute: Flagger creates `<name>`, `<name>-primary` and `<name>-canary` Services
and the HTTPRoute `<name>` on the shared Gateway, then moves traffic between the
primary (the last good version) and the canary (the new one). A failed analysis
sends all traffic back to the primary by itself; no `pulumi up` is needed.

Flagger runs with its Gateway API provider (`meshProvider: gatewayapi:v1`; accepted
values are listed in the chart's values.yaml at v1.44.0, and
https://docs.flagger.app/tutorials/gatewayapi-progressive-delivery installs it so).
Its metrics source is the chart's bundled Prometheus (`prometheus.install`): one pod,
two hours of retention, scraping every pod annotated `prometheus.io/scrape`, which the
Envoy proxies of the shared Gateway are (Envoy Gateway v1.8.2,
internal/infrastructure/kubernetes/proxy/resource_provider.go). It is the same on
every target. The clouds' managed Prometheus services were not chosen: Amazon
Managed Prometheus signs queries with SigV4, and Google's and Azure's need OAuth
tokens, while Flagger's Prometheus provider sends only basic auth or a static bearer
token (https://docs.flagger.app/usage/metrics#prometheus-authentication; fluxcd/flagger
v1.44.0, pkg/metrics/providers/prometheus.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.spec import Rollout, WorkloadSpec
from components.workloads import charts

FLAGGER_RELEASE = "flagger"
PROMETHEUS = f"http://{FLAGGER_RELEASE}-prometheus.{charts.FLAGGER.namespace}:9090"
"""The bundled Prometheus's Service: `<fullname>-prometheus`, port 9090 (chart templates/prometheus.yaml)."""
SUCCESS_RATE = "request-success-rate-envoy"
LATENCY = "request-duration-p99-envoy"
WORKLOAD_LABEL = "orquestra.io/workload"
"""A pod label Flagger copies unchanged to the primary's pods, which get `<name>-primary` as their name label
(pkg/canary/deployment_controller.go, makePrimaryLabels, v1.44.0): the PDB and NetworkPolicy select on it."""

# Envoy Gateway names the cluster of an HTTPRoute rule `httproute/<namespace>/<name>/rule/<index>`
# (internal/gatewayapi/helpers.go, irRouteDestinationName, v1.8.2); Flagger's route has one rule.
# Both versions are backends of that one cluster, so the checks read the route as a whole: at weight w,
# a canary failing a share f of its requests lowers the route's success rate by w*f.
_CLUSTER = 'envoy_cluster_name="httproute/{{ namespace }}/{{ target }}/rule/0"'
# upstream_rq_xx (by response code class) and upstream_rq_time (milliseconds) are Envoy cluster statistics
# (https://www.envoyproxy.io/docs/envoy/latest/configuration/upstream/cluster_manager/cluster_stats); their
# Prometheus labels come from Envoy's tag extractors (source/common/config/well_known_names.cc).
SUCCESS_RATE_QUERY = (
    f'100 * sum(rate(envoy_cluster_upstream_rq_xx{{{_CLUSTER}, envoy_response_code_class!="5"}}[{{{{ interval }}}}]))'
    f" / sum(rate(envoy_cluster_upstream_rq_xx{{{_CLUSTER}}}[{{{{ interval }}}}]))"
)
LATENCY_QUERY = (
    f"histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{{{_CLUSTER}}}[{{{{ interval }}}}]))"
    " by (le))"
)


def needs_flagger(workloads: Sequence[WorkloadSpec]) -> bool:
    return any(w.rollout.progressive and w.expose is not None for w in workloads)


# Replaces the chart's container securityContext whole (templates/deployment.yaml and prometheus.yaml render
# `securityContext.context` as given): its own keys, plus what the restricted Pod Security Standard asks.
_LOCKED_DOWN = {
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def flagger_values(ha: bool) -> dict[str, Any]:
    return {
        "meshProvider": "gatewayapi:v1",
        "securityContext": {"enabled": True, "context": _LOCKED_DOWN},
        # Flagger reads the metrics its own chart runs; values.yaml's `metricsServer` is then ignored.
        "prometheus": {
            "install": True,
            "retention": "2h",
            "securityContext": {"enabled": True, "context": _LOCKED_DOWN},
        },
        "leaderElection": {"enabled": ha, "replicaCount": 2 if ha else 1},
        "podDisruptionBudget": {"enabled": ha, "minAvailable": 1},
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
    }


def metric_templates() -> dict[str, dict[str, Any]]:
    """The two checks every analysis runs, shared by the cluster's canaries, read from the bundled Prometheus."""
    provider = {"type": "prometheus", "address": PROMETHEUS}
    return {
        SUCCESS_RATE: {"provider": provider, "query": SUCCESS_RATE_QUERY},
        LATENCY: {"provider": provider, "query": LATENCY_QUERY},
    }


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def analysis(rollout: Rollout) -> dict[str, Any]:
    interval = _duration(rollout.interval_seconds)
    metrics = [
        {
            "name": "success-rate",
            "templateRef": {"name": SUCCESS_RATE, "namespace": charts.FLAGGER.namespace},
            "thresholdRange": {"min": rollout.success_rate},
            "interval": interval,
        },
        {
            "name": "latency-p99",
            "templateRef": {"name": LATENCY, "namespace": charts.FLAGGER.namespace},
            "thresholdRange": {"max": rollout.latency_ms},
            "interval": interval,
        },
    ]
    steps: dict[str, Any] = (
        {"stepWeights": list(rollout.steps)} if rollout.strategy == "canary" else {"iterations": rollout.iterations}
    )
    return {"interval": interval, "threshold": rollout.threshold, **steps, "metrics": metrics}


def canary_spec(w: WorkloadSpec, parents: Sequence[Mapping[str, Any]], hosts: Sequence[str]) -> dict[str, Any]:
    """What Flagger needs to run the workload's rollouts; `parents` and `hosts` are the parentRefs and hostnames
    the HTTPRoute Flagger writes in its stead would have had (`service.route_hostnames`)."""
    assert w.expose is not None
    service: dict[str, Any] = {
        "port": 80,
        "targetPort": "http",
        "portName": "http",
        "gatewayRefs": [dict(p) for p in parents],
    }
    if hosts:
        service["hosts"] = list(hosts)
    if w.expose.path != "/":
        # Istio-style match, which Flagger maps to an HTTPRoute PathPrefix (pkg/router/gateway_api.go).
        service["match"] = [{"uri": {"prefix": w.expose.path}}]
    return {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
        "autoscalerRef": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": w.name},
        # A new version whose pods are not ready in ten minutes is rolled back.
        "progressDeadlineSeconds": 600,
        # Flagger scales the Deployment to zero and serves from `<name>-primary`, which the Canary owns: deleted
        # without this (the workload leaves progressive delivery), the primary goes with it and the Deployment
        # stays at zero. With it, Flagger's finalizer scales the Deployment back first (pkg/controller/finalizer.go,
        # v1.44.0).
        "revertOnDeletion": True,
        "service": service,
        "analysis": analysis(w.rollout),
    }


# ------------------------------------------------------------------- exposure


@dataclass(frozen=True)
class Exposure:
    """The worst a bad version can do before it is rolled back: how long it serves, and how much."""

    seconds: int | None
    """Longest time it receives live traffic before an automatic rollback; None: nothing rolls it back by itself."""
    traffic_seconds: float | None
    """That traffic as seconds of the route's full traffic (weight x time, summed over the steps)."""
    peak_weight: int


def exposure(rollout: Rollout) -> Exposure:
    """Worst case, from Flagger's analysis loop (pkg/controller/scheduler.go, v1.44.0).

    Each interval Flagger first rolls back if the failed checks have reached `threshold`, else runs the checks on
    the interval just served: a pass moves the canary to the next step, a failure holds it and counts one (passes
    reset nothing). The first tick only moves the canary from 0 to the first step. So the most traffic a version
    that will be rolled back can take is to pass every step below the last, then fail `threshold` times at the last
    and serve one more interval until the tick that rolls it back: n - 1 intervals below the last step and
    threshold + 1 at it. Rolling and blue/green have no automatic rollback once a version serves: blue/green gives
    it no live traffic until it has passed every check, then all of it.
    """
    if rollout.strategy == "canary":
        n, interval, last = len(rollout.steps), rollout.interval_seconds, rollout.steps[-1]
        seconds = (n + rollout.threshold) * interval
        traffic = (sum(rollout.steps[:-1]) + (rollout.threshold + 1) * last) * interval / 100
        return Exposure(seconds, traffic, last)
    return Exposure(None, None, 100)


def summary(w: WorkloadSpec) -> str:
    """One line of the plan: the workload's strategy, its steps and thresholds, and the worst case."""
    r = w.rollout
    if r.strategy == "rolling":
        return (
            f"{w.name}: rolling, maxUnavailable 0, maxSurge {r.max_surge}, gated by readiness; worst case: a version "
            "that passes readiness serves all traffic until rolled back by hand"
        )
    checks = f"success rate >= {r.success_rate:g}%, p99 <= {r.latency_ms} ms, rollback after {r.threshold} failed"
    if r.strategy == "blueGreen":
        return (
            f"{w.name}: blueGreen, {r.iterations} checks every {r.interval_seconds}s with no live traffic, then 100%; "
            f"{checks}; worst case: none before the switch, all of it after"
        )
    e = exposure(r)
    steps = " -> ".join(f"{s}%" for s in r.steps)
    return (
        f"{w.name}: canary, {steps} every {r.interval_seconds}s; {checks}; worst case: {e.seconds}s of traffic "
        f"at up to {e.peak_weight}%, {e.traffic_seconds:g}s of the route's full traffic"
    )


def document(w: WorkloadSpec) -> dict[str, Any]:
    """The workload's rollout as the plan's JSON records it: the same facts as `summary`, as data."""
    r = w.rollout
    doc: dict[str, Any] = {"workload": w.name, "strategy": r.strategy}
    if r.strategy == "rolling":
        return {**doc, "maxUnavailable": 0, "maxSurge": r.max_surge}
    doc |= {
        "intervalSeconds": r.interval_seconds,
        "threshold": r.threshold,
        "successRateMin": r.success_rate,
        "latencyP99MaxMs": r.latency_ms,
    }
    doc |= {"steps": list(r.steps)} if r.strategy == "canary" else {"iterations": r.iterations}
    e = exposure(r)
    return {
        **doc,
        "worstCase": {"seconds": e.seconds, "trafficSeconds": e.traffic_seconds, "peakWeight": e.peak_weight},
    }
