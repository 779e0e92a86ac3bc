"""Platform services and service workloads placed on a cluster through its contract."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import KubernetesCluster
from components.spec import WorkloadSpec


def place(cluster: KubernetesCluster, workloads: Sequence[WorkloadSpec]) -> None:
    for w in workloads:
        k8s.core.v1.Namespace(
            f"{cluster.spec.name}-{w.name}",
            metadata={"name": w.namespace or w.name},
            opts=pulumi.ResourceOptions(parent=cluster, provider=cluster.provider),
        )
