"""Kubernetes' strict OpenAPI schemas (kubernetes-validate's), with a compiled check in front.

Nearly every object of a plan is valid, and python-jsonschema follows the schemas'
`$ref`s through `referencing` in Python for each of them: most of what validating a
plan cost. jsonschema-rs, a compiled implementation of the same draft (2020-12),
answers only "valid or not", about 15 times faster here; python-jsonschema still
produces every error that preflight and the pack print, for an object jsonschema-rs
refused. A false "valid" is the one disagreement that would matter, so
`tests/test_kschema.py` holds both to the same verdict on every built-in object of the
shipped stacks and on thousands of mutated copies of them; when jsonschema-rs refuses
what python-jsonschema accepts, python-jsonschema's "no errors" stands.

One registry of a schema version's `_definitions.json` (1.5 MB) per version and
implementation, shared by every kind; formats are annotations only, as in
python-jsonschema without a format checker. jsonschema-rs reads a Python tuple as an
array (as JSON would carry it), python-jsonschema does not; the objects checked here
are decoded from the engine's wire format and the charts' YAML, which hold lists only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import jsonschema_rs


@dataclass(frozen=True)
class Checker:
    """A kind's schema in both implementations; the method names are python-jsonschema's."""

    slow: Any
    fast: Any

    def iter_errors(self, instance: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        if self.fast.is_valid(instance):
            return iter(())
        errors: Iterator[jsonschema.ValidationError] = self.slow.iter_errors(instance)
        return errors

    def validate(self, instance: Mapping[str, Any]) -> None:
        """Raises python-jsonschema's best error, as `Validator.validate` does."""
        if not self.fast.is_valid(instance):
            self.slow.validate(instance)


@cache
def _definitions(schema_dir: str) -> tuple[Any, Any]:
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    definitions = schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", schema_dir)
    return (
        Resource.from_contents(definitions) @ Registry(),
        jsonschema_rs.Registry([(str(definitions["$id"]), definitions)]),
    )


@cache
def checker(schema_dir: str, filename: str) -> Checker | None:
    """One kind's checker from kubernetes-validate's `schema_dir` (`v1.35.0-local-strict`); None without the file.

    Built once per process for preflight and the pack alike (kubernetes-validate's own
    `validate` re-reads and parses the schema and the definitions on every call).
    """
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    try:
        schema = schema_contents(f"kubernetes-json-schema/{schema_dir}/{filename}", schema_dir)
    except FileNotFoundError:
        return None
    slow_registry, fast_registry = _definitions(schema_dir)
    return Checker(
        slow=jsonschema.validators.Draft202012Validator(
            schema, registry=slow_registry.combine(Resource.from_contents(schema) @ Registry())
        ),
        fast=jsonschema_rs.Draft202012Validator(schema, registry=fast_registry, validate_formats=False, offline=True),
    )
