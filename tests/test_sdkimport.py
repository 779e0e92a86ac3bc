"""Provider SDKs with postponed annotations (`preflight/sdkimport.py`) plan exactly what the SDKs as shipped plan.

Each check runs in fresh interpreters with a cache directory of its own: a module is
imported once per process, so "postponed" and "as shipped" cannot share one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from preflight import engine, sdkimport, stackconfig
from preflight.sdkimport import EAGER_ENV

ROOT = engine.PROJECT_DIR

_IMPORT_RANDOM = """
import json, sys
from preflight import sdkimport
sdkimport.install()
import pulumi_policy
import pulumi_random
annotation = pulumi_random.RandomPasswordArgs.__init__.__annotations__["length"]
found = {"loaded": sdkimport.loaded(), "missed": sdkimport.missed(), "annotation": type(annotation).__name__}
json.dump(found, sys.stdout)
"""

_PLAN_ALL = """
import contextlib, io, json, sys
from preflight import sdkimport
sdkimport.install()
from preflight.__main__ import main
plans = {}
for stack in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([stack, "--json", "-"])
    plans[stack] = [code, out.getvalue()]
missed = sdkimport.missed()
sdkimport.finish(wait=True)
if sdkimport.loaded() == missed == []:  # as shipped: fill the cache with every provider module the plans loaded
    sdkimport.compile_into_cache([m.__file__ for n, m in sys.modules.items() if n.startswith("pulumi_") and m.__file__])
json.dump({"plans": plans, "loaded": sdkimport.loaded(), "missed": missed}, sys.stdout)
"""


def _run(code: str, *args: str, cache: Path, eager: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != EAGER_ENV}
    env.update({"XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)})
    if eager:
        env[EAGER_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict = json.loads(done.stdout)
    return result


def _sdk_sources(result: dict, package: str) -> list[str]:
    return sorted(p for p in result if f"/{package}/" in p)


def test_a_provider_module_is_compiled_once_then_loaded_with_its_annotations_postponed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run(_IMPORT_RANDOM, cache=tmp_path)
    assert first["loaded"] == []
    assert _sdk_sources(first["missed"], "pulumi_random"), "pulumi_random came from the cache before it was filled"
    assert _sdk_sources(first["missed"], "pulumi_policy") == [], "pulumi_policy is not a resource provider"
    assert first["annotation"] != "str", "annotations evaluated as the SDK ships"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sdkimport.compile_into_cache(first["missed"]) == len(set(first["missed"]))

    second = _run(_IMPORT_RANDOM, cache=tmp_path)
    assert second["missed"] == []
    assert sorted(second["loaded"]) == sorted(set(first["missed"]))
    assert second["annotation"] == "str", "annotations postponed"


def test_a_cached_file_from_another_source_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose header does not match the source's mtime and size (an upgraded SDK) loads as shipped."""
    first = _run(_IMPORT_RANDOM, cache=tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sdkimport.compile_into_cache(first["missed"])
    stale = sorted(set(first["missed"]))[0]
    cached = sdkimport._cached(stale)
    data = bytearray(cached.read_bytes())
    data[8:12] = (int.from_bytes(data[8:12], "little") ^ 1).to_bytes(4, "little")  # the source's mtime
    cached.write_bytes(bytes(data))

    second = _run(_IMPORT_RANDOM, cache=tmp_path)
    assert second["missed"] == [stale]
    assert stale not in second["loaded"]


def test_every_stack_plans_the_same_with_postponed_sdk_annotations(tmp_path: Path) -> None:
    """Every shipped stack's whole JSON plan and exit code, with the SDKs as shipped and postponed, are identical."""
    stacks = stackconfig.stacks(ROOT)
    shipped = _run(_PLAN_ALL, *stacks, cache=tmp_path, eager=True)
    assert shipped["loaded"] == [] and shipped["missed"] == []

    postponed = _run(_PLAN_ALL, *stacks, cache=tmp_path)
    assert postponed["missed"] == [], "every SDK module the plans load came from the cache"
    providers = {p.split("/site-packages/")[1].split("/")[0] for p in postponed["loaded"]}
    assert {"pulumi_kubernetes", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native"} <= providers

    for stack in stacks:
        assert postponed["plans"][stack] == shipped["plans"][stack], f"{stack}: the plan differs"


_DEFERRED = """
import contextlib, io, json, sys
from preflight import sdkimport
sdkimport.install()
from preflight.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["dev"])
untouched = sorted(n for n in sdkimport.DEFERRED if type(sys.modules[n]).__name__ == "_LazyModule")
import pulumi.automation
json.dump({"code": code, "untouched": untouched, "works": pulumi.automation.LocalWorkspace.__name__}, sys.stdout)
"""


def test_modules_a_plan_never_uses_run_only_when_used(tmp_path: Path) -> None:
    result = _run(_DEFERRED, cache=tmp_path)
    assert result["code"] == 0
    assert result["untouched"] == sorted(sdkimport.DEFERRED), "imported by pulumi, never run during the plan"
    assert result["works"] == "LocalWorkspace", "and whole on first use"
