"""`pulumi up` of the dev stack against a real cluster, twice, then destroy.

Needs the Pulumi CLI and a reachable cluster behind the `kind-orquestra` context
(`kind create cluster --name orquestra`); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = "kind-orquestra"


def _why_not() -> str | None:
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not installed"
    if shutil.which("kubectl") is None:
        return "kubectl is not installed"
    probe = subprocess.run(
        ["kubectl", "--context", CONTEXT, "get", "--raw", "/readyz"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"no reachable cluster behind the {CONTEXT} context"
    return None


pytestmark = [pytest.mark.integration, pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from pulumi import automation as auto

    backend = tmp_path_factory.mktemp("state")
    env = {"PULUMI_CONFIG_PASSPHRASE": "integration-only", "PULUMI_BACKEND_URL": f"file://{backend}"}
    os.environ.update(env)
    ws = auto.LocalWorkspaceOptions(work_dir=str(ROOT), env_vars=env)
    s = auto.create_or_select_stack(stack_name="dev", work_dir=str(ROOT), opts=ws)
    try:
        yield s
    finally:
        s.destroy(on_output=print)
        s.workspace.remove_stack("dev")


def _gateway_answers(path: str) -> bool:
    # Envoy Gateway names the proxy Service with a hash; find it by the Gateway that owns it.
    kubectl = ["kubectl", "--context", CONTEXT, "-n", "envoy-gateway-system"]
    selector = "gateway.envoyproxy.io/owning-gateway-name=shared"
    listing = subprocess.run([*kubectl, "get", "svc", "-o", "name", "-l", selector], capture_output=True, text=True)
    service = listing.stdout.split()[0]
    forward = subprocess.Popen([*kubectl, "port-forward", service, "18080:80"])
    try:
        for _ in range(30):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:18080{path}", timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                time.sleep(2)
        return False
    finally:
        forward.terminate()


def test_up_serves_the_workload_and_a_second_up_changes_nothing(stack: object) -> None:
    from pulumi import automation as auto

    assert isinstance(stack, auto.Stack)
    first = stack.up(on_output=print)
    assert first.summary.result == "succeeded"
    assert _gateway_answers("/healthz")
    second = stack.preview(diff=True)
    changes = {k: v for k, v in second.change_summary.items() if k != "same"}
    assert changes == {}, changes
