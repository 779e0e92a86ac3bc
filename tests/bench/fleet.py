"""Generated fleets: one stack of N clusters, for measuring how preflight scales with a plan's size.

The shipped stacks hold one or two clusters each; a platform team that runs many
regions plans one stack of dozens. `fleet(n)` writes such a stack in code: clusters
cycle through EKS, GKE and on-prem k3s (pulumi-azure-native alone takes seconds to
import, which would swamp the per-resource figures), each in its own address space
so the spec's stack-wide overlap rule holds, with one service workload on every cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from preflight import stackconfig

TARGETS = ("aws", "gcp", "onprem")
MAX_CLUSTERS = 96
"""Each cluster owns one /16 of 10.0.0.0/8 below the spec's default pod and service ranges (10.100/16, 10.200/20)."""

_AWS_REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2")
_GCP_REGIONS = ("europe-west1", "europe-west4", "us-central1", "us-east4")
_HUB = "192.168.255.0/24"
_RUNNER = "fleet-deployer"
# A syntactically valid ciphertext: preflight cannot decrypt it, so the key is an unknown secret, as in a preview.
_SECURE = {"secure": "v1:Zm9vYmFyYmF6cXV4:0hI8n6yQ3ubd2m3mJ0I4ZcQ1c0dK7pRkq4bWZ2o4sX1l9vQG8uT2QmY6V3cP0a=="}


def cluster(i: int, target: str, environment: str = "prod") -> dict[str, Any]:
    """Cluster `i` of a fleet on `target` with its own /16; outside prod the cloud APIs are public to one range."""
    name = f"{target}-{i:02d}"
    api = {} if environment == "prod" else {"apiAccess": {"publicCidrs": ["203.0.113.0/24"]}}
    # Every range a cluster may route is its own (GKE's pods are VPC-native, so routed); one runner in one hub
    # deploys the whole fleet, and a private API is joined to that hub (docs/private-deploy.md).
    ranges = {"podCidr": f"10.{100 + i}.0.0/16", "serviceCidr": f"172.{16 + i // 16}.{i % 16 * 16}.0/20"}
    hubs = {
        "aws": {"transitGatewayId": "tgw-0123456789abcdef0", "cidrs": [_HUB]},
        "gcp": {"network": "projects/acme-fleet-hub/global/networks/hub", "cidrs": [_HUB]},
    }
    deployer: dict[str, Any] = {"runner": _RUNNER}
    if environment == "prod" and target in hubs:
        deployer["hub"] = hubs[target]
    if target == "aws":
        return {
            "name": name,
            "target": "aws",
            "region": _AWS_REGIONS[i % len(_AWS_REGIONS)],
            "network": {"cidr": f"10.{i}.0.0/16", **ranges},
            "adminRoleArns": ["arn:aws:iam::123456789012:role/platform-admins"],
            "deployer": deployer,
            **api,
        }
    if target == "gcp":
        return {
            "name": name,
            "target": "gcp",
            "project": f"acme-fleet-{i:02d}",
            "region": _GCP_REGIONS[i % len(_GCP_REGIONS)],
            "network": {"cidr": f"10.{i}.0.0/20", **ranges},
            "deployer": deployer,
            **api,
        }
    if target == "onprem":
        net = f"10.{i}.0"
        return {
            "name": name,
            "target": "onprem",
            "servers": 3,
            "apiVip": f"{net}.10",
            "loadBalancerPool": [f"{net}.200-{net}.239"],
            "network": {"cidr": f"10.{i}.0.0/16", **ranges},
            "deployer": deployer,
            "machines": {
                "source": "inventory",
                "servers": [{"name": f"{name}-server-{k}", "address": f"{net}.{11 + k}"} for k in range(3)],
                "agents": [
                    {"name": f"{name}-general-{k}", "address": f"{net}.{21 + k}", "pool": "general"} for k in range(3)
                ],
            },
            "ssh": {"user": "ubuntu", "privateKey": dict(_SECURE)},
            "nodePools": [{"name": "general", "min": 3, "max": 3}],
        }
    raise ValueError(f"no fleet shape for target {target!r}")


def fleet(clusters: int, environment: str = "prod") -> dict[str, Any]:
    """The `orquestra:` namespace of a stack with `clusters` clusters and one workload on each."""
    if not 1 <= clusters <= MAX_CLUSTERS:
        raise ValueError(f"a fleet has 1 to {MAX_CLUSTERS} clusters, not {clusters}")
    specs = [cluster(i, TARGETS[i % len(TARGETS)], environment) for i in range(clusters)]
    return {
        "environment": environment,
        "clusters": specs,
        "workloads": [
            {
                "name": "api",
                "image": "ghcr.io/stefanprodan/podinfo:6.9.2",
                "clusters": [c["name"] for c in specs],
                "port": 9898,
                "healthPath": "/healthz",
            }
        ],
    }


def config(clusters: int, environment: str = "prod") -> stackconfig.StackConfig:
    """A fleet as a stack config, for planning in this process."""
    spec = fleet(clusters, environment)
    return stackconfig.from_values(
        {k: v for k, v in spec.items() if k != "environment"},
        stack=f"fleet-{clusters}",
        extra={"orquestra:environment": environment},
    )


def write_project(directory: Path, sizes: list[int], project_dir: Path) -> list[str]:
    """A project in `directory` that runs the real program with one generated stack per size.

    `python -m preflight fleet-N --project-dir DIR` then plans it in a fresh process,
    exactly as it plans a shipped stack. Returns the stack names.
    """
    (directory / "stacks").mkdir(parents=True, exist_ok=True)
    for entry in ("Pulumi.yaml", "__main__.py", "components"):
        link = directory / entry
        if not link.exists():
            link.symlink_to(project_dir / entry)
    names = []
    for n in sizes:
        doc = {"config": {f"orquestra:{k}": v for k, v in fleet(n).items()}}
        name = f"fleet-{n}"
        (directory / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        names.append(name)
    return names
