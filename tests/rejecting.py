"""Hand-built plans for the rules of `preflight/rejects`, inputs as the engine records them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from preflight import rejects
from preflight.engine import Plan, Registration
from preflight.rejects import Rejection


def reg(type_: str, name: str, inputs: dict[str, Any], *, id: str = "") -> Registration:
    return Registration(
        urn=f"urn:pulumi:t::orquestra::{type_}::{name}",
        type=type_,
        name=name,
        inputs=inputs,
        id=id or f"{name}-id",
    )


def plan_of(*regs: Registration, invokes: Iterable[tuple[str, dict[str, Any]]] = ()) -> Plan:
    return Plan("t", list(regs), {}, list(invokes), [], [])


def rejected(plan: Plan) -> list[Rejection]:
    return rejects.run(plan)


def fields(plan: Plan) -> set[tuple[str, str]]:
    """(resource name, property) of every rejection."""
    return {(r.subject.split(" ", 1)[1], r.field) for r in rejected(plan)}
