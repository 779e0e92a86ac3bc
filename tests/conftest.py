"""Shared fixtures: plan a shipped stack or a spec written in the test, on the mock engine."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from preflight import engine, stackconfig
from preflight.engine import Plan


@cache
def _stack_plan(name: str) -> Plan:
    return engine.run(stackconfig.load(engine.PROJECT_DIR, name))


def plan_stack(name: str) -> Plan:
    """Plan of a shipped stack (cached: plans are read-only in tests)."""
    return _stack_plan(name)


def plan_spec(orquestra: dict[str, Any], stack: str = "test", extra: dict[str, Any] | None = None) -> Plan:
    """Plan of an `orquestra:` namespace given as a dict; `{secure: ...}` leaves become unknown secrets."""
    return engine.run(stackconfig.from_values(orquestra, stack=stack, extra=extra))


@pytest.fixture
def plan() -> Callable[..., Plan]:
    return plan_spec
