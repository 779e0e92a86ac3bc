"""The small framework every rule is written in.

A rule is a plain function over a `Resource` (or over all resources of the stack)
that yields one message per violation. `Rule.policy()` turns it into a
pulumi-policy `ResourceValidationPolicy` / `StackValidationPolicy`, so the same
function runs under `pulumi preview --policy-pack`, in preflight and in tests.

Values that are unknown during preview are never taken as passing: reading one
raises `Unknown`, which the policy SDK reports as an advisory diagnostic saying
which property could not be checked.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, TypeAlias

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)
from pulumi_policy.secret import Secret

Environment: TypeAlias = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")
Level: TypeAlias = Literal["advisory", "mandatory", "disabled"]

# How strict a rule is in each environment (dev, staging, prod).
Tier: TypeAlias = Literal["baseline", "hardening", "lockdown", "advice"]
TIERS: Mapping[Tier, tuple[Level, Level, Level]] = {
    # Never acceptable anywhere: a world-open API, unpinned software, host access.
    "baseline": ("mandatory", "mandatory", "mandatory"),
    # Defence in depth: staging rehearses prod, dev only warns.
    "hardening": ("advisory", "mandatory", "mandatory"),
    # Production lock-down: private endpoints, deletion protection, high availability.
    "lockdown": ("advisory", "advisory", "mandatory"),
    # Good practice worth a warning, never a blocker.
    "advice": ("advisory", "advisory", "advisory"),
}

_UNKNOWNS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)

_MISSING: Any = object()


class Unknown(UnknownValueError):
    """A property the rule needs is not known until the update; the rule cannot pass or fail it."""

    def __init__(self, path: str) -> None:
        Exception.__init__(self, path)
        self.unknown_type_sentinel = UNKNOWN_STRING_VALUE
        self.props = path.split(".")
        self.path = path
        self.message = f"cannot be checked during preview: {path} is unknown"

    def __str__(self) -> str:
        return self.message

    def about(self, resource: Resource) -> Unknown:
        """The same, naming the resource (stack rules report one diagnostic for the whole stack)."""
        out = Unknown(self.path)
        out.message = f"{self.message} ({resource.type.rsplit(':', 1)[-1]} {resource.name})"
        return out


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWNS


class TypedPolicy(ResourceValidationPolicy):
    """A resource policy that can say which resource types it reports on.

    Its validation does nothing for any other type (`Rule._validate_resource` returns
    first thing), so an analyzer may skip calling it there with the same result; the
    engine's own servicer ignores `applies_to` and calls it for every resource.
    """

    def __init__(self, applies_to: Callable[[str], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.applies_to = applies_to


def plain(value: Any) -> Any:
    """Unwrap the SDK's proxies and secret markers into plain dicts and lists (unknowns kept).

    Numbers cross the wire as doubles; integral ones become ints again so that
    `runAsUser: 1000` compares, prints and validates as the manifest wrote it.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Secret):
        return plain(value.value)
    if _is_proxy(value):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def secret_paths(value: Any, path: str = "") -> Iterator[str]:
    """The dotted paths of the values the program marked secret: what `plain` unwraps, a rule may need to see."""
    while _is_proxy(value):
        value = value["__target"]
    if isinstance(value, Secret):
        yield path
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from secret_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from secret_paths(v, f"{path}.{i}" if path else str(i))


def _is_proxy(value: Any) -> bool:
    return type(value).__name__ in {"_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"}


def first_unknown(value: Any, path: str) -> str | None:
    if is_unknown(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            found = first_unknown(v, f"{path}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = first_unknown(v, f"{path}[{i}]")
            if found:
                return found
    return None


@dataclass(frozen=True)
class Node:
    """A read-only view of (part of) a resource's inputs that knows its own path."""

    value: Any
    path: str = ""

    def _walk(self, key: str) -> tuple[Any, str]:
        cur, path = self.value, self.path
        for part in key.split(".") if key else []:
            if is_unknown(cur):
                raise Unknown(path)
            path = f"{path}.{part}" if path else part
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                return _MISSING, path
        return cur, path

    def get(self, key: str, default: Any = None) -> Any:
        """The value at a dotted path; `default` when absent; `Unknown` if any part of it is unknown."""
        value, path = self._walk(key)
        if value is _MISSING or value is None:
            return default
        found = first_unknown(value, path)
        if found:
            raise Unknown(found)
        return value

    def present(self, key: str) -> bool:
        """Whether the path is set at all; an unknown value counts as set (it will be, after the update)."""
        try:
            value, _ = self._walk(key)
        except Unknown:
            return True
        return value is not _MISSING and value is not None and value != ""

    def node(self, key: str) -> Node:
        value, path = self._walk(key)
        if is_unknown(value):
            raise Unknown(path)
        return Node(None if value is _MISSING else value, path)

    def each(self, key: str) -> list[Node]:
        """The elements of a list (a lone object counts as a list of one); absent is empty."""
        value, path = self._walk(key)
        if value is _MISSING or value is None:
            return []
        if is_unknown(value):
            raise Unknown(path)
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]" if isinstance(value, list) else path
            if is_unknown(item):
                raise Unknown(item_path)
            out.append(Node(item, item_path))
        return out

    def __bool__(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Resource:
    """What a rule sees of one resource: the same for a real preview, preflight and tests."""

    type: str
    name: str
    urn: str
    props: Node
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    provider_name: str = ""
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    secrets: frozenset[str] = frozenset()
    """What is secret in the plan: the resource's `additionalSecretOutputs` (top-level names, the engine's view in
    every path) and the inputs that arrive marked secret (`secret_paths`; pulumi-policy's validation drops the
    marks, remediation and direct calls keep them). `props` holds the values unwrapped."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    def secret(self, key: str) -> bool:
        """Whether the input at a dotted path is a secret in the plan (itself or inside a secret parent)."""
        parts = key.split(".")
        return any(".".join(parts[:n]) in self.secrets for n in range(1, len(parts) + 1))


@dataclass(frozen=True)
class Context:
    """The environment and this rule's config, defaults applied."""

    environment: Environment
    config: Mapping[str, Any]
    stack_config: Mapping[str, Any]

    @property
    def prod(self) -> bool:
        return self.environment == "prod"


Check: TypeAlias = Callable[[Resource, Context], Iterable[str]]
Finding: TypeAlias = tuple[str | Unknown, str]
StackCheck: TypeAlias = Callable[[Sequence[Resource], Context], Iterable[Finding]]
"""Yields (message, urn of the offending resource); an `Unknown` instead of a message when it cannot tell."""


def per_resource(resources: Iterable[Resource], check: Callable[[Resource], Iterable[str]]) -> Iterator[Finding]:
    """Run `check` on each resource so that one unknown value only leaves that resource unjudged."""
    for r in resources:
        try:
            for message in check(r):
                yield message, r.urn
        except Unknown as exc:
            yield exc.about(r), r.urn


def stack_config() -> Mapping[str, Any]:
    """The stack's config as the engine hands it to a policy pack (`PULUMI_CONFIG`), JSON values decoded."""
    return _decode_config(os.environ.get("PULUMI_CONFIG", ""))


@functools.lru_cache(maxsize=4)
def _decode_config(raw: str) -> Mapping[str, Any]:
    try:
        values = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
        except json.JSONDecodeError:
            out[key] = value
    return MappingProxyType(out)


def stack_environment(config: Mapping[str, Any] | None = None) -> Environment:
    env = (stack_config() if config is None else config).get("orquestra:environment", "dev")
    return env if env in ENVIRONMENTS else "dev"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    tier: Tier
    types: tuple[str, ...] = ()
    check: Check | None = None
    stack_check: StackCheck | None = None
    severity: Severity = Severity.MEDIUM
    remediation: str = ""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Extra config properties (JSON schema, with defaults) besides `environment`."""
    matches: Callable[[str], bool] | None = None
    """Selects resource types by a predicate instead of listing them in `types`."""

    def applies_to(self, type_: str) -> bool:
        return type_ in self.types or (self.matches is not None and self.matches(type_))

    def level(self, environment: Environment) -> Level:
        return TIERS[self.tier][ENVIRONMENTS.index(environment)]

    def schema(self) -> PolicyConfigSchema:
        return PolicyConfigSchema(
            properties={
                "environment": {
                    "type": "string",
                    "enum": list(ENVIRONMENTS),
                    "description": "Environment whose expectations apply (default: the stack's orquestra:environment).",
                },
                **{k: dict(v) for k, v in self.config.items()},
            }
        )

    def context(self, given: Mapping[str, Any]) -> Context:
        stack = stack_config()
        config = {k: v["default"] for k, v in self.config.items() if "default" in v}
        config.update(given)
        env = config.get("environment") or stack_environment(stack)
        return Context(environment=env if env in ENVIRONMENTS else "dev", config=config, stack_config=stack)

    def policy(self, environment: Environment = "dev") -> ResourceValidationPolicy | StackValidationPolicy:
        """The pulumi-policy object, with `environment`'s enforcement level as its default."""
        level = EnforcementLevel(self.level(environment))
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": level,
            "config_schema": self.schema(),
            "severity": self.severity,
            "remediation_steps": self.remediation or None,
        }
        if self.stack_check is not None:
            return StackValidationPolicy(validate=self._validate_stack, **common)
        return TypedPolicy(self.applies_to, validate=self._validate_resource, **common)

    def _validate_resource(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not self.applies_to(args.resource_type) or self.check is None:
            return
        resource = from_args(args)
        ctx = self.context(args.get_config())
        for message in self.check(resource, ctx):
            report(message, None)

    def _validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        assert self.stack_check is not None
        resources = _stack_views(args.resources)
        ctx = self.context(args.get_config())
        unknown: Unknown | None = None
        try:
            for message, urn in self.stack_check(resources, ctx):
                if isinstance(message, Unknown):
                    unknown = unknown or message
                else:
                    report(message, urn)
        except Unknown as exc:
            unknown = unknown or exc
        if unknown is not None:
            # Reported by the SDK as an advisory diagnostic: the rule neither passed nor failed.
            raise unknown


def _provider_name(provider: Any) -> str:
    return str(getattr(provider, "name", "") or "") if provider is not None else ""


# The last decoded properties (or stack) seen, and the plain view made of them. An analyzer
# may hand the same decoded object to every policy in turn, as preflight's in-process one
# does; copying it again for each rule was a fifth of the pack's time. Rules only read
# their views. Holding the object itself keeps its identity from being reused.
_last_props: tuple[Any, Node, frozenset[str]] | None = None
_last_stack: tuple[Any, tuple[Resource, ...]] | None = None


def _props_view(props: Any) -> tuple[Node, frozenset[str]]:
    global _last_props
    if _last_props is None or _last_props[0] is not props:
        _last_props = (props, Node(plain(props)), frozenset(secret_paths(props)))
    return _last_props[1], _last_props[2]


def _stack_views(resources: Any) -> tuple[Resource, ...]:
    global _last_stack
    if _last_stack is None or _last_stack[0] is not resources:
        _last_stack = (resources, tuple(from_policy_resource(r) for r in resources))
    return _last_stack[1]


def from_args(args: ResourceValidationArgs) -> Resource:
    opts = args.opts
    props, secrets = _props_view(args.props)
    secrets |= frozenset(getattr(opts, "additional_secret_outputs", None) or ())
    return Resource(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=props,
        secrets=secrets,
        protect=bool(getattr(opts, "protect", False)),
        ignore_changes=tuple(getattr(opts, "ignore_changes", ()) or ()),
        provider_name=_provider_name(args.provider),
        parent=str(getattr(opts, "parent", "") or ""),
    )


def from_policy_resource(r: Any) -> Resource:
    parent = getattr(r, "parent", None)
    return Resource(
        type=r.resource_type,
        name=r.name,
        urn=r.urn,
        props=Node(plain(r.props)),
        protect=bool(getattr(r.opts, "protect", False)),
        ignore_changes=tuple(getattr(r.opts, "ignore_changes", ()) or ()),
        provider_name=_provider_name(getattr(r, "provider", None)),
        parent=getattr(parent, "urn", "") if parent is not None else "",
        dependencies=tuple(d.urn for d in getattr(r, "dependencies", []) or []),
        secrets=frozenset(secret_paths(r.props)) | frozenset(getattr(r.opts, "additional_secret_outputs", None) or ()),
    )


# ----------------------------------------------------------------- shared checks


def autoscaled(pool: Node, where: str, flag: str, low: str, high: str) -> Iterator[str]:
    """A pool whose size the autoscaler owns: autoscaling on, and room between its bounds."""
    if pool.get(flag) is not True:
        yield f"{where}.{flag} must be true so the autoscaler owns the node count"
        return
    lo, hi = pool.get(low), pool.get(high)
    if lo is None or hi is None or not lo < hi:
        yield f"{where}: {low} ({lo}) must be below {high} ({hi})"


def world_open(cidrs: Iterable[str]) -> list[str]:
    """The ranges that let the whole internet in: a /0, or ranges that together cover an address family.

    Judged on the union, so that `0.0.0.0/1` plus `128.0.0.0/1` is seen for what it is.
    """
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
        else:
            v6.append(net)
    held = {
        4: sum(n.num_addresses for n in ipaddress.collapse_addresses(v4)),
        6: sum(n.num_addresses for n in ipaddress.collapse_addresses(v6)),
    }
    out: list[str] = []
    for version, family in ((4, [str(n) for n in v4]), (6, [str(n) for n in v6])):
        zero = [c for c in family if c.endswith("/0")]
        if zero:
            out.extend(zero)
        elif family and held[version] == 2 ** (32 if version == 4 else 128):
            out.append(" + ".join(family))
    return out


def minor(version: str) -> str:
    """`1.35`, from `1.35`, `1.35.2`, `v1.35.2+k3s1`, `1.34.1-do.0` or `1.35.2-gke.100`."""
    parts = version.lstrip("v").split(".")
    return ".".join(p.split("-")[0].split("+")[0] for p in parts[:2])


def supported_version(version: str | None, path: str, ctx: Context) -> Iterator[str]:
    allowed = [str(v) for v in ctx.config.get("supportedVersions", [])]
    if not version:
        yield f"{path} is not set: pin a Kubernetes version ({', '.join(allowed)}) so upgrades are deliberate"
    elif minor(str(version)) not in allowed:
        yield f"{path} is {version}: not a supported Kubernetes version here (supported: {', '.join(allowed)})"


def versions_config(target: str) -> dict[str, dict[str, Any]]:
    from components.targets import REGISTRY

    return {
        "supportedVersions": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(REGISTRY[target].versions),
            "description": "Kubernetes minor versions the provider supports today.",
        }
    }


class Case(NamedTuple):
    """A resource a rule passes and one it fails: the rule's own test, kept next to it (tests/test_policies.py)."""

    type: str
    good: dict[str, Any]
    bad: dict[str, Any]
    fails_with: str
    """A part of the message the failing resource gets."""
    options: Mapping[str, Any] = MappingProxyType({})
    """How the resource is checked besides its properties: `protect`, `env`, `provider`."""


class StackCase(NamedTuple):
    """Resources a stack rule passes and resources it fails: `(type, name, props[, names it depends on])` each."""

    good: list[Any]
    bad: list[Any]
    fails_with: str
