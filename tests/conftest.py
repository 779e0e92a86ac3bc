"""Shared fixtures: plan a shipped stack or a spec written in the test, on the one harness (`tests/harness.py`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from preflight.engine import Plan
from tests.harness import plan_spec, plan_stack

__all__ = ["plan_spec", "plan_stack"]


@pytest.fixture
def plan() -> Callable[..., Plan]:
    return plan_spec
