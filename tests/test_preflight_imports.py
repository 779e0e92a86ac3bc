"""Preflight's own process pays only for what the stack uses, policy pack included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from components.targets import sdk_modules

ROOT = Path(__file__).resolve().parent.parent
CLOUD_SDKS = {module.split(".")[0] for module in sdk_modules()}

CLI_PROBE = """
import contextlib, io, json, sys
from preflight.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["dev"])
print(json.dumps({"exit": code, "modules": sorted({m.split('.')[0] for m in sys.modules})}))
"""


def test_the_whole_preflight_of_dev_with_its_policy_pack_imports_no_cloud_sdk() -> None:
    """The pack runs in preflight's own process now: its rules must not pull a cloud SDK into every stack."""
    result = subprocess.run([sys.executable, "-c", CLI_PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["exit"] == 0
    assert {"pulumi_policy", "policies", "pulumi_kubernetes"} <= set(found["modules"]), "the pack really ran"
    assert CLOUD_SDKS and not set(found["modules"]) & CLOUD_SDKS, sorted(set(found["modules"]) & CLOUD_SDKS)
