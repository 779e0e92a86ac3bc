"""What a cloud or a cluster would refuse: the checks behind preflight's exit code 4.

The mock engine accepts every registration, so a plan proves only that the program
asked for something. Each module of this package encodes constraints that a real
API server or cloud API enforces, read from a real artefact (a rendered chart, a
CRD schema, a provider's documentation or catalogue), and names that source in
every rejection it reports. A module defines `check(plan) -> Iterable[Rejection]`;
every module here runs on every plan.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preflight.engine import Plan


@dataclass(frozen=True)
class Rejection:
    """One thing a real `pulumi up` would fail on, as one line."""

    subject: str
    """What is refused: `type name` of a registered resource, or a rendered object of a release."""
    field: str
    """The property path or values key at fault ("" when the whole object is)."""
    message: str
    """The validator's or the API's own words where there are any."""
    source: str
    """Where the rule comes from: a document's address, a CRD at its chart version, a catalogue and its date."""

    def line(self) -> str:
        where = f" {self.field}:" if self.field else ""
        return f"{self.subject}:{where} {self.message} (source: {self.source})"


Check = Callable[["Plan"], Iterable[Rejection]]


@cache
def checks() -> tuple[tuple[str, Check], ...]:
    found: list[tuple[str, Check]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        check = getattr(module, "check", None)
        if callable(check):
            found.append((info.name, check))
    return tuple(found)


def run(plan: Plan) -> list[Rejection]:
    """Every rejection of a plan, in a stable order so that two runs print the same lines."""
    out: set[Rejection] = set()
    for _, check in checks():
        out.update(check(plan))
    return sorted(out, key=lambda r: (r.subject, r.field, r.message))
