"""Kubernetes objects in a plan: free in themselves but for the cloud load balancers they ask for; await times."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.engine import Registration, reveal
from preflight.estimates.base import Context, Cost, CostModel, CreateTime, get_in

KUBERNETES_OBJECT_SECONDS = 2.0
"""Most Kubernetes objects are ready as soon as the API server accepts them."""

HELM_CHART_SECONDS: Mapping[str, float] = {
    # Time until every object of the release is ready (Pulumi awaits them unless skipAwait).
    "cert-manager": 90.0,
    "ingress-nginx": 120.0,
    "gateway-helm": 90.0,
    "envoy-gateway": 90.0,
    "traefik": 90.0,
    "karpenter": 60.0,
    "cluster-autoscaler": 45.0,
    "aws-load-balancer-controller": 60.0,
    "metrics-server": 45.0,
    "external-dns": 30.0,
    "metallb": 60.0,
    "cilium": 120.0,
}
HELM_DEFAULT_SECONDS = 60.0
HELM_SKIP_AWAIT_SECONDS = 5.0


def _load_balancers_in(value: Any) -> int:
    """How many Services a chart's values ask to expose as `type: LoadBalancer`."""
    if isinstance(value, dict):
        own = 1 if value.get("type") == "LoadBalancer" else 0
        return own + sum(_load_balancers_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(_load_balancers_in(v) for v in value)
    return 0


def _cluster_load_balancers(count: int, reg: Registration, ctx: Context) -> Cost:
    if count == 0:
        return Cost(0.0, "runs inside the cluster")
    cloud = ctx.cloud_of(reg)
    if cloud is None:
        return Cost(0.0, f"{count} LoadBalancer Service(s) on a cluster with no cloud load balancer")
    each = ctx.load_balancers[cloud]
    return Cost(count * each, f"{count} {cloud} load balancer(s) × ${each:.2f}/mo")


def _k8s_service(reg: Registration, ctx: Context) -> Cost:
    is_lb = get_in(reveal(reg.inputs), "spec", "type") == "LoadBalancer"
    return _cluster_load_balancers(1 if is_lb else 0, reg, ctx)


def _helm_release(reg: Registration, ctx: Context) -> Cost:
    """The LoadBalancer Services Helm renders for the release; a guess from its values if it cannot be rendered."""
    from preflight.admission import rendered_load_balancers  # renders charts; needed only for releases

    count = rendered_load_balancers(ctx.plan, reg)
    if count is None:
        count = _load_balancers_in(get_in(reveal(reg.inputs), "values"))
    return _cluster_load_balancers(count, reg, ctx)


def _helm_seconds(reg: Registration) -> float:
    inputs = reveal(reg.inputs)
    if get_in(inputs, "skipAwait") is True:
        return HELM_SKIP_AWAIT_SECONDS
    # `repo/chart` and `oci://registry/path/chart` name the same chart as `chart`.
    chart = str(get_in(inputs, "chart") or "").rstrip("/").rsplit("/", 1)[-1]
    return HELM_CHART_SECONDS.get(chart, HELM_DEFAULT_SECONDS)


def _service_seconds(reg: Registration) -> float:
    # A LoadBalancer Service is awaited until the cloud hands out an address.
    return 60.0 if get_in(reveal(reg.inputs), "spec", "type") == "LoadBalancer" else KUBERNETES_OBJECT_SECONDS


COSTS: Mapping[str, CostModel] = {
    "kubernetes:core/v1:Service": _k8s_service,
    "kubernetes:helm.sh/v3:Release": _helm_release,
}

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "kubernetes:helm.sh/v3:Release": _helm_seconds,
    "kubernetes:core/v1:Service": _service_seconds,
    "kubernetes:apps/v1:Deployment": 45.0,
    "kubernetes:apps/v1:StatefulSet": 60.0,
    "kubernetes:apps/v1:DaemonSet": 45.0,
    "kubernetes:batch/v1:Job": 60.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "pulumi:providers:kubernetes",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:core/v1:Namespace",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
