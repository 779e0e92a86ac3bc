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
from pulumi_policy.policy import _PolicyAnalyzerServicer

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


def _arguments(environment: Environment | None) -> dict[str, Any]:
    env = environment or stack_environment()
    assert env in ENVIRONMENTS
    return {
        "name": NAME,
        "policies": [rule.policy(env) for rule in RULES],
        "enforcement_level": EnforcementLevel.ADVISORY,
        "description": "Lock-down, hardening and workload rules for orquestra's Kubernetes clusters.",
    }


def build(environment: Environment | None = None) -> PolicyPack:
    """Serve the pack over gRPC (prints the port, then blocks): what the engine launches."""
    return PolicyPack(**_arguments(environment))


def analyzer(environment: Environment | None = None) -> _PolicyAnalyzerServicer:
    """The Analyzer `build()` would serve, built from the same arguments, without a server.

    Preflight drives it in its own process. `PolicyPack.__init__` (pulumi-policy 1.21.0,
    `pulumi_policy/policy.py`) passes its arguments on in this order, with version
    "0.0.1" (the CLI takes the real one from PulumiPolicy.yaml) and no initial config;
    a test compares this servicer's `GetAnalyzerInfo` with the served pack's.
    """
    args = _arguments(environment)
    return _PolicyAnalyzerServicer(
        args["name"], "0.0.1", args["policies"], args["enforcement_level"], None, args["description"]
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
