"""DigitalOcean in a plan: what its resources cost a month, how long they take to create, which the diagram draws.

Prices: one list price in every region, billed monthly, USD, late 2026 (see `preflight.estimates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.engine import Registration, reveal
from preflight.estimates.base import Context, Cost, CostModel, CreateTime, as_int, get_in, nodes_cost

DO_DROPLET_MONTHLY: Mapping[str, float] = {
    # DigitalOcean bills droplets by the month (capped at 672 hours); USD per month.
    "s-1vcpu-2gb": 12.0,
    "s-2vcpu-2gb": 18.0,
    "s-2vcpu-4gb": 24.0,
    "s-4vcpu-8gb": 48.0,
    "s-8vcpu-16gb": 96.0,
    # General Purpose (dedicated vCPU, 4 GiB per vCPU): https://www.digitalocean.com/pricing/droplets
    "g-4vcpu-16gb": 126.0,
    "g-8vcpu-32gb": 252.0,
}

DOKS_HA_MONTHLY = 40.0
DO_LOAD_BALANCER_MONTHLY = 12.0
"""Per size unit (node) of a DigitalOcean load balancer."""
DO_REGISTRY_MONTHLY: Mapping[str, float] = {"starter": 0.0, "basic": 5.0, "professional": 20.0}

LOAD_BALANCER_MONTHLY: Mapping[str, float] = {"digitalocean": DO_LOAD_BALANCER_MONTHLY}
"""What a Kubernetes `LoadBalancer` Service costs here (the cloud controller creates it)."""


def _do_pool(pool: Mapping[str, Any]) -> Cost:
    size = str(pool.get("size") or "")
    count = pool.get("minNodes") if pool.get("autoScale") else pool.get("nodeCount")
    return nodes_cost(as_int(count, 1), size or "unknown size", None, DO_DROPLET_MONTHLY.get(size))


def _doks_cluster(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    ha = get_in(inputs, "ha") is True
    pool = _do_pool(get_in(inputs, "nodePool") or {})
    fee = DOKS_HA_MONTHLY if ha else 0.0
    plane = f"HA control plane ${DOKS_HA_MONTHLY}/mo" if ha else "control plane free"
    return Cost(fee + pool.monthly, f"{plane}; default pool {pool.basis}", pool.priced)


def _doks_node_pool(reg: Registration, ctx: Context) -> Cost:
    return _do_pool(reveal(reg.inputs))


def _do_registry(reg: Registration, ctx: Context) -> Cost:
    tier = str(get_in(reveal(reg.inputs), "subscriptionTierSlug") or "")
    if tier not in DO_REGISTRY_MONTHLY:
        return Cost(0.0, f"registry tier {tier!r} not in the price table", priced=False)
    return Cost(DO_REGISTRY_MONTHLY[tier], f"{tier} registry ${DO_REGISTRY_MONTHLY[tier]}/mo")


def _do_load_balancer(reg: Registration, ctx: Context) -> Cost:
    units = as_int(get_in(reveal(reg.inputs), "sizeUnit"), 1)
    return Cost(units * DO_LOAD_BALANCER_MONTHLY, f"{units} unit(s) × ${DO_LOAD_BALANCER_MONTHLY}/mo")


COSTS: Mapping[str, CostModel] = {
    "digitalocean:index/kubernetesCluster:KubernetesCluster": _doks_cluster,
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": _doks_node_pool,
    "digitalocean:index/loadBalancer:LoadBalancer": _do_load_balancer,
    "digitalocean:index/containerRegistry:ContainerRegistry": _do_registry,
}

FREE: frozenset[str] = frozenset(
    {
        "digitalocean:index/vpc:Vpc",
        "digitalocean:index/firewall:Firewall",
        "digitalocean:index/project:Project",
        "digitalocean:index/domain:Domain",
        "digitalocean:index/dnsRecord:DnsRecord",
    }
)
"""Types with no standing charge (usage may still be billed; see `preflight.estimates`)."""

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "digitalocean:index/kubernetesCluster:KubernetesCluster": 390.0,
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": 240.0,
    "digitalocean:index/vpc:Vpc": 5.0,
    "digitalocean:index/firewall:Firewall": 3.0,
    "digitalocean:index/project:Project": 3.0,
    "digitalocean:index/containerRegistry:ContainerRegistry": 5.0,
    "digitalocean:index/loadBalancer:LoadBalancer": 120.0,
    "digitalocean:index/domain:Domain": 3.0,
    "digitalocean:index/dnsRecord:DnsRecord": 3.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "digitalocean:index/vpc:Vpc",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "digitalocean:index/loadBalancer:LoadBalancer",
        "digitalocean:index/containerRegistry:ContainerRegistry",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
