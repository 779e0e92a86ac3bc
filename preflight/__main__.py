"""`python -m preflight [stack]`: plan a stack offline and print what it would create."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.spec import NAMESPACE, SpecError, parse
from preflight import engine, report
from preflight.diagram import mermaid
from preflight.stackconfig import StackConfig, StackNotFound, load


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
    if args.json == "-":
        json.dump(plan.to_json(), sys.stdout, indent=2)
        print()
    else:
        report.print_plan(plan, sys.stdout)
        if args.json:
            Path(args.json).write_text(json.dumps(plan.to_json(), indent=2) + "\n")
    if not plan.ok:
        for line in plan.errors:
            print(line, file=sys.stderr)
        return 2
    if not args.no_policies:
        return _policies(plan, config, args.policy_config, quiet=args.json == "-")
    return 0


def _policies(plan: engine.Plan, config: StackConfig, policy_config: str | None, *, quiet: bool) -> int:
    """Run the policy pack on the plan; 3 when a mandatory policy is violated."""
    from preflight import policy

    env = str(config.values.get(f"{NAMESPACE}:environment", "dev"))
    try:
        result = policy.analyze(plan, config, policy.load_pack_config(policy_config or env))
    except policy.PolicyError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    out = sys.stderr if quiet else sys.stdout
    print(f"\nPolicies ({result.pack}, config {policy_config or env}):", file=out)
    for v in result.violations:
        print(f"  {v.line()}", file=out)
    mandatory = len(result.mandatory)
    print(f"  {mandatory} mandatory, {len(result.advisory)} advisory violation(s)", file=out)
    return 3 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
