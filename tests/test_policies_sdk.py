"""The rules speak the providers' language: type tokens and property paths exist in the installed SDKs.

A rule written against a misspelt property (`endpointPublicAcess`) would pass every
resource silently; this reads the SDKs' own `*Args` classes (their `@pulumi.getter`
wire names and nested `*Args` types) to make that impossible.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from policies.rules import RULES, aws, azure, digitalocean, gcp, network, oci, onprem
from tests.sdk import PACKAGES
from tests.test_policies import CASES, STACK_CASES

_GETTER = re.compile(r'@pulumi\.getter(?:\(name="(\w+)"\))?\n    def (\w+)\(self\) -> (.+):\n')
_ARGS = re.compile(r"'(\w+Args)'")


def sdk_checked(token: str) -> bool:
    """Kubernetes objects are checked against their API schema instead (k8s-schema-valid); Helm releases here."""
    return not token.startswith("kubernetes:") or token.startswith("kubernetes:helm.sh/")


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


def module_dir(token: str) -> Path:
    """`aws:eks/cluster:Cluster` -> pulumi_aws/eks; `azure-native:monitor:DiagnosticSetting` -> .../monitor;
    `oci:ContainerEngine/cluster:Cluster` -> pulumi_oci/containerengine."""
    provider, module, _ = token.split(":")
    root = package_dir(PACKAGES[provider])
    if provider == "kubernetes":
        return root / module.replace("helm.sh", "helm")
    sub = module.split("/")[0].lower()
    return root / sub if sub != "index" and (root / sub).is_dir() else root


@cache
def classes(directory: Path) -> dict[str, dict[str, str]]:
    """Every class in a module directory: name -> {wire property name: annotation}."""
    out: dict[str, dict[str, str]] = {}
    for path in directory.glob("*.py"):
        text = path.read_text()
        for block in re.split(r"\nclass ", text)[1:]:
            name = re.match(r"(\w+)", block)
            if name is None:
                continue
            props = {wire or py: ann for wire, py, ann in _GETTER.findall(block)}
            out.setdefault(name.group(1), {}).update(props)
    return out


def resource_args(token: str) -> tuple[Path, dict[str, str]]:
    directory = module_dir(token)
    found = [p for p in directory.glob("*.py") if f"'{token}'" in p.read_text()]
    assert found, f"type token {token} not found in {directory}"
    args = classes(directory).get(token.rsplit(":", 1)[1] + "Args")
    assert args, f"no Args class for {token}"
    return directory, args


def unknown_paths(directory: Path, props: dict[str, str], value: dict[str, Any], prefix: str = "") -> list[str]:
    bad = []
    for key, sub in value.items():
        path = f"{prefix}{key}"
        if key not in props:
            bad.append(path)
            continue
        nested = _ARGS.findall(props[key])
        items = sub if isinstance(sub, list) else [sub]
        for item in items:
            if isinstance(item, dict) and nested:
                inner = classes(directory).get(nested[0])
                assert inner is not None, f"{nested[0]} not found"
                bad += unknown_paths(directory, inner, item, f"{path}.")
    return bad


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for rule, (type_, good, bad, _, _) in CASES.items():
        out += [(rule, type_, good), (rule, type_, bad)]
    for rule, (good_res, bad_res, _) in STACK_CASES.items():
        out += [(rule, res[0], res[2]) for res in [*good_res, *bad_res]]
    return [c for c in out if sdk_checked(c[1])]


@pytest.mark.parametrize(("rule", "type_", "props"), _cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_test_inputs_use_real_property_names(rule: str, type_: str, props: dict[str, Any]) -> None:
    directory, args = resource_args(type_)
    assert unknown_paths(directory, args, props) == []


def test_every_rule_type_token_exists() -> None:
    tokens = {t for rule in RULES for t in rule.types if sdk_checked(t)}
    assert len(tokens) >= 12
    for token in sorted(tokens):
        resource_args(token)


def test_the_check_catches_a_misspelt_property() -> None:
    directory, args = resource_args("aws:eks/cluster:Cluster")
    assert unknown_paths(directory, args, {"vpcConfig": {"endpointPublicAcess": True}}) == [
        "vpcConfig.endpointPublicAcess"
    ]


def _root_paths(module: Any) -> set[str]:
    """Property paths a rule module reads from the resource root (`r.get("a.b")`, `r.props.each("c")`)."""
    tree = ast.parse(Path(module.__file__).read_text())
    paths = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in {"get", "present", "each", "node"} or not node.args:
            continue
        receiver = node.func.value
        on_root = (isinstance(receiver, ast.Name) and receiver.id == "r") or (
            isinstance(receiver, ast.Attribute)
            and receiver.attr == "props"
            and isinstance(receiver.value, ast.Name)
            and receiver.value.id == "r"
        )
        arg = node.args[0]
        if on_root and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            paths.add(arg.value)
    return paths


def _exists(directory: Path, props: dict[str, str], path: str) -> bool:
    head, _, rest = path.partition(".")
    if head not in props:
        return False
    if not rest:
        return True
    nested = _ARGS.findall(props[head])
    return any(_exists(directory, classes(directory).get(n, {}), rest) for n in nested)


@pytest.mark.parametrize(
    "module", [aws, azure, digitalocean, gcp, oci, onprem], ids=lambda m: m.__name__.rsplit(".", 1)[1]
)
def test_rule_code_reads_real_property_paths(module: Any) -> None:
    tokens = {t for rule in module.RULES for t in rule.types} | {
        getattr(module, n)
        for n in dir(module)
        if n.isupper() and isinstance(getattr(module, n), str) and getattr(module, n).count(":") == 2  # a type token
    }
    tokens = {t for t in tokens if sdk_checked(t)}
    args = [resource_args(t) for t in sorted(tokens)]
    paths = _root_paths(module)
    assert paths, module.__name__
    missing = [p for p in sorted(paths) if not any(_exists(d, a, p) for d, a in args)]
    assert missing == []


def _range_reads() -> list[tuple[str, str]]:
    reads = [(type_, read.path) for type_, each in network.READS.items() for read in each]
    secondary = network.SECONDARY_RANGES
    reads += [
        (network.GCP_SUBNETWORK, f"{secondary}.{network.SECONDARY_RANGE.path}"),
        (network.GCP_SUBNETWORK, f"{secondary}.{network.SECONDARY_NAME}"),
        (network.GCP_SUBNETWORK, "network"),
        (network.GKE, network.SERVICES_RANGE_NAME),
    ]
    return [r for r in reads if sdk_checked(r[0])]


@pytest.mark.parametrize(("type_", "path"), _range_reads())
def test_the_range_rule_reads_real_property_paths(type_: str, path: str) -> None:
    """`network-no-overlapping-ranges` reads its paths from a table, which the AST scan above cannot see."""
    directory, args = resource_args(type_)
    assert _exists(directory, args, path)


def _range_cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for kind, case in network.KINDS.items():
        out += [(kind, type_, props) for type_, _, props, _ in [*case.good, *case.bad]]
    return [c for c in out if sdk_checked(c[1])]


@pytest.mark.parametrize(("kind", "type_", "props"), _range_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_range_cases_use_real_property_names(kind: str, type_: str, props: dict[str, Any]) -> None:
    directory, args = resource_args(type_)
    assert unknown_paths(directory, args, props) == []
