"""How preflight runs a program: what it changes in its own process while it does, and that it undoes it."""

from __future__ import annotations

import asyncio
import gc
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from preflight import engine, stackconfig


def _project(tmp_path: Path, program: str) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: orquestra\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.t.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
    return tmp_path


def test_the_cycle_collector_pauses_for_the_program_only(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """\
        import gc
        import pulumi

        pulumi.export("collecting", gc.isenabled())
        """,
    )
    assert gc.isenabled()
    plan = engine.run(stackconfig.load(project, "t"), project)
    assert plan.ok, plan.errors
    assert plan.stack_outputs == {"collecting": False}
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off(tmp_path: Path) -> None:
    project = _project(tmp_path, "import pulumi\n\npulumi.export('ok', True)\n")
    gc.disable()
    try:
        assert engine.run(stackconfig.load(project, "t"), project).ok
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_crashing_program_restores_the_collector(tmp_path: Path) -> None:
    project = _project(tmp_path, "raise RuntimeError('boom')\n")
    with pytest.raises(RuntimeError, match="boom"):
        engine.run(stackconfig.load(project, "t"), project)
    assert gc.isenabled()


def test_the_sdk_captures_no_call_stacks_while_the_program_runs(tmp_path: Path) -> None:
    from pulumi.runtime import resource

    original = resource._get_stack_trace
    project = _project(
        tmp_path,
        """\
        import pulumi
        from pulumi.runtime import resource

        pulumi.export("capture", resource._get_stack_trace.__qualname__)
        """,
    )
    plan = engine.run(stackconfig.load(project, "t"), project)
    assert plan.stack_outputs == {"capture": "StackTrace"}, "an empty StackTrace message instead of the walk"
    assert resource._get_stack_trace is original


def test_a_synchronous_invoke_late_in_the_program_answers_and_leaves_the_loop_whole(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """\
        import pulumi
        import pulumi.runtime.invoke as invoke_module
        import sys

        class Thing(pulumi.CustomResource):
            def __init__(self, name, props):
                super().__init__("test:index:Thing", name, props)

        before = [Thing(f"before-{i}", {"i": i}) for i in range(200)]
        account = pulumi.runtime.invoke("aws:index/getCallerIdentity:getCallerIdentity", {}).value["accountId"]
        after = [Thing(f"after-{i}", {"account": account, "of": b.id}) for i, b in enumerate(before)]
        pulumi.export("account", account)
        pulumi.export("pump", sys.modules["pulumi.runtime.invoke"]._sync_await.__qualname__)
        """,
    )
    module = sys.modules["pulumi.runtime.invoke"]
    original = module._sync_await
    plan = engine.run(stackconfig.load(project, "t"), project)
    assert plan.ok, plan.errors
    assert plan.stack_outputs["pump"] == "_pump_until"
    assert module._sync_await is original
    things = [r for r in plan.registrations if r.type == "test:index:Thing"]
    assert len(things) == 400
    account = plan.stack_outputs["account"]
    assert account and all(r.inputs["account"] == account for r in things if r.name.startswith("after-"))


def test_the_pump_runs_every_queued_callback_once_and_pays_the_enclosing_turn_back() -> None:
    loop = asyncio.new_event_loop()
    ran: list[int] = []
    seen: dict[str, Any] = {}

    async def answer() -> str:
        await asyncio.sleep(0)
        return "answered"

    def invoking() -> None:
        ready = loop._ready  # type: ignore[attr-defined]
        seen["owed"] = len(ready)
        seen["result"] = engine._pump_until(answer())
        seen["after"] = list(ready)

    try:
        for i in range(50):
            loop.call_soon(ran.append, i)
        loop.call_soon(invoking)
        for i in range(50, 100):
            loop.call_soon(ran.append, i)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    assert seen["result"] == "answered"
    assert ran == list(range(100)), "every callback queued around the invoke ran, once, in order"
    assert len(seen["after"]) == seen["owed"] > 0, "the turn that was running finds as many handles as it counted"
    assert len({id(h) for h in seen["after"]}) == 1 and seen["after"][0].cancelled()


def test_the_echo_reads_as_the_stock_monitors_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads the same outputs from the shortened echo as from the stock monitor's decode and re-encode.

    Each response is checked against `MockMonitor.RegisterResource` for the same request, as
    the SDK normalises both (decode, then encode: nested secrets mark their whole value);
    the fleet's clusters carry secrets, unknowns and computed outputs that override inputs.
    """
    from google.protobuf import json_format
    from pulumi.runtime import mocks, rpc
    from pulumi.runtime.sync_await import _sync_await

    from tests.bench import fleet

    def read(struct: Any) -> Any:
        return json_format.MessageToDict(_sync_await(rpc.serialize_properties(rpc.deserialize_properties(struct), {})))

    checked: list[str] = []
    real = engine.Recorder._echo

    def compared(self: engine.Recorder, request: Any) -> Any:
        stock = mocks.MockMonitor.RegisterResource(self, request)
        response = real(self, request)
        assert (response.urn, response.id) == (stock.urn, stock.id)
        assert read(response.object) == read(stock.object), request.type
        checked.append(request.type)
        return response

    monkeypatch.setattr(engine.Recorder, "_echo", compared)
    plan = engine.run(fleet.config(3))
    assert plan.ok, plan.errors
    assert len(checked) == len(plan.registrations) - 1, "every resource but the stack was echoed"
    computed = [t for t in checked if engine.answers.resource_answer(t)]
    assert computed and len(computed) < len(checked)


def test_a_resource_reference_or_an_asset_keeps_the_stock_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding them rehydrates objects, which the shortened echo would skip: they take the SDK's own path."""
    echoed: list[str] = []
    real = engine.Recorder._echo

    def spy(self: engine.Recorder, request: Any) -> Any:
        echoed.append(request.name)
        return real(self, request)

    monkeypatch.setattr(engine.Recorder, "_echo", spy)
    project = _project(
        tmp_path,
        """\
        import pulumi

        class Thing(pulumi.CustomResource):
            def __init__(self, name, props):
                super().__init__("test:index:Thing", name, props)

        first = Thing("first", {"size": 1, "secret": pulumi.Output.secret("s")})
        Thing("second", {"ref": first, "asset": pulumi.StringAsset("text")})
        pulumi.export("size", first.size)
        """,
    )
    plan = engine.run(stackconfig.load(project, "t"), project)
    assert plan.ok, plan.errors
    first = plan.one("test:index:Thing", "first")
    assert first.inputs == {"size": 1.0, "secret": engine.Secret("s")}
    second = plan.one("test:index:Thing", "second")
    assert second.inputs["ref"] == first.urn
    assert second.inputs["asset"] == {"text": "text"}
    assert plan.stack_outputs == {"size": 1.0}
    assert echoed == ["first"]
