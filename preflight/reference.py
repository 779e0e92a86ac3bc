"""CRDs of APIs no pinned chart installs, read from the mirror's `reference/` directory when it holds them.

Cluster API's CRDs come with the management cluster (a vSphere Supervisor, a `clusterctl init`), not with
a chart the program installs, so the chart mirror cannot supply them. Each is listed here with the upstream
file it must be, byte for byte; the files themselves are third-party and never part of this repository.
Present, an object of its kind is validated like any custom resource (schema and CEL); absent, the object
is reported as not validated against its CRD, with the file to add, and only the target's own structural
rules (`preflight/rejects/<key>.py`) apply.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from preflight.mirror import mirror_dir

REFERENCE_ENV = "ORQUESTRA_REFERENCE_DIR"


@dataclass(frozen=True)
class ReferenceCrd:
    file: str
    """Its name in the reference directory."""
    repo: str
    tag: str
    commit: str
    path: str
    blob: str
    """The upstream file's git blob id at `tag`: what the mirror's copy must hash to (`git hash-object`)."""
    kinds: tuple[tuple[str, str, str], ...]
    """(group, version, kind) the program registers that this CRD serves."""

    @property
    def source(self) -> str:
        return f"{self.repo} {self.tag} {self.path} (blob {self.blob})"


CRDS: tuple[ReferenceCrd, ...] = (
    # Cluster API v1.10: the last minor whose storage version is v1beta1, the version vSphere with Tanzu's
    # TKG Service documents for `Cluster` with a ClusterClass topology (ClusterClass API v1beta1:
    # https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-69E52B31-6DEC-412D-B60E-FE733156F708.html).
    ReferenceCrd(
        file="cluster-api-v1.10.10-cluster.x-k8s.io_clusters.yaml",
        repo="kubernetes-sigs/cluster-api",
        tag="v1.10.10",
        commit="5757c1c5ddd28861d933277f10fda3aa98538883",
        path="config/crd/bases/cluster.x-k8s.io_clusters.yaml",
        blob="2694d431cf0234b2a72b7a675737c39d21233754",
        kinds=(("cluster.x-k8s.io", "v1beta1", "Cluster"),),
    ),
)


def reference_dir() -> Path:
    """`ORQUESTRA_REFERENCE_DIR`, else the chart mirror's `reference/`."""
    given = os.environ.get(REFERENCE_ENV)
    return Path(given).expanduser() if given else mirror_dir() / "reference"


@cache
def _read(path: Path) -> Mapping[str, Any] | None:
    doc = yaml.safe_load(path.read_text())
    return doc if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition" else None


def available() -> Iterator[tuple[ReferenceCrd, Mapping[str, Any]]]:
    """Each listed CRD the reference directory holds, with its document."""
    where = reference_dir()
    for ref in CRDS:
        path = where / ref.file
        doc = _read(path) if path.is_file() else None
        if doc is not None:
            yield ref, doc


def missing() -> dict[tuple[str, str, str], ReferenceCrd]:
    """(group, version, kind) -> the listed CRD that would serve it, for each one the directory lacks."""
    present = {ref.file for ref, _ in available()}
    return {kind: ref for ref in CRDS if ref.file not in present for kind in ref.kinds}
