"""Platform services and service workloads placed on a cluster through its contract only."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.cluster import KubernetesCluster
from components.spec import WorkloadSpec


def place(cluster: KubernetesCluster, workloads: Sequence[WorkloadSpec]) -> None:
    from components.workloads.platform import Platform
    from components.workloads.service import ServiceWorkload, namespace_of, namespaces

    platform = Platform(cluster, workloads)
    spaces = namespaces(cluster, workloads, platform.gateway)
    for w in workloads:
        ServiceWorkload(
            cluster,
            w,
            spaces[namespace_of(w)],
            platform.gateway,
            pulumi.ResourceOptions(parent=cluster),
            flagger=platform.flagger,
        )
