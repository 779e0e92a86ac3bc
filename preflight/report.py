"""Human-readable plan: the resource tree, counts, monthly cost and deploy time."""

from __future__ import annotations

from typing import TextIO

from preflight.engine import Plan, Registration
from preflight.estimates import report_lines


def tree_lines(plan: Plan) -> list[str]:
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
        branch = "" if root else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{branch}{node.type}  {node.name}{flags}")
        kids = by_parent.get(node.urn, [])
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, child_prefix, i == len(kids) - 1, False)

    for root in by_parent.get("", []):
        walk(root, "", True, True)
    return lines


def print_plan(plan: Plan, out: TextIO) -> None:
    print(f"Plan for stack '{plan.stack}' (offline, mock engine)\n", file=out)
    for line in tree_lines(plan):
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
