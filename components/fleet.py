"""Builds every cluster of a stack, then places the platform services and workloads on each.

Target modules are imported only for the targets a stack uses, so a stack for one
cloud never loads the SDKs of the others. Everything that can be checked without
the cloud (spec, target availability, local files) is checked before the first
resource is registered.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pulumi

from components.cluster import ClusterProblems, KubernetesCluster
from components.spec import ClusterBase, Environment, Problem, SpecError, StackSpec, problem_line

# target -> (module, class). A module that does not exist yet means "not yet available".
TARGETS: Mapping[str, tuple[str, str]] = {
    "existing": ("components.targets.existing", "ExistingTarget"),
    "aws": ("components.targets.aws", "AwsTarget"),
    "gcp": ("components.targets.gcp", "GcpTarget"),
    "azure": ("components.targets.azure", "AzureTarget"),
    "digitalocean": ("components.targets.digitalocean", "DigitalOceanTarget"),
    "onprem": ("components.targets.onprem", "OnpremTarget"),
}


class Target(Protocol):
    def __call__(
        self, spec: ClusterBase, environment: Environment, opts: pulumi.ResourceOptions | None = None
    ) -> KubernetesCluster: ...


def available_targets() -> list[str]:
    return [t for t, (module, _) in TARGETS.items() if importlib.util.find_spec(module) is not None]


def resolve(stack: StackSpec) -> dict[str, Target]:
    """Load the target class of each cluster, and run its local checks; raise SpecError on any problem."""
    problems: list[str] = []
    classes: dict[str, Target] = {}
    for i, cluster in enumerate(stack.clusters):
        module_name, class_name = TARGETS[cluster.target]
        if importlib.util.find_spec(module_name) is None:
            problems.append(
                f"orquestra:clusters[{i}].target: '{cluster.target}'; allowed: a target available in this "
                f"version of orquestra ({', '.join(available_targets())}); '{cluster.target}' is not yet available"
            )
            continue
        cls = getattr(importlib.import_module(module_name), class_name)
        check = getattr(cls, "check", None)
        found: list[Problem] = list(check(cluster)) if check else []
        problems.extend(problem_line(f"clusters[{i}].{p.path}", p.value, p.allowed) for p in found)
        classes[cluster.name] = cls
    if problems:
        raise SpecError(problems)
    return classes


@dataclass(frozen=True)
class Fleet:
    spec: StackSpec
    clusters: Mapping[str, KubernetesCluster]


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
    clusters: dict[str, KubernetesCluster] = {}
    problems: list[str] = []
    for i, c in enumerate(stack.clusters):
        try:
            clusters[c.name] = classes[c.name](
                c, stack.environment, renamed(c.renamed_from, c.name) if c.renamed_from else None
            )
        except ClusterProblems as exc:
            problems.extend(problem_line(f"clusters[{i}].{p.path}", p.value, p.allowed) for p in exc.problems)
    if problems:
        raise SpecError(problems)
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
