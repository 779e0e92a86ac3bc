"""`network-no-overlapping-ranges`: each kind of range it reads, the shipped stacks, and a plan the spec never saw."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi_policy import PolicyResource, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from components import spec
from components.targets import REGISTRY
from policies.rules import network
from policies.rules.base import Node, Resource
from preflight import engine, policy, stackconfig
from tests.harness import plan_stack
from tests.test_policies import _opts

RULE = "network-no-overlapping-ranges"
STACKS = stackconfig.stacks(engine.PROJECT_DIR)


def run(
    resources: list[network.Planned], config: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch, env: str = "dev"
) -> list[str]:
    """The rule's messages for resources under their clusters' components, with `config` as the stack's config."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({k: json.dumps(v) for k, v in config.items()}))
    built: list[PolicyResource] = []
    components: dict[str, PolicyResource] = {}
    for type_, name, props, cluster in resources:
        if cluster not in components:
            urn = f"urn:pulumi:test::orquestra::orquestra:targets:TestCluster::{cluster}"
            components[cluster] = PolicyResource(
                "orquestra:targets:TestCluster", {}, urn, cluster, _opts(), None, None, [], {}
            )
            built.append(components[cluster])
        urn = f"urn:pulumi:test::orquestra::orquestra:targets:TestCluster${type_}::{name}"
        props = unknown_checking_proxy(copy.deepcopy(props))
        built.append(PolicyResource(type_, props, urn, name, _opts(), None, components[cluster], [], {}))
    [rule] = network.RULES
    pack = rule.policy(env)  # type: ignore[arg-type]
    assert isinstance(pack, StackValidationPolicy)
    found: list[str] = []
    pack.validate(StackValidationArgs(built, {"environment": env}), lambda m, urn=None: found.append(m))
    return found


@pytest.mark.parametrize("kind", sorted(network.KINDS))
def test_each_kind_of_range_passes_and_fails(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = network.KINDS[kind]
    assert run(case.good, case.good_config, monkeypatch) == []
    messages = run(case.bad, case.bad_config, monkeypatch)
    assert len(messages) == 1, messages
    assert case.fails_with in messages[0], messages


def test_every_type_it_reads_has_a_kind() -> None:
    """Every resource type the rule reads passes and fails in some case, and so do the stack's own keys."""
    used = {r[0] for case in network.KINDS.values() for r in [*case.good, *case.bad]}
    assert set(network.READS) <= used
    assert {"onprem-network", "aws-existing-vpc", "site"} <= set(network.KINDS)


def test_a_cluster_never_overlaps_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subnet inside its own VPC, a service range the cloud carves from it: one owner, nothing to report."""
    own: list[network.Planned] = [
        (network.AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}, "a"),
        (network.AWS_VPC_CIDR, "a-pods", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/16"}, "a"),
        (network.EKS, "a-eks", {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.0.128.0/20"}}, "a"),
    ]
    assert run(own, {}, monkeypatch) == []


def test_one_line_per_pair_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    vpc: network.Planned = (network.AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}, "a")
    other: network.Planned = (network.DO_VPC, "b-vpc", {"ipRange": "10.0.0.0/20"}, "b")
    [line] = run([vpc, other], {}, monkeypatch)
    assert line == (
        "10.0.0.0/16 (cluster 'a', Vpc a-vpc cidrBlock, routed) overlaps 10.0.0.0/20 (cluster 'b', Vpc b-vpc "
        "ipRange, routed): both are routed between the clusters and sites of this stack: an address in both has "
        "no one destination"
    )
    third: network.Planned = (network.OCI_VCN, "c-vcn", {"cidrBlocks": ["10.0.4.0/24"]}, "c")
    assert len(run([vpc, other, third], {}, monkeypatch)) == 3


def test_local_ranges_repeat_across_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two k3s clusters on the same overlay defaults, and an EKS service range equal to one of them."""
    config = {
        "orquestra:clusters": [
            {"name": "dc1", "target": "onprem", "network": {"cidr": "192.168.10.0/24"}},
            {"name": "dc2", "target": "onprem", "network": {"cidr": "192.168.20.0/24"}},
        ]
    }
    services = {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16"}}
    eks: network.Planned = (network.EKS, "a-eks", services, "a")
    assert run([eks], config, monkeypatch) == []


def test_an_unknown_range_is_named_and_the_rest_still_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    resources: list[network.Planned] = [
        (network.AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}, "a"),
        (network.AWS_VPC, "b-vpc", {"cidrBlock": "10.0.0.0/16"}, "b"),
        (network.AWS_VPC, "c-vpc", {"cidrBlock": UNKNOWN_STRING_VALUE}, "c"),
    ]
    with pytest.raises(UnknownValueError, match=r"cidrBlock is unknown \(Vpc c-vpc\)"):
        run(resources, {}, monkeypatch)


# ------------------------------------------------------------------ stacks


def _views(plan: engine.Plan) -> list[Resource]:
    return [
        Resource(type=r.type, name=r.name, urn=r.urn, props=Node(r.inputs), parent=r.parent) for r in plan.registrations
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_give_the_rule_the_ranges_their_spec_declares(stack: str) -> None:
    """What the rule reads from each plan is what the spec's address plan checked: it judges the real ranges."""
    config = stackconfig.load(engine.PROJECT_DIR, stack)
    parsed = spec.parse(config.namespace("orquestra"))
    resources = _views(plan_stack(stack))
    ranges, unknown = network.planned(resources)
    ranges += network.declared(config.values, resources)
    assert unknown == []
    seen = {(r.owner, str(r.net), r.routed) for r in ranges}
    for cluster in parsed.clusters:
        owner = f"cluster '{cluster.name}'"
        expected = {(owner, c, True) for c in cluster.networks.values()}
        expected |= {(owner, c, False) for c in cluster.local_networks.values()}
        if isinstance(cluster, spec.AwsSpec):
            # The VPC CNI gives pods VPC addresses: network.podCidr is not used (not in the plan either).
            expected -= {(owner, cluster.network.pod_cidr, False)}
        if isinstance(cluster, spec.TanzuSpec):
            expected = {(owner, cluster.pod_cidr, False), (owner, cluster.service_cidr, False)}
        assert {s for s in seen if s[0] == owner} == expected, cluster.name
    assert list(network.overlaps(ranges)) == []


def test_the_shipped_stacks_cover_every_target_with_a_network() -> None:
    targets = {
        c["target"] for s in STACKS for c in stackconfig.load(engine.PROJECT_DIR, s).values["orquestra:clusters"]
    }
    assert {k for k, t in REGISTRY.items() if t.type_prefixes} <= targets | {"existing"}


def _edited(plan: engine.Plan, name: str, inputs: dict[str, Any]) -> engine.Plan:
    """The plan with one registration's inputs changed, as if a code change or an edit after preflight made it."""
    registrations = [
        dataclasses.replace(r, inputs={**copy.deepcopy(r.inputs), **inputs}) if r.name == name else r
        for r in plan.registrations
    ]
    assert registrations != plan.registrations, name
    return dataclasses.replace(plan, registrations=registrations)


@pytest.mark.parametrize(
    ("cidr", "other"),
    [
        # Over dc1's node range, which the site routes.
        ("192.168.0.0/16", "192.168.10.0/24 (cluster 'dc1', orquestra:clusters[0].network.cidr, routed)"),
        # Over dc1's pod overlay: dc1 would keep the traffic meant for the VPC.
        ("10.42.0.0/16", "10.42.0.0/16 (cluster 'dc1', orquestra:clusters[0].network.podCidr, local)"),
    ],
)
def test_the_hybrid_stack_with_an_overlap_the_spec_never_saw_is_mandatory(cidr: str, other: str) -> None:
    config = stackconfig.load(engine.PROJECT_DIR, "hybrid")
    plan = _edited(plan_stack("hybrid"), "euw1-vpc", {"cidrBlock": cidr})
    result = policy.analyze(plan, config, policy.load_pack_config("prod"))
    assert {(v.policy, v.resource) for v in result.mandatory} == {(RULE, "aws:ec2/vpc:Vpc euw1-vpc")}
    found = [v.message for v in result.mandatory]
    assert any(m.startswith(f"{cidr} (cluster 'euw1', Vpc euw1-vpc cidrBlock, routed) overlaps {other}") for m in found)
