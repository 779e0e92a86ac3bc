"""GKE, DigitalOcean, Proxmox and vSphere rules of preflight's reject layer, each refusing a plan that breaks it."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from preflight.engine import Plan
from preflight.rejects import digitalocean
from tests.conftest import plan_stack
from tests.rejecting import fields, plan_of, reg, rejected
from tests.test_target_onprem import VSPHERE, inventory_cluster, plan_one

GKE = "gcp:container/cluster:Cluster"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
NODE_POOL = "gcp:container/nodePool:NodePool"


# --------------------------------------------------------------------------- GKE


def gke(**over: Any) -> Any:
    inputs = {
        "name": "gke",
        "network": "net",
        "subnetwork": "sub-id",
        "privateClusterConfig": {"enablePrivateNodes": True, "masterIpv4CidrBlock": "172.16.0.0/28"},
        "ipAllocationPolicy": {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"},
        "releaseChannel": {"channel": "REGULAR"},
        "minMasterVersion": "1.35",
    }
    return reg(GKE, "gke", {**inputs, **over})


def subnetwork(**over: Any) -> Any:
    ranges = [
        {"rangeName": "pods", "ipCidrRange": "10.8.0.0/14"},
        {"rangeName": "services", "ipCidrRange": "10.12.0.0/20"},
    ]
    inputs = {"name": "nodes", "network": "net", "ipCidrRange": "10.0.0.0/20", "secondaryIpRanges": ranges}
    return reg(SUBNETWORK, "nodes", {**inputs, **over}, id="sub-id")


def test_a_well_formed_gke_plan_passes() -> None:
    assert rejected(plan_of(gke(), subnetwork())) == []


@pytest.mark.parametrize("cidr", ["172.16.0.0/24", "100.64.0.0/28", "10.0.0.16/28", "10.9.0.0/28"])
def test_the_control_plane_range_is_a_private_28_that_overlaps_nothing(cidr: str) -> None:
    plan = plan_of(gke(privateClusterConfig={"masterIpv4CidrBlock": cidr}), subnetwork())
    assert fields(plan) == {("gke", "privateClusterConfig.masterIpv4CidrBlock")}


def test_the_secondary_ranges_a_cluster_names_exist_on_its_subnetwork() -> None:
    plan = plan_of(gke(ipAllocationPolicy={"clusterSecondaryRangeName": "pod"}), subnetwork())
    assert fields(plan) == {("gke", "ipAllocationPolicy.clusterSecondaryRangeName")}


def test_the_joins_hold_on_a_real_gke_plan() -> None:
    """The cluster finds its subnetwork by the id the engine recorded: break the range name, get a rejection."""
    real = plan_stack("prod-gcp")
    assert rejected(real) == []
    broken = copy.deepcopy(real.registrations)
    cluster = next(r for r in broken if r.type == GKE)
    cluster.inputs["ipAllocationPolicy"]["clusterSecondaryRangeName"] = "missing"
    plan = Plan(real.stack, broken, {}, real.invokes, [], [])
    assert {r.field for r in rejected(plan)} == {"ipAllocationPolicy.clusterSecondaryRangeName"}


def test_release_channel_against_explicit_versions() -> None:
    pool = reg(NODE_POOL, "pool", {"cluster": "gke", "management": {"autoUpgrade": False}, "version": "1.35.1-gke.1"})
    assert fields(plan_of(gke(), subnetwork(), pool)) == {("pool", "management.autoUpgrade"), ("pool", "version")}
    unenrolled = gke(releaseChannel={"channel": "UNSPECIFIED"})
    assert rejected(plan_of(unenrolled, subnetwork(), pool)) == []
    assert fields(plan_of(gke(nodeVersion="1.34"), subnetwork())) == {("gke", "nodeVersion")}


# ----------------------------------------------------------------- DigitalOcean


def test_do_slugs_have_the_shapes_digitalocean_uses() -> None:
    cluster = reg(
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "doks",
        {"region": "Frankfurt", "version": "1.34", "nodePool": {"size": "large"}},
    )
    pool = reg("digitalocean:index/kubernetesNodePool:KubernetesNodePool", "p", {"size": "s 2vcpu"})
    assert fields(plan_of(cluster, pool)) == {
        ("doks", "region"),
        ("doks", "version"),
        ("doks", "nodePool.size"),
        ("p", "size"),
    }


def test_every_slug_the_sdk_knows_fits_the_shapes() -> None:
    import pulumi_digitalocean as do

    from preflight.answers.digitalocean import KUBERNETES_VERSIONS

    assert all(digitalocean.REGION.match(r.value) for r in do.Region)
    assert all(digitalocean.SIZE.match(s.value) for s in do.DropletSlug)
    assert all(digitalocean.VERSION.match(v) for v in KUBERNETES_VERSIONS)


# ------------------------------------------------------------------ Proxmox, vSphere

VM = "proxmoxve:index/vmLegacy:VmLegacy"


def proxmox(ipv4: dict[str, Any], **over: Any) -> Any:
    inputs = {
        "clone": {"vmId": 9000},
        "disks": [{"interface": "scsi0"}],
        "initialization": {"ipConfigs": [{"ipv4": ipv4}]},
    }
    return reg(VM, "vm", {**inputs, **over})


def test_proxmox_address_gateway_and_disk_combinations() -> None:
    assert rejected(plan_of(proxmox({"address": "192.168.10.11/24", "gateway": "192.168.10.1"}))) == []
    assert rejected(plan_of(proxmox({"address": "dhcp"}))) == []
    field = "initialization.ipConfigs[0].ipv4"
    assert fields(plan_of(proxmox({"address": "dhcp", "gateway": "192.168.10.1"}))) == {("vm", f"{field}.gateway")}
    assert fields(plan_of(proxmox({"address": "192.168.10.11"}))) == {("vm", f"{field}.address")}
    assert fields(plan_of(proxmox({"address": "192.168.10.11/24", "gateway": "10.0.0.1"}))) == {
        ("vm", f"{field}.gateway")
    }
    assert fields(plan_of(proxmox({"address": "dhcp"}, disks=[{"interface": "ide0"}], clone={}))) == {
        ("vm", "disks[0].interface"),
        ("vm", "clone.vmId"),
    }


def test_the_shipped_proxmox_stack_passes() -> None:
    plan = plan_stack("onprem")
    assert plan.resources(VM) and rejected(plan) == []


def test_vsphere_gateway_must_be_local_to_the_static_addresses() -> None:
    good = plan_one(inventory_cluster(machines=VSPHERE))
    assert good.ok and good.resources("vsphere:index/virtualMachine:VirtualMachine") and rejected(good) == []
    bad = plan_one(inventory_cluster(machines={**VSPHERE, "gateway": "10.99.0.1"}))
    assert bad.ok, bad.errors
    assert {r.field for r in rejected(bad)} == {"clone.customize.ipv4Gateway"}
    assert all(re.search(r"10\.99\.0\.1 is local to no static address", r.message) for r in rejected(bad))


def test_vsphere_needs_a_datastore_and_a_template() -> None:
    vm = reg("vsphere:index/virtualMachine:VirtualMachine", "vm", {"resourcePoolId": "rp", "clone": {}})
    assert fields(plan_of(vm)) == {("vm", "datastoreId"), ("vm", "clone.templateUuid")}


def test_gcp_refuses_allowlist_patterns_binary_authorization_cannot_read() -> None:
    policy = "gcp:binaryauthorization/policy:Policy"
    patterns = ["quay.io/jetstack/*", "gcr.io/p/**", "ghcr.io/o/app:1.0", "nginx*", "*/x", "ghcr.io/*/app", "ghcr.io"]
    plan = plan_of(reg(policy, "p", {"admissionWhitelistPatterns": [{"namePattern": p} for p in patterns]}))
    assert {f for _, f in fields(plan)} == {f"admissionWhitelistPatterns[{i}].namePattern" for i in (3, 4, 5, 6)}
    # What the program writes for the shipped prod stack passes.
    assert [r for r in rejected(plan_stack("prod-gcp")) if "admissionWhitelistPatterns" in r.field] == []
