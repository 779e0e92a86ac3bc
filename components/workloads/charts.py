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
class Source:
    """Where a chart's files come from upstream: what `make charts` fetches and the mirror records."""

    repo: str
    """The git repository the chart folder lives in."""
    ref: str
    """The release tag; the commit itself where upstream tags none."""
    commit: str
    path: str
    """The chart folder inside `repo`."""


@dataclass(frozen=True)
class Chart:
    key: str
    """The chart's name in this table, in the offline mirror (`<key>-<version>.tgz`) and in every plan."""
    chart: str
    version: str
    repo: str | None
    """None for an `oci://` chart, which carries its registry in its name."""
    namespace: str
    source: Source
    digest: str | None = None
    """The `sha256:` digest upstream publishes for this exact archive, where it publishes one that can be pinned."""

    @property
    def archive(self) -> str:
        return f"{self.key}-{self.version}.tgz"


# Upstream tags and commits as recorded for each archive in the chart mirror's index.json.
# Helm repositories and OCI registries publish a digest per archive, but none of these
# repositories serves it from a source that can be read offline, so `make charts`
# checks each download against the repository's own index instead (`preflight/mirror.py`).
_ENVOY = "https://github.com/envoyproxy/gateway"
_KARPENTER = "https://github.com/aws/karpenter-provider-aws"
GATEWAY_CRDS = Chart(
    "gateway-crds",
    "oci://docker.io/envoyproxy/gateway-crds-helm",
    "v1.8.2",
    None,
    "envoy-gateway-system",
    Source(_ENVOY, "v1.8.2", "6c2e80d5158926749b95e948d7aae36b9ae67669", "charts/gateway-crds-helm"),
)
ENVOY_GATEWAY = Chart(
    "envoy-gateway",
    "oci://docker.io/envoyproxy/gateway-helm",
    "v1.8.2",
    None,
    "envoy-gateway-system",
    Source(_ENVOY, "v1.8.2", "6c2e80d5158926749b95e948d7aae36b9ae67669", "charts/gateway-helm"),
)
CERT_MANAGER = Chart(
    "cert-manager",
    "cert-manager",
    "v1.19.1",
    "https://charts.jetstack.io",
    "cert-manager",
    Source(
        "https://github.com/cert-manager/cert-manager",
        "v1.19.1",
        "a22e21ea38f6a8e031af99471b0a50287fed8e7f",
        "deploy/charts/cert-manager",
    ),
)
METRICS_SERVER = Chart(
    "metrics-server",
    "metrics-server",
    "3.13.0",
    "https://kubernetes-sigs.github.io/metrics-server/",
    "kube-system",
    Source(
        "https://github.com/kubernetes-sigs/metrics-server",
        "metrics-server-helm-chart-3.13.0",
        "1a64100c33acf2d7dfa4439f20c75bc64d86983f",
        "charts/metrics-server",
    ),
)
EXTERNAL_DNS = Chart(
    "external-dns",
    "external-dns",
    "1.19.0",
    "https://kubernetes-sigs.github.io/external-dns/",
    "external-dns",
    Source(
        "https://github.com/kubernetes-sigs/external-dns",
        "external-dns-helm-chart-1.19.0",
        "b740777701f0684cbc2ab664af3eaa7ec3f7576f",
        "charts/external-dns",
    ),
)
METALLB = Chart(
    "metallb",
    "metallb",
    "0.15.2",
    "https://metallb.github.io/metallb",
    "metallb-system",
    Source(
        "https://github.com/metallb/metallb", "v0.15.2", "942c2fe54a75ac6353d3099eeebff33b6b8fe3f0", "charts/metallb"
    ),
)
CLUSTER_AUTOSCALER = Chart(
    "cluster-autoscaler",
    "cluster-autoscaler",
    "9.50.1",
    "https://kubernetes.github.io/autoscaler",
    "kube-system",
    Source(
        "https://github.com/kubernetes/autoscaler",
        "cluster-autoscaler-chart-9.50.1",
        "6283c908843c36e6c82b96ae276902abc02b1f1a",
        "charts/cluster-autoscaler",
    ),
)
KARPENTER = Chart(
    "karpenter",
    "oci://public.ecr.aws/karpenter/karpenter",
    "1.8.1",
    None,
    "kube-system",
    # The v1.8.1 tag still says 1.8.0 in Chart.yaml; the release build rewrites it (the mirror's index.json says how).
    Source(_KARPENTER, "v1.8.1", "1ad0d78f8fa452cf27f4cf607377dd092489e2a0", "charts/karpenter"),
)
# Helm never upgrades CRDs it installed from a chart's crds/ folder; Karpenter ships them as a chart of their own.
KARPENTER_CRD = Chart(
    "karpenter-crd",
    "oci://public.ecr.aws/karpenter/karpenter-crd",
    "1.8.1",
    None,
    "kube-system",
    Source(_KARPENTER, "v1.8.1", "1ad0d78f8fa452cf27f4cf607377dd092489e2a0", "charts/karpenter-crd"),
)
LB_CONTROLLER = Chart(
    "aws-load-balancer-controller",
    "aws-load-balancer-controller",
    "1.14.1",
    "https://aws.github.io/eks-charts",
    "kube-system",
    # aws/eks-charts tags no chart releases: the commit that set version 1.14.1.
    Source(
        "https://github.com/aws/eks-charts",
        "7b027f2e6b4961a40c8db013ee86a32b8d7eddda",
        "7b027f2e6b4961a40c8db013ee86a32b8d7eddda",
        "stable/aws-load-balancer-controller",
    ),
)

FLAGGER = Chart(
    "flagger",
    "flagger",
    "1.44.0",
    "https://flagger.app",
    "flagger-system",
    Source(
        "https://github.com/fluxcd/flagger", "v1.44.0", "15bd6ad555e6c935da55f0ab95977be74c149bd6", "charts/flagger"
    ),
)

ALL: Mapping[str, Chart] = {
    c.key: c
    for c in (
        GATEWAY_CRDS,
        ENVOY_GATEWAY,
        CERT_MANAGER,
        METRICS_SERVER,
        EXTERNAL_DNS,
        METALLB,
        CLUSTER_AUTOSCALER,
        KARPENTER,
        KARPENTER_CRD,
        LB_CONTROLLER,
        FLAGGER,
    )
}


def locked(chart: str, version: str, repo: str | None) -> Chart | None:
    """The table's entry for a release's chart reference, or None when the table does not pin it."""
    for entry in ALL.values():
        if (entry.chart, entry.version, entry.repo or None) == (chart, version, repo or None):
            return entry
    return None


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
