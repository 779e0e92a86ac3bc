"""Human-readable plan: the resource tree, counts, monthly cost and deploy time."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from preflight.engine import Plan, Registration
from preflight.estimates import report_lines


def rendered_summary(kinds: Counter[str]) -> str:
    """`renders 13: 3 ClusterRole, 2 ClusterRoleBinding, ...`, the kinds most numerous first."""
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"renders {sum(kinds.values())}: {parts}" if kinds else "renders nothing"


def tree_lines(plan: Plan, rendered: Mapping[str, Counter[str]] | None = None) -> list[str]:
    by_parent: dict[str, list[Registration]] = {}
    for r in plan.registrations:
        by_parent.setdefault(r.parent, []).append(r)
    lines: list[str] = []

    def walk(node: Registration, prefix: str, last: bool, root: bool) -> None:
        flags = "".join(
            f" [{f}]"
            for f, on in (
                ("protect", node.protect),
                ("ignoreChanges: " + ",".join(node.ignore_changes), node.ignore_changes),
            )
            if on
        )
        if rendered is not None and node.urn in rendered:
            flags += f" [{rendered_summary(rendered[node.urn])}]"
        branch = "" if root else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{branch}{node.type}  {node.name}{flags}")
        kids = by_parent.get(node.urn, [])
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, child_prefix, i == len(kids) - 1, False)

    for root in by_parent.get("", []):
        walk(root, "", True, True)
    return lines


def print_plan(plan: Plan, out: TextIO, rendered: Mapping[str, Counter[str]] | None = None) -> None:
    """The plan as a reader sees it; `rendered` is what each Helm release renders to, by release URN."""
    print(f"Plan for stack '{plan.stack}' (offline, mock engine)\n", file=out)
    for line in tree_lines(plan, rendered):
        print(line, file=out)
    counts = plan.counts()
    total = sum(n for t, n in counts.items() if t != "pulumi:pulumi:Stack")
    print(f"\n{total} resources to create:", file=out)
    for type_, n in counts.items():
        if type_ != "pulumi:pulumi:Stack":
            print(f"  {n:4d}  {type_}", file=out)
    print("", file=out)
    for line in report_lines(plan.estimates()):
        print(line, file=out)
    for w in plan.warnings:
        print(f"warning: {w}", file=out)


def emit(document: Mapping[str, Any], json_path: str | None, text: list[str], what: str) -> bool:
    """Write `document` where `--json` says (a file, or `-` for stdout instead of `text`) and print `text` otherwise.

    False, with one line on stderr, when the file cannot be written: the caller exits 2.
    """
    try:
        if json_path and json_path != "-":
            Path(json_path).write_text(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        print(f"preflight: cannot write the {what} ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return False
    if json_path == "-":
        json.dump(document, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(text))
    return True
