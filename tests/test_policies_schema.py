"""The schema rule's cached validators judge every object as `kubernetes_validate.validate` does."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError

from policies import kschema
from policies.rules.kubernetes import _validator
from tests.test_policies import deployment

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "web"},
    "spec": {"ports": [{"port": 443}], "selector": {"app": "web"}},
}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("1.35", {"apiVersion": "apps/v1", "kind": "Deployment", **deployment()}),
    ("1.35.2", SERVICE),
    ("1.31", {**SERVICE, "spec": {"ports": [{"port": "https"}]}}),
    ("1.35", {**SERVICE, "spec": {"ports": [{"port": 443, "protocl": "TCP"}]}}),
    ("1.35", {**SERVICE, "apiVersion": "v2"}),
    ("1.35", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x"}, "spec": {}}),
    ("1.35", {"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema", "metadata": {"name": "x"}}),
    ("1.28", {"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema", "metadata": {"name": "x"}}),
    ("1.99", SERVICE),
]


def outcome(validate: Any, manifest: dict[str, Any]) -> tuple[str, ...]:
    """What the schema rule reads of a validation: where and why it failed, or which lookup failed."""
    try:
        validate(manifest)
    except jsonschema.ValidationError as exc:  # kubernetes_validate's own error subclasses it
        return ("invalid", ".".join(map(str, exc.path)), str(exc.validator), exc.message)
    except (SchemaNotFoundError, VersionNotSupportedError) as exc:
        return (type(exc).__name__, exc.message)
    return ("valid",)


@pytest.mark.parametrize(("version", "manifest"), CASES)
def test_cached_validator_agrees_with_kubernetes_validate(version: str, manifest: dict[str, Any]) -> None:
    expected = outcome(lambda m: kubernetes_validate.validate(m, version, strict=True), manifest)
    assert outcome(lambda m: _validator(version, m["apiVersion"], m["kind"]).validate(m), manifest) == expected


def test_the_cases_cover_every_outcome() -> None:
    kinds = {
        outcome(lambda m, v=v: kubernetes_validate.validate(m, v, strict=True), m)[0]  # type: ignore[misc]
        for v, m in CASES
    }
    assert kinds == {"valid", "invalid", "SchemaNotFoundError", "VersionNotSupportedError"}


def test_each_kind_and_version_is_read_once() -> None:
    _validator.cache_clear()
    kschema.checker.cache_clear()
    kschema._definitions.cache_clear()
    for _ in range(3):
        for kind in ("Service", "Namespace"):
            _validator("1.35", "v1", kind)
    assert _validator.cache_info().misses == 2
    assert kschema.checker.cache_info().misses == 2
    assert kschema._definitions.cache_info().misses == 1
