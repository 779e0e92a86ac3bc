"""On-prem k3s: VMs on Proxmox or vSphere and the `command:remote:Command`s that install k3s."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pulumi_policy import Severity

from policies.rules.base import (
    Case,
    Context,
    Finding,
    Resource,
    Rule,
    StackCase,
    StackCheck,
    Unknown,
    supported_version,
    versions_config,
)

COMMAND = "command:remote:Command"
PROXMOX_VM = "proxmoxve:index/vm:Vm"
PROXMOX_VM_LEGACY = "proxmoxve:index/vmLegacy:VmLegacy"
VSPHERE_VM = "vsphere:index/virtualMachine:VirtualMachine"

_INSTALLER = re.compile(r"get\.k3s\.io|k3s-install|install\.sh")
_PINNED = re.compile(r"INSTALL_K3S_VERSION=['\"]?(?P<version>v1\.\d+\.\d+\+k3s\d+)")


def _script(r: Resource) -> str:
    """The command lines, with the command's environment written as `KEY=value` (the installer reads both)."""
    env = r.get("environment") or {}
    lines = [f"{k}={v}" for k, v in env.items()] if isinstance(env, dict) else []
    return "\n".join([*lines, *(str(r.get(k) or "") for k in ("create", "update"))])


def _installs_server(text: str) -> bool:
    return bool(_INSTALLER.search(text)) and "K3S_URL=" not in text and " agent" not in text


def _pinned(r: Resource, ctx: Context) -> Iterator[str]:
    text = _script(r)
    if _INSTALLER.search(text) and not _PINNED.search(text):
        yield (
            "the k3s installer runs without INSTALL_K3S_VERSION=v1.X.Y+k3sN: "
            "every node must get the same pinned version"
        )


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    text = _script(r)
    if not _INSTALLER.search(text):
        return
    pinned = _PINNED.search(text)
    yield from supported_version(pinned.group("version") if pinned else None, "INSTALL_K3S_VERSION", ctx)


def _network_policy(r: Resource, ctx: Context) -> Iterator[str]:
    text = _script(r)
    if _INSTALLER.search(text) and "--disable-network-policy" in text and "--flannel-backend=none" not in text:
        yield "k3s runs with --disable-network-policy and no replacement CNI: NetworkPolicy objects do nothing"


def _server_flag(flag: str, what: str) -> StackCheck:
    def check(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
        scripts: list[tuple[Resource, str]] = []
        unknown: Unknown | None = None
        for r in (r for r in resources if r.type == COMMAND):
            try:
                scripts.append((r, _script(r)))
            except Unknown as exc:
                unknown = unknown or exc.about(r)
        # The flag may sit in the install line or in a config file written by an earlier command.
        if any(flag in text for _, text in scripts):
            return
        for server, _ in (pair for pair in scripts if _installs_server(pair[1])):
            if unknown is not None:
                yield unknown, server.urn
            else:
                yield f"k3s servers run without {flag} ({what})", server.urn

    return check


def _vm_protection(r: Resource, ctx: Context) -> Iterator[str]:
    if not ctx.prod or r.protect:
        return
    # Only the legacy Proxmox VM resource exposes Proxmox's own protection flag.
    if r.type == PROXMOX_VM_LEGACY and r.get("protection") is True:
        return
    yield "a prod cluster VM needs the protect resource option"


RULES = [
    Rule(
        "onprem-k3s-pinned",
        "The k3s installer is pinned to an exact version.",
        "baseline",
        (COMMAND,),
        _pinned,
        severity=Severity.HIGH,
    ),
    Rule(
        "onprem-supported-version",
        "k3s runs a supported Kubernetes version.",
        "baseline",
        (COMMAND,),
        _version,
        config=versions_config("onprem"),
    ),
    Rule(
        "onprem-network-policy",
        "k3s keeps its NetworkPolicy controller (or replaces the CNI).",
        "hardening",
        (COMMAND,),
        _network_policy,
    ),
    Rule(
        "onprem-secrets-encryption",
        "k3s servers encrypt secrets at rest.",
        "hardening",
        stack_check=_server_flag("secrets-encryption", "secrets at rest in plain text"),
        severity=Severity.HIGH,
    ),
    Rule(
        "onprem-audit-logging",
        "k3s servers write an API audit log.",
        "hardening",
        stack_check=_server_flag("audit-log-path", "no API audit log"),
    ),
    Rule(
        "onprem-vm-deletion-protection",
        "Prod cluster VMs are protected from deletion.",
        "lockdown",
        (PROXMOX_VM, PROXMOX_VM_LEGACY, VSPHERE_VM),
        _vm_protection,
        severity=Severity.HIGH,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

CASES: dict[str, Case] = {
    "onprem-k3s-pinned": Case(
        COMMAND,
        {"create": "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.35.1+k3s1 sh -s - server"},
        {"create": "curl -sfL https://get.k3s.io | sh -s - server"},
        "INSTALL_K3S_VERSION",
    ),
    "onprem-vm-deletion-protection": Case(PROXMOX_VM_LEGACY, {"protection": True}, {"protection": False}, "protect"),
    "onprem-supported-version": Case(
        COMMAND,
        {
            "create": "curl -sfL https://get.k3s.io | sh -s - server",
            "environment": {"INSTALL_K3S_VERSION": "v1.35.1+k3s1"},
        },
        {"create": "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.29.4+k3s1 sh -s - server"},
        "v1.29.4+k3s1",
    ),
    "onprem-network-policy": Case(
        COMMAND,
        {"create": "curl -sfL https://get.k3s.io | sh -s - server --flannel-backend=none --disable-network-policy"},
        {"create": "curl -sfL https://get.k3s.io | sh -s - server --disable-network-policy"},
        "NetworkPolicy",
    ),
}

STACK_CASES: dict[str, StackCase] = {
    "onprem-secrets-encryption": StackCase(
        [(COMMAND, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server --secrets-encryption"})],
        [(COMMAND, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"})],
        "secrets-encryption",
    ),
    "onprem-audit-logging": StackCase(
        [
            (
                COMMAND,
                "config",
                {"create": "printf 'kube-apiserver-arg:\\n  - audit-log-path=/var/log/k3s-audit.log\\n'"},
            ),
            (COMMAND, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"}),
        ],
        [(COMMAND, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"})],
        "audit-log-path",
    ),
}
