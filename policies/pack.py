"""Builds the policy pack and the per-environment pack configs.

Without `--policy-pack-config`, each rule's default enforcement level is the one
for the stack's `orquestra:environment` (the engine passes stack config to the
pack), so even a bare `--policy-pack policies` blocks on prod lock-down rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.rules import RULES
from policies.rules.base import ENVIRONMENTS, Environment, stack_environment

NAME = "orquestra"
CONFIG_DIR = Path(__file__).resolve().parent / "config"


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


def write_configs(directory: Path = CONFIG_DIR) -> list[Path]:
    """Regenerate `config/<env>.json` after adding or re-tiering a rule (`python -m policies.pack`)."""
    written = []
    for env in ENVIRONMENTS:
        path = directory / f"{env}.json"
        path.write_text(json.dumps(pack_config(env), indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_configs():
        print(path)
