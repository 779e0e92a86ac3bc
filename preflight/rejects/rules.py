"""The shape every provider module of this package shares: a table from type token to rules.

A provider module (`aws.py`, `azure.py`, ...) keeps one `RULES` table so a reader
sees at a glance which API constraints are modelled for which resource type; each
rule is a function of one registration (and the plan, for rules that look across
resources) that yields a `Rejection` per violated constraint, its source beside it.

Rules read inputs through `view`: secrets are hidden from them (a rule has no
business echoing a secret into a message) and values still unknown during a
preview are `UNKNOWN`, which every rule treats as "cannot be checked offline".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from preflight.engine import UNKNOWN, Plan, Registration, Secret
from preflight.rejects import Rejection

Rule = Callable[[Registration, Plan], Iterable[Rejection]]
Table = Mapping[str, Sequence[Rule]]


def run(plan: Plan, table: Table) -> Iterator[Rejection]:
    """Every rule of the table on every registration of its type."""
    for type_, rules in table.items():
        for registration in plan.resources(type_):
            for rule in rules:
                yield from rule(registration, plan)


def hide(value: Any) -> Any:
    """A copy of a decoded input in which a secret is as unreadable as an unknown."""
    if isinstance(value, Secret):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: hide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hide(v) for v in value]
    return value


def view(r: Registration) -> dict[str, Any]:
    return hide(r.inputs)


def view_of(r: Registration, key: str) -> Any:
    """`view(r).get(key)` without copying the rest: rules that scan every resource of a type per resource."""
    return hide(r.inputs.get(key))


def known(value: Any) -> bool:
    """True when a value and everything inside it is known now (not a preview unknown, not a secret)."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, list):
        return all(known(v) for v in value)
    return True


def reject(r: Registration, field: str, message: str, source: str) -> Rejection:
    return Rejection(f"{r.type} {r.name}", field, message, source)
