"""How the program meets where it runs: secrets from stack config, and offline plans.

Secret values stay secret end to end. An encrypted config value can only be read with the stack's key. Offline plans
have no key, so preflight substitutes `UNKNOWN_SECRET`; it turns into an unknown,
secret Output here, which is exactly what `pulumi preview` shows for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import SecretStr

from components import stackfile

UNKNOWN_SECRET = "\x00orquestra:unknown-secret\x00"

OFFLINE_ENV = "ORQUESTRA_OFFLINE"
"""Set by preflight: plan without reading this machine's files (CI has no kubeconfig)."""


def secret_output(value: SecretStr | str) -> pulumi.Output[str]:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if text != UNKNOWN_SECRET:
        return pulumi.Output.secret(text)
    return _unknown_secret()


def _unknown_secret() -> pulumi.Output[str]:
    loop = asyncio.get_event_loop()

    def done(result: object) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = loop.create_future()
        fut.set_result(result)
        return fut

    return pulumi.Output(set(), done(None), done(False), done(True))  # type: ignore[arg-type]


def marked(value: Any, paths: Collection[stackfile.PathParts] = (), at: stackfile.PathParts = ()) -> Any:
    """`value` with the offline sentinel, and every leaf at one of `paths`, wrapped in SecretStr."""
    if (at in paths and isinstance(value, str)) or value == UNKNOWN_SECRET:
        return SecretStr(value)
    if isinstance(value, Mapping):
        return {k: marked(v, paths, (*at, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [marked(v, paths, (*at, i)) for i, v in enumerate(value)]
    return value


def _holds_sentinel(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_sentinel(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_sentinel(v) for v in value)
    return value == UNKNOWN_SECRET


def stack_file_secrets(project_dir: Path, stack: str, full_key: str) -> list[stackfile.PathParts]:
    """The `secure:` leaves of one key in a stack's file, read as the CLI read it; [] if it cannot be read."""
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
        stack_dir = project_dir / str(project.get("stackConfigDir", "."))
        found = stackfile.read(stack_dir / f"Pulumi.{stack}.yaml", f"Pulumi.{stack}.yaml", str(project["name"]))
    except (OSError, yaml.YAMLError, stackfile.StackFileError, KeyError, TypeError, AttributeError):
        return []
    return list(stackfile.secure_paths(found.config.get(full_key)))


def secret_leaves(values: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """A namespace's config with every secret leaf a SecretStr, the way the spec tells secrets apart.

    Offline, preflight put `UNKNOWN_SECRET` at each encrypted leaf. Under the
    CLI the values are decrypted and only the top-level key is flagged secret,
    so the stack file says which of its leaves were `secure:`. Config that comes
    from elsewhere (an ESC environment) names no leaf; then every env value of
    a secret `workloads` key is taken for a secret, and the spec's secret
    fields (kubeconfig, ssh.privateKey) are secret whatever they hold.
    """
    from pulumi.runtime.config import get_config_secret_keys_env, is_config_secret

    flagged = set(get_config_secret_keys_env())
    out: dict[str, Any] = {}
    for key, value in values.items():
        full = f"{namespace}:{key}"
        paths: list[stackfile.PathParts] = []
        if (is_config_secret(full) or full in flagged) and not _holds_sentinel(value):
            # The language host runs the program in the project directory.
            paths = stack_file_secrets(Path.cwd(), pulumi.get_stack(), full)
            if not paths and key == "workloads" and isinstance(value, list):
                paths = [
                    (i, "env", name)
                    for i, w in enumerate(value)
                    if isinstance(w, Mapping) and isinstance(w.get("env"), Mapping)
                    for name in w["env"]
                ]
        out[key] = marked(value, set(paths))
    return out
