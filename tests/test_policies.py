"""Each rule against a resource that passes and one that fails, through the pulumi-policy objects the pack serves."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

from policies.pack import pack_config
from policies.rules import MODULES, RULES
from policies.rules.base import ENVIRONMENTS, TIERS, Case, StackCase
from policies.rules.kubernetes import good_deployment as deployment
from policies.rules.kubernetes import good_service as service

BY_NAME = {r.name: r for r in RULES}
CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"


def _opts(protect: bool = False, secret_outputs: tuple[str, ...] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(secret_outputs))


def check(
    rule: str,
    type_: str,
    props: dict[str, Any],
    *,
    env: str = "prod",
    protect: bool = False,
    provider: str = "",
    secret_outputs: tuple[str, ...] = (),
) -> list[str]:
    """Messages a resource rule reports, called exactly as the analyzer calls it."""
    policy = BY_NAME[rule].policy(env)  # type: ignore[arg-type]
    assert not isinstance(policy, StackValidationPolicy)
    args = ResourceValidationArgs(
        type_,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:test::orquestra::{type_}::subject",
        "subject",
        _opts(protect, secret_outputs),
        PolicyProviderResource("pulumi:providers:kubernetes", {}, "urn:p", provider) if provider else None,
        {"environment": env},
    )
    messages: list[str] = []
    policy.validate(args, lambda message, urn=None: messages.append(message))
    return messages


Res = tuple[str, str, dict[str, Any]]  # type, name, props; dependencies by name in a 4th slot


def check_stack(rule: str, resources: list[Any], *, env: str = "prod", messages: list[str] | None = None) -> list[str]:
    policy = BY_NAME[rule].policy(env)  # type: ignore[arg-type]
    assert isinstance(policy, StackValidationPolicy)
    built: dict[str, PolicyResource] = {}
    for type_, name, props, *deps in resources:
        urn = f"urn:pulumi:test::orquestra::{type_}::{name}"
        dependencies = [built[d] for d in (deps[0] if deps else [])]
        built[name] = PolicyResource(
            type_, unknown_checking_proxy(copy.deepcopy(props)), urn, name, _opts(), None, None, dependencies, {}
        )
    found: list[str] = [] if messages is None else messages
    # Each message is recorded with the name of the resource it was reported against.
    policy.validate(
        StackValidationArgs(list(built.values()), {"environment": env}),
        lambda m, urn=None: found.append(f"{(urn or '').rsplit('::', 1)[-1]}: {m}" if messages is not None else m),
    )
    return found


# ------------------------------------------------------------------ fixtures

EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"
AKS = "azure-native:containerservice:ManagedCluster"
DOKS = "digitalocean:index/kubernetesCluster:KubernetesCluster"
PVE = "proxmoxve:index/vm:Vm"
DEPLOY = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SVC = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


# Every rule's passing and failing case, from the rule's own module.
CASES: dict[str, Case] = {name: case for module in MODULES for name, case in module.CASES.items()}
STACK_CASES: dict[str, StackCase] = {name: case for module in MODULES for name, case in module.STACK_CASES.items()}


def test_each_module_has_a_case_for_each_of_its_own_rules_and_no_other() -> None:
    for module in MODULES:
        own = {rule.name for rule in module.RULES}
        assert set(module.CASES) | set(module.STACK_CASES) == own, module.__name__
        assert not set(module.CASES) & set(module.STACK_CASES), module.__name__


def test_every_rule_has_a_case() -> None:
    assert set(CASES) | set(STACK_CASES) == set(BY_NAME)
    assert len(BY_NAME) >= 35


@pytest.mark.parametrize("rule", sorted(CASES))
def test_resource_rule_passes_and_fails(rule: str) -> None:
    type_, good, bad, expected, kwargs = CASES[rule]
    assert check(rule, type_, good, **kwargs) == []
    protect = kwargs.get("protect")
    bad_kwargs = {**kwargs, "protect": False} if protect else kwargs
    messages = check(rule, type_, bad, **bad_kwargs)
    assert messages, f"{rule} accepted {bad}"
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("rule", sorted(STACK_CASES))
def test_stack_rule_passes_and_fails(rule: str) -> None:
    good, bad, expected = STACK_CASES[rule]
    assert check_stack(rule, good) == []
    messages = check_stack(rule, bad)
    assert messages and any(expected in m for m in messages), messages


def test_rules_ignore_other_types() -> None:
    assert check("eks-private-endpoint", GKE, {"vpcConfig": {"endpointPublicAccess": True}}) == []


def test_eks_default_public_endpoint_is_world_open() -> None:
    # Unset endpointPublicAccess means public, and unset publicAccessCidrs means 0.0.0.0/0.
    assert check("eks-api-not-world-open", EKS, {}) != []
    assert check("eks-api-not-world-open", EKS, {"vpcConfig": {"endpointPublicAccess": False}}) == []


def test_prod_only_rules_pass_in_dev() -> None:
    assert check("eks-deletion-protection", EKS, {}, env="dev") == []
    assert check("eks-deletion-protection", EKS, {}, env="prod") != []
    one = [(DEPLOY, "hello", {**deployment(), "spec": {**deployment()["spec"], "replicas": 1}})]
    assert check_stack("k8s-min-replicas", one, env="staging") == []


def test_a_proxmox_vm_is_protected_by_the_resource_option() -> None:
    assert check("onprem-vm-deletion-protection", PVE, {"name": "k3s-server-0"}, protect=True) == []
    assert check("onprem-vm-deletion-protection", PVE, {"name": "k3s-server-0"}) != []


def test_gke_dns_only_control_plane_counts_as_private() -> None:
    dns_only = {
        "controlPlaneEndpointsConfig": {
            "ipEndpointsConfig": {"enabled": False},
            "dnsEndpointConfig": {"allowExternalTraffic": False},
        }
    }
    assert check("gke-private-endpoint", GKE, dns_only) == []
    assert check("gke-api-not-world-open", GKE, dns_only) == []
    dns_only["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] = True
    assert check("gke-private-endpoint", GKE, dns_only) != []


def test_a_vpn_key_named_in_additional_secret_outputs_is_secret() -> None:
    # Under a preview pulumi-policy hands a pack the inputs without their secret markers: the resource's
    # additionalSecretOutputs is what the rule still sees.
    plain = {"tunnel1PresharedKey": "k3yOfTunnelOne", "tunnel2PresharedKey": "k3yOfTunnelTwo"}
    rule, vpn = "aws-vpn-preshared-keys-secret", "aws:ec2/vpnConnection:VpnConnection"
    assert len(check(rule, vpn, plain)) == 2
    assert check(rule, vpn, plain, secret_outputs=("tunnel1PresharedKey", "tunnel2PresharedKey")) == []
    assert check(rule, vpn, plain, secret_outputs=("tunnel1PresharedKey",)) == [
        "tunnel2PresharedKey is a plain value: mark it secret (pulumi.Output.secret, or additionalSecretOutputs)"
    ]


def test_vpn_tunnels_that_differ_in_their_proposals_fail() -> None:
    props = {"tunnel1IkeVersions": ["ikev2"], "tunnel2IkeVersions": ["ikev1", "ikev2"]}
    assert check("aws-vpn-both-tunnels", "aws:ec2/vpnConnection:VpnConnection", props) == [
        "tunnel1IkeVersions and tunnel2IkeVersions differ: the two tunnels must accept the same proposals"
    ]


def test_gke_release_channel_stands_in_for_a_pinned_version() -> None:
    assert check("gke-supported-version", GKE, {"releaseChannel": {"channel": "REGULAR"}}) == []
    assert check("gke-supported-version", GKE, {}) != []


def test_job_needs_no_probes() -> None:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox:1.37"}]}}}}
    assert check("k8s-probes", JOB, job) == []
    assert check("k8s-pinned-images", JOB, job) == []


def test_public_load_balancer_with_explicit_opt_in_passes() -> None:
    assert check("k8s-public-load-balancer-opt-in", SVC, service({"orquestra.io/public": "true"})) == []
    cluster_ip = {"spec": {"type": "ClusterIP"}}
    assert check("k8s-public-load-balancer-opt-in", SVC, cluster_ip) == []


def test_schema_messages_never_echo_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app"},
        "type": "Opaque",
        "stringData": {"password": ["hunter2-not-a-string"]},
    }
    messages = check("k8s-schema-valid", "kubernetes:core/v1:Secret", secret)
    assert messages and "stringData.password" in messages[0]
    assert "hunter2" not in " ".join(messages)
    typo = check("k8s-schema-valid", DEPLOY, deployment({"imagePullPolicy": "Always", "imagePolicy": "x"}))
    assert typo and "'imagePolicy' was unexpected" in typo[0]


def test_schema_follows_the_cluster_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # flowcontrol v1beta3 was removed in Kubernetes 1.32: valid on a 1.31 cluster, not on 1.35.
    fs = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "x"},
        "spec": {"priorityLevelConfiguration": {"name": "global-default"}},
    }
    clusters = [
        {"name": "old", "target": "existing", "kubernetesVersion": "1.31"},
        {"name": "new", "target": "aws"},
    ]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"orquestra:clusters": json.dumps(clusters)}))
    old = check(
        "k8s-schema-valid", "kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", fs, provider="old-k8s"
    )
    new = check(
        "k8s-schema-valid", "kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", fs, provider="new-k8s"
    )
    assert old == []
    assert new and "does not exist in Kubernetes 1.35" in new[0]


@pytest.mark.parametrize(
    ("rule", "type_", "props", "path"),
    [
        (
            "eks-private-endpoint",
            EKS,
            {"vpcConfig": {"endpointPublicAccess": UNKNOWN_BOOLEAN_VALUE}},
            "vpcConfig.endpointPublicAccess",
        ),
        (
            "eks-api-not-world-open",
            EKS,
            {"vpcConfig": {"publicAccessCidrs": [UNKNOWN_STRING_VALUE]}},
            "vpcConfig.publicAccessCidrs[0]",
        ),
        ("k8s-pinned-images", DEPLOY, deployment({"image": UNKNOWN_STRING_VALUE}), "image"),
        ("aks-supported-version", AKS, {"kubernetesVersion": UNKNOWN_STRING_VALUE}, "kubernetesVersion"),
    ],
)
def test_unknown_values_are_reported_not_passed(rule: str, type_: str, props: dict[str, Any], path: str) -> None:
    with pytest.raises(UnknownValueError) as info:
        check(rule, type_, props)
    assert "cannot be checked during preview" in info.value.message
    assert info.value.message.endswith(f"{path} is unknown")


def test_stack_rule_reports_what_it_can_and_names_what_it_cannot() -> None:
    pending = deployment()
    pending["spec"]["template"]["metadata"]["labels"] = UNKNOWN_OBJECT_VALUE
    messages: list[str] = []
    with pytest.raises(UnknownValueError) as info:
        check_stack(
            "k8s-pod-disruption-budget",
            [(DEPLOY, "pending", pending), (DEPLOY, "plain", deployment())],
            messages=messages,
        )
    assert messages == ["plain: no PodDisruptionBudget selects its pods"]
    assert info.value.message == (
        "cannot be checked during preview: spec.template.metadata.labels is unknown (Deployment pending)"
    )


def test_an_unknown_hpa_leaves_replicas_undecided() -> None:
    hpa = {"metadata": {"namespace": "hello"}, "spec": {"minReplicas": UNKNOWN_NUMBER_VALUE, "scaleTargetRef": {}}}
    one = {**deployment(), "spec": {**deployment()["spec"], "replicas": None}}
    with pytest.raises(UnknownValueError, match=r"spec.minReplicas is unknown \(HorizontalPodAutoscaler h\)"):
        check_stack("k8s-min-replicas", [(DEPLOY, "hello", one), (HPA, "h", hpa)])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_pack_configs_match_the_rules(env: str) -> None:
    shipped = json.loads((CONFIG_DIR / f"{env}.json").read_text())
    assert shipped == pack_config(env)  # type: ignore[arg-type]


def test_prod_makes_lockdown_mandatory_and_dev_advisory() -> None:
    dev, prod = pack_config("dev"), pack_config("prod")
    for rule in RULES:
        if rule.tier == "lockdown":
            assert dev[rule.name]["enforcementLevel"] == "advisory"
            assert prod[rule.name]["enforcementLevel"] == "mandatory"
    assert prod["eks-private-endpoint"]["enforcementLevel"] == "mandatory"
    assert dev["k8s-no-host-path"]["enforcementLevel"] == "mandatory"
    assert all(TIERS[r.tier][2] != "disabled" for r in RULES)


def test_policies_declare_environment_in_their_config_schema() -> None:
    for rule in RULES:
        schema = rule.policy("dev").config_schema
        assert schema is not None and schema.properties["environment"]["enum"] == list(ENVIRONMENTS)


Checker = Callable[..., list[str]]


@pytest.mark.parametrize(
    ("rule", "type_", "props"),
    [
        ("eks-api-not-world-open", EKS, {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": "{}"}}),
        ("aks-api-not-world-open", AKS, {"apiServerAccessProfile": {"authorizedIPRanges": "{}"}}),
        ("doks-api-restricted", DOKS, {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": "{}"}}),
    ],
)
def test_ranges_that_together_cover_the_internet_are_world_open(rule: str, type_: str, props: dict[str, Any]) -> None:
    def with_ranges(ranges: list[str]) -> dict[str, Any]:
        return json.loads(json.dumps(props).replace('"{}"', json.dumps(ranges)))

    messages = check(rule, type_, with_ranges(["0.0.0.0/1", "128.0.0.0/1"]))
    assert len(messages) == 1 and "0.0.0.0/1 + 128.0.0.0/1" in messages[0], messages
    assert check(rule, type_, with_ranges(["0.0.0.0/1", "128.0.0.0/2"])) == []
    assert check(rule, type_, with_ranges(["203.0.113.0/24", "::/1", "8000::/1"])) != []
