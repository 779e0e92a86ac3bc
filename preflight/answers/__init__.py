"""Realistic answers for the mock engine: what providers compute and what invokes return.

One table, shared by preflight and the tests. Each module in this package covers
one provider package and defines two mappings:

- `INVOKES`: invoke token (`aws:index/getAvailabilityZones:getAvailabilityZones`)
  -> function(args) returning the result the real provider would.
- `RESOURCES`: resource type (`aws:eks/cluster:Cluster`) -> function(name, inputs,
  stack) returning the outputs the provider computes on create (ids, ARNs,
  endpoints). Inputs are echoed back by the engine; return only what is computed.
- `READS` (optional): resource type -> function(id, stack) returning the state a
  `Resource.get` of that id finds, for objects another system writes (Cluster
  API's kubeconfig Secret).

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
ReadAnswer = Callable[[str, str], dict[str, Any]]


class UnknownInvoke(LookupError):
    pass


class UnknownRead(LookupError):
    pass


@cache
def _tables() -> tuple[Mapping[str, InvokeAnswer], Mapping[str, ResourceAnswer], Mapping[str, ReadAnswer]]:
    invokes: dict[str, InvokeAnswer] = {}
    resources: dict[str, ResourceAnswer] = {}
    reads: dict[str, ReadAnswer] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        invokes.update(getattr(module, "INVOKES", {}))
        resources.update(getattr(module, "RESOURCES", {}))
        reads.update(getattr(module, "READS", {}))
    return invokes, resources, reads


def invoke(token: str, args: dict[str, Any]) -> dict[str, Any]:
    table = _tables()[0]
    if token not in table:
        raise UnknownInvoke(f"no realistic answer for invoke {token}; add one to preflight/answers/")
    return table[token](args)


def resource_outputs(type_: str, name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    answer = resource_answer(type_)
    return answer(name, inputs, stack) if answer else {}


def resource_answer(type_: str) -> ResourceAnswer | None:
    """What a provider computes for `type_`, if it computes anything (most types only echo their inputs)."""
    return _tables()[1].get(type_)


def read(type_: str, resource_id: str, stack: str) -> dict[str, Any]:
    """What a `Resource.get` finds; like an invoke, a read without an answer is an error."""
    table = _tables()[2]
    if type_ not in table:
        raise UnknownRead(f"no realistic answer for a read of {type_} {resource_id}; add one to preflight/answers/")
    return table[type_](resource_id, stack)


def tokens() -> tuple[list[str], list[str]]:
    """The invoke tokens and resource types that have answers (for docs and tests)."""
    invokes, resources, _ = _tables()
    return sorted(invokes), sorted(resources)
