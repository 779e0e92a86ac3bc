"""Every version the program pins besides its Helm charts: one table per kind, each with where it is published.

Helm charts are pinned in `components/workloads/charts.py`, and the Kubernetes
minors each target creates in the target registry (`components/targets/__init__.py`).
Tables keyed by Kubernetes minor (`PER_MINOR`) must have a row for every minor
their target supports and no other; `tests/test_pins.py` holds them to it, so a
new minor in the registry fails until its pins are in. Plain data, no SDK.
"""

from __future__ import annotations

from collections.abc import Mapping

EKS_ADDONS: Mapping[str, Mapping[str, str]] = {
    # Managed add-on versions per Kubernetes minor, so a second `up` installs the same bits.
    # Published by `aws eks describe-addon-versions --kubernetes-version 1.x --addon-name <add-on>`
    # (https://docs.aws.amazon.com/eks/latest/userguide/addon-compat.html).
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

K3S_RELEASES: Mapping[str, str] = {
    # The k3s release installed for each Kubernetes minor when a stack pins no `k3sVersion`.
    # Published at https://github.com/k3s-io/k3s/releases (the install script is fetched at the same tag).
    "1.33": "v1.33.6+k3s1",
    "1.34": "v1.34.2+k3s1",
    "1.35": "v1.35.0+k3s1",
    "1.36": "v1.36.0+k3s1",
}

IMAGES: Mapping[str, str] = {
    # Container images the program runs itself (not through a chart).
    # kube-vip: https://github.com/kube-vip/kube-vip/releases
    "kube-vip": "ghcr.io/kube-vip/kube-vip:v0.8.9",
}

# cluster-autoscaler is versioned by Kubernetes minor and meant to run on the control-plane minor it was built for;
# the chart's default image trails (9.50.1 ships v1.33.0). The newest patch of each minor, from the upstream tags
# `cluster-autoscaler-<version>` (all four tagged 2026-07-22).
# Source: https://github.com/kubernetes/autoscaler/blob/cluster-autoscaler-1.36.1/cluster-autoscaler/README.md
# ("Releases": "versioning scheme was changed to match Kubernetes minor releases exactly").
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS: Mapping[str, str] = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}

TANZU_RELEASES: Mapping[str, str] = {
    # The vSphere Kubernetes release (TKr/VKr) a Tanzu workload cluster runs, by its NAME as `kubectl get tkr`
    # lists it in a vSphere Namespace (NAME spells the version's `+` as `---`; the VERSION column keeps `+`).
    # Naming: https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-B3122965-56DC-4D34-83E4-07032AFAB483.html
    # Release: VMware's vSphere Kubernetes releases release notes (VKr 1.33, 24-month support); the name as
    # public VKS cluster specs use it. A Supervisor offers only the releases its content library holds.
    "1.33": "v1.33.6---vmware.1-fips-vkr.2",
}

PER_MINOR: Mapping[str, Mapping[str, object]] = {"aws": EKS_ADDONS, "onprem": K3S_RELEASES, "tanzu": TANZU_RELEASES}
"""Target -> its tables keyed by Kubernetes minor (the other targets' clouds pick their own components)."""
