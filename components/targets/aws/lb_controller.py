"""The AWS Load Balancer Controller, which gives `LoadBalancer` Services their NLBs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from components.targets.aws import iam, identity
from components.workloads.charts import LB_CONTROLLER, release

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


def install(c: AwsCluster, opts: pulumi.ResourceOptions, ha: bool) -> pulumi.Resource:
    """The AWS Load Balancer Controller: NLBs for LoadBalancer Services, in IP mode, with a role of its own."""
    role = identity.service_role(
        c,
        "lb-controller",
        "kube-system",
        "aws-load-balancer-controller",
        inline=iam.lb_controller_policy(c.partition, c.account, c.spec.region, c.spec.name),
    )
    return release(
        f"{c.spec.name}-aws-load-balancer-controller",
        "aws-load-balancer-controller",
        LB_CONTROLLER,
        {
            "clusterName": c.spec.name,
            "region": c.spec.region,
            "vpcId": c.network.vpc_id,
            "replicaCount": 2 if ha else 1,
            "serviceAccount": {
                "name": "aws-load-balancer-controller",
                "annotations": identity.role_annotations(c, role),
            },
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "podDisruptionBudget": {"maxUnavailable": 1} if ha else {},
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            # Starts with the nodes, before coredns: AWS endpoints resolve through the node's VPC resolver.
            "dnsPolicy": "Default",
            # The chart's Service webhook fails every Service create (any type) while its pods start
            # (values.yaml 1.14.1: serviceMutatorWebhookConfig.failurePolicy Fail, operations CREATE), and the
            # platform's charts create their Services in that same minute. Ignoring it is safe here: it only
            # sets `loadBalancerClass` on LoadBalancer Services, and the only ones this program makes come
            # after the controller (`ready`) and carry `aws-load-balancer-type: external`, which the in-tree
            # controller leaves alone.
            "serviceMutatorWebhookConfig": {"failurePolicy": "Ignore"},
        },
        opts,
    )
