"""`python -m preflight.pipeline deploy|preview`: which stacks CI/CD runs, in which order, from where.

The workflows read this instead of hard-coding stack names, so a new stack file is
deployed without editing a workflow, and a stack is grouped by what it says it is
(`orquestra:environment`), not by what its file is called. For each stack it tells:

- the GitHub environment it deploys behind (its `orquestra:environment`), so that
  environment's protection rules and its OIDC role variables apply;
- the clouds whose credentials the job must obtain, by OIDC, for its targets;
- the runner its job runs on: the self-hosted runner its clusters' `deployer.runner`
  names (in the hub joined to a private API endpoint, or on an on-prem site's LAN;
  the spec makes every cluster of a stack name the same one), else a GitHub-hosted
  runner; docs/private-deploy.md;
- whether that runner can reach every cluster it must talk to: on-prem hosts with
  no declared deployer are reached over SSH from the site's network only; such a
  stack is listed with `reachable: false` and its deploy job refuses with that
  reason rather than fail half way through `pulumi up`. A private API endpoint
  with no deployer never gets here: the spec refuses it (`CloudCluster.reach`);
- whether CI can deploy it at all: a cluster adopted through a kubeconfig file on
  a workstation (the local `dev` stack) is never deployed from CI.

Output is `KEY=JSON` lines for `$GITHUB_OUTPUT`. The stack files are parsed with
the spec, so a stack CI cannot read fails here with the spec's own message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from components.spec import (
    ENVIRONMENTS,
    NAMESPACE,
    ClusterBase,
    Environment,
    ExistingSpec,
    OnpremSpec,
    SpecError,
    StackSpec,
    TanzuSpec,
    parse,
)
from components.targets import REGISTRY
from preflight import engine, stackconfig

HOSTED_RUNNER = "ubuntu-24.04"

# The zone providers of `expose.global` -> the target whose login reaches them: a stack with no cluster on that
# cloud still writes its records there.
ZONE_PROVIDERS = {"route53": "aws", "clouddns": "gcp", "azure": "azure"}


def logins(spec: StackSpec) -> list[str]:
    """The logins (`Target.credentials`) a job needs for every cloud the stack writes to."""
    targets = (
        {c.target for c in spec.clusters}
        | {
            ZONE_PROVIDERS[w.expose.global_routing.dns]
            for w in spec.workloads
            if w.expose is not None and w.expose.global_routing is not None
        }
        # A DNS-01 key in Route 53 is created in AWS, whatever the cluster's target.
        | {ZONE_PROVIDERS[d.provider] for c in spec.clusters if (d := c.platform.cert_manager.dns01) is not None}
    )
    return sorted({login for t in targets if (login := REGISTRY[t].credentials)})


@dataclass(frozen=True)
class StackJob:
    stack: str
    environment: Environment
    clouds: list[str]
    runner: str
    """A self-hosted runner's label (the stack's `deployer.runner`), or the GitHub-hosted runner."""
    reachable: bool
    why: str
    """Why the job's runner cannot reach the stack ("" when it can)."""


def _runner(cluster: ClusterBase) -> str | None:
    deployer = getattr(cluster, "deployer", None)
    return deployer.runner if deployer is not None else None


def _unreachable(cluster: ClusterBase) -> str:
    if _runner(cluster) is not None:
        return ""
    if isinstance(cluster, OnpremSpec):
        return (
            f"cluster '{cluster.name}' is on-prem: its hosts are reached over SSH on the site's network "
            "(declare deployer.runner, a runner on that network)"
        )
    if isinstance(cluster, TanzuSpec):
        return (
            f"cluster '{cluster.name}' is on vSphere with Tanzu: its Supervisor is reached on the site's network "
            "(declare deployer.runner, a runner on that network)"
        )
    api = getattr(cluster, "api_access", None)
    if api is not None and api.private:
        return f"cluster '{cluster.name}' has a private API endpoint and no deployer.runner"
    return ""


def _local(cluster: ClusterBase) -> bool:
    return isinstance(cluster, ExistingSpec) and cluster.kubeconfig_path is not None


def jobs(project_dir: Path = engine.PROJECT_DIR) -> list[StackJob]:
    """Every stack CI can deploy, in deploy order (dev, staging, prod; by name within one)."""
    out: list[StackJob] = []
    for name in stackconfig.stacks(project_dir):
        config = stackconfig.load(project_dir, name)
        try:
            spec = parse(config.namespace(NAMESPACE))
        except SpecError as err:
            raise SpecError([f"stacks/Pulumi.{name}.yaml: {line}" for line in err.problems]) from None
        if any(_local(c) for c in spec.clusters):
            continue
        reasons = [r for r in (_unreachable(c) for c in spec.clusters) if r]
        runner = next((r for c in spec.clusters if (r := _runner(c)) is not None), HOSTED_RUNNER)
        out.append(
            StackJob(
                stack=name,
                environment=spec.environment,
                clouds=logins(spec),
                runner=runner,
                reachable=not reasons,
                why="; ".join(reasons),
            )
        )
    rank = {env: i for i, env in enumerate(ENVIRONMENTS)}
    return sorted(out, key=lambda j: (rank[j.environment], j.stack))


def outputs(kind: str, found: Sequence[StackJob]) -> dict[str, str]:
    """`deploy`: one JSON list per environment; `preview`: the stacks a pull request can preview."""
    if kind == "deploy":
        return {env: json.dumps([asdict(j) for j in found if j.environment == env]) for env in ENVIRONMENTS}
    return {"stacks": json.dumps([asdict(j) for j in found if j.reachable])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("deploy", "preview"))
    parser.add_argument("--project-dir", type=Path, default=engine.PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        found = jobs(args.project_dir)
    except SpecError as err:
        for line in err.problems:
            print(line, file=sys.stderr)
        return 2
    for key, value in outputs(args.kind, found).items():
        print(f"{key}={value}")
    for job in found:
        if not job.reachable:
            print(
                f"::warning::stack {job.stack} cannot be reached from runner {job.runner}: {job.why}", file=sys.stderr
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
