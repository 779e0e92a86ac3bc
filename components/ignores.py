"""Every property the program tells Pulumi to ignore (`ignoreChanges`), and why, in one table.

The program passes `ignored(type)` as a resource's `ignore_changes`, so what it
ignores and the reason for it cannot drift apart; preflight records the option
on each registration, and the drift report (`preflight/drift.py`) reads the
reasons here to tell a change the program leaves alone on purpose (a node count
the autoscaler owns) from drift. Plain data, no SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Ignored:
    path: str
    """A property path in Pulumi's syntax (`scalingConfig.desiredSize`, `agentPoolProfiles[0].count`)."""
    reason: str


_AUTOSCALER = "the cluster autoscaler owns the node count between min and max; Pulumi must never reset it"

IGNORED: Mapping[str, tuple[Ignored, ...]] = {
    "aws:eks/nodeGroup:NodeGroup": (Ignored("scalingConfig.desiredSize", _AUTOSCALER),),
    "gcp:container/nodePool:NodePool": (
        Ignored("initialNodeCount", "only sizes the pool on create; the autoscaler sizes it after"),
        Ignored("nodeCount", _AUTOSCALER),
    ),
    "gcp:container/cluster:Cluster": (
        Ignored("nodeConfig", "only shapes the default pool, deleted on create; a change would replace the cluster"),
        Ignored("initialNodeCount", "only sizes the default pool, deleted on create; a change would replace it"),
    ),
    "azure-native:containerservice:ManagedCluster": (Ignored("agentPoolProfiles[0].count", _AUTOSCALER),),
    "azure-native:containerservice:AgentPool": (Ignored("count", _AUTOSCALER),),
    "digitalocean:index/kubernetesCluster:KubernetesCluster": (Ignored("nodePool.nodeCount", _AUTOSCALER),),
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": (Ignored("nodeCount", _AUTOSCALER),),
    "oci:ContainerEngine/nodePool:NodePool": (Ignored("nodeConfigDetails.size", _AUTOSCALER),),
    "kubernetes:apps/v1:Deployment": (
        Ignored("spec.replicas", "the HorizontalPodAutoscaler owns the replica count once it exists"),
    ),
}


def ignored(type_: str) -> list[str]:
    """The `ignore_changes` of a resource of this type."""
    return [i.path for i in IGNORED.get(type_, ())]


def reason(type_: str, path: str) -> str | None:
    """Why the program ignores `path` (or the property it sits under) on this type; None if it does not."""
    for i in IGNORED.get(type_, ()):
        if path == i.path or path.startswith((i.path + ".", i.path + "[")):
            return i.reason
    return None
