"""Every shipped stack's plan, recorded: a change that should move nothing proves it moved nothing.

A snapshot is exactly what `python -m preflight <stack> --json -` prints (secrets
redacted, resources in canonical order, estimates, rejections, the policy verdict),
one file per stack in `tests/snapshots/`. `tests/test_snapshots.py` compares each
stack's plan with its file. After a change that is meant to alter a plan, rewrite
them with `make snapshots` (or `python -m tests.snapshot [stack ...]`) and read the
diff of the files before committing it.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import sys
from pathlib import Path
from typing import Any

from preflight import engine, stackconfig
from preflight.__main__ import main as preflight

DIR = Path(__file__).resolve().parent / "snapshots"


class PlanFailed(Exception):
    pass


def document(stack: str) -> dict[str, Any]:
    """The `--json` document of a shipped stack, made in this process by preflight's own entry point."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = preflight([stack, "--json", "-"])
    if code != 0:
        raise PlanFailed(f"python -m preflight {stack} exits {code}:\n{err.getvalue()}")
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def text(doc: dict[str, Any]) -> str:
    """The file form: preflight's own JSON layout, so a diff of two snapshots reads like a diff of two plans."""
    return json.dumps(doc, indent=2) + "\n"


def diff(recorded: str, current: str, stack: str) -> list[str]:
    """Unified diff lines between a recorded snapshot and the plan now; empty when they agree."""
    return list(
        difflib.unified_diff(
            recorded.splitlines(), current.splitlines(), f"tests/snapshots/{stack}.json", "plan now", n=3, lineterm=""
        )
    )


def path(stack: str) -> Path:
    return DIR / f"{stack}.json"


def write(stacks: list[str]) -> None:
    DIR.mkdir(exist_ok=True)
    for stale in set(DIR.glob("*.json")) - {path(s) for s in stackconfig.stacks(engine.PROJECT_DIR)}:
        stale.unlink()
        print(f"removed {stale.relative_to(engine.PROJECT_DIR)}")
    for stack in stacks:
        path(stack).write_text(text(document(stack)))
        print(f"wrote {path(stack).relative_to(engine.PROJECT_DIR)}")


if __name__ == "__main__":
    write(sys.argv[1:] or stackconfig.stacks(engine.PROJECT_DIR))
