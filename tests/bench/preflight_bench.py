"""How long `python -m preflight <stack>` takes and how much memory it needs, per stack.

Preflight runs on every pull request, so its cost is paid many times a day; and a
stack for one cloud must not load the other clouds' SDKs (importing
pulumi_azure_native alone takes seconds). Each run is a fresh process, as in CI,
so interpreter start-up and imports are part of the number.

    python -m tests.bench.preflight_bench [--runs N] [stack ...]

Wall time is the median of N runs; peak RSS is the largest resident set of any
run, read from the kernel's accounting of the child (`os.wait4`). One more run
per stack, in-process, counts the modules imported and names the provider SDKs
among them. A last one times rendering every Helm release and validating every
object (`preflight.admission.review`) on its own. Ratios compare each stack with
`dev`, the smallest plan.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from components.targets import sdk_modules
from preflight import engine, stackconfig

CLOUD_SDKS = tuple(sorted(sdk_modules()))
"""Every target's SDKs (the registry's): a stack should load its own targets' only."""

_COUNT_IMPORTS = """
import contextlib, io, json, sys
from preflight.__main__ import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main([sys.argv[1]])
tops = sorted({m.split(".")[0] for m in sys.modules})
with open(sys.argv[2], "w") as out:
    json.dump({"exit": code, "modules": len(sys.modules), "sdks": [t for t in tops if t.startswith("pulumi_")]}, out)
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


@dataclass
class Result:
    stack: str
    seconds: list[float]
    peak_rss_kib: int
    failures: list[str]
    modules: int
    sdks: list[str]
    review_seconds: float
    """Rendering every release and validating every object, once, in a fresh process (the chart caches as found)."""
    rendered: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def cloud_sdks(self) -> list[str]:
        return [s for s in self.sdks if s in CLOUD_SDKS]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(engine.PROJECT_DIR)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _spawn(argv: list[str], stderr_path: str) -> tuple[float, int, int]:
    """Run one child with its output discarded; return (wall seconds, exit code, peak RSS in KiB)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, _env(), file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux.
    return elapsed, os.waitstatus_to_exitcode(status), int(usage.ru_maxrss)


def bench(stack: str, runs: int) -> Result:
    seconds: list[float] = []
    failures: list[str] = []
    peak = 0
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        err = str(Path(tmp) / "stderr")
        for _ in range(runs):
            elapsed, code, rss = _spawn([sys.executable, "-m", "preflight", stack], err)
            peak = max(peak, rss)
            if code == 0:
                seconds.append(elapsed)
            else:
                first = (Path(err).read_text().strip().splitlines() or [""])[0]
                failures.append(f"exit {code}: {first}")
        report = Path(tmp) / "imports.json"
        _, code, _ = _spawn([sys.executable, "-c", _COUNT_IMPORTS, stack, str(report)], err)
        counted = json.loads(report.read_text()) if code == 0 and report.is_file() else {}
        timed = Path(tmp) / "review.json"
        _, code, _ = _spawn([sys.executable, "-c", _TIME_REVIEW, stack, str(timed)], err)
        review = json.loads(timed.read_text()) if code == 0 and timed.is_file() else {}
    return Result(
        stack,
        seconds,
        peak,
        failures,
        int(counted.get("modules", 0)),
        list(counted.get("sdks", [])),
        float(review.get("seconds", float("nan"))),
        int(review.get("objects", 0)),
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and base == base and value == value else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.preflight_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per stack (default: 5)")
    parser.add_argument("stacks", nargs="*", help="stacks to plan (default: every stack in stacks/)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    known = stackconfig.stacks(engine.PROJECT_DIR)
    stacks = args.stacks or known
    unknown = [s for s in stacks if s not in known]
    if unknown:
        parser.error(f"unknown stack(s) {', '.join(unknown)}; stacks: {', '.join(known)}")
    order = ["dev", *[s for s in stacks if s != "dev"]] if "dev" in known else stacks

    results = []
    for stack in order:
        print(f"planning {stack} x{args.runs} ...", file=sys.stderr, flush=True)
        results.append(bench(stack, args.runs))
    base = next((r for r in results if r.stack == "dev"), None)

    header = (
        f"{'stack':<12} {'runs':>4} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13} "
        f"{'time/dev':>9} {'RSS/dev':>8} {'modules':>8} {'render+validate s':>18} {'objects':>8}  provider SDKs"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        rss_mib = r.peak_rss_kib / 1024
        fastest = min(r.seconds) if r.seconds else float("nan")
        print(
            f"{r.stack:<12} {len(r.seconds):>4} {r.median:>9.2f} {fastest:>7.2f} {rss_mib:>13.1f} "
            f"{_ratio(r.median, base.median) if base else '-':>9} "
            f"{_ratio(r.peak_rss_kib, base.peak_rss_kib) if base else '-':>8} "
            f"{r.modules:>8} {r.review_seconds:>18.2f} {r.rendered:>8}  {', '.join(r.sdks) or 'none'}"
        )
        print(f"{'':<12} cloud SDKs imported: {', '.join(r.cloud_sdks) or 'none'}")
        for failure in r.failures:
            print(f"{'':<12} failed run: {failure}")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
