"""Read a stack's configuration the way the Pulumi CLI would hand it to the program.

The mock engine applies neither `Pulumi.yaml` defaults nor stack files, so this
does: project defaults first, then `stacks/Pulumi.<stack>.yaml`, read as strictly
as the CLI reads it (`components.stackfile`). Encrypted (`secure:`) values cannot
be read without the stack's key; they become `UNKNOWN_SECRET`, which the program
turns into unknown secret Outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.runtime import UNKNOWN_SECRET
from components.stackfile import StackFile, StackFileError, read


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, Any]
    """Full keys (`orquestra:clusters`) to plain values, as YAML gives them."""
    secret_keys: list[str]
    source: StackFile | None = None
    """The stack file the values came from, to name the line of a problem; None for a config built in code."""

    def for_runtime(self) -> dict[str, str]:
        """Values as the language host passes them: strings, structured ones as JSON."""
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.values.items()}

    def namespace(self, name: str) -> dict[str, Any]:
        prefix = f"{name}:"
        return {k.removeprefix(prefix): v for k, v in self.values.items() if k.startswith(prefix)}


class StackNotFound(Exception):
    pass


def _unsecure(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` leaves; report whether any were found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return UNKNOWN_SECRET, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], f = _unsecure(v)
            found = found or f
        return out, found
    if isinstance(value, list):
        pairs = [_unsecure(v) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


# "Stack names may only contain alphanumeric characters, hyphens, underscores, or periods"
# (https://www.pulumi.com/docs/iac/concepts/stacks/); anything else could also name a file outside stacks/.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}", re.ASCII)


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _project(project_dir: Path) -> dict[str, Any]:
    try:
        project = yaml.load((project_dir / "Pulumi.yaml").read_text(), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        raise StackFileError([f"Pulumi.yaml: cannot be read ({type(exc).__name__})"]) from None
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise StackFileError(["Pulumi.yaml: not a project file; allowed: a mapping with a name: key"])
    return project


def load(project_dir: Path, stack: str) -> StackConfig:
    """The config a stack gives the program; StackFileError lists every problem of a broken stack file."""
    project = _project(project_dir)
    name = project["name"]
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif not isinstance(decl, dict):
            values[full] = decl
    stack_dir = project_dir / str(project.get("stackConfigDir", "."))
    if not _STACK_NAME.fullmatch(stack):
        raise StackNotFound(f"'{stack[:60]}' is not a stack name (letters, digits, '-', '_' and '.')")
    path = stack_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFound(f"no stack '{stack}': {path} does not exist (stacks: {', '.join(stacks(project_dir))})")
    display = str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)
    source = read(path, display, name)
    secret_keys: list[str] = []
    for full, value in source.config.items():
        values[full], secret = _unsecure(value)
        if secret:
            secret_keys.append(full)
    return StackConfig(project=name, stack=stack, values=values, secret_keys=secret_keys, source=source)


def from_values(orquestra: dict[str, Any], stack: str = "test", extra: dict[str, Any] | None = None) -> StackConfig:
    """A stack config built in code (tests): the `orquestra:` keys plus any other full keys."""
    values: dict[str, Any] = {"orquestra:environment": "dev"}
    values.update({f"orquestra:{k}": v for k, v in orquestra.items()})
    values.update(extra or {})
    secret_keys: list[str] = []
    for key, value in list(values.items()):
        values[key], secret = _unsecure(value)
        if secret:
            secret_keys.append(key)
    return StackConfig(project="orquestra", stack=stack, values=values, secret_keys=secret_keys)


def stacks(project_dir: Path) -> list[str]:
    stack_dir = project_dir / str(_project(project_dir).get("stackConfigDir", "."))
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stack_dir.glob("Pulumi.*.yaml"))
