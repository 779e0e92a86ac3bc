"""Realistic answers for the mock engine: what providers compute and what invokes return.

One table, shared by preflight and the tests. Each module in this package covers
one provider package and defines two mappings:

- `INVOKES`: invoke token (`aws:index/getAvailabilityZones:getAvailabilityZones`)
  -> function(args) returning the result the real provider would.
- `RESOURCES`: resource type (`aws:eks/cluster:Cluster`) -> function(name, inputs,
  stack) returning the outputs the provider computes on create (ids, ARNs,
  endpoints). Inputs are echoed back by the engine; return only what is computed.

An invoke without an answer is an error, on purpose: a plan built on a made-up
answer proves nothing. Modules hold plain data and never import a provider SDK.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

InvokeAnswer = Callable[[dict[str, Any]], dict[str, Any]]
ResourceAnswer = Callable[[str, dict[str, Any], str], dict[str, Any]]


class UnknownInvoke(LookupError):
    pass


@cache
def _tables() -> tuple[Mapping[str, InvokeAnswer], Mapping[str, ResourceAnswer]]:
    invokes: dict[str, InvokeAnswer] = {}
    resources: dict[str, ResourceAnswer] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        invokes.update(getattr(module, "INVOKES", {}))
        resources.update(getattr(module, "RESOURCES", {}))
    return invokes, resources


def invoke(token: str, args: dict[str, Any]) -> dict[str, Any]:
    table = _tables()[0]
    if token not in table:
        raise UnknownInvoke(f"no realistic answer for invoke {token}; add one to preflight/answers/")
    return table[token](args)


def resource_outputs(type_: str, name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    answer = _tables()[1].get(type_)
    return answer(name, inputs, stack) if answer else {}


def tokens() -> tuple[list[str], list[str]]:
    """The invoke tokens and resource types that have answers (for docs and tests)."""
    invokes, resources = _tables()
    return sorted(invokes), sorted(resources)
