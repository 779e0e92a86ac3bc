"""Run the Pulumi program on the mock engine and record everything it registers.

`Recorder` is a `MockMonitor` that keeps what the stock one throws away (parent,
dependencies, provider, protect, ignoreChanges, ...), with inputs decoded so that
secrets stay marked as `Secret` and unknowns as `UNKNOWN`. Each plan runs in a
fresh `contextvars.Context`, so several stacks can be planned in one process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import gc
import itertools
import json
import logging
import os
import runpy
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import ROOT
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.runtime import OFFLINE_ENV
from preflight import answers
from preflight.stackconfig import StackConfig

if TYPE_CHECKING:
    from preflight.estimates import Estimates

PROJECT_DIR = Path(__file__).resolve().parent.parent
_T = TypeVar("_T")


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret. Never printed; `value` is for assertions in tests."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([redacted])"


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def decode(value: Any) -> Any:
    """A JSON-decoded property value with Pulumi's signatures turned into Python markers."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return Secret(decode(value.get("value")))
        if sig == rpc._special_resource_sig:
            return value.get("urn", "")
        if sig == rpc._special_asset_sig or sig == rpc._special_archive_sig:
            return {k: decode(v) for k, v in value.items() if k != rpc._special_sig_key}
        if sig == rpc._special_output_value_sig:
            inner = decode(value["value"]) if "value" in value else UNKNOWN
            return Secret(inner) if value.get("secret") else inner
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


def redact(value: Any) -> Any:
    """JSON-safe copy with secrets replaced; what leaves the process."""
    if isinstance(value, Secret):
        return "[secret]"
    if value is UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """Plain copy with secret markers removed, for reading values in tests."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


@dataclass(kw_only=True)
class Registration:
    """One RegisterResource call as the engine saw it.

    Options default to what the engine sends when a resource sets none, so a hand-built
    registration in a test states only what it is about."""

    urn: str
    type: str
    name: str
    parent: str = ""
    custom: bool = True
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    aliases: list[Any] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    """The id the provider would return (a custom resource's, from the answers); rules join resources on it."""

    @property
    def plain(self) -> dict[str, Any]:
        """Inputs with secret markers removed (tests only; never print this)."""
        return reveal(self.inputs)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "protect": self.protect,
            "ignoreChanges": self.ignore_changes,
            "deleteBeforeReplace": self.delete_before_replace,
            "replaceOnChanges": self.replace_on_changes,
            "retainOnDelete": self.retain_on_delete,
            "additionalSecretOutputs": self.additional_secret_outputs,
            "customTimeouts": self.custom_timeouts,
            "inputs": redact(self.inputs),
            "outputs": redact(self.outputs),
        }


def _struct(message: struct_pb2.Struct, signatures: set[str] | None = None) -> dict[str, Any]:
    """`decode(MessageToDict(message))` in one walk; the signatures met are added to `signatures`."""
    fields = message.fields
    if rpc._special_sig_key in fields:
        raw = json_format.MessageToDict(message)
        if signatures is not None:
            signatures.update(_signatures(raw))
        return cast(dict[str, Any], decode(raw))
    return {k: _value(v, signatures) for k, v in fields.items()}


def _value(value: struct_pb2.Value, signatures: set[str] | None) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text == rpc.UNKNOWN else text
    if kind == "struct_value":
        return _struct(value.struct_value, signatures)
    if kind == "list_value":
        return [_value(v, signatures) for v in value.list_value.values]
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _signatures(raw: Any) -> Iterator[str]:
    if isinstance(raw, dict):
        if rpc._special_sig_key in raw:
            yield raw[rpc._special_sig_key]
        for v in raw.values():
            yield from _signatures(v)
    elif isinstance(raw, list):
        for v in raw:
            yield from _signatures(v)


Watch = Callable[[Registration], None]
"""Told of each resource's registration once it is recorded (the stack's own excepted), on whichever thread the SDK
registers it from; it must not raise."""


class Recorder(mocks.MockMonitor):
    """A MockMonitor that keeps every registration, in order, with its options."""

    mocks: PlanMocks

    def __init__(self, mock: PlanMocks, watch: Watch | None = None) -> None:
        super().__init__(mock)
        self.registrations: dict[str, Registration] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.watch = watch

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack":
            response = super().RegisterResource(request)
            urn = response.urn
            self.registrations[urn] = Registration(urn=urn, type=request.type, name=request.name, custom=False)
            return response
        signatures: set[str] = set()
        inputs = _struct(request.object, signatures)
        if request.importId or signatures - {rpc._special_secret_sig}:
            # A read, or a resource reference, asset or archive among the inputs: the SDK's own round trip.
            response = super().RegisterResource(request)
        else:
            response = self._echo(request)
        timeouts = request.customTimeouts
        self.registrations[response.urn] = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            provider=request.provider,
            # Sets on the wire; sorted so that two plans of one stack compare equal.
            dependencies=sorted(request.dependencies),
            property_dependencies={k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())},
            protect=bool(request.protect),
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_on_changes=list(request.replaceOnChanges),
            retain_on_delete=bool(request.retainOnDelete),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[json_format.MessageToDict(a) for a in request.aliases],
            custom_timeouts={
                k: v
                for k, v in (("create", timeouts.create), ("update", timeouts.update), ("delete", timeouts.delete))
                if v
            },
            inputs=inputs,
            id=response.id,
        )
        if self.watch is not None:
            self.watch(self.registrations[response.urn])
        return response

    def _echo(self, request: Any) -> Any:
        """What `MockMonitor.RegisterResource` answers, without decoding and re-encoding every input.

        The stock monitor decodes the inputs (`rpc.deserialize_properties`), lets the mocks
        add what the provider computes, and serialises all of it back. The SDK reads the
        inputs' wire form and that round trip's alike (a secret nested in a value marks the
        whole value secret either way), so the echo starts from a copy of the request's
        inputs and serialises only the computed outputs over it. The inputs are decoded for
        the answers only when the type has one. Reads, resource references, assets and
        archives keep the stock path: their round trip rehydrates objects.
        """
        urn = self.make_urn(request.parent, request.type, request.name)
        response = resource_pb2.RegisterResourceResponse(urn=urn)
        echo = response.object
        echo.CopyFrom(request.object)

        def inputs() -> dict[str, Any]:
            _ensure_event_loop()  # as the stock monitor does before decoding
            return dict(rpc.deserialize_properties(request.object))

        response.id, computed = self.mocks.computed(request.type, request.name, inputs)
        if computed:
            encoded = _sync_await(rpc.serialize_properties(computed, {}))
            for key in computed:
                if key in encoded.fields:
                    echo.fields[key].CopyFrom(encoded.fields[key])
                elif key in echo.fields:
                    del echo.fields[key]  # `serialize_properties` leaves out what serialises to None
        # The stock monitor keeps the decoded state for `getResource`; it serialises a Struct as the mapping it is.
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, response.id, cast(dict, echo))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        outputs = _struct(request.outputs)
        reg = self.registrations.get(request.urn)
        if reg is not None:
            reg.outputs = outputs
            if reg.type == "pulumi:pulumi:Stack":
                self.stack_outputs = outputs
        return super().RegisterResourceOutputs(request)


class PlanMocks(mocks.Mocks):
    """Resources echo their inputs plus what the provider would compute; invokes answer from the table."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id:  # a `Resource.get`: the state another system wrote
            return args.resource_id, answers.read(args.typ, args.resource_id, self.stack)
        resource_id, computed = self.computed(args.typ, args.name, lambda: dict(args.inputs))
        return resource_id, {**args.inputs, **computed}

    def computed(self, type_: str, name: str, inputs: Callable[[], dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        """The id and the outputs a provider computes on create; `inputs` is called only if the type has an answer."""
        answer = answers.resource_answer(type_)
        computed = answer(name, inputs(), self.stack) if answer else {}
        return computed.pop("id", None) or f"{name}-id", computed

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append((args.token, dict(args.args)))
        return answers.invoke(args.token, dict(args.args)), []


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Plan:
    stack: str
    registrations: list[Registration]
    stack_outputs: dict[str, Any]
    invokes: list[tuple[str, dict[str, Any]]]
    errors: list[str]
    warnings: list[str]
    _estimates: Estimates | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def resources(self, type_: str | None = None) -> list[Registration]:
        return [r for r in self.registrations if type_ is None or r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.resources(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.resources(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.registrations if r.parent == parent.urn]

    def descendants(self, root: Registration) -> Iterator[Registration]:
        for child in self.children(root):
            yield child
            yield from self.descendants(child)

    def counts(self) -> Mapping[str, int]:
        out: dict[str, int] = {}
        for r in self.registrations:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))

    def estimates(self) -> Estimates:
        """Cost and deploy-time estimates, worked out once for the report and the JSON plan."""
        if self._estimates is None:
            from preflight.estimates import estimate  # it reads Plans; imported here to avoid a cycle

            self._estimates = estimate(self)
        return self._estimates

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [r.to_json() for r in self.registrations],
            "outputs": redact(self.stack_outputs),
            "invokes": [{"token": t, "args": redact(decode(a))} for t, a in self.invokes],
            "counts": self.counts(),
            "errors": self.errors,
            "warnings": self.warnings,
            "estimates": self.estimates().to_json(),
        }


def canonical(registrations: list[Registration]) -> list[Registration]:
    """Registrations in an order that does not depend on the event loop.

    The SDK registers independent resources in whatever order its tasks finish, so
    the raw order varies between runs. Everything comes after its parent, its
    provider and its dependencies; ties go by URN. Reports and JSON plans of one
    stack then compare equal line for line.
    """
    import heapq

    by_urn = {r.urn: r for r in registrations}
    before: dict[str, set[str]] = {}
    for r in registrations:
        provider = r.provider.rsplit("::", 1)[0] if r.provider else ""
        before[r.urn] = {u for u in (r.parent, provider, *r.dependencies) if u in by_urn and u != r.urn}
    after: dict[str, list[str]] = {u: [] for u in by_urn}
    for urn, needs in before.items():
        for need in needs:
            after[need].append(urn)
    waiting = {urn: len(needs) for urn, needs in before.items()}
    ready = [urn for urn, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[Registration] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for nxt in after[urn]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, nxt)
    # A cycle cannot come from the engine; keep anything left rather than lose it.
    seen = {r.urn for r in ordered}
    return ordered + sorted((r for r in registrations if r.urn not in seen), key=lambda r: r.urn)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while the program registers its resources.

    The provider SDKs the program imports leave millions of long-lived objects (their
    typed argument classes), and each collection that reaches the oldest generation
    walks all of them: a third to a half of a fleet's plan went there. The run makes
    little cyclic garbage (peak memory +4% for 1,300 resources), left to the
    collector once the run is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _no_source_positions() -> Iterator[None]:
    """Spare the SDK from capturing the call stack of every registration.

    So that a real engine can point at the line that created a resource, the SDK's
    `register_resource` walks the whole Python stack each time (`traceback.extract_stack`,
    a `stat` of each frame's file, a file URI per frame; pulumi 3.272,
    `pulumi/runtime/resource.py:_get_stack_trace`). Preflight records no source
    positions, and a component tree's stacks are deep: a quarter to a third of a plan's
    time went there. Requests carry an empty stack trace while the program runs.
    """
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    original = resource._get_stack_trace
    setattr(resource, "_get_stack_trace", source_pb2.StackTrace)  # noqa: B010 (a module function, replaced)
    try:
        yield
    finally:
        setattr(resource, "_get_stack_trace", original)  # noqa: B010


@contextlib.contextmanager
def _light_invoke_pump() -> Iterator[None]:
    """Let a synchronous invoke pump the event loop without paying for the queue it finds.

    A synchronous invoke (`aws.get_caller_identity()`, `gcp.compute.get_zones()`) runs
    the event loop from inside one of its callbacks until its answer arrives. The loop's
    own turn has already counted the callbacks it was about to run, so the SDK, having run
    them early, refills the queue with as many cancelled placeholders, one new object each
    (pulumi 3.272, `pulumi/runtime/sync_await.py`). An invoke made late in a large program
    finds tens of thousands of callbacks queued: a 48-cluster fleet's 112 invokes made
    1.9 million placeholders, a sixth of its program's time. `_pump_until` queues one
    cancelled placeholder that many times over instead; the loop skips each alike.
    """
    module = sys.modules["pulumi.runtime.invoke"]
    original = module._sync_await
    setattr(module, "_sync_await", _pump_until)  # noqa: B010 (a module global, replaced)
    try:
        yield
    finally:
        setattr(module, "_sync_await", original)  # noqa: B010


def _pump_until(awaitable: Awaitable[_T]) -> _T:
    """Run the event loop until `awaitable` is done, from inside a callback of that loop or outside it."""
    loop = _ensure_event_loop()
    if not loop.is_running():
        return loop.run_until_complete(asyncio.ensure_future(awaitable, loop=loop))
    ready: collections.deque[asyncio.Handle] = loop._ready
    owed = len(ready)  # what the enclosing turn of the loop will pop once this callback returns
    future = asyncio.ensure_future(awaitable, loop=loop)
    # Inside a task's step: step out of it, as its own `await` would, so other tasks may run.
    task = asyncio.current_task(loop)
    if task is not None:
        asyncio.tasks._leave_task(loop, task)
    while not future.done():
        loop._run_once()
    if len(ready) < owed:
        placeholder = asyncio.Handle(lambda: None, (), loop)
        placeholder.cancel()
        ready.extend(itertools.repeat(placeholder, owed - len(ready)))
    if task is not None:
        asyncio.tasks._enter_task(loop, task)
    return future.result()


def run(config: StackConfig, project_dir: Path = PROJECT_DIR, watch: Watch | None = None) -> Plan:
    """Plan one stack. Program errors are returned in `Plan.errors`, one line each, never raised.

    `watch` sees each resource as it registers, while the program still runs (`preflight.render.Ahead`).
    """
    return contextvars.Context().run(_run, config, project_dir, watch)


def _run(config: StackConfig, project_dir: Path, watch: Watch | None) -> Plan:
    mock = PlanMocks(config.stack)
    monitor = Recorder(mock, watch)
    collect = _Collect()
    logger = logging.getLogger(f"preflight.{config.stack}.{id(monitor)}")
    logger.propagate = False
    logger.addHandler(collect)

    pulumi.runtime.set_all_config(config.for_runtime(), config.secret_keys)
    # set_mocks makes a root stack that has already closed its outputs; hold its
    # place so that run_in_stack below makes the root, as the language host does.
    ROOT.set(cast(Any, object()))
    mocks.set_mocks(mock, project=config.project, stack=config.stack, preview=True, logger=logger, monitor=monitor)
    ROOT.set(None)

    previous_env = os.environ.get(OFFLINE_ENV)
    os.environ[OFFLINE_ENV] = "1"
    previous_cwd = Path.cwd()
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    errors: list[str] = []
    try:
        main = str(project_dir / "__main__.py")

        def program() -> None:
            runpy.run_path(main, run_name="__main__")

        with _no_cycle_collection(), _no_source_positions(), _light_invoke_pump():
            _sync_await(run_in_stack(program))
    except pulumi.RunError as exc:
        errors.append(str(exc))
    finally:
        sys.path.remove(str(project_dir))
        os.chdir(previous_cwd)
        if previous_env is None:
            os.environ.pop(OFFLINE_ENV, None)
        else:
            os.environ[OFFLINE_ENV] = previous_env

    logged_errors = [r.getMessage() for r in collect.records if r.levelno >= logging.ERROR]
    warnings = [r.getMessage() for r in collect.records if r.levelno == logging.WARNING]
    return Plan(
        stack=config.stack,
        registrations=canonical(list(monitor.registrations.values())),
        stack_outputs=monitor.stack_outputs,
        # The SDK calls the monitor from a pool of threads, so two invokes in flight at once (one awaited by an
        # Output, one synchronous) are recorded in either order: sorted, a plan prints the same on every run.
        invokes=sorted(mock.invokes, key=lambda call: (call[0], json.dumps(call[1], sort_keys=True, default=repr))),
        errors=logged_errors + errors,
        warnings=warnings,
    )
