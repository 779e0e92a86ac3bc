"""One pass, one format: a stack's spec problems and its targets' own rules are reported together."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.spec import ExistingSpec, Problem, SpecError, parse
from components.targets import REGISTRY, sdk_modules
from components.targets.existing import ExistingCluster
from preflight.__main__ import main as preflight

ROOT = Path(__file__).resolve().parent.parent


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(config)
    return info.value.problems


def azure(**over: Any) -> dict[str, Any]:
    return {
        "name": "weu",
        "target": "azure",
        "region": "westeurope",
        "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
        **over,
    }


def test_a_bad_cidr_does_not_hide_a_pool_the_cloud_would_refuse() -> None:
    pools = [
        {"name": "system", "role": "system"},
        {"name": "general", "instanceTypes": ["Standard_D2s_v5", "Standard_D4s_v5"]},
    ]
    lines = problems({"clusters": [azure(network={"podCidr": "10.0.0.0/16"}, nodePools=pools)]})
    assert lines == [
        "orquestra:clusters[0].network.podCidr: '10.0.0.0/16'; allowed: a range that does not overlap cidr "
        "(10.0.0.0/16)",
        'orquestra:clusters[0].nodePools[1].instanceTypes: ["Standard_D2s_v5", "Standard_D4s_v5"]; '
        "allowed: one VM size per pool",
    ]


def test_target_problems_come_with_those_of_other_clusters_workloads_and_the_stack() -> None:
    doks = {"name": "do", "target": "digitalocean", "region": "ams3", "apiAccess": {"publicCidrs": ["192.0.2.0/24"]}}
    config = {
        "clusters": [{**doks, "nodePools": [{"name": "a", "spot": True}]}, azure(nodePools=[{"name": "general"}])],
        "workloads": [{"name": "web", "image": "nginx:latest", "clusters": ["do"]}],
    }
    lines = problems(config)
    assert [line.split(":", 2)[1] for line in lines] == [
        "clusters[0].nodePools[0].spot",
        "clusters[1].nodePools",
        "workloads[0].image",
        "clusters[1].network.cidr",  # both clusters default to 10.0.0.0/16: a rule across the stack
        "clusters[1].network.podCidr",  # AKS's overlay pods on the default 10.100.0.0/16 DOKS routes in its VPC
    ]
    # The spec's own formatter: a YAML boolean, not Python's True.
    assert (
        lines[0] == "orquestra:clusters[0].nodePools[0].spot: true; allowed: false on digitalocean (no spot droplets)"
    )


def test_preflight_prints_spec_and_target_problems_together_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.broken.yaml").write_text(
        "config:\n  orquestra:clusters:\n"
        "    - {name: do, target: digitalocean, region: ams3, apiAccess: {publicCidrs: [192.0.2.0/24]},\n"
        "       network: {podCidr: 10.0.0.0/24}, nodePools: [{name: a, spot: true}]}\n"
    )
    assert preflight(["broken", "--project-dir", str(tmp_path)]) == 2
    # Each line is led by the file and the line of the key it names.
    assert capsys.readouterr().err.splitlines() == [
        "stacks/Pulumi.broken.yaml:4: orquestra:clusters[0].network.podCidr: '10.0.0.0/24'; "
        "allowed: a range that does not overlap cidr (10.0.0.0/16)",
        "stacks/Pulumi.broken.yaml:4: orquestra:clusters[0].nodePools[0].spot: true; "
        "allowed: false on digitalocean (no spot droplets)",
    ]


def test_a_target_problem_about_a_secret_never_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(cls: type[ExistingCluster], spec: ExistingSpec) -> Iterator[Problem]:
        yield Problem("kubeconfig", "token: s3cr3t", "a kubeconfig this cluster accepts")

    monkeypatch.setattr(ExistingCluster, "check", classmethod(check))
    lines = problems({"clusters": [{"name": "lab", "target": "existing", "kubeconfig": "token: s3cr3t"}]})
    assert lines == ["orquestra:clusters[0].kubeconfig: [secret]; allowed: a kubeconfig this cluster accepts"]


PROBE = """
import json, sys
from components.spec import parse
parse({"clusters": [json.loads(sys.argv[1])]})
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""

CLUSTERS = {
    "aws": {"name": "a", "target": "aws", "region": "eu-west-1", "apiAccess": {"publicCidrs": ["192.0.2.0/24"]}},
    "azure": azure(),
    "existing": {"name": "lab", "target": "existing", "kubeconfig": "x"},
}


@pytest.mark.parametrize("key", sorted(CLUSTERS))
def test_checking_a_cluster_loads_its_own_targets_sdks_and_no_other(key: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(CLUSTERS[key])], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout)) & sdk_modules()
    assert loaded == set(REGISTRY[key].sdks.values())
