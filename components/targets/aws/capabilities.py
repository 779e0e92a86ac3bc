"""How an EKS cluster does what the workloads layer asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cluster import Capabilities
from components.targets.aws import nodes

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


def of(c: AwsCluster) -> Capabilities:
    """NLBs from the LB controller, Karpenter or cluster-autoscaler, gp3, Pod Identity or IRSA, Route 53."""
    spec = c.spec
    nlb = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    }
    return Capabilities(
        load_balancer="cloud",
        node_autoscaler=spec.node_autoscaler,
        node_autoscaler_installed=spec.node_autoscaler == "karpenter",
        node_autoscaler_values=c.autoscaler_values,
        default_storage_class="gp3",
        pod_identity=spec.pod_identity,
        zones=tuple(c.zones),
        region=spec.region,
        lb_annotations_public={**nlb, "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
        lb_annotations_internal={**nlb, "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
        # EKS runs no metrics-server unless asked ("not deployed by default"); the platform installs it.
        # Source: https://docs.aws.amazon.com/eks/latest/userguide/metrics-server.html
        external_dns_provider="aws",
        external_dns_values=c.dns_values,
        acme_dns01=c.acme_dns01,
        cert_manager_values=c.cert_manager_values,
        # With Karpenter the only node groups are the tainted system ones (`nodes.managed_pools`): the
        # platform's controllers run there, beside coredns and the LB controller, as soon as they join.
        system_tolerations=(nodes.CRITICAL_ADDONS,),
    )
