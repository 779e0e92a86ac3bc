"""EKS managed add-ons at their pinned versions (`components/pins.py`), and the storage class EBS CSI serves."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.pins import EKS_ADDONS
from components.targets.aws import identity

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


def addon(
    c: AwsCluster,
    addon: str,
    version: str,
    configuration: Mapping[str, Any] | None = None,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
    role: tuple[aws.iam.Role, str] | None = None,
) -> aws.eks.Addon:
    """One managed add-on at its pinned version; `role` is the (role, ServiceAccount) it runs as, if any."""
    associations = None
    if role is not None and c.spec.pod_identity == "eks-pod-identity":
        associations = [aws.eks.AddonPodIdentityAssociationArgs(role_arn=role[0].arn, service_account=role[1])]
    return aws.eks.Addon(
        f"{c.spec.name}-{addon}",
        cluster_name=c.cluster.name,
        addon_name=addon,
        addon_version=version,
        configuration_values=json.dumps(configuration) if configuration else None,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="PRESERVE",
        pod_identity_associations=associations,
        service_account_role_arn=role[0].arn if role and associations is None else None,
        opts=c.opts(depends_on=list(depends_on)),
    )


def gp3_storage_class(c: AwsCluster, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The default StorageClass: encrypted gp3 volumes from the EBS CSI driver, bound where the pod lands."""
    return k8s.storage.v1.StorageClass(
        f"{c.spec.name}-gp3",
        metadata={"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        reclaim_policy="Delete",
        opts=opts,
    )


# The order of an upgrade is the order of the dependency graph: Pulumi updates a
# resource only after everything it depends on. The control plane moves first, then
# the node groups (they carry the cluster's version), then the add-ons that run as
# Deployments (https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html).
# kube-proxy stays before the nodes: a node's VPC CNI reaches the API server through
# the `kubernetes` Service, which needs kube-proxy, and the cluster is created without
# EKS's self-managed copy (`bootstrapSelfManagedAddons` off). Moving it with the
# control plane keeps to the skew policy, which lets kube-proxy be up to three minors
# newer than the kubelets beside it and never newer than kube-apiserver
# (https://kubernetes.io/releases/version-skew-policy/#kube-proxy).


def before_nodes(c: AwsCluster) -> list[aws.eks.Addon]:
    """DaemonSet add-ons first: nodes join with networking, kube-proxy and the identity agent ready."""
    versions = EKS_ADDONS[c.spec.kubernetes_version]
    return [
        addon(
            c,
            "vpc-cni",
            versions["vpc-cni"],
            {"enableNetworkPolicy": "true", "env": {"ENABLE_PREFIX_DELEGATION": "true"}},
        ),
        addon(c, "kube-proxy", versions["kube-proxy"]),
        addon(c, "eks-pod-identity-agent", versions["eks-pod-identity-agent"]),
    ]


def after_nodes(c: AwsCluster, groups: Sequence[pulumi.Resource], ha: bool) -> tuple[aws.eks.Addon, aws.eks.Addon]:
    """Deployment add-ons need nodes to schedule on; created before them they would wait until timeout."""
    versions = EKS_ADDONS[c.spec.kubernetes_version]
    critical = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    coredns = addon(
        c,
        "coredns",
        versions["coredns"],
        {
            "replicaCount": 2 if ha else 1,
            "tolerations": critical,
            "podDisruptionBudget": {"enabled": ha, "maxUnavailable": 1},
            "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}, "limits": {"memory": "170Mi"}},
        },
        depends_on=groups,
    )
    ebs_role = identity.service_role(
        c,
        "ebs-csi",
        "kube-system",
        "ebs-csi-controller-sa",
        managed=["AmazonEBSCSIDriverPolicyV2"],
        associate=False,
    )
    ebs = addon(
        c,
        "aws-ebs-csi-driver",
        versions["aws-ebs-csi-driver"],
        {"controller": {"tolerations": critical}},
        depends_on=groups,
        role=(ebs_role, "ebs-csi-controller-sa"),
    )
    return coredns, ebs
