"""Builds every cluster of a stack, then places the platform services and workloads on each.

Target modules are imported only for the targets a stack uses, so a stack for one
cloud never loads the SDKs of the others. Everything that can be checked without
the cloud (spec, target availability, each target's own rules) is checked by
`spec.parse`, before the first resource is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.cluster import KubernetesCluster
from components.spec import StackSpec
from components.targets import REGISTRY


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
    """Every cluster of a parsed stack (`spec.parse` has run each target's check), then its workloads."""
    clusters = {
        c.name: REGISTRY[c.target].load()(
            c, stack.environment, renamed(c.renamed_from, c.name) if c.renamed_from else None
        )
        for c in stack.clusters
    }
    from components.workloads import place

    for name, cluster in clusters.items():
        place(cluster, stack.workloads_on(name))
    from components import globaldns

    globaldns.build(stack, clusters)
    if stack.sites:
        from components import sites

        sites.build(stack, clusters)
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
