"""A stack pays only for the SDKs of the targets it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from preflight import stackconfig

ROOT = Path(__file__).resolve().parent.parent
CLOUD_SDKS = (
    "pulumi_aws",
    "pulumi_gcp",
    "pulumi_azure_native",
    "pulumi_digitalocean",
    "pulumi_proxmoxve",
    "pulumi_vsphere",
)

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
    assert not loaded & set(CLOUD_SDKS), sorted(loaded & set(CLOUD_SDKS))


SDK_OF = {
    "aws": {"pulumi_aws"},
    "gcp": {"pulumi_gcp"},
    "azure": {"pulumi_azure_native"},
    "digitalocean": {"pulumi_digitalocean"},
    "onprem": {"pulumi_proxmoxve", "pulumi_vsphere"},
    "existing": set(),
}


@pytest.mark.parametrize("stack", stackconfig.stacks(ROOT))
def test_a_stack_loads_the_sdks_of_its_own_targets_only(stack: str) -> None:
    targets = {c["target"] for c in stackconfig.load(ROOT, stack).values["orquestra:clusters"]}
    allowed = set().union(*(SDK_OF[t] for t in targets))
    loaded = loaded_after_planning(stack) & set(CLOUD_SDKS)
    assert loaded <= allowed, sorted(loaded - allowed)
    for target in targets & {"aws", "gcp", "azure", "digitalocean"}:
        assert SDK_OF[target] <= loaded, target


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
    assert not set(found["modules"]) & set(CLOUD_SDKS), sorted(set(found["modules"]) & set(CLOUD_SDKS))
