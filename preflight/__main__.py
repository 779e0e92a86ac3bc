"""`python -m preflight [stack]`: plan a stack offline and print what it would create."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from dataclasses import asdict
from pathlib import Path

from components.spec import NAMESPACE, SpecError, parse
from preflight import engine, policy, rejects, report
from preflight.diagram import mermaid
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
        "--policy-grpc",
        action="store_true",
        help="serve the pack in its own process over gRPC, as the Pulumi engine does (slower, same verdicts)",
    )
    args = parser.parse_args(argv)

    try:
        config = load(args.project_dir, args.stack)
    except StackNotFound as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    try:
        parse(config.namespace(NAMESPACE))
    except SpecError as err:
        for line in err.problems:
            print(line, file=sys.stderr)
        return 2

    plan = engine.run(config, args.project_dir)
    if args.diagram:
        Path(args.diagram).write_text(mermaid(plan))
    document = plan.to_json()
    rejected = rejects.run(plan) if plan.ok else []
    document["rejections"] = [asdict(r) for r in rejected]
    result: policy.PolicyResult | None = None
    if plan.ok and not args.no_policies:
        env = str(config.values.get(f"{NAMESPACE}:environment", "dev"))
        try:
            result = policy.analyze(
                plan, config, policy.load_pack_config(args.policy_config or env), served=args.policy_grpc
            )
        except policy.PolicyError as exc:
            print(f"preflight: {exc}", file=sys.stderr)
            return 2
        document["policies"] = {
            "pack": result.pack,
            "config": args.policy_config or env,
            "violations": [asdict(v) for v in result.violations],
        }

    if args.json == "-":
        json.dump(document, sys.stdout, indent=2)
        print()
    else:
        report.print_plan(plan, sys.stdout)
        if result is not None:
            _print_policies(result, args.policy_config or document["policies"]["config"])
        if args.json:
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    if not plan.ok:
        for line in plan.errors:
            print(line, file=sys.stderr)
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
    sys.exit(main())
