"""Validate a Kubernetes object as the API server would: one validator for the program's objects and the charts'.

Built-in kinds are checked against the OpenAPI schema of the cluster's minor
(kubernetes-validate's strict schemas: unknown fields are errors). Custom resources
are checked against the `openAPIV3Schema` of the CRD that serves their version, after
what the API server does first (nulls pruned where not nullable, schema defaults
applied), then every `x-kubernetes-validations` CEL rule on a value that is present,
with a real CEL implementation (cel-python) and the Kubernetes CEL library functions
the pinned CRDs use. A rule that cannot be evaluated here is returned as such, never
taken as passing. Messages name the schema's expectation, never the offending value,
which may be a secret.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import jsonschema

from policies import kschema
from policies.memo import content_key
from preflight import caches

# An installed distribution's version, looked up once: each lookup scans every installed package.
_version = cache(package_version)

# Kubernetes' own rule for transition rules: they see `oldSelf` and run only on update
# (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#transition-rules).
_TRANSITION = "oldSelf"


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    source: str


@dataclass(frozen=True)
class Unevaluable:
    """A CEL rule this validator cannot evaluate; reported, never passed."""

    field: str
    rule: str
    reason: str
    source: str


@dataclass(frozen=True)
class Crd:
    """One served version of a CustomResourceDefinition, and where it came from."""

    name: str
    version: str
    schema: Mapping[str, Any]
    source: str


def _path(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator in ("required", "additionalProperties"):
        return str(error.message)  # names properties, not values
    wanted = json.dumps(error.validator_value)
    return f"must satisfy {error.validator}: {wanted[:120]}{'...' if len(wanted) > 120 else ''}"


_SEEN: dict[tuple[Any, ...], Any] = {}
"""(validator, its inputs' content keys) -> verdict: lists of frozen records, copied on the way out."""


# ------------------------------------------------------------------ built-in


@cache
def schema_minor(minor: str) -> str | None:
    """The newest minor kubernetes-validate has a schema for that is not newer than `minor` (None if none)."""
    from kubernetes_validate.utils import all_versions

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".")[:2])

    usable = [v for v in all_versions() if key(v) <= key(minor)]
    return ".".join(usable[-1].split(".")[:2]) if usable and key(minor) <= key(all_versions()[-1]) else None


def builtin(obj: Mapping[str, Any], minor: str) -> list[Problem] | None:
    """Problems of a built-in object at the cluster's minor; None when the minor has no such kind.

    Worked out once per distinct object and minor (`policies.memo.content_key`).
    """
    digest = content_key(obj)
    if digest is None:
        return _builtin(obj, minor)
    key = ("builtin", minor, digest)
    if key not in _SEEN:
        _SEEN[key] = _builtin(obj, minor)
    found = _SEEN[key]
    return None if found is None else list(found)


def _builtin(obj: Mapping[str, Any], minor: str) -> list[Problem] | None:
    have = schema_minor(minor)
    source = f"Kubernetes {minor} OpenAPI schema (kubernetes-validate {_version('kubernetes-validate')})"
    if have is None:
        return [Problem("", f"no schema for Kubernetes {minor}; update kubernetes-validate", source)]
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(obj.get("apiVersion", "")))
    validator = kschema.checker(f"v{have}.0-local-strict", f"{str(obj.get('kind', '')).lower()}-{api}.json")
    if validator is None:
        return None
    return [
        Problem(_path(e.absolute_path), _reason(e), source)
        for e in sorted(validator.iter_errors(dict(obj)), key=lambda e: list(map(str, e.absolute_path)))
    ]


# ------------------------------------------------------------ custom resources


def crds_of(objects: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str, str], Crd]:
    """(group, version, kind) -> served CRD version, from (source label, CRD object) pairs; later ones win."""
    found: dict[tuple[str, str, str], Crd] = {}
    for label, crd in objects:
        spec = crd.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind", "")
        for v in spec.get("versions") or []:
            if not v.get("served"):
                continue
            schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {}
            name = (crd.get("metadata") or {}).get("name", "")
            found[(spec.get("group", ""), v.get("name", ""), kind)] = Crd(
                name, v["name"], schema, f"CRD {name} {v['name']} from {label}"
            )
    return found


def _to_jsonschema(node: Any) -> Any:
    """A structural schema as JSON Schema: `nullable` and int-or-string spelled out; x- keys left for the walkers."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    return out


_VALIDATORS: dict[int, tuple[Mapping[str, Any], jsonschema.protocols.Validator]] = {}


def _crd_validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    """One validator per schema object (rendered charts are cached, so each CRD version is one object)."""
    held = _VALIDATORS.get(id(schema))
    if held is None or held[0] is not schema:
        held = (schema, jsonschema.validators.Draft4Validator(_to_jsonschema(schema)))
        _VALIDATORS[id(schema)] = held
    return held[1]


def _structural(value: Any, schema: Mapping[str, Any], path: list[Any], unknown: list[str]) -> Any:
    """What the API server stores before validating: nulls pruned (unless nullable), defaults applied.

    Fields the schema does not know are collected in `unknown`: the API server would drop them.
    """
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-embedded-resource")
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = (props or {}).get(k) if props is not None else None
            if sub is None and isinstance(extra, dict):
                sub = extra
            if v is None and not (sub or {}).get("nullable"):
                continue
            if sub is None:
                if props is not None and not preserve and not (not path and k in ("apiVersion", "kind", "metadata")):
                    unknown.append(_path([*path, k]))
                out[k] = v
                continue
            out[k] = _structural(v, sub, [*path, k], unknown)
        for k, sub in (props or {}).items():
            if k not in out and "default" in sub:
                out[k] = _structural(copy.deepcopy(sub["default"]), sub, [*path, k], unknown)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_structural(v, schema["items"], [*path, i], unknown) for i, v in enumerate(value)]
    return value


_SCHEMAS: dict[int, tuple[Mapping[str, Any], bytes | None]] = {}


def _schema_key(schema: Mapping[str, Any]) -> bytes | None:
    """`content_key` of a CRD schema, once per schema object (held, so that its id is never reused)."""
    held = _SCHEMAS.get(id(schema))
    if held is None or held[0] is not schema:
        held = (schema, content_key(schema))
        _SCHEMAS[id(schema)] = held
    return held[1]


def custom(obj: Mapping[str, Any], crd: Crd) -> tuple[list[Problem], list[Unevaluable]]:
    """Problems of a custom resource against its CRD: structure, schema, then CEL rules.

    Worked out once per distinct object, CRD schema and source (`policies.memo.content_key`).
    """
    schema, digest = _schema_key(crd.schema), content_key(obj)
    if schema is None or digest is None:
        return _custom(obj, crd)
    key = ("custom", crd.source, schema, digest)
    if key not in _SEEN:
        _SEEN[key] = _custom(obj, crd)
    problems, unevaluable = _SEEN[key]
    return list(problems), list(unevaluable)


def _custom(obj: Mapping[str, Any], crd: Crd) -> tuple[list[Problem], list[Unevaluable]]:
    unknown: list[str] = []
    stored = _structural(dict(obj), crd.schema, [], unknown)
    problems = [Problem(u, "unknown field: the CRD's schema has no such property", crd.source) for u in unknown]
    validator = _crd_validator(crd.schema)
    problems += [Problem(_path(e.absolute_path), _reason(e), crd.source) for e in validator.iter_errors(stored)]
    if problems:
        return problems, []
    failed, unevaluable = _cel(stored, crd)
    return failed, unevaluable


# ------------------------------------------------------------------------- CEL


def _k8s_functions() -> dict[str, Callable[..., Any]]:
    """The Kubernetes CEL library functions (k8s.io/apiserver/pkg/cel/library) the pinned CRDs call.

    Regex semantics are RE2's, as in Kubernetes. Any other library function is an
    undeclared reference to cel-python, and the rule is reported as unevaluable.
    """
    import re2
    from celpy import celtypes

    def find(s: Any, pattern: Any) -> Any:
        m = re2.search(str(pattern), str(s))
        return celtypes.StringType(m.group(0) if m else "")

    def find_all(s: Any, pattern: Any, limit: Any = -1) -> Any:
        found = [m.group(0) for m in re2.finditer(str(pattern), str(s))]
        return celtypes.ListType([celtypes.StringType(x) for x in (found if int(limit) < 0 else found[: int(limit)])])

    def split(s: Any, sep: Any, limit: Any = -1) -> Any:
        n = int(limit)
        if n == 0:
            return celtypes.ListType([])
        parts = str(s).split(str(sep), n - 1) if n > 0 else str(s).split(str(sep))
        return celtypes.ListType([celtypes.StringType(p) for p in parts])

    def substring(s: Any, start: Any, end: Any = None) -> Any:
        text = str(s)
        return celtypes.StringType(text[int(start) : len(text) if end is None else int(end)])

    def is_ip(s: Any) -> Any:
        try:
            ipaddress.ip_address(str(s))
        except ValueError:
            return celtypes.BoolType(False)
        return celtypes.BoolType("%" not in str(s))

    def is_cidr(s: Any) -> Any:
        try:
            ipaddress.ip_network(str(s), strict=False)
        except ValueError:
            return celtypes.BoolType(False)
        return celtypes.BoolType("/" in str(s))

    return {
        "find": find,
        "findAll": find_all,
        "split": split,
        "substring": substring,
        "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
        "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
        "trim": lambda s: celtypes.StringType(str(s).strip()),
        "indexOf": lambda s, sub: celtypes.IntType(str(s).find(str(sub))),
        "join": lambda items, sep="": celtypes.StringType(str(sep).join(str(i) for i in items)),
        "isIP": is_ip,
        "isCIDR": is_cidr,
    }


@cache
def _environment() -> tuple[Any, dict[str, Callable[..., Any]]]:
    import celpy

    logging.getLogger("celpy").setLevel(logging.ERROR)
    return _with_cached_parser(celpy.Environment), _k8s_functions()


def cel_parser_cache() -> Path:
    """Where the analysed CEL grammar is kept between runs: the user's cache, one file per library versions."""
    import lark

    python = f"{sys.version_info[0]}{sys.version_info[1]}"
    versions = f"celpy-{_version('cel-python')}-lark-{lark.__version__}-py{python}"
    return caches.root() / "cel" / f"parser-{versions}.lark"


def _with_cached_parser(make: Callable[[], Any]) -> Any:
    """`make()` (a celpy Environment) with celpy's one Lark parser loaded from the user's cache.

    cel-python builds its LALR parser from the CEL grammar on first use, which costs
    more than evaluating every rule of a plan. Lark can keep that analysis in a file
    (its `cache` option) and, when loading, checks a digest of the grammar, the
    options (the file's path among them), its own version and Python's; a mismatch
    or a damaged file is analysed again and rewritten. celpy's own options are left
    as they are: only `cache` is added to its call. Lark writes the file in place,
    so here it goes to a name of its own first and is then moved into place: a
    concurrent run reads a whole file or none.
    """
    import lark.lark
    from celpy import celparser

    if celparser.CELParser.CEL_PARSER is not None:
        return make()
    path = cel_parser_cache()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return make()

    class MovedIntoPlace(lark.lark.FS):
        @staticmethod
        def open(name: str, mode: str = "r", **kwargs: Any) -> Any:
            return caches.replacing(name, mode, **kwargs) if "w" in mode else open(name, mode, **kwargs)

    lark_class, fs = celparser.Lark, lark.lark.FS
    celparser.Lark = partial(lark_class, cache=str(path))  # type: ignore[assignment,misc]
    lark.lark.FS = MovedIntoPlace  # type: ignore[misc]
    try:
        return make()
    finally:
        celparser.Lark, lark.lark.FS = lark_class, fs  # type: ignore[misc]


@cache
def _program(rule: str) -> Any:
    env, functions = _environment()
    return env.program(parse_tree(env, rule), functions=functions)


def tree_file(rule: str) -> Path:
    import hashlib

    return cel_parser_cache().with_suffix("") / f"{hashlib.sha256(rule.encode()).hexdigest()[:32]}.pickle"


def parse_tree(env: Any, rule: str) -> Any:
    """`env.compile(rule)`, kept per machine: one file per rule beside the analysed grammar.

    cel-python's LALR parser runs in Python, ~15 ms a rule, and a stack with CRDs
    compiles dozens of rules on every run; the tree is a pure function of the rule's
    text and the library versions the directory is named for, and unpickling it costs
    a third of parsing. A file that cannot be read is parsed again and rewritten; a
    rule that does not parse raises as before and is not kept.
    """
    import pickle

    path = tree_file(rule)
    with contextlib.suppress(Exception):  # missing, partial or from an incompatible library: parse instead
        return pickle.loads(path.read_bytes())
    tree = env.compile(rule)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with caches.replacing(path, "wb") as f:
            pickle.dump(tree, f, protocol=pickle.HIGHEST_PROTOCOL)
    return tree


def _walk_rules(
    value: Any, schema: Mapping[str, Any], path: list[Any]
) -> Iterator[tuple[list[Any], Any, dict[str, Any]]]:
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, value, rule
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) or (extra if isinstance(extra, dict) else None)
            if sub is not None:
                yield from _walk_rules(v, sub, [*path, k])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            yield from _walk_rules(v, schema["items"], [*path, i])


def _cel(stored: Mapping[str, Any], crd: Crd) -> tuple[list[Problem], list[Unevaluable]]:
    import celpy
    from celpy import celtypes

    failed: list[Problem] = []
    unevaluable: list[Unevaluable] = []
    for path, value, rule in _walk_rules(stored, crd.schema, []):
        text = str(rule.get("rule", ""))
        if _TRANSITION in text:
            continue
        where = _path(path)
        try:
            result = _program(text).evaluate({"self": celpy.json_to_cel(value)})
        except Exception as exc:  # cel-python raises its own and Python errors alike
            unevaluable.append(Unevaluable(where, text, " ".join(str(exc).split())[:200], crd.source))
            continue
        if not isinstance(result, celtypes.BoolType):
            unevaluable.append(Unevaluable(where, text, " ".join(str(result).split())[:200], crd.source))
        elif not bool(result):
            message = rule.get("message") or f"failed rule: {text}"
            failed.append(
                Problem(where if not rule.get("fieldPath") else where + str(rule["fieldPath"]), message, crd.source)
            )
    return failed, unevaluable
