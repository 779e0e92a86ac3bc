"""The Helm charts of the platform, pinned by repository and version in one table.

Releases go through `helm.v3.Release` rather than `helm.v4.Chart`: the values stay
visible as inputs, so an offline plan, the policy pack and the tests read exactly
what Helm will be given, and Helm itself owns upgrades and rollbacks (`atomic`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Chart:
    chart: str
    version: str
    repo: str | None = None
    """None for an `oci://` chart, which carries its registry in its name."""
    namespace: str = "kube-system"


GATEWAY_CRDS = Chart("oci://docker.io/envoyproxy/gateway-crds-helm", "v1.8.2", namespace="envoy-gateway-system")
ENVOY_GATEWAY = Chart("oci://docker.io/envoyproxy/gateway-helm", "v1.8.2", namespace="envoy-gateway-system")
CERT_MANAGER = Chart("cert-manager", "v1.19.1", "https://charts.jetstack.io", "cert-manager")
METRICS_SERVER = Chart("metrics-server", "3.13.0", "https://kubernetes-sigs.github.io/metrics-server/", "kube-system")
EXTERNAL_DNS = Chart("external-dns", "1.19.0", "https://kubernetes-sigs.github.io/external-dns/", "external-dns")
METALLB = Chart("metallb", "0.15.2", "https://metallb.github.io/metallb", "metallb-system")
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", "9.50.1", "https://kubernetes.github.io/autoscaler", "kube-system")

# cluster-autoscaler is versioned by Kubernetes minor and meant to run on the control-plane minor it was built for;
# the chart's default image trails (9.50.1 ships v1.33.0). The newest patch of each minor, from the upstream tags
# `cluster-autoscaler-<version>` (all four tagged 2026-07-22).
# Source: https://github.com/kubernetes/autoscaler/blob/cluster-autoscaler-1.36.1/cluster-autoscaler/README.md
# ("Releases": "versioning scheme was changed to match Kubernetes minor releases exactly").
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS: Mapping[str, str] = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}

ALL: Mapping[str, Chart] = {
    "gateway-crds": GATEWAY_CRDS,
    "envoy-gateway": ENVOY_GATEWAY,
    "cert-manager": CERT_MANAGER,
    "metrics-server": METRICS_SERVER,
    "external-dns": EXTERNAL_DNS,
    "metallb": METALLB,
    "cluster-autoscaler": CLUSTER_AUTOSCALER,
}


def release(
    name: str,
    release_name: str,
    chart: Chart,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    skip_crds: bool = False,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    """One pinned release; a failed upgrade rolls itself back instead of leaving a half-applied chart."""
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=chart.chart,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=chart.namespace,
        create_namespace=True,
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        max_history=5,
        timeout=600,
        skip_crds=skip_crds,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on))),
    )
