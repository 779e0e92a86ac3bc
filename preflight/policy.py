"""Run the policy pack against a plan exactly as the Pulumi CLI runs it during `preview`.

The pack's `__main__.py` is started the way the engine starts a Python analyzer
plugin (`python -m pulumi.policy <engine> <pack dir>` with the stack's project,
name and config in `PULUMI_*`); it prints the port of its Analyzer gRPC server.
Preflight then does what the engine does: read the pack's metadata, reconcile
the `--policy-pack-config` document with it, `Configure`, `Analyze` each planned
resource and `AnalyzeStack` once with all of them. Secret inputs travel as secret
property values and unknowns as unknowns, so rules see what a real preview shows.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preflight.engine import PROJECT_DIR, UNKNOWN, Plan, Registration, Secret
from preflight.stackconfig import StackConfig

PACK_DIR = PROJECT_DIR / "policies"
STARTUP_SECONDS = 120.0
_LEVELS = analyzer_pb2.EnforcementLevel


class PolicyError(Exception):
    """The pack could not be started or configured; the message is one line."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """advisory, mandatory, remediate or disabled, as the pack reported it."""
    message: str
    urn: str
    resource: str
    """`type name` of the resource the violation is about, or "" for the stack."""

    def line(self) -> str:
        where = f" {self.resource}" if self.resource else ""
        return f"[{self.level}] {self.policy}{where}: {self.message}"


@dataclass(frozen=True)
class PolicyResult:
    pack: str
    config: Mapping[str, Mapping[str, Any]]
    """The reconciled config sent with `Configure`: policy -> {enforcementLevel, properties}."""
    violations: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]


def load_pack_config(spec: str, pack_dir: Path = PACK_DIR) -> dict[str, Any]:
    """`--policy-config`: an environment name (`prod` -> policies/config/prod.json) or a JSON file."""
    path = pack_dir / "config" / f"{spec}.json"
    if not path.is_file():
        path = Path(spec)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (pack_dir / "config").glob("*.json")))
        raise PolicyError(f"--policy-config: {spec!r} is neither an environment ({known}) nor a JSON file")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PolicyError(f"--policy-config: {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"--policy-config: {path}: expected an object of policy name -> config")
    return doc


def encode(value: Any) -> Any:
    """A preflight input value in the engine's wire form: secrets signed, unknowns as the unknown sentinel."""
    if isinstance(value, Secret):
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": encode(value.value)}
    if value is UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(encode(dict(value)))
    return out


def reconcile(info: Any, given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the CLI does with a pack config: schema defaults, then `all`, then each policy's own entry."""
    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        defaults = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        result[policy.name] = {
            "enforcementLevel": _LEVELS.Name(policy.enforcementLevel).lower(),
            "properties": defaults,
        }

    def level_of(entry: Any) -> str | None:
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel") if isinstance(entry, dict) else None
        if level is not None and level.upper() not in set(_LEVELS.keys()):
            raise PolicyError(
                f"--policy-config: enforcement level {level!r} is not one of advisory, mandatory, disabled"
            )
        return level

    all_level = level_of(given.get("all", {}))
    if all_level:
        for entry in result.values():
            entry["enforcementLevel"] = all_level
    for name, entry in given.items():
        if name == "all":
            continue
        if name not in result:
            raise PolicyError(f"--policy-config: {name!r} is not a policy of pack {info.name!r}")
        level = level_of(entry)
        if level:
            result[name]["enforcementLevel"] = level
        if isinstance(entry, dict):
            result[name]["properties"].update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return result


def _runtime_config(config: StackConfig) -> dict[str, str]:
    """Stack config as the engine hands it to a pack.

    Encrypted leaves are already placeholders here (preflight has no key), so keys that hold a
    secret keep their readable structure, such as each cluster's kubernetesVersion.
    """
    return config.for_runtime()


@contextmanager
def serve(config: StackConfig, pack_dir: Path = PACK_DIR) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the pack as the engine would and yield a connected Analyzer stub; stop it afterwards."""
    env = {
        **os.environ,
        "PULUMI_PROJECT": config.project,
        "PULUMI_STACK": config.stack,
        "PULUMI_ORGANIZATION": "organization",
        "PULUMI_DRY_RUN": "true",
        "PULUMI_CONFIG": json.dumps(_runtime_config(config)),
    }
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            # The engine passes its own address first; nothing in the pack dials it during analysis.
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
            cwd=pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
        )
        channel: grpc.Channel | None = None
        try:
            port = _read_port(proc, errors)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=STARTUP_SECONDS)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            if channel is not None:
                channel.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _read_port(proc: subprocess.Popen[bytes], errors: Any) -> int:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=STARTUP_SECONDS)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if line.isdigit():
        return int(line)
    proc.kill()
    proc.wait()
    errors.seek(0)
    tail = [t for t in errors.read().decode(errors="replace").splitlines() if t.strip()][-1:]
    reason = tail[0] if tail else f"no port printed within {STARTUP_SECONDS:.0f}s"
    raise PolicyError(f"policy pack did not start: {reason}")


def _provider(plan: Plan, reg: Registration) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not reg.provider:
        return None
    urn = reg.provider.rsplit("::", 1)[0]
    found = [r for r in plan.registrations if r.urn == urn]
    if not found:
        return None
    prov = found[0]
    return analyzer_pb2.AnalyzerProviderResource(
        type=prov.type, properties=_struct(prov.inputs), urn=prov.urn, name=prov.name
    )


def _options(reg: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=reg.protect,
        ignoreChanges=reg.ignore_changes,
        deleteBeforeReplace=reg.delete_before_replace,
        deleteBeforeReplaceDefined=True,
        additionalSecretOutputs=reg.additional_secret_outputs,
        parent=reg.parent,
    )


def _analyzed(reg: Registration) -> bool:
    return reg.type != "pulumi:pulumi:Stack" and not reg.type.startswith("pulumi:providers:")


def analyze(plan: Plan, config: StackConfig, pack_config: Mapping[str, Any], pack_dir: Path = PACK_DIR) -> PolicyResult:
    """Every diagnostic the pack reports for the plan, with `pack_config` applied as `--policy-pack-config` would."""
    by_urn = {r.urn: r for r in plan.registrations}
    violations: list[Violation] = []

    def collect(response: Any, default_urn: str = "") -> None:
        for d in response.diagnostics:
            urn = d.urn or default_urn
            reg = by_urn.get(urn)
            message = d.message.removeprefix(d.description).strip() or d.description
            violations.append(
                Violation(
                    policy=d.policyName,
                    level=_LEVELS.Name(d.enforcementLevel).lower(),
                    message=message,
                    urn=urn,
                    resource=f"{reg.type} {reg.name}" if reg else "",
                )
            )

    try:
        with serve(config, pack_dir) as stub:
            info = stub.GetAnalyzerInfo(empty_pb2.Empty())
            reconciled = reconcile(info, pack_config)
            stub.Configure(
                analyzer_pb2.ConfigureAnalyzerRequest(
                    policyConfig={
                        name: analyzer_pb2.PolicyConfig(
                            enforcementLevel=_LEVELS.Value(entry["enforcementLevel"].upper()),
                            properties=_struct(entry["properties"]),
                        )
                        for name, entry in reconciled.items()
                    }
                )
            )
            stub.ConfigureStack(
                analyzer_pb2.AnalyzerStackConfigureRequest(
                    stack=config.stack, project=config.project, organization="organization", dry_run=True
                )
            )
            resources = [r for r in plan.registrations if _analyzed(r)]
            for reg in (r for r in resources if r.custom):
                request = analyzer_pb2.AnalyzeRequest(
                    type=reg.type,
                    properties=_struct(reg.inputs),
                    urn=reg.urn,
                    name=reg.name,
                    options=_options(reg),
                    provider=_provider(plan, reg),
                )
                collect(stub.Analyze(request), reg.urn)
            for request, subject, release_urn in _rendered(plan):
                found = len(violations)
                collect(stub.Analyze(request))
                violations[found:] = [_chart_finding(plan, v, release_urn, subject) for v in violations[found:]]
            stack = analyzer_pb2.AnalyzeStackRequest(
                resources=[
                    analyzer_pb2.AnalyzerResource(
                        type=reg.type,
                        properties=_struct(reg.inputs),
                        urn=reg.urn,
                        name=reg.name,
                        options=_options(reg),
                        provider=_provider(plan, reg),
                        parent=reg.parent,
                        dependencies=reg.dependencies,
                        propertyDependencies={
                            k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                            for k, v in reg.property_dependencies.items()
                        },
                    )
                    for reg in resources
                ]
            )
            collect(stub.AnalyzeStack(stack))
    except grpc.RpcError as exc:
        raise PolicyError(f"policy pack failed: {exc.details() if hasattr(exc, 'details') else exc}") from None
    return PolicyResult(pack=info.name, config=reconciled, violations=violations)


# The kinds the pack's Kubernetes rules read one by one (policies/rules/kubernetes.py: workloads and Services).
_RENDERED_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Service"}
)


def _rendered(plan: Plan) -> Iterator[tuple[analyzer_pb2.AnalyzeRequest, str, str]]:
    """The objects Helm renders for each release, as the pack would see them if the program registered them."""
    from preflight.admission import object_name, review

    for release in review(plan).releases():
        for obj in release.installed:
            if obj.get("kind") not in _RENDERED_KINDS:
                continue
            group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
            type_ = f"kubernetes:{group or 'core'}/{version}:{obj.get('kind')}"
            name = object_name(obj)
            reg = release.registration
            yield (
                analyzer_pb2.AnalyzeRequest(
                    type=type_,
                    properties=_struct(obj),
                    urn=f"{reg.urn}${type_}::{name}",
                    name=name,
                    options=analyzer_pb2.AnalyzerResourceOptions(parent=reg.urn),
                    provider=_provider(plan, reg),
                ),
                f"{release.subject}: {name}",
                reg.urn,
            )


def _chart_finding(plan: Plan, v: Violation, release_urn: str, subject: str) -> Violation:
    """A finding in a chart's own objects: the pack's level when the program's values can fix it, else advisory."""
    from preflight.admission import values_fix

    object_name = subject.split(": ", 1)[1]
    fix = values_fix(plan, release_urn, object_name, v.policy)
    if fix:
        return Violation(v.policy, v.level, f"{v.message} (in the chart's objects; {fix} can fix it)", v.urn, subject)
    level = "advisory" if v.level == "mandatory" else v.level
    return Violation(v.policy, level, f"{v.message} (in the chart's objects)", v.urn, subject)


__all__ = ["PolicyError", "PolicyResult", "Violation", "analyze", "load_pack_config"]
