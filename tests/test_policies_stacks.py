"""Every shipped stack passes every mandatory policy of its environment, through the real analyzer path."""

from __future__ import annotations

import pytest

from policies.rules import RULES
from preflight import engine, policy, stackconfig
from tests.harness import plan_stack

STACKS = stackconfig.stacks(engine.PROJECT_DIR)


def test_there_are_stacks_to_check() -> None:
    assert "dev" in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_stack_passes_mandatory_policies(stack: str) -> None:
    config = stackconfig.load(engine.PROJECT_DIR, stack)
    plan = plan_stack(stack)
    assert plan.ok, plan.errors
    env = str(config.values.get("orquestra:environment", "dev"))
    result = policy.analyze(plan, config, policy.load_pack_config(env))
    # The pack really ran with this environment's config: every rule configured, at its level.
    assert set(result.config) == {r.name for r in RULES}
    for rule in RULES:
        assert result.config[rule.name]["enforcementLevel"] == rule.level(env)  # type: ignore[arg-type]
        assert result.config[rule.name]["properties"]["environment"] == env
    assert [v.line() for v in result.mandatory] == []
