"""The one way tests run the program: `preflight.engine.run`, on the mock engine, exactly as preflight does.

`plan_spec` and `plan_stack` give the recorded plan. `build_spec` and
`build_stack` also give the clusters the program built (the `KubernetesCluster`
objects, to read their `capabilities()`), caught by `preflight.built`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from preflight import engine, stackconfig
from preflight.built import Built, run
from preflight.engine import Plan

__all__ = ["Built", "build_spec", "build_stack", "plan_spec", "plan_stack", "run"]


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
