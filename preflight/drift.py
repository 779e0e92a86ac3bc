"""`python -m preflight.drift <stack> REFRESH.json`: which properties drifted, and which the program ignores on purpose.

Reads what `pulumi refresh --preview-only --json` (or `pulumi preview --refresh
--json`) prints: Pulumi's preview digest, one step per resource with its
`oldState` and `newState` (inputs and outputs) and, on updates, `detailedDiff`
and `diffReasons` (pulumi/pulumi `pkg/display/json.go`, `previewDigest` and
`previewStep`). For each property that changed, it says whether the program
ignores it (`ignoreChanges`, as the offline plan of the stack records for that
resource, with the reason from `components/ignores.py`) or not: an ignored
property moved by its owner (the autoscaler's node count, the HPA's replicas) is
expected; anything else is drift.

Exit 0 when nothing drifted but what the program ignores, 1 when something did,
2 when the input cannot be read or the stack cannot be planned. Values are never
printed: a refreshed state holds secrets in the clear where the provider returns
them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.ignores import reason
from components.stackfile import StackFileError
from preflight import engine
from preflight.estimates.base import STACK_TYPE
from preflight.replacements import under
from preflight.review import leaves
from preflight.stackconfig import StackNotFound, load

CHANGED_OPS = frozenset({"update", "replace", "refresh", "read", "delete", "create-replacement"})
"""Step operations that carry a changed resource; `same` steps carry none."""
_ENGINE_KEYS = ("__meta", "__defaults")
GONE = "(the whole resource: deleted outside Pulumi)"


@dataclass(frozen=True)
class Drifted:
    urn: str
    type: str
    name: str
    path: str
    why_ignored: str | None
    """The program's reason when it ignores this property on purpose; None when this is drift."""

    @property
    def expected(self) -> bool:
        return self.why_ignored is not None

    def line(self) -> str:
        text = f"{self.type}  {self.name}: {self.path}"
        return f"{text} (ignored on purpose: {self.why_ignored})" if self.why_ignored else text


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _type(step: Mapping[str, Any]) -> str:
    state = step.get("newState") or step.get("oldState") or {}
    return str(state.get("type") or step.get("urn", "").split("::")[-2].split("$")[-1])


def _paths(step: Mapping[str, Any]) -> list[str]:
    """The properties that changed in one step: its detailed diff, else its states compared, else its diff reasons."""
    detailed = step.get("detailedDiff")
    if detailed:
        return sorted(detailed)
    old, new = step.get("oldState") or {}, step.get("newState") or {}
    found: set[str] = set()
    for part in ("outputs", "inputs"):
        before = dict(leaves({k: v for k, v in (old.get(part) or {}).items() if k not in _ENGINE_KEYS}))
        after = dict(leaves({k: v for k, v in (new.get(part) or {}).items() if k not in _ENGINE_KEYS}))
        found |= {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(found) or sorted(map(str, step.get("diffReasons") or []))


def classify(digest: Mapping[str, Any], ignore_changes: Mapping[str, Sequence[str]]) -> list[Drifted]:
    """Every changed property of every step, with the program's reason where it ignores it (by URN)."""
    out: list[Drifted] = []
    for step in digest.get("steps") or []:
        if step.get("op") not in CHANGED_OPS:
            continue
        urn, type_ = str(step.get("urn", "")), _type(step)
        if type_ == STACK_TYPE or type_.startswith("pulumi:providers:"):
            continue
        if step.get("op") == "delete":
            # Gone from the cloud: one finding for the resource, not one per property it had.
            out.append(Drifted(urn, type_, _name(urn), GONE, None))
            continue
        ignored = ignore_changes.get(urn, ())
        for path in _paths(step):
            why = None
            if any(under(path, i) for i in ignored):
                why = reason(type_, path) or "ignoreChanges (no reason recorded in components/ignores.py)"
            out.append(Drifted(urn, type_, _name(urn), path, why))
    return out


def ignores_of(plan: engine.Plan) -> dict[str, list[str]]:
    """URN -> `ignoreChanges` of every registration that has one, as the program set it."""
    return {r.urn: r.ignore_changes for r in plan.registrations if r.ignore_changes}


def report(stack: str, found: Iterable[Drifted]) -> list[str]:
    found = list(found)
    drift = [d for d in found if not d.expected]
    expected = [d for d in found if d.expected]
    lines = [f"Drift of stack '{stack}': {len(drift)} drifted, {len(expected)} changed as the program expects"]
    if drift:
        lines.append("Drifted (the program does not expect these; the next `pulumi up` resets them):")
        lines.extend(f"  {d.line()}" for d in drift)
    if expected:
        lines.append("Changed by their owners, ignored on purpose:")
        lines.extend(f"  {d.line()}" for d in expected)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.drift", description=__doc__.split("\n")[0])
    parser.add_argument("stack", help="stack name: stacks/Pulumi.<stack>.yaml")
    parser.add_argument("refresh", type=Path, help="what `pulumi refresh --preview-only --json` printed")
    parser.add_argument("--json", metavar="PATH", help="also write the findings as JSON")
    parser.add_argument("--project-dir", type=Path, default=engine.PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        digest = json.loads(args.refresh.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"preflight.drift: {args.refresh}: not a Pulumi JSON preview ({exc})", file=sys.stderr)
        return 2
    if not isinstance(digest, dict) or not isinstance(digest.get("steps", []), list):
        print(f"preflight.drift: {args.refresh}: not a Pulumi JSON preview (no list of steps)", file=sys.stderr)
        return 2
    try:
        config = load(args.project_dir, args.stack)
    except StackNotFound as exc:
        print(f"preflight.drift: {exc}", file=sys.stderr)
        return 2
    except StackFileError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    plan = engine.run(config, args.project_dir)
    if not plan.ok:
        for line in plan.errors:
            print(line, file=sys.stderr)
        return 2
    found = classify(digest, ignores_of(plan))
    print("\n".join(report(args.stack, found)))
    if args.json:
        Path(args.json).write_text(json.dumps([{**d.__dict__, "expected": d.expected} for d in found], indent=2) + "\n")
    return 1 if any(not d.expected for d in found) else 0


if __name__ == "__main__":
    sys.exit(main())
