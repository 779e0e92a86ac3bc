"""The one way tests run the program: `preflight.engine.run`, on the mock engine, exactly as preflight does.

`plan_spec` and `plan_stack` give the recorded plan. `build_spec` and
`build_stack` also give the clusters the program built (the `KubernetesCluster`
objects, to read their `capabilities()`), caught on their way out of
`fleet.build` without changing anything the program does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from components import fleet
from components.cluster import KubernetesCluster
from preflight import engine, stackconfig
from preflight.engine import Plan


@dataclass(frozen=True)
class Built:
    plan: Plan
    clusters: Mapping[str, KubernetesCluster[Any]]
    """The program's clusters by name; empty when the stack did not build (see `plan.errors`)."""


@contextmanager
def _catching() -> Iterator[list[fleet.Fleet]]:
    built: list[fleet.Fleet] = []
    build = fleet.build

    def catch(stack: Any) -> fleet.Fleet:
        made = build(stack)
        built.append(made)
        return made

    fleet.build = catch
    try:
        yield built
    finally:
        fleet.build = build


def run(config: stackconfig.StackConfig) -> Built:
    with _catching() as built:
        plan = engine.run(config)
    return Built(plan, dict(built[0].clusters) if built else {})


def build_spec(orquestra: dict[str, Any], stack: str = "test", extra: dict[str, Any] | None = None) -> Built:
    """An `orquestra:` namespace given as a dict; `{secure: ...}` leaves become unknown secrets."""
    return run(stackconfig.from_values(orquestra, stack=stack, extra=extra))


@cache
def build_stack(name: str) -> Built:
    """A shipped stack (cached: plans are read-only in tests)."""
    return run(stackconfig.load(engine.PROJECT_DIR, name))


def plan_spec(orquestra: dict[str, Any], stack: str = "test", extra: dict[str, Any] | None = None) -> Plan:
    return build_spec(orquestra, stack, extra).plan


def plan_stack(name: str) -> Plan:
    return build_stack(name).plan
