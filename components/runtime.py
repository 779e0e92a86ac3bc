"""How the program meets where it runs: secrets from stack config, and offline plans.

Secret values stay secret end to end. An encrypted config value can only be read with the stack's key. Offline plans
have no key, so preflight substitutes `UNKNOWN_SECRET`; it turns into an unknown,
secret Output here, which is exactly what `pulumi preview` shows for it.
"""

from __future__ import annotations

import asyncio

import pulumi
from pydantic import SecretStr

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
