"""Every shipped stack passes every reject rule: what preflight plans, the clouds would accept."""

from __future__ import annotations

import pytest

from preflight import engine, rejects, stackconfig
from tests.conftest import plan_stack

STACKS = stackconfig.stacks(engine.PROJECT_DIR)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_has_nothing_a_cloud_would_reject(stack: str) -> None:
    plan = plan_stack(stack)
    assert plan.ok, plan.errors
    assert [r.line() for r in rejects.run(plan)] == []
