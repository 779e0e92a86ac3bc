"""`python -m preflight [stack]`: plan a stack offline and print what it would create."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from preflight import sdkimport

if __name__ == "__main__":
    sdkimport.install()  # before the imports below load pulumi_kubernetes

from components.runtime import marked
from components.spec import NAMESPACE, SpecError, StackSpec, parse
from components.stackfile import StackFile, StackFileError, parse_key_path
from components.workloads import rollout
from preflight import admission, engine, policy, rejects, render, report
from preflight.stackconfig import StackNotFound, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__)
    parser.add_argument("stack", nargs="?", default="dev", help="stack name: stacks/Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument(
        "--json", metavar="PATH", help="write the whole plan, secrets redacted, as JSON ('-' for stdout)"
    )
    parser.add_argument("--diagram", metavar="PATH", help="write a Mermaid flowchart of the clusters and their parts")
    parser.add_argument("--project-dir", type=Path, default=engine.PROJECT_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--policy-config",
        metavar="ENV|FILE",
        help="policy pack config: dev, staging, prod or a JSON file (default: the stack's orquestra:environment)",
    )
    parser.add_argument("--no-policies", action="store_true", help="skip the policy pack")
    parser.add_argument(
        "--images",
        action="store_true",
        help="print only the container images the stack would pull (the charts' and the program's), and if pinned",
    )
    parser.add_argument(
        "--policy-grpc",
        action="store_true",
        help="serve the pack in its own process over gRPC, as the Pulumi engine does (slower, same verdicts)",
    )
    parser.add_argument(
        "--compare",
        nargs="*",
        metavar="TARGET",
        help="plan each cluster on every other target (or those named) and print them side by side",
    )
    parser.add_argument(
        "--against",
        metavar="GIT_REF",
        help="review what the working tree changes against GIT_REF: both revisions planned, creates, updates "
        "and deletes listed, replacements of stateful resources flagged (preflight/review.py)",
    )
    parser.add_argument(
        "--upgrade-to",
        metavar="MINOR",
        help="plan the upgrade of every cluster to Kubernetes MINOR: ordered steps, blockers, duration "
        "(preflight/upgrade.py)",
    )
    args = parser.parse_args(argv)

    refused = [
        line
        for line in (_unwritable("--json", args.json, stdout_ok=True), _unwritable("--diagram", args.diagram))
        if line
    ]
    if args.against and args.upgrade_to:
        refused.append("preflight: --against and --upgrade-to are two different runs; allowed: one of them")
    if args.json and args.json != "-" and args.json == args.diagram:
        refused.append(f"preflight: --json and --diagram both write {args.json}; allowed: two different files")
    if refused:
        _lines(refused)
        return 2
    if args.against:
        from preflight import review

        return review.main(args.stack, args.against, args.json, args.diagram, args.project_dir)
    try:
        config = load(args.project_dir, args.stack)
    except StackNotFound as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    except StackFileError as exc:
        _lines(exc.problems)
        return 2
    try:
        stack = parse({key: marked(value) for key, value in config.namespace(NAMESPACE).items()})
    except SpecError as err:
        _lines(located(err.problems, config.source))
        return 2
    if args.upgrade_to:
        from preflight import upgrade

        return upgrade.main(config, stack, args.upgrade_to, args.json, args.project_dir)
    env = stack.environment
    pack_config = None
    if not args.no_policies:
        try:
            pack_config = policy.load_pack_config(args.policy_config or env)
        except policy.PolicyError as exc:
            print(f"preflight: {exc}", file=sys.stderr)
            return 2

    if args.compare is not None:
        from preflight import compare

        return compare.run(config, stack, args.compare, args.json, pack_config, args.project_dir)
    ahead = render.Ahead.start()
    try:
        plan = engine.run(config, args.project_dir, watch=ahead.watch)
        rejected = rejects.run(plan) if plan.ok else []
        seen = admission.review(plan) if plan.ok else None
    finally:
        ahead.close()  # a failure above leaves no render queued behind it
    document = plan.to_json()
    document["acceptedRisks"] = [
        {"subject": subject, "rule": rule, "reason": reason} for subject, rule, reason in stack.accepted_risks()
    ]
    document["rollouts"] = [rollout.document(w) for w in stack.workloads]
    document["rejections"] = [asdict(r) for r in rejected]
    if seen is not None:
        document["charts"] = _charts_document(seen)
    if args.images and seen is not None:
        _print_images(seen)
    result: policy.PolicyResult | None = None
    if plan.ok and pack_config is not None:
        try:
            result = policy.analyze(plan, config, pack_config, served=args.policy_grpc)
        except policy.PolicyError as exc:
            print(f"preflight: {exc}", file=sys.stderr)
            return 2
        document["policies"] = {
            "pack": result.pack,
            "config": args.policy_config or env,
            "violations": [asdict(v) for v in result.violations],
        }

    try:
        if args.diagram:
            from preflight.diagram import mermaid

            Path(args.diagram).write_text(mermaid(plan))
        if args.json and args.json != "-":
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        print(f"preflight: cannot write the plan ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return 2
    if args.json == "-":
        json.dump(document, sys.stdout, indent=2)
        print()
    elif not args.images:
        report.print_plan(plan, sys.stdout, seen.counts() if seen else None)
        if seen is not None:
            _print_charts(seen)
        if result is not None:
            _print_policies(result, args.policy_config or document["policies"]["config"])
        _print_accepted_risks(stack)
        _print_rollouts(stack)
    if not plan.ok:
        _lines(located(plan.errors, config.source))
        return 2
    if rejected:
        print(f"\n{len(rejected)} thing(s) a cloud or a cluster would reject:", file=sys.stderr)
        for r in rejected:
            print(f"  {r.line()}", file=sys.stderr)
        return 4
    if result is not None and result.mandatory:
        if args.json == "-":
            for v in result.mandatory:
                print(v.line(), file=sys.stderr)
        return 3
    return 0


def _charts_document(seen: admission.Review) -> dict[str, object]:
    return {
        "releases": {urn: dict(sorted(kinds.items())) for urn, kinds in seen.counts().items()},
        "images": [asdict(i) for i in seen.images],
        "hostAccess": seen.host_access,
        "findings": [asdict(f) for f in seen.findings],
        **({"unvalidated": [asdict(f) for f in seen.unvalidated]} if seen.unvalidated else {}),
    }


def _print_images(seen: admission.Review) -> None:
    for image in seen.images:
        print(f"{image.image}\t{'pinned' if image.pinned else 'NOT PINNED'}\t{', '.join(image.used_by)}")


def _print_charts(seen: admission.Review) -> None:
    if seen.host_access:
        print("\nPods with host access (privileged, hostNetwork or hostPath):")
        for line in seen.host_access:
            print(f"  {line}")
    if seen.findings:
        print(f"\n{len(seen.findings)} chart finding(s) (no cluster refuses these):")
        for f in seen.findings:
            print(f"  {f.line()}")
    if seen.unvalidated:
        print(f"\n{len(seen.unvalidated)} custom resource(s) not validated against a CRD:")
        for f in seen.unvalidated:
            print(f"  {f.line()}")


def _lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _unwritable(option: str, value: str | None, *, stdout_ok: bool = False) -> str | None:
    """Why an output path cannot be written, found before a plan that may take minutes; None if it can."""
    if value is None or (stdout_ok and value == "-"):
        return None
    path = Path(value)
    try:
        if len(path.name.encode()) > 255:
            why = "its name is longer than 255 bytes"
        elif path.is_dir():
            why = "is a directory"
        elif not path.parent.is_dir():
            why = f"its directory {path.parent} does not exist"
        elif not os.access(path if path.exists() else path.parent, os.W_OK):
            why = "is not writable"
        else:
            return None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
    return f"preflight: {option} {value}: {why}; allowed: a file path this user can write"


def located(lines: Iterable[str], source: StackFile | None) -> list[str]:
    """Problem lines led by the stack file and the line of the key they name, where the file wrote it."""
    out = []
    for line in lines:
        parts = parse_key_path(line.split(": ", 1)[0]) if source is not None else None
        number = source.line_of(parts) if source is not None and parts else None
        out.append(f"{source.display}:{number}: {line}" if source is not None and number else line)
    return out


def _print_accepted_risks(stack: StackSpec) -> None:
    accepted = stack.accepted_risks()
    if accepted:
        print("\nAccepted risks (prod lock-down rules broken on purpose):")
        for subject, rule, reason in accepted:
            print(f"  {subject}: {rule}: {reason}")


def _print_rollouts(stack: StackSpec) -> None:
    if stack.workloads:
        print("\nRollouts (worst case: how long, and how much of the route's traffic, a bad version serves):")
        for w in stack.workloads:
            print(f"  {rollout.summary(w)}")


def _print_policies(result: policy.PolicyResult, config: str) -> None:
    print(f"\nPolicies ({result.pack}, config {config}):")
    for v in result.violations:
        print(f"  {v.line()}")
    print(f"  {len(result.mandatory)} mandatory, {len(result.advisory)} advisory violation(s)")


if __name__ == "__main__":
    # One short-lived process per plan: the cycle collector would only walk the provider
    # SDKs' millions of long-lived objects again and again (a tenth of a run); the few
    # percent of memory it could win back is returned at exit.
    gc.disable()
    code = main()
    sdkimport.finish()
    # Interpreter shutdown runs one full collection even with the collector disabled; over
    # everything a plan leaves alive it cost dev 0.6 s of CPU. Frozen objects are not
    # walked, and the process is about to hand all of its memory back anyway.
    gc.freeze()
    sys.exit(code)
