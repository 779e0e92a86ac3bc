"""What a plan costs a month and how long its first `pulumi up` takes, from the registrations alone.

Both tables are keyed on the providers' own type tokens (`aws:eks/cluster:Cluster`),
so they apply to whatever the targets register, without importing a cloud SDK.
Each target's types are in its own module here (`aws.py`, `gcp.py`, ...; the
registry's `estimates`), in-cluster objects in `kubernetes.py`; this module merges
them and walks the plan.

Cost basis: on-demand list prices, late 2026, Linux, no commitments, no free
tier or credits, 730 hours a month; AWS us-east-1, GCP us-central1, Azure
eastus, DigitalOcean (one price everywhere, billed monthly). A node pool costs
its *minimum* node count (what runs when the autoscaler has scaled in), so the
total is the floor of the bill, not its ceiling; spot capacity is priced at
on-demand (an upper bound for spot). Usage-based charges (data processed by NAT
gateways and load balancers, egress, log ingestion, disks and snapshots, KMS
requests) are not estimated. A resource type with no entry costs 0 and is
listed as "not priced", so a gap in the table is visible rather than silent.

Deploy time: typical create times in seconds, as observed for each resource type
when everything it waits for already exists. The critical path walks the
dependency graph the way the Pulumi engine schedules it: a resource starts when
its explicit and property dependencies and its provider are created, and when
its parent is registered. A component registers at once (no create time), so
the children of a component run in parallel unless they depend on each other;
a dependency on a component means a dependency on everything inside it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from components.targets import REGISTRY
from preflight.engine import Plan, Registration, Secret
from preflight.estimates import kubernetes
from preflight.estimates.base import (
    HOURS_PER_MONTH,
    STACK_TYPE,
    Context,
    Cost,
    CostModel,
    CreateTime,
    provider_urn,
)

MODULES: tuple[ModuleType, ...] = (
    *(importlib.import_module(t.estimates) for t in REGISTRY.values() if t.estimates),
    kubernetes,
)
"""Each target's estimates (the registry's `estimates`), and the in-cluster objects every target shares."""


def _merged(table: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in MODULES:
        out.update(getattr(module, table, {}))
    return out


def _union(table: str) -> frozenset[str]:
    return frozenset().union(*(getattr(module, table, frozenset()) for module in MODULES))


COSTS: Mapping[str, CostModel] = _merged("COSTS")
CREATE_SECONDS: Mapping[str, CreateTime] = _merged("CREATE_SECONDS")
LOAD_BALANCER_MONTHLY: Mapping[str, float] = _merged("LOAD_BALANCER_MONTHLY")
"""What a Kubernetes `LoadBalancer` Service costs on each cloud, by provider package."""
FREE: frozenset[str] = _union("FREE")
"""Types with no standing charge (usage may still be billed; see the module docstring)."""
ON_PREM: frozenset[str] = _union("ON_PREM")
"""Machines on your own hardware: known, but without a list price."""
MAJOR_TYPES: frozenset[str] = _union("MAJOR_TYPES")
"""What the diagram draws: the parts of a cluster a reader recognises."""

FREE_PACKAGES: tuple[str, ...] = ("kubernetes:", "pulumi:providers:", "random:", "tls:", "command:")
"""In-cluster objects, providers and local helpers: nothing to pay for."""

_NO_CHARGE = "no charge"
_ON_PREM = "on-premises hardware: no list price"


def _secret_strings(value: Any, inside: bool = False) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _secret_strings(value.value, True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _secret_strings(v, inside)
    elif isinstance(value, list):
        for v in value:
            yield from _secret_strings(v, inside)
    elif inside and isinstance(value, str) and len(value) >= 3:
        # Shorter strings would match inside prices; no input that sets a price is that short.
        yield value


def cost_of(reg: Registration, ctx: Context) -> Cost:
    """The monthly cost of one registration; its basis never shows an input the program marked secret."""
    model = COSTS.get(reg.type)
    if model is not None:
        cost = model(reg, ctx)
        basis = cost.basis
        for text in sorted(set(_secret_strings(reg.inputs)), key=len, reverse=True):
            basis = basis.replace(text, "[secret]")
        return Cost(cost.monthly, basis, cost.priced)
    if not reg.custom:
        return Cost(0.0, "component")
    if reg.type in FREE or reg.type.startswith(FREE_PACKAGES):
        return Cost(0.0, _NO_CHARGE)
    if reg.type in ON_PREM:
        return Cost(0.0, _ON_PREM, priced=False)
    return Cost(0.0, "not priced", priced=False)


# ---------------------------------------------------------------- create times

DEFAULT_CREATE_SECONDS = 10.0
"""Create time assumed for a custom resource type with no entry (listed as "not timed")."""


def create_seconds(reg: Registration) -> tuple[float, bool]:
    """Seconds to create `reg`, and whether the table knows its type (False: the default was assumed)."""
    if not reg.custom or reg.type.startswith("pulumi:providers:"):
        return 0.0, True
    entry = CREATE_SECONDS.get(reg.type)
    if entry is None:
        if reg.type.startswith("kubernetes:"):
            return kubernetes.KUBERNETES_OBJECT_SECONDS, True
        return DEFAULT_CREATE_SECONDS, False
    return (entry(reg) if callable(entry) else float(entry)), True


# ------------------------------------------------------------- critical path


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    seconds: float
    start: float
    finish: float

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "seconds": self.seconds,
            "start": self.start,
            "finish": self.finish,
        }


def dependencies(reg: Registration) -> set[str]:
    """What Pulumi waits for before creating `reg`, except its parent."""
    deps = set(reg.dependencies)
    for urns in reg.property_dependencies.values():
        deps.update(urns)
    if reg.provider:
        deps.add(provider_urn(reg.provider))
    deps.discard(reg.urn)
    return deps


class _Schedule:
    """Earliest start and finish of every registration, given unlimited parallelism."""

    def __init__(self, plan: Plan) -> None:
        self.by_urn = {r.urn: r for r in plan.registrations}
        self.children: dict[str, list[str]] = {}
        for r in plan.registrations:
            if r.parent:
                self.children.setdefault(r.parent, []).append(r.urn)
        self.finish: dict[str, float] = {}
        self.start: dict[str, float] = {}
        self.cause: dict[str, str | None] = {}
        self.seconds: dict[str, float] = {}
        self._visiting: set[str] = set()

    def _ancestors(self, urn: str) -> set[str]:
        out: set[str] = set()
        reg = self.by_urn.get(urn)
        while reg is not None and reg.parent and reg.parent not in out:
            out.add(reg.parent)
            reg = self.by_urn.get(reg.parent)
        return out

    def _subtree(self, urn: str) -> Iterator[str]:
        for kid in self.children.get(urn, []):
            yield kid
            yield from self._subtree(kid)

    def _waits_on(self, reg: Registration) -> Iterator[str]:
        """URNs whose finish gates `reg`'s start: dependencies (components expanded) and the parent."""
        own = {reg.urn, *self._ancestors(reg.urn)}
        for dep in dependencies(reg):
            target = self.by_urn.get(dep)
            if target is None:
                continue
            yield dep
            if not target.custom and dep not in own:
                yield from (u for u in self._subtree(dep) if u not in own)
        if reg.parent in self.by_urn:
            yield reg.parent

    def visit(self, urn: str) -> float:
        if urn in self.finish:
            return self.finish[urn]
        reg = self.by_urn[urn]
        self._visiting.add(urn)
        start, cause = 0.0, None
        for dep in sorted(self._waits_on(reg)):  # sorted: ties resolve the same way every run
            if dep in self._visiting:
                # A cycle cannot be deployed; the engine would refuse it. Break it rather than loop.
                continue
            end = self.visit(dep)
            if cause is None or end > start:
                start, cause = end, dep
        self._visiting.discard(urn)
        seconds, _ = create_seconds(reg)
        self.start[urn], self.seconds[urn], self.cause[urn] = start, seconds, cause
        self.finish[urn] = start + seconds
        return self.finish[urn]

    def path(self) -> list[Step]:
        for urn in self.by_urn:
            self.visit(urn)
        if not self.finish:
            return []
        last = max(self.finish, key=lambda u: (self.finish[u], self.seconds[u]))
        chain: list[Step] = []
        cur: str | None = last
        seen: set[str] = set()
        while cur is not None and cur not in seen:
            seen.add(cur)
            reg = self.by_urn[cur]
            if self.seconds[cur] > 0:
                chain.append(Step(cur, reg.type, reg.name, self.seconds[cur], self.start[cur], self.finish[cur]))
            cur = self.cause[cur]
        return list(reversed(chain))


def prerequisites(plan: Plan) -> dict[str, frozenset[str]]:
    """What each registration waits for before it is created, by the rule the critical path uses.

    A destroy runs the same graph backwards: a resource is deleted only once everything that waits
    for it is gone, so these edges decide the order of both `pulumi up` and `pulumi destroy`.
    """
    schedule = _Schedule(plan)
    return {urn: frozenset(schedule._waits_on(reg)) for urn, reg in schedule.by_urn.items()}


def critical_path(plan: Plan) -> tuple[float, list[Step]]:
    """Longest chain of creates, in seconds, and the resources on it (components and providers left out)."""
    schedule = _Schedule(plan)
    chain = schedule.path()
    return (max(schedule.finish.values()) if schedule.finish else 0.0), chain


# ------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Item:
    type: str
    name: str
    cost: Cost


@dataclass
class Estimates:
    monthly: float
    items: list[Item]
    """Every resource with a non-zero monthly cost, most expensive first."""
    not_priced: dict[str, int]
    """Type -> count of resources the cost model has no price for."""
    deploy_seconds: float
    path: list[Step]
    not_timed: dict[str, int] = field(default_factory=dict)
    """Type -> count of resources whose create time is the default guess."""

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": "on-demand list prices, late 2026; AWS us-east-1, GCP us-central1, Azure eastus; "
            f"{HOURS_PER_MONTH:g} h/month; node pools at their minimum size; usage-based charges excluded",
            "monthlyUsd": round(self.monthly, 2),
            "items": [
                {"type": i.type, "name": i.name, "monthlyUsd": round(i.cost.monthly, 2), "basis": i.cost.basis}
                for i in self.items
            ],
            "notPriced": self.not_priced,
            "deploySeconds": self.deploy_seconds,
            "criticalPath": [s.to_json() for s in self.path],
            "notTimed": self.not_timed,
        }


def _count(types: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in types:
        out[t] = out.get(t, 0) + 1
    return dict(sorted(out.items()))


def estimate(plan: Plan) -> Estimates:
    ctx = Context.of(plan, LOAD_BALANCER_MONTHLY)
    priced: list[Item] = []
    unpriced: list[str] = []
    for reg in plan.registrations:
        if reg.type == STACK_TYPE:
            continue
        cost = cost_of(reg, ctx)
        if not cost.priced:
            unpriced.append(reg.type)
        if cost.monthly > 0:
            priced.append(Item(reg.type, reg.name, cost))
    priced.sort(key=lambda i: (-i.cost.monthly, i.type, i.name))
    seconds, path = critical_path(plan)
    untimed = [r.type for r in plan.registrations if not create_seconds(r)[1]]
    return Estimates(
        monthly=sum(i.cost.monthly for i in priced),
        items=priced,
        not_priced=_count(unpriced),
        deploy_seconds=seconds,
        path=path,
        not_timed=_count(untimed),
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def report_lines(est: Estimates, top: int = 10) -> list[str]:
    """The cost and deploy-time sections of the human-readable plan."""
    lines = [f"Monthly cost (floor, on-demand list prices late 2026): ${est.monthly:,.2f}"]
    for item in est.items[:top]:
        lines.append(f"  ${item.cost.monthly:>9,.2f}  {item.type}  {item.name}  ({item.cost.basis})")
    if len(est.items) > top:
        rest = sum(i.cost.monthly for i in est.items[top:])
        lines.append(f"  ${rest:>9,.2f}  {len(est.items) - top} more")
    for type_, n in est.not_priced.items():
        lines.append(f"  not priced: {n} × {type_}")
    lines.append("")
    lines.append(f"Deploy time (critical path of `pulumi up`): ~{_duration(est.deploy_seconds)}")
    for step in est.path:
        lines.append(f"  {_duration(step.start):>7} +{_duration(step.seconds):<7} {step.type}  {step.name}")
    for type_, n in est.not_timed.items():
        lines.append(f"  not timed ({DEFAULT_CREATE_SECONDS:g}s assumed): {n} × {type_}")
    return lines
