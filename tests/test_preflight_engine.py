"""How preflight runs a program: what it changes in its own process while it does, and that it undoes it."""

from __future__ import annotations

import gc
import textwrap
from pathlib import Path

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
