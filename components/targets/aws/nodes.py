"""Where pods run: managed node groups (a launch template each) and the cluster-autoscaler's part.

With Karpenter (`karpenter.py`) only the system pools are node groups; with
cluster-autoscaler every pool is, tagged for its auto-discovery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.cluster import TAINT_EFFECTS
from components.ignores import ignored
from components.spec import NodePool, Taint
from components.targets.aws import identity

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster

NODE_POLICIES = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    # Networking for pods: the VPC CNI runs on the node before any pod identity can.
    "AmazonEKS_CNI_Policy",
    # Shell access through Session Manager instead of SSH keys and open ports.
    "AmazonSSMManagedInstanceCore",
]

CRITICAL_ADDONS: Mapping[str, str] = {"key": "CriticalAddonsOnly", "operator": "Exists"}
"""What tolerates the system pools' taint: cluster add-ons and the platform's controllers."""


def ami_type(instance_type: str) -> str:
    """Graviton families carry a `g` right after their generation digit (m7g, c7gn, t4g)."""
    family = instance_type.split(".")[0]
    return "AL2023_ARM_64_STANDARD" if re.match(r"^[a-z]+\d+g", family) else "AL2023_x86_64_STANDARD"


def managed_pools(c: AwsCluster) -> list[NodePool]:
    """Pools that become managed node groups.

    With cluster-autoscaler, every pool. With Karpenter, the system pools (where
    Karpenter itself and the cluster add-ons run); a stack without one gets a
    small tainted `system` group so Karpenter never schedules its own capacity.
    """
    pools = list(c.spec.node_pools)
    if c.spec.node_autoscaler == "cluster-autoscaler":
        return pools
    system = [p for p in pools if p.role == "system"]
    if system:
        return system
    ha = c.environment != "dev"
    return [
        NodePool(
            name="system",
            role="system",
            instance_types=pools[0].instance_types if pools else ["m6i.large"],
            min=2 if ha else 1,
            max=3 if ha else 2,
            taints=[Taint(key="CriticalAddonsOnly", value="true", effect="NoSchedule")],
        )
    ]


def node_group(
    c: AwsCluster, pool: NodePool, role: aws.iam.Role, after: Sequence[pulumi.Resource], karpenter: bool
) -> aws.eks.NodeGroup:
    """A managed node group; the node autoscaler owns its size between the pool's min and max."""
    name = f"{c.spec.name}-{pool.name}"
    template = aws.ec2.LaunchTemplate(
        name,
        description=f"Nodes of pool {pool.name} of EKS cluster {c.spec.name}",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            # Pods cannot reach the node's instance credentials through one more network hop.
            http_put_response_hop_limit=1,
            instance_metadata_tags="disabled",
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=pool.disk_size_gb, volume_type="gp3", encrypted="true", delete_on_termination="true"
                ),
            )
        ],
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={"Name": name, **c.tags()})
        ],
        update_default_version=True,
        opts=c.opts(),
    )
    subnets = (
        [c.network.private_by_zone[z] for z in pool.zones]
        if pool.zones and c.network.private_by_zone
        else c.network.private
    )
    tags = {}
    if not karpenter:
        tags = {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{c.spec.name}": "owned"}
    return aws.eks.NodeGroup(
        name,
        cluster_name=c.cluster.name,
        node_group_name=name,
        node_role_arn=role.arn,
        subnet_ids=subnets,
        ami_type=ami_type(pool.instance_types[0]),
        instance_types=list(pool.instance_types),
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        # Pinned to the cluster's: EKS defaults to it at creation only, and the provider sees no drift after.
        version=c.cluster.version,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=pool.min, max_size=pool.max, desired_size=pool.min),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
        node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
        labels={**pool.labels, "orquestra.io/pool": pool.name},
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=TAINT_EFFECTS[t.effect])
            for t in pool.taints
        ],
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        tags=tags,
        # cluster-autoscaler owns the node count between min and max. Under Karpenter nothing else sizes a managed
        # group: the program keeps its count at `min`, so that a new `min` above the old count is not refused
        # ("Minimum capacity ... can't be greater than desired size": the update sends the scaling config whole).
        opts=c.opts(depends_on=list(after), ignore_changes=[] if karpenter else ignored("aws:eks/nodeGroup:NodeGroup")),
    )


def cluster_autoscaler(c: AwsCluster) -> dict[str, Any]:
    """cluster-autoscaler's Helm values (auto-discovery by this cluster's tags) and the role it runs as."""
    name = c.spec.name
    ca_role = identity.service_role(
        c, "cluster-autoscaler", "kube-system", "cluster-autoscaler", inline=identity.cluster_autoscaler_policy(name)
    )
    return {
        "autoDiscovery": {"clusterName": name},
        "awsRegion": c.spec.region,
        "rbac": {
            "serviceAccount": {
                "name": "cluster-autoscaler",
                "annotations": identity.role_annotations(c, ca_role),
            }
        },
    }
