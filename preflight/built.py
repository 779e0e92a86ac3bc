"""A plan together with the clusters the program built, to read what only the objects know (`capabilities()`).

The clusters are caught on their way out of `fleet.build` without changing
anything the program does, so the plan is exactly `preflight.engine.run`'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import fleet
from components.cluster import KubernetesCluster
from preflight import engine
from preflight.engine import Plan
from preflight.stackconfig import StackConfig


@dataclass(frozen=True)
class Built:
    plan: Plan
    clusters: Mapping[str, KubernetesCluster[Any]]
    """The program's clusters by name; empty when the stack did not build (see `plan.errors`)."""


@contextmanager
def _catching() -> Iterator[list[fleet.Fleet]]:
    built: list[fleet.Fleet] = []
    build = fleet.build

    def catch(stack: Any) -> fleet.Fleet:
        made = build(stack)
        built.append(made)
        return made

    fleet.build = catch
    try:
        yield built
    finally:
        fleet.build = build


def run(config: StackConfig, project_dir: Path = engine.PROJECT_DIR) -> Built:
    with _catching() as built:
        plan = engine.run(config, project_dir)
    return Built(plan, dict(built[0].clusters) if built else {})
