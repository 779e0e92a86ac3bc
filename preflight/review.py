"""`python -m preflight <stack> --against <git-ref>`: what a change would do to a stack, offline.

The stack is planned twice, each time by the code of its own revision: the tree
of `<git-ref>` is exported to a temporary directory and its own preflight plans
it (`--json -`) in a subprocess, as does the working tree. Each plan is what
that revision's program would register; their difference is what `pulumi up`
would do going from one revision to the other, as far as inputs known before
apply can tell (values the cloud computes show as `[unknown]` on both sides and
compare equal; secrets are compared in their redacted form, so a changed secret
value does not show, by design).

An update whose changed properties all sit under the resource's `ignoreChanges`
is no update. An update that touches a property the provider cannot change in
place (`preflight.replacements`, or the program's `replaceOnChanges`) is a
replacement, flagged with the table's source when it hits a cluster, a node
pool, a network, a key or a VM; so is the deletion of one of those.

`python -m preflight.review REVIEW.json [--diagram FILE]` turns a review written
with `--json` into the Markdown a pull-request comment carries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from preflight import mirror, stackconfig
from preflight.estimates.base import STACK_TYPE
from preflight.replacements import TABLE, forcing, under
from preflight.report import emit

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


class ReviewError(Exception):
    """Why a review could not be made, in one line."""


@dataclass(frozen=True)
class Change:
    op: str
    """create, update, replace or delete."""
    urn: str
    type: str
    name: str
    paths: tuple[str, ...] = ()
    """Changed input properties (updates and replacements)."""
    forced: tuple[tuple[str, str], ...] = ()
    """(property, source) for each change that forces a new resource."""
    ignored: tuple[str, ...] = ()
    """Changed properties the program ignores on purpose (`ignoreChanges`)."""
    values: tuple[tuple[str, str], ...] = ()
    """(before, after) of each changed path, shortened; secrets were redacted before the plans left their process."""

    @property
    def stateful(self) -> str | None:
        """What kind of stateful or slow resource this is, if the replacement table knows its type."""
        entry = TABLE.get(self.type)
        return entry.kind if entry else None

    @property
    def flagged(self) -> bool:
        return self.stateful is not None and self.op in ("replace", "delete")

    def line(self) -> str:
        mark = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}[self.op]
        text = f"{mark} {self.type}  {self.name}"
        if self.paths:
            text += ": " + ", ".join(f"{p} {a} => {b}" for p, (a, b) in zip(self.paths, self.values, strict=True))
        return text


@dataclass
class Review:
    stack: str
    against: str
    commit: str
    changes: list[Change] = field(default_factory=list)
    new_stack: bool = False
    """The stack file does not exist at the base revision: everything is created."""

    def of(self, op: str) -> list[Change]:
        return [c for c in self.changes if c.op == op]

    @property
    def flagged(self) -> list[Change]:
        return [c for c in self.changes if c.flagged]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "against": self.against,
            "commit": self.commit,
            "newStack": self.new_stack,
            "counts": {op: len(self.of(op)) for op in ("create", "update", "replace", "delete")},
            "changes": [
                {**asdict(c), "forced": [{"property": p, "source": s} for p, s in c.forced], "stateful": c.stateful}
                for c in self.changes
            ],
            "flagged": [c.urn for c in self.flagged],
        }


def _key(name: str) -> str:
    return f".{name}" if _IDENTIFIER.match(name) else f"[{json.dumps(name)}]"


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(property path, value) for every leaf, in Pulumi's path syntax (`a.b[0]["x.y"]`); empty containers are leaves."""
    if isinstance(value, dict) and value:
        for k in sorted(value):
            yield from leaves(value[k], f"{prefix}{_key(k)}" if prefix else _key(k).lstrip("."))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


_ABSENT = object()
_SHORT = 60


def _shown(value: Any) -> str:
    text = "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Changed property path -> (before, after) as shown to a reader, sorted by path."""
    before, after = dict(leaves(dict(old))), dict(leaves(dict(new)))
    paths = sorted(p for p in before.keys() | after.keys() if before.get(p, _ABSENT) != after.get(p, _ABSENT))
    return {p: (_shown(before.get(p, _ABSENT)), _shown(after.get(p, _ABSENT))) for p in paths}


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """The changes from plan document `old` (None: the stack did not exist) to plan document `new`."""
    before = {r["urn"]: r for r in (old or {}).get("resources", []) if _counted(r)}
    after = {r["urn"]: r for r in new.get("resources", []) if _counted(r)}
    changes: list[Change] = []
    for urn, r in after.items():
        if urn not in before:
            changes.append(Change("create", urn, r["type"], r["name"]))
            continue
        diff = changed(before[urn].get("inputs") or {}, r.get("inputs") or {})
        ignore = r.get("ignoreChanges") or []
        kept = tuple(p for p in diff if not any(under(p, i) for i in ignore))
        ignored = tuple(p for p in diff if p not in kept)
        if not kept:
            continue
        forced = tuple(forcing(r["type"], kept, r.get("replaceOnChanges") or []))
        op = "replace" if forced else "update"
        changes.append(Change(op, urn, r["type"], r["name"], kept, forced, ignored, tuple(diff[p] for p in kept)))
    for urn, r in before.items():
        if urn not in after:
            changes.append(Change("delete", urn, r["type"], r["name"]))
    order = {"replace": 0, "delete": 1, "update": 2, "create": 3}
    return sorted(changes, key=lambda c: (order[c.op], c.type, c.name))


def _counted(r: Mapping[str, Any]) -> bool:
    """Custom resources only: components register no cloud object of their own, and the stack is always there."""
    return bool(r.get("custom")) and r.get("type") != STACK_TYPE


# ------------------------------------------------------------------ planning each revision


def _git(project_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ReviewError(f"git cannot run ({exc.strerror or type(exc).__name__})") from None
    if done.returncode != 0:
        raise ReviewError((done.stderr.strip().splitlines() or [f"git {args[0]} failed"])[-1])
    return done.stdout


def resolve(project_dir: Path, ref: str) -> str:
    """The commit `ref` names; a one-line error when it names none."""
    if ref.startswith("-"):
        raise ReviewError(f"--against {ref}: allowed: a git revision (branch, tag or commit)")
    try:
        return _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except ReviewError:
        raise ReviewError(f"--against {ref}: names no commit in {project_dir}; allowed: a git revision") from None


def export(project_dir: Path, commit: str, destination: Path) -> Path:
    """The tree of `commit` (the project's directory within it) written under `destination`."""
    prefix = _git(project_dir, "rev-parse", "--show-prefix").strip()
    archive = destination / "tree.tar"
    with archive.open("wb") as out:
        done = subprocess.run(["git", "-C", str(project_dir), "archive", commit], stdout=out, check=False)
    if done.returncode != 0:
        raise ReviewError(f"git archive {commit} failed")
    tree = destination / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree / prefix


def _plan_command(stack: str, diagram: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "preflight", stack, "--json", "-", "--no-policies"]
    return cmd + (["--diagram", diagram] if diagram else [])


def _started(cwd: Path, stack: str, diagram: str | None = None) -> subprocess.Popen[str]:
    # The exported tree has no chart mirror beside it: both revisions read the one this process reads.
    env = {**os.environ, mirror.MIRROR_ENV: str(mirror.mirror_dir())}
    return subprocess.Popen(
        _plan_command(stack, diagram), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finished(process: subprocess.Popen[str], where: str) -> dict[str, Any]:
    out, err = process.communicate()
    try:
        document: dict[str, Any] = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        document = {}
    problems = document.get("errors") or [line for line in err.splitlines() if line.strip()]
    if not document or document.get("errors"):
        raise ReviewError(f"the plan {where} failed: {problems[0] if problems else f'exit {process.returncode}'}")
    return document


def review(stack: str, ref: str, project_dir: Path, diagram: str | None = None) -> Review:
    """Plan `stack` at `ref` and in `project_dir` as it is, and compare."""
    commit = resolve(project_dir, ref)
    with tempfile.TemporaryDirectory(prefix="preflight-review-") as tmp:
        base = export(project_dir, commit, Path(tmp))
        exists = stack in stackconfig.stacks(base)
        # Both plans at once: each is one process, mostly CPU.
        current = _started(project_dir, stack, str(Path(diagram).resolve()) if diagram else None)
        old = _started(base, stack) if exists else None
        new_document = _finished(current, "of the working tree")
        old_document = _finished(old, f"at {ref}") if old is not None else None
    return Review(stack, ref, commit, compare(old_document, new_document), new_stack=not exists)


# ------------------------------------------------------------------ output


def text_lines(r: Review) -> list[str]:
    counts = ", ".join(f"{len(r.of(op))} to {op}" for op in ("create", "update", "replace", "delete"))
    lines = [f"Change review of stack '{r.stack}' against {r.against} ({r.commit[:12]}), offline plans", f"  {counts}"]
    if r.new_stack:
        lines.append(f"  the stack does not exist at {r.against}: everything is new")
    if r.flagged:
        lines.append("")
        lines.append("Replaces or deletes stateful or slow resources:")
        for c in r.flagged:
            if c.op == "delete":
                lines.append(f"  ! deletes {c.stateful} {c.name} ({c.type})")
            else:
                for prop, source in c.forced:
                    lines.append(f"  ! replaces {c.stateful} {c.name} ({c.type}): {prop} forces a new one ({source})")
    for op, title in (("replace", "Replace"), ("delete", "Delete"), ("update", "Update"), ("create", "Create")):
        found = r.of(op)
        if found:
            lines.append("")
            lines.append(f"{title} ({len(found)}):")
            lines.extend(f"  {c.line()}" for c in found)
    if not r.changes:
        lines.append("  no changes")
    return lines


def markdown(document: Mapping[str, Any], diagram: str | None = None) -> str:
    """A pull-request comment for one stack's review (a `Review.to_json()` document)."""
    counts = document["counts"]
    stack = document["stack"]
    head = f"### Offline change review: `{stack}`\n\n"
    head += f"Against `{document['against']}` (`{str(document['commit'])[:12]}`): " + ", ".join(
        f"{counts[op]} to {op}" for op in ("create", "update", "replace", "delete")
    )
    parts = [head]
    flagged = [c for c in document["changes"] if c["urn"] in set(document["flagged"])]
    if flagged:
        rows = ["| | resource | why | source |", "|---|---|---|---|"]
        for c in flagged:
            if c["op"] == "delete":
                rows.append(f"| deletes {c['stateful']} | `{c['name']}` `{c['type']}` | removed from the program | |")
            for f in c["forced"]:
                rows.append(
                    f"| replaces {c['stateful']} | `{c['name']}` `{c['type']}` | `{f['property']}` | {f['source']} |"
                )
        parts.append("**Replaces or deletes stateful or slow resources:**\n\n" + "\n".join(rows))
    body = [
        Change(c["op"], c["urn"], c["type"], c["name"], tuple(c["paths"]), values=tuple(map(tuple, c["values"]))).line()
        for c in document["changes"]
    ]
    if body:
        parts.append("<details><summary>Every change</summary>\n\n```diff\n" + "\n".join(body) + "\n```\n</details>")
    if diagram:
        parts.append(
            "<details><summary>The stack after the change</summary>\n\n```mermaid\n"
            + diagram.strip()
            + "\n```\n</details>"
        )
    return "\n\n".join(parts) + "\n"


def main(stack: str, ref: str, json_path: str | None, diagram: str | None, project_dir: Path) -> int:
    """The `--against` mode of `python -m preflight`; 0 when reviewed, 2 when it could not be."""
    try:
        result = review(stack, ref, project_dir, diagram)
    except ReviewError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    return 0 if emit(result.to_json(), json_path, text_lines(result), "review") else 2


def markdown_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.review", description=__doc__.split("\n")[0])
    parser.add_argument(
        "review", type=Path, help="a review written by `python -m preflight <stack> --against REF --json`"
    )
    parser.add_argument("--diagram", type=Path, help="the Mermaid diagram of the stack after the change")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.review.read_text())
        diagram = args.diagram.read_text() if args.diagram else None
    except (OSError, json.JSONDecodeError) as exc:
        print(f"preflight.review: cannot read the review ({exc})", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(document, diagram))
    return 0


if __name__ == "__main__":
    sys.exit(markdown_main())
