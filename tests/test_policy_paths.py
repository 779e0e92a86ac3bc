"""The pack's servicer called in preflight's own process decides exactly as the pack served over gRPC.

`python -m preflight` analyzes in-process; `--policy-grpc` (and `pulumi preview
--policy-pack`) start the pack as a plugin. Both must give the same answer to every
request: the same diagnostics (message, level, severity, URN, pack and version) and
the same not-applicable reports, for every shipped stack and for plans that break
rules in every way a preview can (lock-down rules, unknowns, secrets, schema errors).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from google.protobuf import empty_pb2, json_format
from pulumi.runtime import rpc
from pulumi_policy.deserialize import deserialize_properties

from preflight import engine, policy, stackconfig
from preflight.engine import UNKNOWN, Plan, Secret
from preflight.stackconfig import StackConfig
from tests.bench import fleet
from tests.conftest import plan_stack
from tests.test_preflight_policy import config as env_config
from tests.test_preflight_policy import planted, reg

T = TypeVar("T")


def isolated(fn: Callable[[], T]) -> T:
    """Run in a fresh context, as `policy.analyze` does, so the servicer's runtime settings stay there."""
    return contextvars.Context().run(fn)


def responses(analyzer: policy.Analyzer, plan: Plan, config: StackConfig, pack_config: str) -> list[Any]:
    """Every response the analyzer gives to the engine's requests for `plan`, the stack's last."""
    policy.configure(analyzer, config, policy.load_pack_config(pack_config))
    each, stack = policy.responses(analyzer, plan)
    return [*(response for _, response in each), stack()]


def both(plan: Plan, config: StackConfig, pack_configs: list[str]) -> list[tuple[list[Any], list[Any]]]:
    """(in-process, served) responses for each pack config; the served pack starts once and is reconfigured."""
    out = []
    with policy.serve(config) as stub:
        for pack_config in pack_configs:
            served = responses(stub, plan, config, pack_config)

            def local(pack_config: str = pack_config) -> list[Any]:
                with policy.in_process(config) as analyzer:
                    return responses(analyzer, plan, config, pack_config)

            out.append((isolated(local), served))
    return out


def diagnostics(found: list[Any]) -> list[str]:
    return [f"{d.policyName} {d.urn} {d.message}" for response in found for d in response.diagnostics]


STACKS = stackconfig.stacks(engine.PROJECT_DIR)


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_gets_the_same_answers_from_both_paths(stack: str) -> None:
    config = stackconfig.load(engine.PROJECT_DIR, stack)
    plan = plan_stack(stack)
    assert plan.ok, plan.errors
    own = str(config.values.get("orquestra:environment", "dev"))
    # Its own environment's config, and prod's, which holds a dev or staging stack to more rules.
    for local, served in both(plan, config, sorted({own, "prod"})):
        custom = [r for r in plan.registrations if r.custom and not r.type.startswith("pulumi:")]
        assert len(local) == len(served) == len(custom) + 1
        assert local == served, stack


def broken() -> Plan:
    """A plan that trips rules through every path: resource and stack rules, unknowns, secrets, the schema."""
    plan = planted()
    invalid = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {"ports": [{"port": "https"}], "selector": {"app": "web"}},
    }
    provider = reg("pulumi:providers:kubernetes", "web-k8s", {"kubeconfig": Secret(UNKNOWN)}, custom=True)
    service = reg("kubernetes:core/v1:Service", "web", invalid, provider=f"{provider.urn}::id")
    plan.registrations += [provider, service]
    return plan


def test_planted_violations_are_the_same_on_both_paths() -> None:
    plan, config = broken(), env_config("prod")
    [(local, served)] = both(plan, config, ["prod"])
    assert local == served
    found = diagnostics(local)
    # The comparison is about something: each kind of finding is there.
    assert any(d.startswith("eks-api-not-world-open ") for d in found), found
    assert any("cannot be checked during preview" in d for d in found), found
    assert any("registry.example.com/web:latest" in d for d in found), found
    assert any(d.startswith("k8s-pod-disruption-budget ") for d in found), found
    assert any(d.startswith("k8s-schema-valid ") and "spec.ports.0.port" in d for d in found), found


def test_a_generated_fleet_breaking_prod_rules_gets_the_same_verdicts() -> None:
    config = fleet.config(3, environment="dev")
    plan = engine.run(config)
    assert plan.ok, plan.errors
    [(local, served)] = both(plan, config, ["prod"])
    assert local == served
    rules = {d.split()[0] for d in diagnostics(local)}
    assert {"eks-private-endpoint", "gke-private-endpoint", "k8s-min-replicas"} <= rules, rules


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "onprem"])
def test_a_charts_objects_get_the_same_answers_from_both_paths(stack: str) -> None:
    """The objects Helm renders reach the in-process pack without a message, and are judged as the served pack does."""
    config = stackconfig.load(engine.PROJECT_DIR, stack)
    rendered = list(policy._rendered(plan_stack(stack)))
    assert rendered, "the stack's charts render workloads the pack reads"
    pack_config = policy.load_pack_config("prod")
    with policy.serve(config) as stub:
        policy.configure(stub, config, pack_config)
        served = [stub.Analyze(r.request()) for r in rendered]

    def local() -> list[Any]:
        with policy.in_process(config) as analyzer:
            policy.configure(analyzer, config, pack_config)
            return [analyzer.analyze_rendered(r) for r in rendered]

    assert isolated(local) == served
    assert any(response.diagnostics for response in served), "some chart object breaks a rule, so verdicts compare"


def test_analyze_gives_the_same_result_in_process_and_served() -> None:
    plan, config = broken(), env_config("dev")
    pack_config = policy.load_pack_config("staging")
    local = policy.analyze(plan, config, pack_config)
    assert local == policy.analyze(plan, config, pack_config, served=True)
    assert local.mandatory and local.advisory


def test_the_in_process_pack_describes_itself_as_the_served_one() -> None:
    """Same name, version, policies, levels, config schemas: `pack.analyzer()` is `build()` without a server."""
    for env in ("dev", "prod"):
        config = env_config(env)
        with policy.serve(config) as stub:
            served = stub.GetAnalyzerInfo(empty_pb2.Empty())

        def local(config: StackConfig = config) -> Any:
            with policy.in_process(config) as analyzer:
                return analyzer.GetAnalyzerInfo(empty_pb2.Empty())

        assert isolated(local) == served
        assert len(served.policies) > 40


def test_in_process_analysis_leaves_the_process_as_it_found_it() -> None:
    """The pack's environment and runtime config are set for it alone: a later plan must not see them."""
    before = {k: os.environ.get(k) for k in ("PULUMI_CONFIG", "PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN")}
    import pulumi.runtime.config as runtime_config

    config_before = dict(runtime_config.CONFIG.get())
    policy.analyze(broken(), env_config("prod"), policy.load_pack_config("prod"))
    assert {k: os.environ.get(k) for k in before} == before
    assert dict(runtime_config.CONFIG.get()) == config_before


def test_a_rule_that_raises_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the served pack's failure comes back as one gRPC error line, so does the in-process one."""
    from policies.rules import base

    def broken_view(args: Any) -> Any:
        raise ValueError("rule crashed")

    monkeypatch.setattr(base, "from_args", broken_view)
    with pytest.raises(policy.PolicyError, match=r"^policy pack failed: ValueError: rule crashed$"):
        policy.analyze(broken(), env_config("dev"), policy.load_pack_config("dev"))


def test_in_process_a_typed_policy_runs_only_on_the_types_it_reports_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """71 resource rules, a handful per type: the in-process analyzer calls each rule on its own types only.

    The verdicts cannot differ (a rule returns at once on any other type; the tests above
    compare every response with the served pack's); this holds the count of calls down.
    """
    from policies.rules import RULES
    from policies.rules.base import TypedPolicy

    calls: list[tuple[str, str]] = []
    real = TypedPolicy.validate

    def spy(self: TypedPolicy, args: Any, report: Any) -> Any:
        calls.append((self.name, args.resource_type))
        return real(self, args, report)

    monkeypatch.setattr(TypedPolicy, "validate", spy)
    plan, config = broken(), env_config("prod")

    def local() -> list[Any]:
        with policy.in_process(config) as analyzer:
            return responses(analyzer, plan, config, "prod")

    isolated(local)
    analyzed = [r.type for r in plan.registrations if r.custom and not r.type.startswith("pulumi:")]
    expected = [(rule.name, t) for t in analyzed for rule in RULES if rule.stack_check is None and rule.applies_to(t)]
    assert sorted(calls) == sorted(expected)


def _message_view(value: Any) -> Any:
    """What the pack's servicer decodes from a resource's properties message."""
    return deserialize_properties(json_format.MessageToDict(policy._struct(value)))


@pytest.mark.parametrize("stack", STACKS)
def test_the_in_process_pack_reads_each_resource_as_its_message_would_read(stack: str) -> None:
    """The in-process path reads properties from the registration, and reads the values the message holds."""
    for registration in plan_stack(stack).registrations:
        assert policy._view(registration.inputs) == _message_view(registration.inputs), registration.urn


def test_a_view_holds_what_a_message_holds() -> None:
    """Numbers are doubles on the wire, secrets their value, unknowns the engine's sentinel."""
    value = {"n": 3, "b": True, "t": ["a", Secret([1, UNKNOWN])], "none": None, "m": {"z": 1.5, "a": Secret({"k": 2})}}
    view = policy._view(value)
    assert view == _message_view(value)
    assert isinstance(view["n"], float) and view["t"] == ["a", [1.0, rpc.UNKNOWN]]
    # What only the message path knows how to read (or refuse) goes through it.
    for other in ({"a": {rpc._special_sig_key: rpc._special_resource_sig, "urn": "u"}}, {"a": ("x",)}, {"a": object()}):
        with pytest.raises(policy._NotPlain):
            policy._view(other)
