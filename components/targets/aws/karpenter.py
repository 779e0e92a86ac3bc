"""Karpenter, the default node autoscaler: it launches the workload pools' instances itself.

The system pools stay managed node groups (`nodes.py`), where Karpenter and the
cluster add-ons run; every other pool becomes a Karpenter NodePool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.spec import NodePool
from components.targets.aws import iam, identity
from components.targets.aws.nodes import NODE_POLICIES
from components.workloads.charts import KARPENTER, KARPENTER_CRD, release

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


# vCPUs per instance type, to turn a pool's `max` nodes into a Karpenter CPU limit.
VCPUS: Mapping[str, int] = {
    "t3.medium": 2, "t3.large": 2, "t3.xlarge": 4, "m6i.large": 2, "m6i.xlarge": 4, "m6i.2xlarge": 8,
    "m7i.large": 2, "m7i.xlarge": 4, "m7g.large": 2, "m7g.xlarge": 4, "c6i.large": 2, "c6i.xlarge": 4,
    "c7i.large": 2, "r6i.large": 2, "r6i.xlarge": 4, "g5.xlarge": 4,
}  # fmt: skip


def install(
    c: AwsCluster, opts: pulumi.ResourceOptions, ha: bool, api_opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """Karpenter: its node role and access entry, the interruption queue and its rules, the charts, the pools."""
    name = c.spec.name
    # A role of their own: EKS already made an access entry for the managed groups' role.
    node_role = identity.role(c, f"{name}-karpenter-node", "ec2.amazonaws.com", NODE_POLICIES)
    queue = aws.sqs.Queue(
        f"{name}-karpenter-interruptions",
        name=f"{name}-karpenter",
        message_retention_seconds=300,
        sqs_managed_sse_enabled=True,
        opts=c.opts(),
    )
    aws.sqs.QueuePolicy(
        f"{name}-karpenter-interruptions",
        queue_url=queue.url,
        policy=queue.arn.apply(
            lambda arn: identity.policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                }
            )
        ),
        opts=c.opts(),
    )
    events = {
        "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    }
    for label, pattern in events.items():
        rule = aws.cloudwatch.EventRule(f"{name}-karpenter-{label}", event_pattern=json.dumps(pattern), opts=c.opts())
        aws.cloudwatch.EventTarget(f"{name}-karpenter-{label}", rule=rule.name, arn=queue.arn, opts=c.opts())
    # Nodes Karpenter launches join through an access entry for their role.
    aws.eks.AccessEntry(
        f"{name}-karpenter-nodes",
        cluster_name=c.cluster.name,
        principal_arn=node_role.arn,
        type="EC2_LINUX",
        opts=c.opts(),
    )
    role = identity.service_role(
        c,
        "karpenter",
        "kube-system",
        "karpenter",
        inline=pulumi.Output.all(node_role.arn, queue.arn).apply(
            lambda a: iam.karpenter_policy(
                c.partition, c.account, c.spec.region, name, node_role_arn=str(a[0]), queue_arn=str(a[1])
            )
        ),
    )
    # CRDs run no pod: they go in as soon as the API answers (`api_opts`), not behind the nodes.
    crds = release(f"{name}-karpenter-crd", "karpenter-crd", KARPENTER_CRD, {}, api_opts)
    chart = release(
        f"{name}-karpenter",
        "karpenter",
        KARPENTER,
        {
            "settings": {"clusterName": name, "interruptionQueue": queue.name},
            "replicas": 2 if ha else 1,
            "serviceAccount": {"name": "karpenter", "annotations": identity.role_annotations(c, role)},
            "controller": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
            "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            # Starts with the nodes, before coredns: STS and EC2 resolve through the node's VPC resolver
            # (https://karpenter.sh/docs/troubleshooting/#failed-resolving-sts-credentials-with-io-timeout).
            "dnsPolicy": "Default",
        },
        opts,
        skip_crds=True,
        depends_on=[crds],
    )
    cr = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[chart]))
    made: list[pulumi.Resource] = [crds, chart]
    for pool in (p for p in c.spec.node_pools if p.role != "system"):
        node_class = ec2_node_class(c, pool, node_role, cr)
        made += [node_class, node_pool(c, pool, cr, node_class)]
    return made


def ec2_node_class(
    c: AwsCluster, pool: NodePool, node_role: aws.iam.Role, opts: pulumi.ResourceOptions
) -> pulumi.Resource:
    """The EC2 side of one pool's nodes: AMI, subnets, security group, IMDSv2 and the pool's root volume.

    One per pool, named like it, because the root volume's size is the pool's
    `diskSizeGb` (EBS sizes are GiB, as the node groups' launch templates have them).
    """
    name = c.spec.name
    return k8s.apiextensions.CustomResource(
        f"{name}-karpenter-nodeclass-{pool.name}",
        api_version="karpenter.k8s.aws/v1",
        kind="EC2NodeClass",
        metadata={"name": pool.name},
        spec={
            "role": node_role.name,
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": name}}],
            "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": name}}],
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": f"{pool.disk_size_gb}Gi", "volumeType": "gp3", "encrypted": True},
                }
            ],
            # Karpenter adds kubernetes.io/cluster/<name> itself; karpenter-crd 1.8.1 refuses it here (CEL).
            "tags": c.tags(),
        },
        opts=opts,
    )


def node_pool(
    c: AwsCluster, pool: NodePool, opts: pulumi.ResourceOptions, node_class: pulumi.Resource
) -> pulumi.Resource:
    """A Karpenter NodePool for one spec pool: its types, capacity type, zones, labels and taints."""
    cpus = pool.max * max(VCPUS.get(t, 4) for t in pool.instance_types)
    requirements: list[dict[str, Any]] = [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot" if pool.spot else "on-demand"]},
    ]
    if pool.zones:
        requirements.append({"key": "topology.kubernetes.io/zone", "operator": "In", "values": list(pool.zones)})
    return k8s.apiextensions.CustomResource(
        f"{c.spec.name}-karpenter-{pool.name}",
        api_version="karpenter.sh/v1",
        kind="NodePool",
        metadata={"name": pool.name},
        spec={
            "template": {
                "metadata": {"labels": {**pool.labels, "orquestra.io/pool": pool.name}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.name},
                    "requirements": requirements,
                    "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
                    "expireAfter": "720h",
                },
            },
            # `max` nodes of the largest type listed: the pool's ceiling, as for a node group.
            "limits": {"cpu": str(cpus)},
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[node_class])),
    )
