"""Preflight's own process pays only for what the stack uses, policy pack included."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

from components.targets import sdk_modules

ROOT = Path(__file__).resolve().parent.parent
CLOUD_SDKS = {module.split(".")[0] for module in sdk_modules()}

CLI_PROBE = """
import contextlib, io, json, sys
from preflight.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["dev"])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


@cache
def _dev_in_a_fresh_process() -> tuple[int, frozenset[str]]:
    """`python -m preflight dev`'s exit code and every module it imported, from a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", CLI_PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    return found["exit"], frozenset(found["modules"])


def test_the_whole_preflight_of_dev_with_its_policy_pack_imports_no_cloud_sdk() -> None:
    """The pack runs in preflight's own process now: its rules must not pull a cloud SDK into every stack."""
    code, modules = _dev_in_a_fresh_process()
    assert code == 0
    packages = {m.split(".")[0] for m in modules}
    assert {"pulumi_policy", "policies", "pulumi_kubernetes"} <= packages, "the pack really ran"
    assert CLOUD_SDKS and not packages & CLOUD_SDKS, sorted(packages & CLOUD_SDKS)


def test_a_plan_imports_no_mode_of_preflight_it_was_not_asked_for() -> None:
    """--against, --upgrade-to, --compare and --diagram load their modules only when given."""
    code, modules = _dev_in_a_fresh_process()
    assert code == 0
    assert {"preflight.admission", "preflight.policy", "preflight.report"} <= modules, "the plan really ran"
    unused = {f"preflight.{m}" for m in ("review", "replacements", "upgrade", "compare", "diagram")}
    assert not modules & unused, sorted(modules & unused)
