"""Read a stack's configuration the way the Pulumi CLI would hand it to the program.

The mock engine applies neither `Pulumi.yaml` defaults nor stack files, so this
does: project defaults first, then `stacks/Pulumi.<stack>.yaml`. Encrypted
(`secure:`) values cannot be read without the stack's key; they become
`UNKNOWN_SECRET`, which the program turns into unknown secret Outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.runtime import UNKNOWN_SECRET


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, Any]
    """Full keys (`orquestra:clusters`) to plain values, as YAML gives them."""
    secret_keys: list[str]

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


def load(project_dir: Path, stack: str) -> StackConfig:
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    name = project["name"]
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif not isinstance(decl, dict):
            values[full] = decl
    stack_dir = project_dir / project.get("stackConfigDir", ".")
    path = stack_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stack_dir.glob("Pulumi.*.yaml"))
        raise StackNotFound(f"no stack '{stack}': {path} does not exist (stacks: {', '.join(known)})")
    doc = yaml.safe_load(path.read_text()) or {}
    secret_keys: list[str] = []
    for key, value in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        values[full], secret = _unsecure(value)
        if secret:
            secret_keys.append(full)
    return StackConfig(project=name, stack=stack, values=values, secret_keys=secret_keys)


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
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    stack_dir = project_dir / project.get("stackConfigDir", ".")
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stack_dir.glob("Pulumi.*.yaml"))
