"""DigitalOcean DOKS: `digitalocean:index/kubernetesCluster:KubernetesCluster` and its node pools."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.rules.base import (
    Case,
    Context,
    Node,
    Resource,
    Rule,
    StackCase,
    autoscaled,
    supported_version,
    versions_config,
    world_open,
)

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"


def _api_restricted(r: Resource, ctx: Context) -> Iterator[str]:
    # DOKS has no private-only endpoint: the control-plane firewall is the only restriction.
    if r.get("controlPlaneFirewall.enabled") is not True:
        yield "controlPlaneFirewall.enabled must be true, or the API is open to the internet"
        return
    addresses = r.get("controlPlaneFirewall.allowedAddresses") or []
    if not addresses:
        yield "controlPlaneFirewall.allowedAddresses is empty"
    for cidr in world_open(addresses):
        yield f"controlPlaneFirewall.allowedAddresses contains {cidr}: the API would be open to the internet"


def _ha(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("ha") is not True:
        yield "ha must be true: a highly available control plane"


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    yield from supported_version(r.get("version"), "version", ctx)


def _pool_scaling(pool: Node, where: str) -> Iterator[str]:
    return autoscaled(pool, where, "autoScale", "minNodes", "maxNodes")


def _autoscaling(r: Resource, ctx: Context) -> Iterator[str]:
    if r.type == NODE_POOL:
        yield from _pool_scaling(r.props, "node pool")
    else:
        yield from _pool_scaling(r.props.node("nodePool"), "nodePool")


def _surge_upgrade(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("surgeUpgrade") is not True:
        yield "surgeUpgrade must be true so upgrades add nodes before draining old ones"
    if r.get("autoUpgrade") is True and not r.props.present("maintenancePolicy"):
        yield "autoUpgrade without a maintenancePolicy upgrades at any hour"


def _deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    if ctx.prod and not r.protect:
        yield "a prod cluster needs the protect resource option (DOKS has no deletion-protection flag)"


RULES = [
    Rule(
        "doks-api-restricted",
        "The DOKS API is behind the control-plane firewall, never open to 0.0.0.0/0.",
        "baseline",
        (CLUSTER,),
        _api_restricted,
        severity=Severity.CRITICAL,
    ),
    Rule("doks-ha-control-plane", "DOKS runs a highly available control plane.", "lockdown", (CLUSTER,), _ha),
    Rule(
        "doks-supported-version",
        "DOKS runs a pinned, supported Kubernetes version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("digitalocean"),
    ),
    Rule(
        "doks-node-autoscaling",
        "DOKS node pools leave their size to the autoscaler (minNodes < maxNodes).",
        "hardening",
        (CLUSTER, NODE_POOL),
        _autoscaling,
    ),
    Rule(
        "doks-surge-upgrade",
        "DOKS upgrades with surge, inside a maintenance window.",
        "hardening",
        (CLUSTER,),
        _surge_upgrade,
    ),
    Rule(
        "doks-deletion-protection",
        "A prod DOKS cluster is protected from deletion.",
        "lockdown",
        (CLUSTER,),
        _deletion_protection,
        severity=Severity.HIGH,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

CASES: dict[str, Case] = {
    "doks-api-restricted": Case(
        CLUSTER,
        {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": ["203.0.113.7/32"]}},
        {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
    ),
    "doks-ha-control-plane": Case(CLUSTER, {"ha": True}, {"ha": False}, "ha"),
    "doks-supported-version": Case(CLUSTER, {"version": "1.34.1-do.0"}, {"version": "1.31.9-do.2"}, "1.31.9-do.2"),
    "doks-node-autoscaling": Case(
        NODE_POOL, {"autoScale": True, "minNodes": 1, "maxNodes": 5}, {"autoScale": False, "nodeCount": 3}, "autoScale"
    ),
    "doks-surge-upgrade": Case(
        CLUSTER,
        {"surgeUpgrade": True, "autoUpgrade": True, "maintenancePolicy": {"day": "sunday", "startTime": "03:00"}},
        {"surgeUpgrade": True, "autoUpgrade": True},
        "maintenancePolicy",
    ),
    "doks-deletion-protection": Case(CLUSTER, {}, {}, "protect", options={"protect": True}),
}

STACK_CASES: dict[str, StackCase] = {}
