"""EKS managed add-ons, pinned per Kubernetes minor, and the storage class the EBS CSI driver serves."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.targets.aws import identity

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


# Managed add-on versions, pinned per Kubernetes minor so a second `up` installs the
# same bits. Refresh with `aws eks describe-addon-versions --kubernetes-version 1.x`.
ADDON_VERSIONS: Mapping[str, Mapping[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "coredns": "v1.12.3-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
        "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
    },
    "1.35": {
        "vpc-cni": "v1.21.1-eksbuild.1",
        "kube-proxy": "v1.35.0-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
        "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
    },
    "1.36": {
        "vpc-cni": "v1.21.3-eksbuild.1",
        "kube-proxy": "v1.36.0-eksbuild.1",
        "coredns": "v1.13.1-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.11-eksbuild.1",
        "aws-ebs-csi-driver": "v1.55.0-eksbuild.1",
    },
}


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
# resource only after everything it depends on. EKS upgrades the control plane
# first, then the nodes, then the add-ons
# (https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html), and
# kube-proxy follows the Kubernetes skew policy
# (https://kubernetes.io/releases/version-skew-policy/#kube-proxy, referenced from
# https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html): it must
# not be newer than kube-apiserver nor run ahead of the kubelets beside it. So only
# what nodes need to become Ready comes before the node groups.


def before_nodes(c: AwsCluster) -> list[aws.eks.Addon]:
    """What the first nodes need: the CNI (a node is NotReady without one) and the Pod Identity agent.

    The agent is there before the nodes because controllers on the system nodes
    (Karpenter, the EBS CSI controller) take their credentials from it.
    """
    versions = ADDON_VERSIONS[c.spec.kubernetes_version]
    return [
        addon(
            c,
            "vpc-cni",
            versions["vpc-cni"],
            {"enableNetworkPolicy": "true", "env": {"ENABLE_PREFIX_DELEGATION": "true"}},
        ),
        addon(c, "eks-pod-identity-agent", versions["eks-pod-identity-agent"]),
    ]


def after_nodes(c: AwsCluster, groups: Sequence[pulumi.Resource], ha: bool) -> list[aws.eks.Addon]:
    """kube-proxy, bound to the kubelets' version, and the Deployments that schedule on nodes."""
    versions = ADDON_VERSIONS[c.spec.kubernetes_version]
    kube_proxy = addon(c, "kube-proxy", versions["kube-proxy"], depends_on=groups)
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
    return [kube_proxy, coredns, ebs]
