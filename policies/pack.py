"""Builds the policy pack and the per-environment pack configs.

Without `--policy-pack-config`, each rule's default enforcement level is the one
for the stack's `orquestra:environment` (the engine passes stack config to the
pack), so even a bare `--policy-pack policies` blocks on prod lock-down rules.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.rules import RULES
from policies.rules.base import ENVIRONMENTS, Environment, stack_environment

NAME = "orquestra"


def pack_config(environment: Environment) -> dict[str, Any]:
    """The `--policy-pack-config` document for one environment (what `config/<env>.json` holds)."""
    return {
        rule.name: {"enforcementLevel": rule.level(environment), "environment": environment}
        for rule in sorted(RULES, key=lambda r: r.name)
    }


def build(environment: Environment | None = None) -> PolicyPack:
    """Serve the pack over gRPC (prints the port, then blocks): what the engine launches."""
    env = environment or stack_environment()
    assert env in ENVIRONMENTS
    return PolicyPack(
        name=NAME,
        policies=[rule.policy(env) for rule in RULES],
        enforcement_level=EnforcementLevel.ADVISORY,
        description="Lock-down, hardening and workload rules for orquestra's Kubernetes clusters.",
    )
