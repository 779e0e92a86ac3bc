"""The target registry is complete: every entry has each of its parts, and every list of targets agrees with it.

What Python's typing cannot derive from the registry (the tags of the cluster
union, the `PodIdentity` literal, mypy's list of SDKs) is spelt out where the type
checker reads it; these tests fail when the two disagree. `docs/adding-a-target.md`
lists the parts.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

import pytest

from components import cluster, spec
from components.cluster import KubernetesCluster
from components.targets import REGISTRY, Target, available, sdk_modules

ROOT = Path(__file__).resolve().parent.parent
TARGETS = list(REGISTRY.values())


def ids(target: Target) -> str:
    return target.key


def union_members() -> list[type[spec.ClusterBase]]:
    assert get_origin(spec.ClusterSpec) is Annotated
    return list(get_args(get_args(spec.ClusterSpec)[0]))


def literal(model: type[spec.Model], field: str) -> tuple[str, ...]:
    annotation = model.model_fields[field].annotation
    assert get_origin(annotation) is Literal, f"{model.__name__}.{field} is not a Literal"
    return get_args(annotation)


def packages(target: Target) -> tuple[str, ...]:
    return target.type_prefixes


def minor(version: str) -> tuple[int, int]:
    major, minor_ = version.split(".")
    return int(major), int(minor_)


# ---------------------------------------------------------------------- the entries


def test_every_entry_is_filed_under_its_own_key() -> None:
    assert [t.key for t in TARGETS] == list(REGISTRY)
    assert all(re.fullmatch(r"[a-z]+", key) for key in REGISTRY)


def test_every_shipped_target_is_available() -> None:
    assert available() == list(REGISTRY)


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_versions_are_minors_oldest_first_with_the_default_among_them(target: Target) -> None:
    assert target.versions, target.key
    assert all(re.fullmatch(r"1\.\d{2}", v) for v in target.versions)
    assert sorted(target.versions, key=minor) == list(target.versions) and len(set(target.versions)) == len(
        target.versions
    )
    assert target.default_version in target.versions


# ------------------------------------------------------------------------- the spec


def test_the_cluster_union_has_one_model_per_target_tagged_with_its_key() -> None:
    tags = {literal(model, "target"): model.__name__ for model in union_members()}
    assert tags == {(t.key,): t.spec for t in TARGETS}


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_the_spec_model_is_the_one_the_registry_names(target: Target) -> None:
    model = getattr(spec, target.spec)
    assert model in union_members()
    assert model.__name__.endswith("Spec")


def test_a_managed_platform_service_is_one_the_platform_would_otherwise_install() -> None:
    """A target declares what its cloud runs by the name of the platform's own release (or a part of one), or it
    skips nothing."""
    from components.workloads import charts

    parts = cluster.MANAGED_PARTS
    assert set(parts.values()) <= set(charts.ALL)
    assert set(get_args(cluster.ManagedService)) <= set(charts.ALL) | set(parts)


def test_pod_identity_kinds_are_the_capability_literal() -> None:
    kinds = {kind for t in TARGETS for kind in t.pod_identity}
    assert kinds == set(get_args(cluster.PodIdentity))


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_a_target_offering_a_choice_of_pod_identity_offers_what_its_spec_allows(target: Target) -> None:
    model = getattr(spec, target.spec)
    if "pod_identity" in model.model_fields:
        assert literal(model, "pod_identity") == target.pod_identity
    else:
        assert len(target.pod_identity) == 1
    assert target.gives_pod_identity == ("none" not in target.pod_identity)
    assert (target.key in spec.IDENTITY_TARGETS) == target.gives_pod_identity


# ------------------------------------------------------------------- the component


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_the_component_class_is_named_like_its_type_token(target: Target) -> None:
    module, name = target.component.split(":")
    assert module == f"components.targets.{target.key}"
    cls = target.load()
    assert issubclass(cls, KubernetesCluster) and cls.__name__ == name
    assert name == target.spec.removesuffix("Spec") + "Cluster"


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_sdks_are_installed(target: Target) -> None:
    for package, module in target.sdks.items():
        assert re.fullmatch(r"[a-z][a-z-]*", package)
        assert importlib.util.find_spec(module) is not None, f"{target.key}: {module} is not installed"
        assert module in (ROOT / "requirements.txt").read_text().replace("-", "_"), f"{module} is not pinned"


def test_a_provider_package_belongs_to_one_target() -> None:
    owners = [package for t in TARGETS for package in t.sdks]
    assert len(owners) == len(set(owners))


def test_mypy_skips_exactly_the_target_sdks() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    skipped = {m for o in config if o.get("follow_imports") == "skip" for m in o["module"]}
    assert skipped == {f"{module}.*" for module in sdk_modules()}


# ---------------------------------------------------------- its part in every tree


def _modules(package: str) -> set[str]:
    found = importlib.import_module(package).__path__
    return {f"{package}.{m.name}" for m in pkgutil.iter_modules(found)}


@pytest.mark.parametrize(
    ("part", "package", "shared"),
    [
        ("answers", "preflight.answers", {"kubernetes"}),
        ("estimates", "preflight.estimates", {"base", "kubernetes"}),
        ("rules", "policies.rules", {"base", "kubernetes", "rollout", "network"}),
    ],
)
def test_every_per_target_module_belongs_to_a_registered_target(part: str, package: str, shared: set[str]) -> None:
    named = {getattr(t, part) for t in TARGETS} - {None}
    assert _modules(package) == named | {f"{package}.{s}" for s in shared}
    assert named == {f"{package}.{t.key}" for t in TARGETS if getattr(t, part)}, "one name per target"


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_its_answers_and_estimates_speak_of_its_own_sdks(target: Target) -> None:
    assert (target.answers is None) == (target.estimates is None) == (not target.type_prefixes), (
        "a target that creates resources needs answers for its invokes and prices for its types"
    )
    if target.answers:
        answers = importlib.import_module(target.answers)
        tokens = [*answers.INVOKES, *answers.RESOURCES]
        assert tokens and [t for t in tokens if not t.startswith(packages(target))] == []
    if target.estimates:
        estimates = importlib.import_module(target.estimates)
        types = [*estimates.COSTS, *estimates.FREE, *getattr(estimates, "ON_PREM", ()), *estimates.CREATE_SECONDS]
        assert types and [t for t in types if not t.startswith(packages(target))] == []
        assert set(estimates.LOAD_BALANCER_MONTHLY) <= set(target.sdks)
        assert estimates.MAJOR_TYPES, "the diagram draws at least the cluster"


@pytest.mark.parametrize("target", [t for t in TARGETS if t.rules], ids=ids)
def test_its_rules_check_its_own_resources(target: Target) -> None:
    assert target.rules is not None
    rules = importlib.import_module(target.rules).RULES
    assert rules
    for rule in rules:
        assert [t for t in rule.types if not t.startswith(packages(target))] == [], rule.name


@pytest.mark.parametrize("target", TARGETS, ids=ids)
def test_it_has_a_docs_page_linked_from_the_readme_and_a_test_module(target: Target) -> None:
    assert target.docs == f"docs/targets/{target.key}.md"
    page = (ROOT / target.docs).read_text()
    assert f"target: {target.key}" in page, "the page shows the stack key that selects the target"
    assert f"]({target.docs})" in (ROOT / "README.md").read_text()
    assert target.tests == f"tests/test_target_{target.key}.py"
    assert (ROOT / target.tests).is_file()


def test_adding_a_target_names_every_part_of_an_entry() -> None:
    guide = (ROOT / "docs" / "adding-a-target.md").read_text()
    missing = [f for f in Target.__dataclass_fields__ if f"`{f}`" not in guide]
    assert missing == []
