"""Where the pinned chart archives are read from: an offline mirror, else a per-user cache.

Preflight and the tests render every chart the program installs, at the version it
pins, with no network. The archives are never part of this repository. They come from
the directory `ORQUESTRA_CHART_MIRROR` names; without it, from `../shared/charts`
beside the project when that exists (development machines and CI have one there, with
an `index.json` recording each archive's upstream repository, tag and commit); else
from a per-user cache that `make charts` (`python -m preflight.mirror`) fills from the
charts' own Helm repositories and OCI registries on a machine with network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

from components.workloads.charts import ALL, Chart
from preflight import caches

MIRROR_ENV = "ORQUESTRA_CHART_MIRROR"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class ChartMissing(Exception):
    """A pinned chart version whose archive is in neither the mirror nor the cache; the message names it."""


def cache_dir() -> Path:
    return caches.root() / "charts"


def mirror_dir() -> Path:
    """The directory archives are read from, by the precedence in this module's docstring."""
    given = os.environ.get(MIRROR_ENV)
    if given:
        return Path(given).expanduser()
    shared = PROJECT_DIR.parent / "shared" / "charts"
    return shared if shared.is_dir() else cache_dir()


def archive(chart: Chart) -> Path:
    """The pinned archive of `chart`; raises ChartMissing naming the chart, its version and the directory."""
    where = mirror_dir()
    path = where / chart.archive
    if not path.is_file():
        raise ChartMissing(
            f"chart {chart.key} {chart.version} is not in the chart mirror {where} (no {chart.archive}); "
            f"add it there, or run `make charts` on a machine with network"
        )
    return path


def _repository_digest(chart: Chart) -> str | None:
    """The digest a Helm repository's index publishes for this chart version (None for OCI charts)."""
    if chart.repo is None:
        return None
    with urllib.request.urlopen(chart.repo.rstrip("/") + "/index.yaml", timeout=60) as response:
        index = yaml.safe_load(response.read())
    for entry in index.get("entries", {}).get(chart.chart, []):
        if str(entry.get("version")) == chart.version:
            digest = entry.get("digest")
            return f"sha256:{digest}" if digest and not str(digest).startswith("sha256:") else digest
    raise ChartMissing(f"chart {chart.key} {chart.version}: not listed in {chart.repo.rstrip('/')}/index.yaml")


def fetch(chart: Chart, destination: Path) -> Path:
    """Download one pinned chart from its own repository into `destination` as `<key>-<version>.tgz`.

    The archive must match the digest its Helm repository's index publishes (and the
    table's own digest when it pins one); an OCI pull is checked by its manifest digest.
    """
    import helm_python as helm

    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="orquestra-chart-") as tmp:
        helm.pull(chart.chart, destination=tmp, version=chart.version, repo_url=chart.repo)
        (pulled,) = Path(tmp).glob("*.tgz")
        digest = helm.digest(pulled)
        expected = [d for d in (_repository_digest(chart), chart.digest) if d]
        if any(d != digest for d in expected):
            raise ChartMissing(f"chart {chart.key} {chart.version}: digest {digest} is not the published {expected}")
        target = destination / chart.archive
        shutil.move(str(pulled), target)
    print(f"{chart.key} {chart.version}: {target} ({digest})")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.mirror", description=fetch.__doc__)
    parser.add_argument("--into", type=Path, default=None, help="directory to fill (default: the chart mirror)")
    args = parser.parse_args(argv)
    into = args.into or mirror_dir()
    failed = 0
    for chart in ALL.values():
        if (into / chart.archive).is_file():
            print(f"{chart.key} {chart.version}: already in {into}")
            continue
        try:
            fetch(chart, into)
        except Exception as exc:  # one line per chart that could not be had, never a traceback
            print(f"{chart.key} {chart.version}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
