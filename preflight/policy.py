"""Run the policy pack against a plan exactly as the Pulumi CLI runs it during `preview`.

The engine starts a Python pack as a plugin (`python -m pulumi.policy <engine> <pack dir>`
with the stack's project, name and config in `PULUMI_*`) and speaks the Analyzer gRPC
interface to it: read the pack's metadata, reconcile the `--policy-pack-config`
document with it, `Configure`, `Analyze` each planned resource and `AnalyzeStack` once
with all of them. Secret inputs travel as secret property values and unknowns as
unknowns, so rules see what a real preview shows.

Preflight does the same, by default with the pack's own Analyzer servicer in this
process (`in_process`), which reads the plan's resources without encoding them into
request messages: no second interpreter to start and no round trip per resource,
which cost ~20 ms each. Behind
`--policy-grpc` it starts the pack as the engine does (`serve`); a test runs both on
every shipped stack and requires the same violations.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    _NotApplicableError,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from preflight.engine import PROJECT_DIR, UNKNOWN, Plan, Registration, Secret
from preflight.stackconfig import StackConfig

PACK_DIR = PROJECT_DIR / "policies"
STARTUP_SECONDS = 120.0
_LEVELS = analyzer_pb2.EnforcementLevel


class PolicyError(Exception):
    """The pack could not be started or configured; the message is one line."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """advisory, mandatory, remediate or disabled, as the pack reported it."""
    message: str
    urn: str
    resource: str
    """`type name` of the resource the violation is about, or "" for the stack."""

    def line(self) -> str:
        where = f" {self.resource}" if self.resource else ""
        return f"[{self.level}] {self.policy}{where}: {self.message}"


@dataclass(frozen=True)
class PolicyResult:
    pack: str
    config: Mapping[str, Mapping[str, Any]]
    """The reconciled config sent with `Configure`: policy -> {enforcementLevel, properties}."""
    violations: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]


def load_pack_config(spec: str, pack_dir: Path = PACK_DIR) -> dict[str, Any]:
    """`--policy-config`: an environment name (`prod` -> policies/config/prod.json) or a JSON file."""
    path = pack_dir / "config" / f"{spec}.json"
    if not path.is_file():
        path = Path(spec)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (pack_dir / "config").glob("*.json")))
        raise PolicyError(f"--policy-config: {spec!r} is neither an environment ({known}) nor a JSON file")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PolicyError(f"--policy-config: {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"--policy-config: {path}: expected an object of policy name -> config")
    return doc


def encode(value: Any) -> Any:
    """A preflight input value in the engine's wire form: secrets signed, unknowns as the unknown sentinel."""
    if isinstance(value, Secret):
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": encode(value.value)}
    if value is UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(encode(dict(value)))
    return out


def reconcile(info: Any, given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the CLI does with a pack config: schema defaults, then `all`, then each policy's own entry."""
    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        defaults = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        result[policy.name] = {
            "enforcementLevel": _LEVELS.Name(policy.enforcementLevel).lower(),
            "properties": defaults,
        }

    def level_of(entry: Any) -> str | None:
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel") if isinstance(entry, dict) else None
        if level is not None and level.upper() not in set(_LEVELS.keys()):
            raise PolicyError(
                f"--policy-config: enforcement level {level!r} is not one of advisory, mandatory, disabled"
            )
        return level

    all_level = level_of(given.get("all", {}))
    if all_level:
        for entry in result.values():
            entry["enforcementLevel"] = all_level
    for name, entry in given.items():
        if name == "all":
            continue
        if name not in result:
            raise PolicyError(f"--policy-config: {name!r} is not a policy of pack {info.name!r}")
        level = level_of(entry)
        if level:
            result[name]["enforcementLevel"] = level
        if isinstance(entry, dict):
            result[name]["properties"].update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return result


def _pack_environment(config: StackConfig) -> dict[str, str]:
    """What the engine puts in a pack's environment: the stack's identity and its config.

    Encrypted leaves are already placeholders here (preflight has no key), so keys that hold a
    secret keep their readable structure, such as each cluster's kubernetesVersion.
    """
    return {
        "PULUMI_PROJECT": config.project,
        "PULUMI_STACK": config.stack,
        "PULUMI_ORGANIZATION": "organization",
        "PULUMI_DRY_RUN": "true",
        "PULUMI_CONFIG": json.dumps(config.for_runtime()),
    }


class Analyzer(Protocol):
    """The Analyzer interface as the engine calls it: one request message in, one response out."""

    def GetAnalyzerInfo(self, request: empty_pb2.Empty) -> Any: ...  # noqa: N802 (gRPC method names)

    def Configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest) -> Any: ...  # noqa: N802

    def ConfigureStack(self, request: analyzer_pb2.AnalyzerStackConfigureRequest) -> Any: ...  # noqa: N802

    def Analyze(self, request: analyzer_pb2.AnalyzeRequest) -> Any: ...  # noqa: N802

    def AnalyzeStack(self, request: analyzer_pb2.AnalyzeStackRequest) -> Any: ...  # noqa: N802


@contextmanager
def serve(config: StackConfig, pack_dir: Path = PACK_DIR) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the pack as the engine would and yield a connected Analyzer stub; stop it afterwards."""
    env = {**os.environ, **_pack_environment(config)}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            # The engine passes its own address first; nothing in the pack dials it during analysis.
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
            cwd=pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
        )
        channel: grpc.Channel | None = None
        try:
            port = _read_port(proc, errors)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=STARTUP_SECONDS)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            if channel is not None:
                channel.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _read_port(proc: subprocess.Popen[bytes], errors: Any) -> int:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=STARTUP_SECONDS)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if line.isdigit():
        return int(line)
    proc.kill()
    proc.wait()
    errors.seek(0)
    tail = [t for t in errors.read().decode(errors="replace").splitlines() if t.strip()][-1:]
    reason = tail[0] if tail else f"no port printed within {STARTUP_SECONDS:.0f}s"
    raise PolicyError(f"policy pack did not start: {reason}")


class LocalAnalyzer:
    """The pack's own Analyzer servicer (`policies.pack.analyzer()`), called in this process.

    The Analyzer methods take and return the engine's messages. `GetAnalyzerInfo`,
    `Configure`, `ConfigureStack` and `AnalyzeStack` are the servicer's own. `Analyze`
    is the servicer's (pulumi-policy 1.21.0, `pulumi_policy/policy.py`) with two changes:
    a request's properties, options and provider are decoded once for all policies, not
    once per policy, which was most of their cost; and a policy that says which types
    it reports on (`TypedPolicy.applies_to`) is not called for any other, where its
    validation returns at once (71 policies, a handful per type). Every policy still gets its own
    validation args and report callback, levels and diagnostics come from the
    servicer's helpers, and the runtime settings it would configure on every request
    are configured once (they never change within a stack). The pack's rules only read
    their inputs, so sharing the decoded view cannot change a verdict;
    tests/test_policy_paths.py compares every response with the served pack's.

    A plan's own resources and the objects its charts render skip the messages:
    `analyze`, `analyze_rendered` and `analyze_stack` read the fields a request would
    encode straight from the registration or the rendered object (`_view`), and decode
    each resource's properties once for both analyses, where encoding them into a
    message and decoding it again cost more than most rules.
    """

    def __init__(self, servicer: Any) -> None:
        from policies.rules.base import TypedPolicy  # with the pack, once it is built

        self._typed = TypedPolicy
        self._servicer = servicer
        # The servicer keeps these in name-mangled attributes; a missing one fails here, loudly.
        mangled = "_PolicyAnalyzerServicer__"
        self._policies: list[Any] = getattr(servicer, f"{mangled}policies")
        self._pack_name: str = getattr(servicer, f"{mangled}policy_pack_name")
        self._pack_version: str = getattr(servicer, f"{mangled}policy_pack_version")
        self._tags_attribute = f"{mangled}stack_tags"
        self._providers: dict[str, Any] = {}
        self._by_type: dict[str, list[Any]] = {}
        self._views: dict[str, Any] = {}

    def _stack_tags(self) -> Any:
        """Set by `ConfigureStack`."""
        return getattr(self._servicer, self._tags_attribute)

    def GetAnalyzerInfo(self, request: empty_pb2.Empty) -> Any:  # noqa: N802 (gRPC method names)
        return self._servicer.GetAnalyzerInfo(request, None)

    def Configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest) -> Any:  # noqa: N802
        return self._servicer.Configure(request, None)

    def ConfigureStack(self, request: analyzer_pb2.AnalyzerStackConfigureRequest) -> Any:  # noqa: N802
        return self._servicer.ConfigureStack(request, None)

    def Analyze(self, request: analyzer_pb2.AnalyzeRequest) -> Any:  # noqa: N802
        return self._analyze(
            request.type,
            request.urn,
            request.name,
            lambda: (_properties(request), self._servicer._get_resource_options(request), self._provider(request)),
        )

    def analyze(self, reg: Registration, provider: Registration | None) -> Any:
        """`Analyze` of the request `requests` makes for `reg`, read from the registration without the message."""
        return self._analyze(
            reg.type, reg.urn, reg.name, lambda: (self._view(reg), self._options(reg), self._registered(provider))
        )

    def analyze_rendered(self, rendered: _Rendered) -> Any:
        """`Analyze` of `rendered.request()`, read from the rendered object without the message."""
        return self._analyze(
            rendered.type,
            rendered.urn,
            rendered.name,
            lambda: (
                unknown_checking_proxy(_plain_view(rendered.properties)),
                self._servicer._get_resource_options(_Options(rendered.options())),
                self._registered(rendered.provider),
            ),
        )

    def _analyze(self, type_: str, urn: str, name: str, decode: Callable[[], tuple[Any, Any, Any]]) -> Any:
        servicer = self._servicer
        response = analyzer_pb2.AnalyzeResponse()
        decoded: tuple[Any, Any, Any] | None = None
        for policy in self._for_type(type_):
            level = servicer._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, ResourceValidationPolicy):
                continue
            if not policy.has_validation():
                response.not_applicable.append(
                    analyzer_pb2.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY
            report = servicer._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            if decoded is None:
                decoded = decode()
            props, opts, provider = decoded
            config = servicer._get_policy_config(policy.name)
            args = ResourceValidationArgs(type_, props, urn, name, opts, provider, config, self._stack_tags())
            self._validate(policy, args, report, response)
        return response

    def _view(self, reg: Registration) -> Any:
        """A registration's properties as the servicer decodes them from its message, once for both analyses."""
        if reg.urn not in self._views:
            self._views[reg.urn] = unknown_checking_proxy(_plain_view(reg.inputs))
        return self._views[reg.urn]

    def _options(self, reg: Registration) -> Any:
        return self._servicer._get_resource_options(_Options(_options(reg)))

    def _registered(self, provider: Registration | None) -> Any:
        """`_provider` of the message `requests` makes for a resource of `provider`."""
        if provider is None:
            return None
        if provider.urn not in self._providers:
            self._providers[provider.urn] = self._servicer._get_provider_resource(
                analyzer_pb2.AnalyzeRequest(provider=_provider_message(provider))
            )
        return self._providers[provider.urn]

    def _for_type(self, type_: str) -> list[Any]:
        """The pack's policies, in order, without the typed ones that report nothing on `type_`."""
        if type_ not in self._by_type:
            self._by_type[type_] = [p for p in self._policies if not isinstance(p, self._typed) or p.applies_to(type_)]
        return self._by_type[type_]

    def AnalyzeStack(self, request: analyzer_pb2.AnalyzeStackRequest) -> Any:  # noqa: N802
        """The servicer's own: preflight asks through `analyze_stack`."""
        return self._servicer.AnalyzeStack(request, None)

    def analyze_stack(self, plan: Plan) -> Any:
        """`AnalyzeStack` of the request `requests` makes for `plan`, read from its registrations.

        The servicer's, with the stack's resources decoded (once with `analyze`) and linked
        once for all stack policies, not once per policy.
        """
        servicer = self._servicer
        servicer._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        resources: list[Any] | None = None
        for policy in self._policies:
            level = servicer._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, StackValidationPolicy):
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY
            report = servicer._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            if resources is None:
                resources = self._stack_resources(plan)
            args = StackValidationArgs(resources, servicer._get_policy_config(policy.name), self._stack_tags())
            self._validate(policy, args, report, response)
        return response

    def _stack_resources(self, plan: Plan) -> list[Any]:
        """`PolicyResource`s with parent and dependencies linked to each other, as the servicer builds them."""
        by_urn = {r.urn: r for r in plan.registrations}
        linked = [
            (
                r,
                PolicyResource(
                    r.type,
                    self._view(r),
                    r.urn,
                    r.name,
                    self._options(r),
                    self._registered(_provider_of(by_urn, r)),
                    None,
                    [],
                    {},
                ),
            )
            for r in plan.registrations
            if _analyzed(r)
        ]
        resources = {resource.urn: resource for _, resource in linked}
        for r, resource in linked:
            if r.parent in resources:
                resource.parent = resources[r.parent]
            resource.dependencies.extend(resources[d] for d in r.dependencies if d in resources)
            for key, urns in r.property_dependencies.items():
                resource.property_dependencies[key] = [resources[d] for d in urns if d in resources]
        return [resource for _, resource in linked]

    def _provider(self, message: Any) -> Any:
        """`_get_provider_resource`, decoded once per provider: a plan has a few providers and many resources."""
        if not message.HasField("provider"):
            return None
        urn = message.provider.urn
        if urn not in self._providers:
            self._providers[urn] = self._servicer._get_provider_resource(message)
        return self._providers[urn]

    def _validate(self, policy: Any, args: Any, report: Any, response: Any) -> None:
        """Run one policy as the servicer does: unknowns become an advisory diagnostic, not-applicable is recorded."""
        try:
            result = policy.validate(args, report)
            if result is not None and isawaitable(result):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(asyncio.Task(result, loop=loop))  # type: ignore[arg-type]
                finally:
                    loop.close()
        except UnknownValueError as e:
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=self._pack_name,
                    policyPackVersion=self._pack_version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{self._pack_name}@v{self._pack_version}' during preview: {e.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._servicer._map_enforcement_level(EnforcementLevel.ADVISORY),
                )
            )
        except _NotApplicableError as e:
            response.not_applicable.append(
                analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
            )


class _Options(NamedTuple):
    """What the servicer's `_get_resource_options` reads of a request: its options message."""

    options: analyzer_pb2.AnalyzerResourceOptions


class _NotPlain(Exception):
    """A value `_view` leaves to the message path: a signed map, or a type a Struct does not hold."""


def _view(value: Any) -> Any:
    """`deserialize_properties(MessageToDict(_struct(value)))`, the servicer's decoding, without the message.

    A Struct holds numbers as doubles (so an int comes back a float), secrets are their
    value and unknowns the engine's sentinel, which the unknown-checking proxy looks for;
    anything else (a signed map, a tuple, a type a Struct does not hold) raises `_NotPlain`
    and goes through the message. Maps keep the registration's key order, where a message
    built from them may iterate in another: tests/test_policy_paths.py holds the values to
    the message's and every verdict to the served pack's.
    """
    if isinstance(value, Secret):
        return _view(value.value)
    if value is UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, (str, bool, float)) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        if rpc._special_sig_key in value:
            raise _NotPlain
        return {k: _view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_view(v) for v in value]
    raise _NotPlain


def _plain_view(properties: Mapping[str, Any]) -> Any:
    """`_view` of a resource's properties, through the message where it cannot do without."""
    try:
        return _view(properties)
    except _NotPlain:
        return deserialize_properties(json_format.MessageToDict(_struct(properties)))


def _properties(message: Any) -> Any:
    """A message's `properties` as the servicer hands them to a policy: decoded, behind its unknown-checking proxy."""
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(message.properties)))


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def in_process(config: StackConfig) -> Iterator[LocalAnalyzer]:
    """The pack built in this process as its `__main__` builds it for the engine, with the engine's environment.

    The rules read the stack's config from `PULUMI_CONFIG`, as they do in a plugin, so it is
    set while the analyzer lives. The servicer configures the Pulumi runtime from it on
    every request; run this in its own `contextvars.Context` (as `analyze` does) so that
    reaches no plan of this process.
    """
    with _environment(_pack_environment(config)):
        from policies.pack import analyzer

        servicer = analyzer()
        servicer._configure_runtime_settings()
        yield LocalAnalyzer(servicer)


def _provider_of(by_urn: Mapping[str, Registration], reg: Registration) -> Registration | None:
    """The registration of `reg`'s provider (its reference is `urn::id`)."""
    urn = reg.provider.rsplit("::", 1)[0] if reg.provider else ""
    return by_urn.get(urn) if urn else None


def _provider_message(prov: Registration) -> analyzer_pb2.AnalyzerProviderResource:
    return analyzer_pb2.AnalyzerProviderResource(
        type=prov.type, properties=_struct(prov.inputs), urn=prov.urn, name=prov.name
    )


def _options(reg: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=reg.protect,
        ignoreChanges=reg.ignore_changes,
        deleteBeforeReplace=reg.delete_before_replace,
        deleteBeforeReplaceDefined=True,
        additionalSecretOutputs=reg.additional_secret_outputs,
        parent=reg.parent,
    )


def _analyzed(reg: Registration) -> bool:
    return reg.type != "pulumi:pulumi:Stack" and not reg.type.startswith("pulumi:providers:")


def configure(analyzer: Analyzer, config: StackConfig, pack_config: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """What the engine says to a pack before analysis; returns its `AnalyzerInfo` and the reconciled config."""
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    reconciled = reconcile(info, pack_config)
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=_LEVELS.Value(entry["enforcementLevel"].upper()),
                    properties=_struct(entry["properties"]),
                )
                for name, entry in reconciled.items()
            }
        )
    )
    analyzer.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=config.stack, project=config.project, organization="organization", dry_run=True
        )
    )
    return info, reconciled


def requests(plan: Plan) -> tuple[list[analyzer_pb2.AnalyzeRequest], analyzer_pb2.AnalyzeStackRequest]:
    """One `Analyze` request per custom resource, in plan order, and the `AnalyzeStack` request.

    Each registration's properties and each provider become a message once, for both.
    """
    by_urn = {r.urn: r for r in plan.registrations}
    properties: dict[str, struct_pb2.Struct] = {}
    providers: dict[str, analyzer_pb2.AnalyzerProviderResource | None] = {}

    def props(reg: Registration) -> struct_pb2.Struct:
        if reg.urn not in properties:
            properties[reg.urn] = _struct(reg.inputs)
        return properties[reg.urn]

    def provider(reg: Registration) -> analyzer_pb2.AnalyzerProviderResource | None:
        urn = reg.provider.rsplit("::", 1)[0]
        if urn and urn not in providers:
            prov = by_urn.get(urn)
            providers[urn] = (
                analyzer_pb2.AnalyzerProviderResource(
                    type=prov.type, properties=props(prov), urn=prov.urn, name=prov.name
                )
                if prov
                else None
            )
        return providers.get(urn)

    def resource(reg: Registration) -> dict[str, Any]:
        """The fields an `AnalyzeRequest` and an `AnalyzerResource` share."""
        return {
            "type": reg.type,
            "properties": props(reg),
            "urn": reg.urn,
            "name": reg.name,
            "options": _options(reg),
            "provider": provider(reg),
        }

    resources = [r for r in plan.registrations if _analyzed(r)]
    each = [analyzer_pb2.AnalyzeRequest(**resource(reg)) for reg in resources if reg.custom]
    stack = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                **resource(reg),
                parent=reg.parent,
                dependencies=reg.dependencies,
                propertyDependencies={
                    k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in reg.property_dependencies.items()
                },
            )
            for reg in resources
        ]
    )
    return each, stack


def responses(analyzer: Analyzer, plan: Plan) -> tuple[Iterator[tuple[str, Any]], Callable[[], Any]]:
    """The analyzer's response to each custom resource's `Analyze`, in plan order with its URN, and `AnalyzeStack`.

    The served pack gets the request messages of `requests`; the pack's servicer in this
    process reads the same fields from the registrations (`LocalAnalyzer.analyze`), so no
    resource is encoded into a message only to be decoded again.
    """
    if isinstance(analyzer, LocalAnalyzer):
        local = analyzer
        by_urn = {r.urn: r for r in plan.registrations}
        custom = (r for r in plan.registrations if _analyzed(r) and r.custom)
        return ((r.urn, local.analyze(r, _provider_of(by_urn, r))) for r in custom), lambda: local.analyze_stack(plan)
    each, stack = requests(plan)
    return ((request.urn, analyzer.Analyze(request)) for request in each), lambda: analyzer.AnalyzeStack(stack)


def analyze(plan: Plan, config: StackConfig, pack_config: Mapping[str, Any], *, served: bool = False) -> PolicyResult:
    """Every diagnostic the pack reports for the plan, with `pack_config` applied as `--policy-pack-config` would.

    `served`: start the pack in its own process and speak gRPC to it, as the engine does,
    instead of calling its servicer here.
    """
    try:
        if served:
            with serve(config) as stub:
                return _run(stub, plan, config, pack_config)

        def local() -> PolicyResult:
            # The SDK's config variable defaults to one dict shared by every context, which `set_config`
            # writes into; a dict of this context's own keeps the pack's config out of later plans.
            runtime_config.CONFIG.set({})
            with in_process(config) as analyzer:
                try:
                    return _run(analyzer, plan, config, pack_config)
                except PolicyError:
                    raise
                except Exception as exc:
                    # What the served pack reports when a rule raises, as one line instead of a traceback.
                    raise PolicyError(f"policy pack failed: {type(exc).__name__}: {exc}") from None

        return contextvars.Context().run(local)
    except grpc.RpcError as exc:
        raise PolicyError(f"policy pack failed: {exc.details() if hasattr(exc, 'details') else exc}") from None


def _run(analyzer: Analyzer, plan: Plan, config: StackConfig, pack_config: Mapping[str, Any]) -> PolicyResult:
    by_urn = {r.urn: r for r in plan.registrations}
    violations: list[Violation] = []

    def collect(response: Any, default_urn: str = "") -> None:
        for d in response.diagnostics:
            urn = d.urn or default_urn
            reg = by_urn.get(urn)
            message = d.message.removeprefix(d.description).strip() or d.description
            violations.append(
                Violation(
                    policy=d.policyName,
                    level=_LEVELS.Name(d.enforcementLevel).lower(),
                    message=message,
                    urn=urn,
                    resource=f"{reg.type} {reg.name}" if reg else "",
                )
            )

    info, reconciled = configure(analyzer, config, pack_config)
    each, stack = responses(analyzer, plan)
    for urn, response in each:
        collect(response, urn)
    local = analyzer if isinstance(analyzer, LocalAnalyzer) else None
    for rendered in _rendered(plan):
        found = len(violations)
        collect(local.analyze_rendered(rendered) if local else analyzer.Analyze(rendered.request()))
        violations[found:] = [
            _chart_finding(plan, v, rendered.release.urn, rendered.subject) for v in violations[found:]
        ]
    collect(stack())
    return PolicyResult(pack=info.name, config=reconciled, violations=violations)


# The kinds the pack's Kubernetes rules read one by one (policies/rules/kubernetes.py: workloads and Services).
_RENDERED_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Service"}
)


@dataclass(frozen=True)
class _Rendered:
    """An object Helm renders for a release, as the pack would see it if the program registered it."""

    type: str
    urn: str
    name: str
    properties: Mapping[str, Any]
    release: Registration
    provider: Registration | None
    subject: str

    def options(self) -> analyzer_pb2.AnalyzerResourceOptions:
        """A rendered object's only option: its release is its parent."""
        return analyzer_pb2.AnalyzerResourceOptions(parent=self.release.urn)

    def request(self) -> analyzer_pb2.AnalyzeRequest:
        """The `Analyze` request the served pack gets for it."""
        return analyzer_pb2.AnalyzeRequest(
            type=self.type,
            properties=_struct(self.properties),
            urn=self.urn,
            name=self.name,
            options=self.options(),
            provider=_provider_message(self.provider) if self.provider else None,
        )


def _rendered(plan: Plan) -> Iterator[_Rendered]:
    """The objects Helm renders for each release that the pack's Kubernetes rules read, in release order."""
    from preflight.admission import object_name, review

    by_urn = {r.urn: r for r in plan.registrations}
    for release in review(plan).releases():
        reg = release.registration
        provider = _provider_of(by_urn, reg)
        for obj in release.installed:
            if obj.get("kind") not in _RENDERED_KINDS:
                continue
            group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
            type_ = f"kubernetes:{group or 'core'}/{version}:{obj.get('kind')}"
            name = object_name(obj)
            yield _Rendered(type_, f"{reg.urn}${type_}::{name}", name, obj, reg, provider, f"{release.subject}: {name}")


def _chart_finding(plan: Plan, v: Violation, release_urn: str, subject: str) -> Violation:
    """A finding in a chart's own objects: the pack's level when the program's values can fix it, else advisory."""
    from preflight.admission import values_fix

    object_name = subject.split(": ", 1)[1]
    fix = values_fix(plan, release_urn, object_name, v.policy)
    if fix:
        return Violation(v.policy, v.level, f"{v.message} (in the chart's objects; {fix} can fix it)", v.urn, subject)
    level = "advisory" if v.level == "mandatory" else v.level
    return Violation(v.policy, level, f"{v.message} (in the chart's objects)", v.urn, subject)


__all__ = [
    "Analyzer",
    "LocalAnalyzer",
    "PolicyError",
    "PolicyResult",
    "Violation",
    "analyze",
    "configure",
    "in_process",
    "load_pack_config",
    "requests",
    "responses",
    "serve",
]
