"""A stack pays only for the SDKs of the targets it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.targets import REGISTRY, sdk_modules
from preflight import stackconfig

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from preflight import engine, stackconfig
plan = engine.run(stackconfig.load(engine.PROJECT_DIR, sys.argv[1]))
assert plan.ok, plan.errors
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def loaded_after_planning(stack: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, stack], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_planning_dev_imports_no_cloud_sdk() -> None:
    loaded = loaded_after_planning("dev")
    assert "pulumi_kubernetes" in loaded, "the probe really planned the stack"
    assert not loaded & sdk_modules(), sorted(loaded & sdk_modules())


@pytest.mark.parametrize("stack", stackconfig.stacks(ROOT))
def test_a_stack_loads_the_sdks_of_its_own_targets_only(stack: str) -> None:
    targets = {c["target"] for c in stackconfig.load(ROOT, stack).values["orquestra:clusters"]}
    allowed = {module for t in targets for module in REGISTRY[t].sdks.values()}
    loaded = loaded_after_planning(stack) & sdk_modules()
    assert loaded <= allowed, sorted(loaded - allowed)
    for t in targets:
        own = set(REGISTRY[t].sdks.values())
        assert not own or loaded & own, f"the probe really built the {t} clusters"
