"""jsonschema-rs and python-jsonschema give the same verdict on Kubernetes objects (`policies/kschema.py`).

preflight and the pack take jsonschema-rs's "valid" without asking python-jsonschema,
so a false "valid" would let through what the API server refuses. Every built-in object
the shipped stacks send (the program's and the charts' own) is checked with both, and
so are copies of it broken the ways a program or a chart's values break an object:
unknown fields, wrong types, nulls, dropped required fields.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from policies import kschema
from preflight import admission, validate
from tests.harness import plan_stack

STACKS = ("hybrid", "prod-gcp", "prod-azure", "prod-oci")
_REPLACEMENTS: tuple[Any, ...] = (None, 1.5, "x", True, [], {}, 3, -1)
_DROP = object()


def _checked(stacks: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> list[tuple[kschema.Checker, dict[str, Any]]]:
    seen: list[tuple[kschema.Checker, dict[str, Any]]] = []
    original = kschema.Checker.iter_errors

    def record(self: kschema.Checker, instance: Any) -> Any:
        seen.append((self, copy.deepcopy(dict(instance))))
        return original(self, instance)

    monkeypatch.setattr(kschema.Checker, "iter_errors", record)
    monkeypatch.setattr(validate, "_SEEN", {})  # validated once per process: not again for this test
    for stack in stacks:
        admission.review(plan_stack(stack))
    return seen


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, sub in items:
        yield (*path, key), sub
        yield from _paths(sub, (*path, key))


def _set(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _broken(obj: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    paths = [p for p, _ in _paths(obj) if p[0] not in ("apiVersion", "kind")]
    leaves = [p for p in paths if not isinstance(_get(obj, p), (dict, list))]
    maps = [p for p in paths if isinstance(_get(obj, p), dict)]
    yield {**obj, "unknownTopLevel": 1}
    for path in rng.sample(leaves, min(3, len(leaves))):
        for value in rng.sample(_REPLACEMENTS, 3):
            yield _set(obj, path, value)
    for path in rng.sample(maps, min(2, len(maps))):
        yield _set(obj, (*path, "zzUnknownField"), "y")
    for path in rng.sample(paths, min(2, len(paths))):
        if isinstance(path[-1], str):
            yield _set(obj, path, _DROP)  # a dropped field: required ones must be missed by both


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def test_both_implementations_agree_on_every_object_and_on_broken_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _checked(STACKS, monkeypatch)
    monkeypatch.undo()
    assert len(seen) > 150, "the stacks' built-in objects were validated through kschema"
    rng = random.Random(20261202)
    compared = refused = 0
    disagreements: list[str] = []
    for checker, obj in seen:
        for candidate in [obj, *_broken(obj, rng)]:
            fast = checker.fast.is_valid(candidate)
            slow = not any(True for _ in checker.slow.iter_errors(candidate))
            compared += 1
            refused += not slow
            if fast != slow:
                disagreements.append(f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: rs {fast}, py {slow}")
    assert disagreements == []
    assert refused > compared // 3, "the broken copies include many objects the schema refuses"


def test_an_invalid_object_gets_python_jsonschemas_errors() -> None:
    checker = kschema.checker("v1.35.0-local-strict", "configmap-v1.json")
    assert checker is not None
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": 1}, "extra": True}
    assert not checker.fast.is_valid(bad)
    messages = sorted(e.message for e in checker.iter_errors(bad))
    assert any("'extra' was unexpected" in m for m in messages)
    assert len(messages) == 2
    with pytest.raises(jsonschema.ValidationError):
        checker.validate(bad)
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v"}}
    assert list(checker.iter_errors(good)) == []
    assert kschema.checker("v1.35.0-local-strict", "nosuchkind-v1.json") is None
