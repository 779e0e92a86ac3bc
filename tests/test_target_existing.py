"""`target: existing`: a cluster adopted through its kubeconfig, and what its spec tells the workloads layer."""

from __future__ import annotations

from typing import Any

import yaml

from components.targets.existing.kubeconfig import minify
from preflight.engine import Plan
from tests.harness import plan_spec

SERVER = "https://127.0.0.1:6443"
TWO_CONTEXTS: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "kind-a", "cluster": {"server": SERVER}},
        {"name": "kind-b", "cluster": {"server": "https://127.0.0.1:7443"}},
    ],
    "contexts": [
        {"name": "kind-a", "context": {"cluster": "kind-a", "user": "kind-a"}},
        {"name": "kind-b", "context": {"cluster": "kind-b", "user": "kind-b"}},
    ],
    "users": [{"name": "kind-a", "user": {"token": "a-token"}}, {"name": "kind-b", "user": {"token": "b-token"}}],
    "current-context": "kind-b",
}


MINIMAL: dict[str, Any] = {"name": "lab", "target": "existing", "kubeconfig": yaml.safe_dump(TWO_CONTEXTS)}
"""The smallest valid existing cluster: what the contract test builds (tests/test_contract.py)."""


def plan_of(**over: Any) -> Plan:
    cluster = {"name": "lab", "target": "existing", "kubeconfig": yaml.safe_dump(TWO_CONTEXTS), **over}
    plan = plan_spec({"clusters": [cluster]})
    assert plan.ok, plan.errors
    return plan


def test_the_kubeconfig_keeps_one_context_and_only_its_credentials() -> None:
    text, server = minify(yaml.safe_dump(TWO_CONTEXTS), "kind-a")
    doc = yaml.safe_load(text)
    assert server == SERVER
    assert [c["name"] for c in doc["contexts"]] == ["kind-a"] and doc["current-context"] == "kind-a"
    assert [u["user"] for u in doc["users"]] == [{"token": "a-token"}]
    assert "b-token" not in text


def test_without_a_context_the_files_current_context_is_kept() -> None:
    text, server = minify(yaml.safe_dump(TWO_CONTEXTS), None)
    assert yaml.safe_load(text)["current-context"] == "kind-b" and server == "https://127.0.0.1:7443"


def test_an_unreadable_kubeconfig_is_passed_through_for_the_provider_to_report() -> None:
    assert minify("not: [a kubeconfig", "kind-a") == ("not: [a kubeconfig", "")
    assert minify(yaml.safe_dump(TWO_CONTEXTS), "no-such-context")[1] == ""


def test_metallb_hands_out_the_specs_pool() -> None:
    plan = plan_of(loadBalancer="metallb", loadBalancerPool=["172.18.255.200-172.18.255.250"])
    pool = plan.one("kubernetes:metallb.io/v1beta1:IPAddressPool")
    assert pool.plain["spec"]["addresses"] == ["172.18.255.200-172.18.255.250"]
    assert "metallb" in {r.plain["name"] for r in plan.resources("kubernetes:helm.sh/v3:Release")}


def test_no_load_balancer_means_no_metallb_and_a_node_port_gateway() -> None:
    plan = plan_of(loadBalancer="none")
    assert plan.resources("kubernetes:metallb.io/v1beta1:IPAddressPool") == []
    proxy = plan.one("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
    assert proxy.plain["spec"]["provider"]["kubernetes"]["envoyService"] == {"type": "NodePort"}


def test_metrics_server_trusts_self_signed_kubelets_only_when_told_they_are() -> None:
    def args(plan: Plan) -> list[str]:
        release = next(
            r for r in plan.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "metrics-server"
        )
        return list(release.plain["values"]["args"])

    assert args(plan_of()) == ["--kubelet-insecure-tls"]
    assert args(plan_of(selfSignedKubelet=False)) == []
