"""Builds every cluster of a stack, then places the platform services and workloads on each.

Target modules are imported only for the targets a stack uses, so a stack for one
cloud never loads the SDKs of the others. Everything that can be checked without
the cloud (spec, target availability, local files) is checked before the first
resource is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.cluster import KubernetesCluster
from components.spec import Problem, SpecError, StackSpec
from components.targets import REGISTRY, available


def resolve(stack: StackSpec) -> dict[str, type[KubernetesCluster[Any]]]:
    """Load the target class of each cluster, and run its local checks; raise SpecError on any problem."""
    problems: list[str] = []
    classes: dict[str, type[KubernetesCluster[Any]]] = {}
    for i, cluster in enumerate(stack.clusters):
        target = REGISTRY[cluster.target]
        if not target.available:
            problems.append(
                f"orquestra:clusters[{i}].target: '{cluster.target}'; allowed: a target available in this "
                f"version of orquestra ({', '.join(available())}); '{cluster.target}' is not yet available"
            )
            continue
        cls = target.load()
        found: list[Problem] = list(cls.check(cluster))
        problems.extend(f"orquestra:clusters[{i}].{p.path}: {p.value!r}; allowed: {p.allowed}" for p in found)
        classes[cluster.name] = cls
    if problems:
        raise SpecError(problems)
    return classes


@dataclass(frozen=True)
class Fleet:
    spec: StackSpec
    clusters: Mapping[str, KubernetesCluster[Any]]


def renamed(old: str, new: str) -> pulumi.ResourceOptions:
    """Options that make every resource of a renamed cluster an alias of its old self.

    Names derive from the cluster's name (`eu-vpc`), so a rename would otherwise
    replace everything. A transformation gives the component and each of its
    descendants the alias of its old name; URNs hold parent types, not names, so
    the name is all that changes.
    """

    def alias(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.name.startswith(new):
            return None
        old_name = old + args.name[len(new) :]
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old_name)]))
        return pulumi.ResourceTransformationResult(args.props, opts)

    return pulumi.ResourceOptions(transformations=[alias])


def build(stack: StackSpec) -> Fleet:
    classes = resolve(stack)
    clusters = {
        c.name: classes[c.name](c, stack.environment, renamed(c.renamed_from, c.name) if c.renamed_from else None)
        for c in stack.clusters
    }
    from components.workloads import place

    for name, cluster in clusters.items():
        place(cluster, stack.workloads_on(name))
    return Fleet(spec=stack, clusters=clusters)


def export(fleet: Fleet) -> None:
    """Stack outputs: one entry per cluster, kubeconfig secret."""
    pulumi.export(
        "clusters",
        {
            name: {
                "target": c.spec.target,
                "endpoint": c.endpoint,
                "clusterName": c.cluster_name,
                "kubernetesVersion": c.kubernetes_version,
                "kubeconfig": c.kubeconfig,
            }
            for name, c in fleet.clusters.items()
        },
    )
