"""What `python -m preflight` pays before and after a plan: its structure only, no timings (docs/preflight.md#speed)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from preflight import admission, validate
from tests.harness import plan_stack

ROOT = Path(__file__).resolve().parent.parent

EXIT_PROBE = """
import atexit, gc, runpy, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count()))
sys.argv = ["preflight", "no-such-stack"]
runpy.run_module("preflight", run_name="__main__", alter_sys=True)
"""


def test_the_cli_freezes_what_it_holds_before_the_interpreter_exits() -> None:
    """Shutdown's one full collection would walk every object the plan left alive: more than a second for dev."""
    result = subprocess.run([sys.executable, "-c", EXIT_PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    frozen = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("frozen ")]
    assert frozen and frozen[0] > 0, result.stdout


# ------------------------------------------------------------------------- CEL


def _rules(schema: Any) -> Iterator[str]:
    if isinstance(schema, Mapping):
        for rule in schema.get("x-kubernetes-validations") or []:
            yield str(rule["rule"])
        for value in schema.values():
            yield from _rules(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _rules(value)


@pytest.fixture
def fresh_cel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CEL parser in this process and an empty user cache; the process's own parser comes back afterwards."""
    from celpy import celparser

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(celparser.CELParser, "CEL_PARSER", None)
    validate._environment.cache_clear()
    validate._program.cache_clear()
    yield tmp_path
    validate._environment.cache_clear()
    validate._program.cache_clear()


def _parser_reset() -> None:
    from celpy import celparser

    celparser.CELParser.CEL_PARSER = None
    validate._environment.cache_clear()


def test_a_cached_cel_parser_reads_every_rule_of_the_charts_as_a_fresh_one(
    fresh_cel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lark.lark

    rules = sorted(
        {rule for c in admission.review(plan_stack("dev")).clusters for _, crd in c.crds() for rule in _rules(crd)}
    )
    assert len(rules) > 100, "the charts' CRDs carry their CEL rules"

    env, _ = validate._environment()
    built = [env.compile(rule) for rule in rules]
    cached = validate.cel_parser_cache()
    assert cached.is_file() and cached.is_relative_to(fresh_cel), "the analysed grammar went to the user's cache"
    assert not list(cached.parent.glob("*.tmp")), "the file was written under its own name, then moved"

    _parser_reset()

    def no_grammar(*args: object, **kwargs: object) -> None:
        raise AssertionError("the grammar was analysed again instead of loaded from the cache")

    monkeypatch.setattr(lark.lark, "load_grammar", no_grammar)
    env, _ = validate._environment()
    assert [env.compile(rule) for rule in rules] == built


def test_a_rules_parse_tree_is_kept_and_read_back_as_parsed(fresh_cel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import celpy

    rules = sorted(
        {rule for c in admission.review(plan_stack("dev")).clusters for _, crd in c.crds() for rule in _rules(crd)}
    )[:40]
    env, _ = validate._environment()
    fresh = [env.compile(rule) for rule in rules]
    assert [validate.parse_tree(env, rule) for rule in rules] == fresh
    kept = [validate.tree_file(rule) for rule in rules]
    assert all(p.is_file() and p.is_relative_to(fresh_cel) for p in kept)

    def no_parse(self: object, text: str) -> None:
        raise AssertionError("a kept rule was parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(celpy.Environment, "compile", no_parse)
        assert [validate.parse_tree(env, rule) for rule in rules] == fresh

    kept[0].write_bytes(kept[0].read_bytes()[:100])  # a damaged file is parsed again
    assert [validate.parse_tree(env, rule) for rule in rules] == fresh
    with pytest.raises(celpy.CELParseError):
        validate.parse_tree(env, "self.size() <")
    assert not validate.tree_file("self.size() <").exists()


def test_a_damaged_cel_parser_cache_only_costs_a_rebuild(fresh_cel: Path) -> None:
    import celpy

    rule = "self.all(x, x.size() <= 63)"
    env, functions = validate._environment()
    built = env.compile(rule)
    cached = validate.cel_parser_cache()
    cached.write_bytes(cached.read_bytes()[: len(cached.read_bytes()) // 2])

    _parser_reset()
    env, functions = validate._environment()
    assert env.compile(rule) == built
    program = env.program(env.compile(rule), functions=functions)
    assert bool(program.evaluate({"self": celpy.json_to_cel(["a" * 63])}))
    assert not bool(program.evaluate({"self": celpy.json_to_cel(["a" * 64])}))
