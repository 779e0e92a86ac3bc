"""Prod lock-down without silent holes: each risk is refused in prod unless accepted by name, with a reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from components.spec import SpecError, parse
from tests.test_hostile import project, run_cli

REASON = "a staging replica of prod, reviewed by the platform team in PLAT-42"


def aws(**over: Any) -> dict[str, Any]:
    hub = {"vpcId": "vpc-0a1b2c3d4e5f60718", "routeTableIds": ["rtb-0a1b2c3d4e5f60718"], **HUB}
    return {"name": "eks", "target": "aws", "region": "eu-west-1", **PRIVATE, **deployer(hub), **over}


def gcp(**over: Any) -> dict[str, Any]:
    hub = {"network": "projects/acme-hub/global/networks/hub", **HUB}
    return {
        "name": "gke",
        "target": "gcp",
        "region": "europe-west1",
        "project": "acme-platform",
        **PRIVATE,
        **deployer(hub),
        **over,
    }


def azure(**over: Any) -> dict[str, Any]:
    hub = {
        "vnetId": f"/subscriptions/{GROUP}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/hub",
        **HUB,
    }
    return {
        "name": "aks",
        "target": "azure",
        "region": "westeurope",
        "adminGroupObjectIds": [GROUP],
        **PRIVATE,
        **deployer(hub),
        **over,
    }


# A private endpoint is reached from a hub the stack peers with (tests/test_deployer.py).
HUB = {"cidrs": ["172.31.0.0/20"]}


def deployer(hub: dict[str, Any]) -> dict[str, Any]:
    return {"deployer": {"runner": "deploy-eu", "hub": hub}}


GROUP = "00000000-0000-0000-0000-000000000000"
PRIVATE = {"apiAccess": {"private": True}}


def onprem(**over: Any) -> dict[str, Any]:
    servers = [{"name": f"s{i}", "address": f"192.168.10.1{i}"} for i in range(over.get("servers", 3))]
    return {
        "name": "dc1",
        "target": "onprem",
        "servers": 3,
        "machines": {"source": "inventory", "servers": servers},
        "ssh": {"privateKey": "key", "user": "ubuntu"},
        "apiVip": "192.168.10.5",
        "loadBalancerPool": ["192.168.10.200-192.168.10.220"],
        "nodePools": [],
        **over,
    }


def workload(**over: Any) -> dict[str, Any]:
    return {"name": "web", "image": "ghcr.io/acme/web:1.4.2", "clusters": ["eks"], **over}


# (rule, a cluster or workload that takes the risk, the key path refused in prod)
RISKS: list[tuple[str, dict[str, Any], str]] = [
    ("single-zone", {"clusters": [aws(network={"zones": 1})]}, "orquestra:clusters[0].network.zones"),
    ("single-zone", {"clusters": [azure(network={"zones": 1})]}, "orquestra:clusters[0].network.zones"),
    ("single-zone", {"clusters": [gcp(regional=True, network={"zones": 1})]}, "orquestra:clusters[0].network.zones"),
    ("single-nat-gateway", {"clusters": [aws(natGateways="single")]}, "orquestra:clusters[0].natGateways"),
    ("zonal-control-plane", {"clusters": [gcp(regional=False)]}, "orquestra:clusters[0].regional"),
    ("free-tier", {"clusters": [azure(tier="Free")]}, "orquestra:clusters[0].tier"),
    (
        "no-node-autoscaler",
        {"clusters": [aws(nodeAutoscaler="cluster-autoscaler", platform={"nodeAutoscaler": False})]},
        "orquestra:clusters[0].platform.nodeAutoscaler",
    ),
    (
        "wide-api-access",
        {"clusters": [aws(apiAccess={"private": False, "publicCidrs": ["10.0.0.0/12"]}, deployer=None)]},
        "orquestra:clusters[0].apiAccess.publicCidrs",
    ),
    (
        "wide-api-access",
        {
            "clusters": [
                aws(apiAccess={"private": False, "publicCidrs": ["198.51.100.0/24", "10.0.0.0/16"]}, deployer=None)
            ]
        },
        "orquestra:clusters[0].apiAccess.publicCidrs",
    ),
    ("single-server", {"clusters": [onprem(servers=1)]}, "orquestra:clusters[0].servers"),
    ("root-ssh", {"clusters": [onprem(ssh={"privateKey": "key", "user": "root"})]}, "orquestra:clusters[0].ssh.user"),
    (
        "zero-requests",
        {"clusters": [aws()], "workloads": [workload(resources={"cpu": "0"})]},
        "orquestra:workloads[0].resources.cpu",
    ),
    (
        "zero-requests",
        {"clusters": [aws()], "workloads": [workload(resources={"memory": "0Mi"})]},
        "orquestra:workloads[0].resources.memory",
    ),
    (
        "unanalysed-rollout",
        {"clusters": [aws()], "workloads": [workload(expose={"path": "/"}, rollout={"strategy": "rolling"})]},
        "orquestra:workloads[0].rollout.strategy",
    ),
]
WORKLOAD_RISKS = ("zero-requests", "unanalysed-rollout")


def _accept(config: dict[str, Any], rule: str) -> dict[str, Any]:
    config = copy.deepcopy(config)
    target = config["workloads"][0] if rule in WORKLOAD_RISKS else config["clusters"][0]
    target["acceptedRisks"] = [{"rule": rule, "reason": REASON}]
    return config


@pytest.mark.parametrize(("rule", "config", "path"), RISKS, ids=[f"{r[0]}-{i}" for i, r in enumerate(RISKS)])
def test_a_prod_risk_is_refused_unless_accepted_by_name(rule: str, config: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as info:
        parse({"environment": "prod", **copy.deepcopy(config)})
    lines = [line for line in info.value.problems if line.startswith(f"{path}: ")]
    assert len(lines) == 1, info.value.problems
    assert f"in prod; or accept the risk: acceptedRisks: [{{rule: {rule}, reason: ...}}]" in lines[0]

    accepted = parse({"environment": "prod", **_accept(config, rule)})
    assert (rule, REASON) in [(r, why) for _, r, why in accepted.accepted_risks()]
    # Outside prod the rule does not block, and accepting it is still allowed.
    parse({"environment": "staging", **copy.deepcopy(config)})
    parse({"environment": "dev", **_accept(config, rule)})


def test_an_acceptance_of_a_risk_not_taken_is_an_error() -> None:
    config = {"environment": "prod", "clusters": [aws(acceptedRisks=[{"rule": "free-tier", "reason": REASON}])]}
    with pytest.raises(SpecError) as info:
        parse(config)
    assert info.value.problems == [
        "orquestra:clusters[0].acceptedRisks[0].rule: 'free-tier'; allowed: a risk this cluster takes (it takes none)"
    ]


@pytest.mark.parametrize(
    ("risk", "fragment"),
    [
        ({"rule": "single-zone"}, "orquestra:clusters[0].acceptedRisks[0].reason: missing"),
        ({"rule": "single-zone", "reason": "ok"}, "a reason of 10 to 200 printable characters"),
        ({"rule": "single-zone", "reason": "fine\nreally fine"}, "a reason of 10 to 200 printable characters"),
        ({"rule": "single-az", "reason": REASON}, "orquestra:clusters[0].acceptedRisks[0].rule: 'single-az'"),
    ],
)
def test_an_acceptance_names_a_known_rule_and_gives_a_readable_reason(risk: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse({"environment": "prod", "clusters": [aws(network={"zones": 1}, acceptedRisks=[risk])]})
    assert any(fragment in line for line in info.value.problems), info.value.problems


def test_api_ranges_that_together_cover_the_internet_are_refused_everywhere() -> None:
    for env in ("dev", "staging", "prod"):
        for cidrs in (["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], ["::/1", "8000::/1"]):
            with pytest.raises(SpecError) as info:
                parse(
                    {
                        "environment": env,
                        "clusters": [
                            {
                                "name": "doks",
                                "target": "digitalocean",
                                "region": "fra1",
                                "apiAccess": {"publicCidrs": cidrs},
                            }
                        ],
                    }
                )
            lines = [line for line in info.value.problems if "apiAccess.publicCidrs" in line]
            assert len(lines) == 1 and "ranges that together hold at most 16,777,216 IPv4 addresses" in lines[0]


def test_the_shipped_prod_stacks_take_no_unaccepted_risk() -> None:
    from preflight.stackconfig import load, stacks

    root = Path(__file__).resolve().parent.parent
    for name in stacks(root):
        spec = parse(load(root, name).namespace("orquestra"))
        assert spec.accepted_risks() == [], name


def test_preflight_prints_the_accepted_risks(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parent.parent / "stacks" / "Pulumi.dev.yaml").read_text()
    text = text.replace("      healthPath: /healthz\n", '      healthPath: /healthz\n      resources: {cpu: "0"}\n')
    text += f"      acceptedRisks:\n        - rule: zero-requests\n          reason: {REASON}\n"
    root = project(tmp_path, text)
    code, out, _ = run_cli(root, "--json", str(tmp_path / "plan.json"))
    assert code == 0
    assert f"Accepted risks (prod lock-down rules broken on purpose):\n  workload hello: zero-requests: {REASON}" in out
    document = json.loads((tmp_path / "plan.json").read_text())
    assert document["acceptedRisks"] == [{"subject": "workload hello", "rule": "zero-requests", "reason": REASON}]
