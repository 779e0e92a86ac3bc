"""How long `python -m preflight` takes per resource, measured against the Pulumi SDK's own floor in the same run.

Preflight runs on every pull request, for every stack, so its cost is paid many
times a day. What it cannot go below is what the Pulumi SDK itself costs to
register a resource on the same mock engine; that floor is measured first, in the
same run and on the same machine, so every other figure can be read as a ratio to
it rather than as seconds that depend on the machine and its load.

    python -m tests.bench.preflight_bench [--runs N] [--floor N] [--fleets 1,4,16,48] [--policy-grpc] [stack ...]

1. The floor: a generated program of `--floor` trivial custom resources, run on
   preflight's engine in a fresh process (interpreter, `pulumi` and the engine
   imported; nothing of orquestra's), and once with one resource, so that the
   marginal cost of a resource can be told apart from start-up.
2. Every shipped stack (or those named), as `python -m preflight <stack>`.
3. Generated fleets of 1, 4, 16 and 48 clusters (EKS, GKE and on-prem k3s in turn,
   `tests/bench/fleet.py`), planned by the same command through `--project-dir`, and
   each fleet's program run on the engine alone, like the floor, so that what the
   program costs the SDK and what preflight adds to it can be told apart.

Each is run N times in fresh processes, after one untimed run that fills the
per-machine caches (`preflight/sdkimport.py`'s provider SDK bytecode among them): the
figures of a developer's repeated runs, or of a CI runner that keeps
`~/.cache/orquestra` between jobs. Wall time and CPU time
(user+sys of the child) are medians; peak RSS is the largest of any run, from the
kernel's accounting of the child (`os.wait4`). "ms/res" is median wall time per
resource created, "cpu ms/res" the same in CPU time; "x floor" divides each by the
floor's. The last table gives the CPU cost of one more resource between two fleet
sizes, where start-up cancels out (between 1 and 4 clusters it also holds loading
two more provider SDKs). One more
in-process run per shipped stack names the provider SDKs it imported, so a stack
that loads a cloud SDK it does not use shows up.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.targets import sdk_modules
from preflight import engine, stackconfig
from tests.bench import fleet

CLOUD_SDKS = tuple(sorted(sdk_modules()))
"""Every target's SDKs (the registry's): a stack should load its own targets' only."""
FLEETS = (1, 4, 16, 48)

_COUNT_IMPORTS = """
import contextlib, io, json, sys
from preflight.__main__ import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main([sys.argv[1]])
tops = sorted({m.split(".")[0] for m in sys.modules})
with open(sys.argv[2], "w") as out:
    json.dump({"exit": code, "modules": len(sys.modules), "sdks": [t for t in tops if t.startswith("pulumi_")]}, out)
"""

_FLOOR_PROGRAM = '''"""N trivial custom resources: what the Pulumi SDK alone costs per resource on this engine."""
import pulumi

COUNT = int(pulumi.Config("floor").require("resources"))


class Trivial(pulumi.CustomResource):
    def __init__(self, name: str, index: int) -> None:
        super().__init__("floor:index:Trivial", name, {"index": index, "label": name})


for i in range(COUNT):
    Trivial(f"trivial-{i}", i)
'''

_RUN_PROGRAM = """
import gc, sys
from pathlib import Path
gc.disable()  # as python -m preflight runs
from preflight import sdkimport
sdkimport.install()
from preflight import engine, stackconfig
project = Path(sys.argv[1])
plan = engine.run(stackconfig.load(project, sys.argv[2]), project)
if not plan.ok:
    sys.exit("\\n".join(plan.errors))
print(f"{len(plan.registrations) - 1} resources to create")
"""

_TIME_REVIEW = """
import json, sys, time
from preflight import admission, engine, stackconfig
plan = engine.run(stackconfig.load(engine.PROJECT_DIR, sys.argv[1]))
start = time.perf_counter()
seen = admission.review(plan)
elapsed = time.perf_counter() - start
with open(sys.argv[2], "w") as out:
    json.dump({"seconds": elapsed, "objects": sum(sum(k.values()) for k in seen.counts().values())}, out)
"""

_CREATED = re.compile(r"^(\d+) resources to create", re.MULTILINE)


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_rss_kib: int = 0
    resources: int = 0
    failures: list[str] = field(default_factory=list)
    modules: int = 0
    sdks: list[str] = field(default_factory=list)
    review_seconds: float = float("nan")
    """Rendering every release and validating every object, once, in a fresh process."""
    rendered: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def ms_per_resource(self) -> float:
        return 1000 * self.median / self.resources if self.resources else float("nan")

    @property
    def cpu_ms_per_resource(self) -> float:
        return 1000 * self.median_cpu / self.resources if self.resources else float("nan")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(engine.PROJECT_DIR)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _spawn(argv: list[str], stdout_path: str, stderr_path: str) -> tuple[float, float, int, int]:
    """Run one child; return (wall seconds, CPU seconds, exit code, peak RSS in KiB)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, _env(), file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux.
    return elapsed, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), int(usage.ru_maxrss)


def bench(name: str, argv: list[str], runs: int, tmp: Path) -> Result:
    result = Result(name)
    out, err = str(tmp / "stdout"), str(tmp / "stderr")
    if argv[1:3] == ["-m", "preflight"]:
        # One untimed run fills the per-machine caches (provider SDK bytecode, parsed CRD manifests, the CEL
        # parser) and waits for them, so that no run is timed beside a compiler the one before left running.
        _spawn([sys.executable, "-m", "preflight.sdkimport", "--warm", *argv[3:]], os.devnull, os.devnull)
    for _ in range(runs):
        wall, cpu, code, rss = _spawn(argv, out, err)
        result.peak_rss_kib = max(result.peak_rss_kib, rss)
        if code == 0:
            result.seconds.append(wall)
            result.cpu.append(cpu)
            found = _CREATED.search(Path(out).read_text())
            result.resources = int(found.group(1)) if found else result.resources
        else:
            first = (Path(err).read_text().strip().splitlines() or [""])[0]
            result.failures.append(f"exit {code}: {first}")
    return result


def count_imports(result: Result, tmp: Path) -> None:
    report = tmp / "imports.json"
    _, _, code, _ = _spawn([sys.executable, "-c", _COUNT_IMPORTS, result.name, str(report)], os.devnull, os.devnull)
    counted = json.loads(report.read_text()) if code == 0 and report.is_file() else {}
    result.modules = int(counted.get("modules", 0))
    result.sdks = list(counted.get("sdks", []))


def time_review(result: Result, tmp: Path) -> None:
    report = tmp / "review.json"
    _, _, code, _ = _spawn([sys.executable, "-c", _TIME_REVIEW, result.name, str(report)], os.devnull, os.devnull)
    review = json.loads(report.read_text()) if code == 0 and report.is_file() else {}
    result.review_seconds = float(review.get("seconds", float("nan")))
    result.rendered = int(review.get("objects", 0))


def floor_project(directory: Path, sizes: list[int]) -> list[str]:
    (directory / "stacks").mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text("name: floor\nruntime: python\nstackConfigDir: stacks\n")
    (directory / "__main__.py").write_text(_FLOOR_PROGRAM)
    for n in sizes:
        (directory / "stacks" / f"Pulumi.floor-{n}.yaml").write_text(f'config:\n  floor:resources: "{n}"\n')
    return [f"floor-{n}" for n in sizes]


def _marginal(small: Result, large: Result) -> float:
    """CPU milliseconds per resource between two sizes of one program; start-up cancels out.

    CPU time, not wall: the two sizes run minutes apart, and on a shared machine the
    load between them moves wall time far more than the cost of a resource.
    """
    extra = large.resources - small.resources
    return 1000 * (large.median_cpu - small.median_cpu) / extra if extra > 0 else float("nan")


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and base == base and value == value else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.preflight_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per row (default: 5)")
    parser.add_argument(
        "--floor", type=int, default=1000, help="trivial resources in the floor program (default: 1000)"
    )
    parser.add_argument(
        "--fleets",
        default=",".join(map(str, FLEETS)),
        help="cluster counts of the generated fleets, comma-separated, or '' for none (default: 1,4,16,48)",
    )
    parser.add_argument("--policy-grpc", action="store_true", help="run preflight with --policy-grpc (the plugin path)")
    parser.add_argument("stacks", nargs="*", help="shipped stacks to plan (default: every stack in stacks/)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.floor < 2:
        parser.error("--runs must be at least 1 and --floor at least 2")
    try:
        sizes = [int(n) for n in args.fleets.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--fleets: {args.fleets!r} is not a comma-separated list of cluster counts")
    if any(not 1 <= n <= fleet.MAX_CLUSTERS for n in sizes):
        parser.error(f"--fleets: a fleet has 1 to {fleet.MAX_CLUSTERS} clusters")
    known = stackconfig.stacks(engine.PROJECT_DIR)
    stacks = args.stacks or known
    unknown = [s for s in stacks if s not in known]
    if unknown:
        parser.error(f"unknown stack(s) {', '.join(unknown)}; stacks: {', '.join(known)}")
    extra = ["--policy-grpc"] if args.policy_grpc else []

    def say(what: str) -> None:
        print(f"{what} x{args.runs} ...", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as name:
        tmp = Path(name)
        floors = []
        for stack in floor_project(tmp / "floor", [1, args.floor]):
            say(f"floor {stack}")
            floors.append(bench(stack, [sys.executable, "-c", _RUN_PROGRAM, str(tmp / "floor"), stack], args.runs, tmp))
        rows = []
        for stack in stacks:
            say(f"planning {stack}")
            rows.append(bench(stack, [sys.executable, "-m", "preflight", stack, *extra], args.runs, tmp))
            count_imports(rows[-1], tmp)
            time_review(rows[-1], tmp)
        fleets, programs = [], []
        for stack in fleet.write_project(tmp / "fleets", sizes, engine.PROJECT_DIR):
            say(f"planning {stack}")
            argv = [sys.executable, "-m", "preflight", stack, "--project-dir", str(tmp / "fleets"), *extra]
            fleets.append(bench(stack, argv, args.runs, tmp))
            say(f"running the program of {stack} alone")
            argv = [sys.executable, "-c", _RUN_PROGRAM, str(tmp / "fleets"), stack]
            programs.append(bench(f"{stack} program", argv, args.runs, tmp))

    base = floors[-1]
    header = (
        f"{'run':<20} {'resources':>9} {'runs':>4} {'wall s':>7} {'cpu s':>6} {'ms/res':>7} {'x floor':>8} "
        f"{'cpu ms/res':>10} {'x floor':>8} {'peak RSS MiB':>12}  pulumi packages imported"
    )
    print(f"Pulumi SDK floor and preflight, medians of {args.runs} fresh processes each")
    print(header)
    print("-" * len(header))
    for r in [*floors, *rows, *(r for pair in zip(fleets, programs, strict=True) for r in pair)]:
        sdks = ", ".join(r.sdks) if r in rows else ""
        # One trivial resource is start-up alone: no per-resource figure.
        alone = r is floors[0]
        per = "-" if alone else f"{r.ms_per_resource:.2f}"
        ratio = "-" if alone else _ratio(r.ms_per_resource, base.ms_per_resource)
        cpu_per = "-" if alone else f"{r.cpu_ms_per_resource:.2f}"
        cpu_ratio = "-" if alone else _ratio(r.cpu_ms_per_resource, base.cpu_ms_per_resource)
        print(
            f"{r.name:<20} {r.resources:>9} {len(r.seconds):>4} {r.median:>7.2f} {r.median_cpu:>6.2f} "
            f"{per:>7} {ratio:>8} {cpu_per:>10} {cpu_ratio:>8} {r.peak_rss_kib / 1024:>12.1f}  {sdks}"
        )
        if r in rows and any(s in CLOUD_SDKS for s in r.sdks):
            print(f"{'':<20} cloud SDKs imported: {', '.join(s for s in r.sdks if s in CLOUD_SDKS)}")
        for failure in r.failures:
            print(f"{'':<20} failed run: {failure}")

    print("\nRendering every Helm release and validating every object (preflight.admission.review), one run each:")
    for r in rows:
        print(f"  {r.name:<20} {r.review_seconds:>6.2f} s  {r.rendered:>5} objects")

    floor_marginal = _marginal(floors[0], floors[1])
    print(
        f"\nOne more resource, between two fleet sizes (ms of CPU time; the floor's: {floor_marginal:.2f}).\n"
        "'program' is the fleet's program on preflight's engine alone (recording included);\n"
        "'preflight adds' is the rest: spec check, policy pack, estimates, report."
    )
    header = (
        f"{'fleets':<22} {'preflight':>9} {'x floor':>8} {'program':>8} {'preflight adds':>15} {'x floor':>8} "
        f"{'RSS KiB':>8}"
    )
    print(header)
    print("-" * len(header))
    for (small, large), (p_small, p_large) in zip(
        itertools.pairwise(fleets), itertools.pairwise(programs), strict=True
    ):
        total, program = _marginal(small, large), _marginal(p_small, p_large)
        grown = (large.peak_rss_kib - small.peak_rss_kib) / max(1, large.resources - small.resources)
        print(
            f"{small.name + ' -> ' + large.name:<22} {total:>9.2f} {_ratio(total, floor_marginal):>8} "
            f"{program:>8.2f} {total - program:>15.2f} {_ratio(total - program, floor_marginal):>8} {grown:>8.1f}"
        )
    return 1 if any(r.failures for r in [*floors, *rows, *fleets, *programs]) else 0


if __name__ == "__main__":
    sys.exit(main())
