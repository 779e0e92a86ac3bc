"""Which type tokens the installed provider SDKs declare, read from their source (no SDK is imported)."""

from __future__ import annotations

import re
import sysconfig
from functools import cache
from pathlib import Path

from components.targets import REGISTRY
from preflight import reference

# The SDKs the tests run with: wherever this interpreter installs packages (the project's .venv, or another).
_PURELIB = Path(sysconfig.get_paths()["purelib"])
SITE = _PURELIB if (_PURELIB / "pulumi").is_dir() else None
PACKAGES = {
    # What the workloads layer registers on every cluster.
    "kubernetes": "pulumi_kubernetes",
    **{package: module for target in REGISTRY.values() for package, module in target.sdks.items()},
}
"""Provider package (the first part of a type token) -> its Python SDK module."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def declared(token: str) -> bool:
    """Whether an installed SDK declares `token`, a resource type or an invoke.

    A custom resource of a target's own API groups (`Target.api_groups`) is declared by the upstream CRD
    `preflight/reference.py` lists for it instead: no SDK has a class of its own for it.
    """
    assert SITE is not None
    if token.startswith(tuple(f"kubernetes:{g}/" for t in REGISTRY.values() for g in t.api_groups)):
        return token in {f"kubernetes:{g}/{v}:{k}" for ref in reference.CRDS for g, v, k in ref.kinds}
    package, module, name = token.split(":")
    root = SITE / PACKAGES[package]
    segments = module.split("/")
    if package == "kubernetes":  # helm.sh/v3 -> helm/v3, core/v1 -> core/v1
        folder = root / segments[0].split(".")[0] / segments[1]
    else:  # eks/cluster -> eks/, index/vpc -> the package root, ContainerEngine/cluster -> containerengine/
        folder = root if segments[0] == "index" else root / segments[0].lower()
    candidates = [folder / f"{_snake(segments[-1])}.py", folder / f"{_snake(name)}.py", folder / f"{name}.py"]
    files = [c for c in candidates if c.is_file()] or sorted(folder.glob("*.py"))
    needles = (f'"{token}"', f"'{token}'")
    return any(n in f.read_text() for f in files for n in needles)
