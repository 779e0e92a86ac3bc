"""The stack spec: defaults per environment, and one exact line per bad value."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import spec
from components.spec import SpecError, parse
from components.targets import REGISTRY

KUBECONFIG_SECRET = "token: s3cr3t-do-not-print"


def aws(**over: Any) -> dict[str, Any]:
    return {
        "name": "eks",
        "target": "aws",
        "region": "eu-west-1",
        "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
        **over,
    }


# A private endpoint is reached from a hub the stack peers with (tests/test_deployer.py has its rules).
AWS_DEPLOYER = {
    "runner": "deploy-eu",
    "hub": {"vpcId": "vpc-0a1b2c3d4e5f60718", "cidrs": ["10.250.0.0/20"], "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]},
}


def existing(**over: Any) -> dict[str, Any]:
    return {"name": "local", "target": "existing", "kubeconfigPath": "~/.kube/config", **over}


def onprem(**over: Any) -> dict[str, Any]:
    return {
        "name": "dc1",
        "target": "onprem",
        "machines": {"source": "inventory", "servers": [{"name": "s1", "address": "192.168.10.11"}]},
        "ssh": {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"},
        "apiVip": "192.168.10.5",
        "loadBalancerPool": ["192.168.10.200-192.168.10.220"],
        **over,
    }


def workload(**over: Any) -> dict[str, Any]:
    return {"name": "web", "image": "ghcr.io/acme/web:1.4.2", "clusters": ["local"], **over}


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(config)
    return info.value.problems


# ----------------------------------------------------------------------------- good


def test_dev_defaults_are_small_and_open_to_listed_cidrs() -> None:
    stack = parse({"environment": "dev", "clusters": [aws()]})
    cluster = stack.clusters[0]
    assert isinstance(cluster, spec.AwsSpec)
    assert cluster.kubernetes_version == REGISTRY["aws"].default_version
    assert cluster.network.zones == 2
    assert cluster.nat_gateways == "single"
    assert not cluster.deletion_protection
    assert not cluster.api_access.private
    assert [(p.name, p.min, p.max, p.instance_types) for p in cluster.node_pools] == [("general", 1, 3, ["t3.large"])]


def test_prod_defaults_are_highly_available_and_locked_down() -> None:
    stack = parse({"environment": "prod", "clusters": [aws(apiAccess={}, deployer=AWS_DEPLOYER)]})
    cluster = stack.clusters[0]
    assert isinstance(cluster, spec.AwsSpec)
    assert cluster.deletion_protection
    assert cluster.api_access.private
    assert cluster.network.zones == 3
    assert cluster.nat_gateways == "per-zone"
    pools = {p.name: p for p in cluster.node_pools}
    assert pools["system"].role == "system" and pools["system"].min >= 2
    assert pools["system"].taints[0].key == "CriticalAddonsOnly"
    assert pools["general"].min == 3 and pools["general"].instance_types == ["m6i.large"]


def test_any_key_overrides_the_environment() -> None:
    accepted = [{"rule": "single-nat-gateway", "reason": "a cost trial, reviewed by the platform team"}]
    cluster = parse(
        {
            "environment": "prod",
            "clusters": [
                aws(
                    deletionProtection=False,
                    network={"zones": 2},
                    natGateways="single",
                    acceptedRisks=accepted,
                    deployer=AWS_DEPLOYER,
                )
            ],
        }
    ).clusters[0]
    assert isinstance(cluster, spec.AwsSpec)
    assert (cluster.deletion_protection, cluster.network.zones, cluster.nat_gateways) == (False, 2, "single")
    assert cluster.api_access.private, "keys not overridden keep the environment's value"


def test_own_node_pools_replace_the_environment_pools() -> None:
    cluster = parse(
        {"environment": "prod", "clusters": [aws(nodePools=[{"name": "gpu", "max": 2}], deployer=AWS_DEPLOYER)]}
    ).clusters[0]
    assert [(p.name, p.min, p.max) for p in cluster.node_pools] == [("gpu", 1, 2)]


def test_workload_replicas_follow_the_environment() -> None:
    dev = parse({"environment": "dev", "clusters": [existing()], "workloads": [workload()]})
    prod = parse({"environment": "prod", "clusters": [existing()], "workloads": [workload()]})
    assert (dev.workloads[0].replicas.min, prod.workloads[0].replicas.min) == (1, 3)
    assert prod.workloads_on("local") == prod.workloads
    assert prod.workloads_on("other") == ()


def test_image_digest_is_pinned() -> None:
    digest = "ghcr.io/acme/web@sha256:" + "a" * 64
    assert parse({"clusters": [existing()], "workloads": [workload(image=digest)]}).workloads[0].image == digest


def test_secret_values_are_not_in_the_models_repr() -> None:
    stack = parse({"clusters": [existing(kubeconfigPath=None, kubeconfig=KUBECONFIG_SECRET)]})
    assert "s3cr3t" not in repr(stack)


def test_every_shipped_stack_parses() -> None:
    from pathlib import Path

    from preflight.stackconfig import load, stacks

    root = Path(__file__).resolve().parent.parent
    names = stacks(root)
    assert "dev" in names
    for name in names:
        config = load(root, name)
        parse(config.namespace("orquestra"))


# ------------------------------------------------------------------------------ bad

# (config, exact key path that must lead the message, a fragment of "allowed")
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("no clusters", {}, "orquestra:clusters", "non-empty list"),
    ("clusters not a list", {"clusters": "eks"}, "orquestra:clusters", "non-empty list"),
    ("unknown namespace key", {"clusters": [existing()], "cluster": []}, "orquestra:cluster", "did you mean"),
    ("bad environment", {"environment": "qa", "clusters": [existing()]}, "orquestra:environment", "dev, staging, prod"),
    ("unknown target", {"clusters": [{"name": "x", "target": "ibm"}]}, "orquestra:clusters[0].target", "aws"),
    ("missing target", {"clusters": [{"name": "x"}]}, "orquestra:clusters[0].target", "required"),
    ("bad cluster name", {"clusters": [existing(name="Prod_1")]}, "orquestra:clusters[0].name", "matching"),
    ("long cluster name", {"clusters": [existing(name="a" * 30)]}, "orquestra:clusters[0].name", "at most 24"),
    ("duplicate cluster", {"clusters": [existing(), existing()]}, "orquestra:clusters[1].name", "clusters[0]"),
    (
        "unsupported version",
        {"clusters": [aws(kubernetesVersion="1.29")]},
        "orquestra:clusters[0].kubernetesVersion",
        "1.35",
    ),
    (
        "version format",
        {"clusters": [aws(kubernetesVersion="v1.35.2")]},
        "orquestra:clusters[0].kubernetesVersion",
        "matching",
    ),
    (
        "min above max",
        {"clusters": [aws(nodePools=[{"name": "a", "min": 5, "max": 2}])]},
        "orquestra:clusters[0].nodePools[0].max",
        ">= min (5)",
    ),
    (
        "max zero",
        {"clusters": [aws(nodePools=[{"name": "a", "min": 0, "max": 0}])]},
        "orquestra:clusters[0].nodePools[0].max",
        "greater than or equal to 1",
    ),
    (
        "min not int",
        {"clusters": [aws(nodePools=[{"name": "a", "min": "two"}])]},
        "orquestra:clusters[0].nodePools[0].min",
        "integer",
    ),
    (
        "pool typo",
        {"clusters": [aws(nodePools=[{"name": "a", "mx": 3}])]},
        "orquestra:clusters[0].nodePools[0].mx",
        "did you mean 'max'",
    ),
    (
        "duplicate pool",
        {"clusters": [aws(nodePools=[{"name": "a"}, {"name": "a"}])]},
        "orquestra:clusters[0].nodePools[1].name",
        "not used by another pool",
    ),
    (
        "taint effect",
        {"clusters": [aws(nodePools=[{"name": "a", "taints": [{"key": "k", "effect": "Never"}]}])]},
        "orquestra:clusters[0].nodePools[0].taints[0].effect",
        "NoSchedule",
    ),
    (
        "world-open api",
        {"clusters": [aws(apiAccess={"publicCidrs": ["0.0.0.0/0"]})]},
        "orquestra:clusters[0].apiAccess.publicCidrs[0]",
        "narrower than /0",
    ),
    (
        "public api with no cidrs",
        {"clusters": [aws(apiAccess={"private": False})]},
        "orquestra:clusters[0].apiAccess.publicCidrs",
        "private: true",
    ),
    (
        "cidr host bits",
        {"clusters": [aws(apiAccess={"publicCidrs": ["203.0.113.7/24"]})]},
        "orquestra:clusters[0].apiAccess.publicCidrs[0]",
        "no host bits",
    ),
    (
        "bad vpc cidr",
        {"clusters": [aws(network={"cidr": "10.0.0.0/33"})]},
        "orquestra:clusters[0].network.cidr",
        "CIDR",
    ),
    (
        "pod cidr overlaps vpc",
        {"clusters": [aws(network={"podCidr": "10.0.128.0/17"})]},
        "orquestra:clusters[0].network.podCidr",
        "does not overlap cidr",
    ),
    (
        "clusters overlap",
        {
            "clusters": [
                aws(),
                aws(
                    name="eks2",
                    network={"cidr": "10.0.0.0/20", "podCidr": "10.101.0.0/16", "serviceCidr": "10.201.0.0/20"},
                ),
            ]
        },
        "orquestra:clusters[1].network.cidr",
        "clusters[0].network.cidr",
    ),
    (
        "aws unknown key",
        {"clusters": [aws(nodeAutoscaller="karpenter")]},
        "orquestra:clusters[0].nodeAutoscaller",
        "did you mean 'nodeAutoscaler'",
    ),
    ("aws autoscaler", {"clusters": [aws(nodeAutoscaler="keda")]}, "orquestra:clusters[0].nodeAutoscaler", "karpenter"),
    (
        "admin role arn",
        {"clusters": [aws(adminRoleArns=["admin"])]},
        "orquestra:clusters[0].adminRoleArns[0]",
        "arn:aws",
    ),
    (
        "gcp project",
        {
            "clusters": [
                {
                    "name": "gke",
                    "target": "gcp",
                    "region": "europe-west1",
                    "project": "P!",
                    "apiAccess": {"private": True},
                }
            ]
        },
        "orquestra:clusters[0].project",
        "matching",
    ),
    (
        "gcp missing project",
        {"clusters": [{"name": "gke", "target": "gcp", "region": "europe-west1", "apiAccess": {"private": True}}]},
        "orquestra:clusters[0].project",
        "required",
    ),
    (
        "gcp channel",
        {
            "clusters": [
                {
                    "name": "gke",
                    "target": "gcp",
                    "region": "europe-west1",
                    "project": "acme-prod",
                    "releaseChannel": "FAST",
                    "apiAccess": {"private": True},
                }
            ]
        },
        "orquestra:clusters[0].releaseChannel",
        "STABLE",
    ),
    (
        "azure tier",
        {
            "clusters": [
                {
                    "name": "aks",
                    "target": "azure",
                    "region": "westeurope",
                    "tier": "Gold",
                    "apiAccess": {"private": True},
                }
            ]
        },
        "orquestra:clusters[0].tier",
        "Standard",
    ),
    (
        "maintenance time",
        {
            "clusters": [
                {
                    "name": "doks",
                    "target": "digitalocean",
                    "region": "fra1",
                    "maintenance": {"start": "25:00"},
                    "apiAccess": {"private": True},
                }
            ]
        },
        "orquestra:clusters[0].maintenance.start",
        "matching",
    ),
    (
        "onprem source",
        {"clusters": [onprem(machines={"source": "openstack"})]},
        "orquestra:clusters[0].machines.source",
        "inventory",
    ),
    (
        "onprem host ip",
        {"clusters": [onprem(machines={"source": "inventory", "servers": [{"name": "s1", "address": "192.168.10"}]})]},
        "orquestra:clusters[0].machines.servers[0].address",
        "IP address",
    ),
    ("onprem even servers", {"clusters": [onprem(servers=2)]}, "orquestra:clusters[0].servers", "odd number"),
    (
        "onprem missing ssh",
        {"clusters": [{k: v for k, v in onprem().items() if k != "ssh"}]},
        "orquestra:clusters[0].ssh",
        "required",
    ),
    (
        "existing both kubeconfigs",
        {"clusters": [existing(kubeconfig=KUBECONFIG_SECRET)]},
        "orquestra:clusters[0].kubeconfigPath",
        "exactly one",
    ),
    (
        "existing metallb without pool",
        {"clusters": [existing(loadBalancer="metallb")]},
        "orquestra:clusters[0].loadBalancerPool",
        "MetalLB",
    ),
    (
        "existing node pools",
        {"clusters": [existing(nodePools=[{"name": "a"}])]},
        "orquestra:clusters[0].nodePools",
        "not managed here",
    ),
    (
        "platform typo",
        {"clusters": [existing(platform={"gateway": {"pubic": True}})]},
        "orquestra:clusters[0].platform.gateway.pubic",
        "did you mean 'public'",
    ),
    (
        "acme email",
        {"clusters": [existing(platform={"certManager": {"acmeEmail": "nobody"}})]},
        "orquestra:clusters[0].platform.certManager.acmeEmail",
        "an e-mail address",
    ),
    (
        "workload unpinned",
        {"clusters": [existing()], "workloads": [workload(image="nginx")]},
        "orquestra:workloads[0].image",
        "pinned",
    ),
    (
        "workload latest",
        {"clusters": [existing()], "workloads": [workload(image="nginx:latest")]},
        "orquestra:workloads[0].image",
        "other than 'latest'",
    ),
    (
        "workload image syntax",
        {"clusters": [existing()], "workloads": [workload(image="Not An Image")]},
        "orquestra:workloads[0].image",
        "image reference",
    ),
    (
        "workload unknown cluster",
        {"clusters": [existing()], "workloads": [workload(clusters=["local", "edge"])]},
        "orquestra:workloads[0].clusters[1]",
        "local",
    ),
    (
        "workload no clusters",
        {"clusters": [existing()], "workloads": [workload(clusters=[])]},
        "orquestra:workloads[0].clusters",
        "at least 1",
    ),
    (
        "workload port",
        {"clusters": [existing()], "workloads": [workload(port=70000)]},
        "orquestra:workloads[0].port",
        "less than or equal to 65535",
    ),
    (
        "workload replicas",
        {"clusters": [existing()], "workloads": [workload(replicas={"min": 4, "max": 2})]},
        "orquestra:workloads[0].replicas.max",
        "replicas.min (4)",
    ),
    (
        "workload duplicate",
        {"clusters": [existing()], "workloads": [workload(), workload()]},
        "orquestra:workloads[1].name",
        "workloads[0]",
    ),
    ("workloads not a list", {"clusters": [existing()], "workloads": {"web": {}}}, "orquestra:workloads", "a list"),
    (
        # external-dns publishes only names inside its domainFilters: a host outside the zone would get no record.
        "workload host outside the cluster's dns zone",
        {
            "clusters": [aws(platform={"dns": {"zone": "prod.example.com"}})],
            "workloads": [workload(clusters=["eks"], expose={"host": "api.example.com"})],
        },
        "orquestra:workloads[0].expose.host",
        "prod.example.com",
    ),
    (
        "workload host that only ends like the zone",
        {
            "clusters": [aws(platform={"dns": {"zone": "example.com"}})],
            "workloads": [workload(clusters=["eks"], expose={"host": "api.notexample.com"})],
        },
        "orquestra:workloads[0].expose.host",
        "example.com",
    ),
    (
        "workload memory",
        {"clusters": [existing()], "workloads": [workload(resources={"memory": "1GB"})]},
        "orquestra:workloads[0].resources.memory",
        "matching",
    ),
]


def gcp(**over: Any) -> dict[str, Any]:
    return {"name": "gke", "target": "gcp", "region": "europe-west1", "project": "acme-prod", **over}


def azure(**over: Any) -> dict[str, Any]:
    return {"name": "aks", "target": "azure", "region": "westeurope", **over}


def doks(**over: Any) -> dict[str, Any]:
    return {"name": "doks", "target": "digitalocean", "region": "fra1", **over}


def pool(**over: Any) -> list[dict[str, Any]]:
    return [{"name": "general", **over}]


def proxmox(**over: Any) -> dict[str, Any]:
    return {
        "source": "proxmox",
        "endpoint": "https://pve1.dc1.example.internal:8006/",
        "node": "pve1",
        "templateVmId": 9000,
        "addresses": ["192.168.10.11/24", "192.168.10.21/24"],
        "gateway": "192.168.10.1",
        **over,
    }


def vsphere(**over: Any) -> dict[str, Any]:
    return {
        "source": "vsphere",
        "server": "vcenter.dc1.example.com",
        "datacenter": "dc1",
        "cluster": "c1",
        "datastore": "ds1",
        "network": "VM Network",
        "template": "templates/ubuntu-24.04",
        "addresses": ["192.168.10.11/24", "192.168.10.21/24"],
        "gateway": "192.168.10.1",
        **over,
    }


def web(**over: Any) -> dict[str, Any]:
    return {"clusters": [existing()], "workloads": [workload(**over)]}


KEY_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

# Free-form strings checked against the syntax the receiving API applies (components/syntax.py).
SYNTAX: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "node label in the kubelet's namespace",
        {"clusters": [aws(nodePools=pool(labels={"kubernetes.io/role": "x"}))]},
        'orquestra:clusters[0].nodePools[0].labels["kubernetes.io/role"]',
        "the kubelet refuses",
    ),
    (
        "label value with a space",
        {"clusters": [aws(nodePools=pool(labels={"tier": "a b"}))]},
        "orquestra:clusters[0].nodePools[0].labels.tier",
        "a Kubernetes label value",
    ),
    (
        "pool label contradicting the pool",
        {"clusters": [aws(nodePools=pool(labels={"orquestra.io/pool": "other"}))]},
        'orquestra:clusters[0].nodePools[0].labels["orquestra.io/pool"]',
        "'general'",
    ),
    (
        "taint value with a space",
        {"clusters": [aws(nodePools=pool(taints=[{"key": "k", "value": "a b", "effect": "NoSchedule"}]))]},
        "orquestra:clusters[0].nodePools[0].taints[0].value",
        "a Kubernetes taint value",
    ),
    (
        "taint key",
        {"clusters": [aws(nodePools=pool(taints=[{"key": "a b", "effect": "NoSchedule"}]))]},
        "orquestra:clusters[0].nodePools[0].taints[0].key",
        "a Kubernetes taint key",
    ),
    (
        "taints repeated",
        {"clusters": [aws(nodePools=pool(taints=[{"key": "k", "effect": "NoSchedule"}] * 2))]},
        "orquestra:clusters[0].nodePools[0].taints[1]",
        "key and effect pair",
    ),
    (
        "aws zone",
        {"clusters": [aws(nodePools=pool(zones=["eu-west-1"]))]},
        "orquestra:clusters[0].nodePools[0].zones[0]",
        "an AWS availability zone",
    ),
    (
        "gcp zone",
        {"clusters": [gcp(apiAccess={"private": True}, nodePools=pool(zones=["europe-west1"]))]},
        "orquestra:clusters[0].nodePools[0].zones[0]",
        "a GCP zone",
    ),
    (
        "azure zone",
        {"clusters": [azure(apiAccess={"private": True}, nodePools=pool(zones=["westeurope-1"]))]},
        "orquestra:clusters[0].nodePools[0].zones[0]",
        "1, 2 or 3",
    ),
    (
        "ec2 instance type",
        {"clusters": [aws(nodePools=pool(instanceTypes=["large"]))]},
        "orquestra:clusters[0].nodePools[0].instanceTypes[0]",
        "an EC2 instance type",
    ),
    (
        "gce machine type",
        {"clusters": [gcp(apiAccess={"private": True}, nodePools=pool(instanceTypes=["n2 standard"]))]},
        "orquestra:clusters[0].nodePools[0].instanceTypes[0]",
        "a GCE machine type",
    ),
    (
        "azure vm size",
        {"clusters": [azure(apiAccess={"private": True}, nodePools=pool(instanceTypes=["D4s_v5"]))]},
        "orquestra:clusters[0].nodePools[0].instanceTypes[0]",
        "an Azure VM size",
    ),
    (
        "droplet size",
        {"clusters": [doks(apiAccess={"publicCidrs": ["203.0.113.0/24"]}, nodePools=pool(instanceTypes=["S-4VCPU"]))]},
        "orquestra:clusters[0].nodePools[0].instanceTypes[0]",
        "a Droplet size slug",
    ),
    ("aws region", {"clusters": [aws(region="eu-west")]}, "orquestra:clusters[0].region", "an AWS region code"),
    (
        "gcp region",
        {"clusters": [gcp(region="europe-west1-b", apiAccess={"private": True})]},
        "orquestra:clusters[0].region",
        "a GCP region",
    ),
    (
        "azure location",
        {"clusters": [azure(region="West Europe", apiAccess={"private": True})]},
        "orquestra:clusters[0].region",
        "an Azure location",
    ),
    (
        "do region",
        {"clusters": [doks(region="frankfurt", apiAccess={"publicCidrs": ["203.0.113.0/24"]})]},
        "orquestra:clusters[0].region",
        "a DigitalOcean region slug",
    ),
    (
        "tag value with a newline",
        {"clusters": [aws(tags={"team": "platform\nx"})]},
        "orquestra:clusters[0].tags.team",
        "a tag value",
    ),
    (
        "aws reserved tag",
        {"clusters": [aws(tags={"aws:owner": "me"})]},
        'orquestra:clusters[0].tags["aws:owner"]',
        "aws:",
    ),
    (
        "azure tag with a slash",
        {"clusters": [azure(apiAccess={"private": True}, tags={"team/a": "x"})]},
        'orquestra:clusters[0].tags["team/a"]',
        "refuses '/'",
    ),
    (
        "wildcard admin role",
        {"clusters": [aws(adminRoleArns=["arn:aws:iam::123456789012:role/*"])]},
        "orquestra:clusters[0].adminRoleArns[0]",
        "no wildcards",
    ),
    (
        "malformed kms key",
        {"clusters": [aws(kmsKeyArn="arn:aws:kms:*")]},
        "orquestra:clusters[0].kmsKeyArn",
        "the ARN of a KMS key",
    ),
    (
        "kms key in another region",
        {"clusters": [aws(kmsKeyArn=f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}")]},
        "orquestra:clusters[0].kmsKeyArn",
        "in the cluster's region (eu-west-1)",
    ),
    (
        "proxmox node",
        {"clusters": [onprem(machines=proxmox(node="pve 1"))]},
        "orquestra:clusters[0].machines.node",
        "a Proxmox VE node name",
    ),
    (
        "proxmox datastore",
        {"clusters": [onprem(machines=proxmox(datastore="local lvm"))]},
        "orquestra:clusters[0].machines.datastore",
        "a Proxmox VE storage ID",
    ),
    (
        "proxmox bridge",
        {"clusters": [onprem(machines=proxmox(bridge="vmbr0;reboot"))]},
        "orquestra:clusters[0].machines.bridge",
        "a Linux bridge name",
    ),
    (
        "proxmox endpoint over http",
        {"clusters": [onprem(machines=proxmox(endpoint="http://pve1:8006/"))]},
        "orquestra:clusters[0].machines.endpoint",
        "an https:// URL",
    ),
    (
        "proxmox endpoint with a user",
        {"clusters": [onprem(machines=proxmox(endpoint="https://root@pve1:8006/"))]},
        "orquestra:clusters[0].machines.endpoint",
        "no user or password",
    ),
    (
        "vsphere server with a scheme",
        {"clusters": [onprem(machines=vsphere(server="https://vcenter"))]},
        "orquestra:clusters[0].machines.server",
        "a host name or an IP address",
    ),
    (
        "vsphere name on two lines",
        {"clusters": [onprem(machines=vsphere(datastore="ds1\nds2"))]},
        "orquestra:clusters[0].machines.datastore",
        "a vSphere inventory name",
    ),
    (
        "kubeconfig pasted as the context",
        {"clusters": [existing(context="apiVersion: v1\nkind: Config\n")]},
        "orquestra:clusters[0].context",
        "the name of a kubeconfig context",
    ),
    (
        "kubeconfig pasted as the path",
        {"clusters": [existing(kubeconfigPath="apiVersion: v1\nkind: Config\n")]},
        "orquestra:clusters[0].kubeconfigPath",
        "a file path",
    ),
    (
        "existing pool range",
        {"clusters": [existing(loadBalancer="metallb", loadBalancerPool=["everything"])]},
        "orquestra:clusters[0].loadBalancerPool[0]",
        "an address range",
    ),
    (
        "acme email without a domain",
        {"clusters": [existing(platform={"certManager": {"acmeEmail": "ops@localhost"}})]},
        "orquestra:clusters[0].platform.certManager.acmeEmail",
        "an e-mail address",
    ),
    (
        "acme email at an example domain",
        {"clusters": [existing(platform={"certManager": {"acmeEmail": "platform@example.com"}})]},
        "orquestra:clusters[0].platform.certManager.acmeEmail",
        "Let's Encrypt refuses example.com",
    ),
    (
        "acme email at a private top-level name",
        {"clusters": [existing(platform={"certManager": {"acmeEmail": "ops@corp.internal.test"}})]},
        "orquestra:clusters[0].platform.certManager.acmeEmail",
        "private top-level names",
    ),
    (
        "dns zone in capitals",
        {"clusters": [existing(platform={"dns": {"zone": "Example.COM"}})]},
        "orquestra:clusters[0].platform.dns.zone",
        "a public DNS name",
    ),
    (
        "txt owner id",
        {"clusters": [existing(platform={"dns": {"txtOwnerId": "a b"}})]},
        "orquestra:clusters[0].platform.dns.txtOwnerId",
        "letters, digits",
    ),
    (
        "unicode digits in a version",
        {"clusters": [existing(kubernetesVersion="1.\u0663\u0665")]},
        "orquestra:clusters[0].kubernetesVersion",
        "matching",
    ),
    (
        "image with a trailing newline",
        web(image="ghcr.io/stefanprodan/podinfo:6.9.2\n"),
        "orquestra:workloads[0].image",
        "an image reference",
    ),
    (
        "image with unicode",
        web(image="ghcr.io/acme/web:1.\u0663"),
        "orquestra:workloads[0].image",
        "an image reference",
    ),
    ("health path", web(healthPath="healthz"), "orquestra:workloads[0].healthPath", "an absolute HTTP path"),
    ("health path with a space", web(healthPath="/a b"), "orquestra:workloads[0].healthPath", "RFC 3986"),
    ("route path", web(expose={"path": "/a/../b"}), "orquestra:workloads[0].expose.path", "no '//', '/./', '/../'"),
    ("wildcard host", web(expose={"host": "*.example.com"}), "orquestra:workloads[0].expose.host", "no wildcard"),
    ("host in capitals", web(expose={"host": "API.example.com"}), "orquestra:workloads[0].expose.host", "lowercase"),
    ("system namespace", web(namespace="kube-system"), "orquestra:workloads[0].namespace", "not default, kube-*"),
    ("platform namespace", web(namespace="cert-manager"), "orquestra:workloads[0].namespace", "the platform"),
    (
        "limit below the request",
        web(resources={"cpu": "500m", "cpuLimit": "250m"}),
        "orquestra:workloads[0].resources.cpuLimit",
        "a limit >= the request (500m)",
    ),
    ("env value not text", web(env={"PORT": 8080}), "orquestra:workloads[0].env.PORT", "text, or a secret"),
    (
        "ssh public key comment on two lines",
        {"clusters": [onprem(ssh={"privateKey": "k", "publicKey": "ssh-ed25519 AAAA me\nssh-rsa AAAA you"})]},
        "orquestra:clusters[0].ssh.publicKey",
        "matching",
    ),
]
BAD += SYNTAX


@pytest.mark.parametrize(("config", "path", "allowed"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_value_is_one_line_naming_the_key(config: dict[str, Any], path: str, allowed: str) -> None:
    lines = problems(copy.deepcopy(config))
    matching = [line for line in lines if line.startswith(f"{path}: ")]
    assert matching, f"no line for {path} in {lines}"
    line = matching[0]
    assert "\n" not in line
    assert "; allowed: " in line
    assert allowed in line.split(": ", 1)[1], line


def test_there_are_at_least_25_bad_configs() -> None:
    assert len(BAD) >= 25


def test_all_problems_are_reported_at_once() -> None:
    lines = problems(
        {
            "environment": "qa",
            "clusters": [aws(nodePools=[{"name": "a", "min": 5, "max": 2}]), existing(name="Bad")],
            "workloads": [workload(image="nginx")],
        }
    )
    keys = [line.split(": ", 1)[0] for line in lines]
    assert keys == [
        "orquestra:environment",
        "orquestra:clusters[0].nodePools[0].max",
        "orquestra:clusters[1].name",
        "orquestra:workloads[0].image",
    ]


def test_secret_values_never_appear_in_messages() -> None:
    lines = problems({"clusters": [existing(kubeconfigPath=None, kubeconfig={"inline": KUBECONFIG_SECRET})]})
    assert lines == ["orquestra:clusters[0].kubeconfig: [secret]; allowed: a valid string"]
    lines = problems({"clusters": [existing(kubeconfig=KUBECONFIG_SECRET, kubernetesVersion="2.0")]})
    assert not any("s3cr3t" in line for line in lines)


def test_wrong_value_types_are_shown_briefly() -> None:
    lines = problems({"clusters": [aws(region={"name": "eu-west-1"})]})
    assert lines == ["orquestra:clusters[0].region: a mapping; allowed: a valid string"]


# ----------------------------------------------------------------------- property

PATH = r'orquestra:(?:[A-Za-z0-9_-]+|\[\d+\]|\.[A-Za-z0-9_-]+|\["(?:[^"\\]|\\.)*"\])+'
LINE = re.compile(rf"^{PATH}: (.+; allowed: .+|unknown key.*; allowed: .*)$")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["aws", "gcp", "azure", "digitalocean", "onprem", "existing", "dev", "prod", "10.0.0.0/16", "1.35"]
    ),
)
keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "name",
            "target",
            "region",
            "nodePools",
            "min",
            "max",
            "apiAccess",
            "publicCidrs",
            "private",
            "network",
            "kubeconfigPath",
            "kubeconfig",
            "image",
            "clusters",
            "workloads",
            "environment",
            "machines",
            "source",
        ]
    ),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5), max_leaves=25
)
cluster_like = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "Bad"]), "target": st.sampled_from(list(REGISTRY))},
    optional={
        k: values for k in ["region", "nodePools", "apiAccess", "network", "kubeconfigPath", "kubernetesVersion"]
    },
)
namespace = st.fixed_dictionaries(
    {},
    optional={
        "environment": st.one_of(st.sampled_from(["dev", "prod"]), values),
        "clusters": st.one_of(st.lists(st.one_of(cluster_like, values), max_size=3), values),
        "workloads": st.one_of(st.lists(values, max_size=3), values),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(namespace)
def test_any_yaml_shaped_value_gives_a_spec_or_one_line_errors(config: dict[str, Any]) -> None:
    # Round-trip through YAML so only what a stack file can hold is fed in.
    config = yaml.safe_load(yaml.safe_dump(config))
    try:
        stack = parse(config)
    except SpecError as err:
        assert err.problems
        for line in err.problems:
            assert "\n" not in line and LINE.match(line), line
    else:
        assert stack.clusters
