"""Each shipped stack still plans exactly as recorded in `tests/snapshots/` (rewrite: `make snapshots`)."""

from __future__ import annotations

import json

import pytest

from preflight import engine, stackconfig
from tests import snapshot

STACKS = stackconfig.stacks(engine.PROJECT_DIR)
SHOWN = 80
"""Diff lines shown on a failure; the rest are counted."""


def test_every_shipped_stack_has_a_snapshot_and_no_other() -> None:
    recorded = sorted(p.stem for p in snapshot.DIR.glob("*.json"))
    assert recorded == STACKS, "run `make snapshots` to record new stacks and drop removed ones"


@pytest.mark.parametrize("stack", STACKS)
def test_plan_matches_its_snapshot(stack: str) -> None:
    diff = snapshot.diff(snapshot.path(stack).read_text(), snapshot.text(snapshot.document(stack)), stack)
    if not diff:
        return
    more = f"\n... {len(diff) - SHOWN} more diff lines" if len(diff) > SHOWN else ""
    pytest.fail(
        f"the plan of stack '{stack}' differs from its snapshot; if that is intended, run `make snapshots` "
        f"and review the change:\n" + "\n".join(diff[:SHOWN]) + more,
        pytrace=False,
    )


def test_a_changed_plan_is_reported_with_the_differing_lines() -> None:
    """The comparison sees a one-value change deep in a plan and shows exactly that line, before and after."""
    recorded = snapshot.path("dev").read_text()
    doc = json.loads(recorded)
    assert snapshot.diff(recorded, snapshot.text(doc), "dev") == []
    changed = json.loads(recorded)
    changed["estimates"]["monthlyUsd"] = doc["estimates"]["monthlyUsd"] + 1
    diff = snapshot.diff(recorded, snapshot.text(changed), "dev")
    assert diff[:2] == ["--- tests/snapshots/dev.json", "+++ plan now"]
    assert [line for line in diff if line.startswith(("-  ", "+  "))] == [
        f'-    "monthlyUsd": {doc["estimates"]["monthlyUsd"]},',
        f'+    "monthlyUsd": {changed["estimates"]["monthlyUsd"]},',
    ]
