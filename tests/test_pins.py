"""Pins agree with what the registry says the targets support: every supported minor has its row, and only those."""

from __future__ import annotations

import re

import pytest

from components import pins, spec
from components.targets import REGISTRY
from components.targets.aws import addons

ADDONS = {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"}


@pytest.mark.parametrize("target", sorted(pins.PER_MINOR))
def test_every_supported_minor_has_its_row_and_no_other_minor_does(target: str) -> None:
    assert set(pins.PER_MINOR[target]) == set(REGISTRY[target].versions)


def test_the_tables_keyed_by_minor_are_the_ones_the_targets_read() -> None:
    assert pins.PER_MINOR["aws"] is pins.EKS_ADDONS is addons.EKS_ADDONS
    assert pins.PER_MINOR["onprem"] is pins.K3S_RELEASES is spec.K3S_RELEASES


@pytest.mark.parametrize("minor", sorted(pins.EKS_ADDONS))
def test_each_eks_minor_pins_every_addon_the_cluster_installs(minor: str) -> None:
    row = pins.EKS_ADDONS[minor]
    assert set(row) == ADDONS
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", v) for v in row.values()), row
    assert row["kube-proxy"].startswith(f"v{minor}."), "kube-proxy follows the control plane's minor"


@pytest.mark.parametrize("minor", sorted(pins.K3S_RELEASES))
def test_each_k3s_release_is_of_its_minor_and_a_valid_k3s_version(minor: str) -> None:
    release = pins.K3S_RELEASES[minor]
    assert release.startswith(f"v{minor}.")
    cluster = {
        "name": "dc1",
        "target": "onprem",
        "kubernetesVersion": minor,
        "machines": {"source": "inventory", "servers": [{"name": "s1", "address": "192.168.10.11"}]},
        "ssh": {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"},
        "apiVip": "192.168.10.5",
        "loadBalancerPool": ["192.168.10.200-192.168.10.220"],
    }
    parsed = spec.parse({"clusters": [cluster]}).clusters[0]
    assert isinstance(parsed, spec.OnpremSpec) and parsed.k3s_version == release
    assert spec.parse({"clusters": [{**cluster, "k3sVersion": release}]}).clusters[0] == parsed


@pytest.mark.parametrize("name", sorted(pins.IMAGES))
def test_images_are_pinned_by_tag_or_digest(name: str) -> None:
    image = pins.IMAGES[name]
    assert "@sha256:" in image or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"))
