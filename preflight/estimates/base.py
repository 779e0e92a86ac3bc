"""What every estimates module builds on: the cost record, price helpers and the plan-wide context.

A target's module (`aws.py`, `gcp.py`, ...) maps its providers' type tokens to a
cost model (`COSTS`), lists the types with no standing charge (`FREE`) and their
typical create times (`CREATE_SECONDS`); `preflight.estimates` merges them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from preflight.engine import UNKNOWN, Plan, Registration

HOURS_PER_MONTH = 730.0
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Cost:
    monthly: float
    basis: str
    priced: bool = True


def per_hour(rate: float, what: str) -> CostModel:
    return lambda reg, ctx: Cost(rate * HOURS_PER_MONTH, f"{what} ${rate}/h")


def per_month(amount: float, what: str) -> CostModel:
    return lambda reg, ctx: Cost(amount, f"{what} ${amount}/mo")


def get_in(inputs: Any, *path: str | int) -> Any:
    """A nested input, or None when any step is missing or not known until deployment."""
    cur = inputs
    for step in path:
        if isinstance(step, int):
            cur = cur[step] if isinstance(cur, list) and len(cur) > step else None
        else:
            cur = cur.get(step) if isinstance(cur, dict) else None
        if cur is None or cur is UNKNOWN:
            return None
    return cur


def as_int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def nodes_cost(
    count: int, instance: str, hourly: float | None, monthly: float | None = None, spot: bool = False
) -> Cost:
    if hourly is None and monthly is None:
        return Cost(0.0, f"{count} × {instance}: instance type not in the price table", priced=False)
    each = monthly if monthly is not None else (hourly or 0.0) * HOURS_PER_MONTH
    rate = f"${monthly}/mo" if monthly is not None else f"${hourly}/h"
    return Cost(count * each, f"{count} × {instance} at {rate}" + (" (spot, at the on-demand price)" if spot else ""))


def provider_urn(reference: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN is what the graph knows."""
    return reference.rsplit("::", 1)[0] if reference else ""


@dataclass
class Context:
    """Plan-wide facts a price depends on (the launch template a node group uses, VMs behind a NAT)."""

    plan: Plan
    by_urn: dict[str, Registration]
    children: dict[str, list[Registration]]
    load_balancers: Mapping[str, float]
    """Provider package -> what a Kubernetes `LoadBalancer` Service costs a month on that cloud."""

    @classmethod
    def of(cls, plan: Plan, load_balancers: Mapping[str, float]) -> Context:
        children: dict[str, list[Registration]] = {}
        for r in plan.registrations:
            children.setdefault(r.parent, []).append(r)
        return cls(plan, {r.urn: r for r in plan.registrations}, children, load_balancers)

    def descendants(self, urn: str) -> Iterator[Registration]:
        for kid in self.children.get(urn, []):
            yield kid
            yield from self.descendants(kid.urn)

    def cloud_of(self, reg: Registration) -> str | None:
        """The cloud package of the cluster a Kubernetes object lands on, via its provider's component."""
        start = self.by_urn.get(provider_urn(reg.provider)) if reg.provider else None
        node: Registration | None = start or reg
        while node is not None:
            if not node.custom and node.type != STACK_TYPE:
                for d in self.descendants(node.urn):
                    package = d.type.split(":", 1)[0]
                    if package in self.load_balancers:
                        return package
            node = self.by_urn.get(node.parent) if node.parent else None
        return None


CostModel = Callable[[Registration, Context], Cost]
CreateTime = float | Callable[[Registration], float]
