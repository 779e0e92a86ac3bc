"""The spec's validators are built when used: a stack builds its own targets' models, and no line changes for it."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from components import spec
from components.spec import SpecError, parse

ROOT = Path(__file__).resolve().parent.parent

# The program's and preflight's way in: `orquestra:` keys of a stack file, then parse.
PARSE_DEV = """
import json
from pathlib import Path
from components import spec
from components.runtime import marked
from preflight.stackconfig import load

models = [m for m in vars(spec).values() if isinstance(m, type) and issubclass(m, spec.Model)]
at_import = sorted(m.__name__ for m in models if m.__pydantic_complete__)
config = load(Path("."), "dev")
parsed = spec.parse({key: marked(value) for key, value in config.namespace(spec.NAMESPACE).items()})
print(json.dumps({
    "at_import": at_import,
    "targets": sorted(c.target for c in parsed.clusters),
    "built": sorted(m.__name__ for m in models if m.__pydantic_complete__),
    "union_built": spec._CLUSTER.pydantic_complete,
}))
"""


def _members() -> list[type[spec.ClusterBase]]:
    """The cluster union's members, in the order its error lists their tags."""
    return list(get_args(get_args(spec.ClusterSpec)[0]))


def _problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(config)
    return info.value.problems


@cache
def _dev_in_a_fresh_process() -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", PARSE_DEV], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_importing_the_spec_builds_no_model() -> None:
    """A nested default written as `Model()` would build that model's validator at import; `_default` does not."""
    assert _dev_in_a_fresh_process()["at_import"] == []


def test_a_stack_builds_the_validators_of_its_own_targets_only() -> None:
    """dev has one cluster, on `existing`: the other targets' models stay unbuilt, and so does the union over
    every target."""
    found = _dev_in_a_fresh_process()
    assert found["targets"] == ["existing"]
    assert {m.__name__ for m in _members()} & set(found["built"]) == {"ExistingSpec"}, found["built"]
    assert found["union_built"] is False


@pytest.mark.parametrize(
    ("target", "shown"),
    [("ibm", "'ibm'"), ("AWS", "'AWS'"), (1, "1"), (None, "null"), (["aws"], '["aws"]'), ({"x": 1}, "a mapping")],
)
def test_a_target_that_names_no_model_is_told_every_target(target: Any, shown: str) -> None:
    tags = ", ".join(get_args(m.model_fields["target"].annotation)[0] for m in _members())
    lines = _problems({"clusters": [{"name": "x", "target": target}]})
    assert lines == [f"orquestra:clusters[0].target: {shown}; allowed: one of {tags}"]


def test_a_cluster_that_is_no_mapping_is_one_line() -> None:
    lines = _problems({"clusters": ["eks"]})
    assert lines == ["orquestra:clusters[0]: 'eks'; allowed: a valid dictionary or object to extract fields from"]


def test_an_unknown_key_spelled_like_the_target_names_its_own_path() -> None:
    """The union's error location starts with the tag; a key of the same name is the key, once."""
    lines = _problems({"clusters": [{"name": "local", "target": "existing", "kubeconfigPath": "/k", "existing": 1}]})
    keys = ", ".join(spec.ExistingSpec.keys())
    assert lines == [f"orquestra:clusters[0].existing: unknown key; allowed: {keys}"]


def _defaults() -> list[tuple[str, BaseModel]]:
    return [
        (f"{model.__name__}.{name}", field.default)
        for model in vars(spec).values()
        if isinstance(model, type) and issubclass(model, spec.Model)
        for name, field in model.model_fields.items()
        if isinstance(field.default, BaseModel)
    ]


def test_nested_defaults_are_found() -> None:
    assert {"Platform.gateway", "ClusterBase.platform", "OnpremSpec.network", "WorkloadSpec.rollout"} <= {
        where for where, _ in _defaults()
    }


@pytest.mark.parametrize(("where", "default"), _defaults(), ids=[where for where, _ in _defaults()])
def test_a_nested_default_is_what_validating_its_values_gives(where: str, default: BaseModel) -> None:
    """Defaults are built without validation (so importing the spec builds no validator); each is still valid."""
    given = {name: getattr(default, name) for name in default.model_fields_set}
    validated = type(default)(**given)
    assert validated == default
    assert validated.model_dump() == default.model_dump()
    assert validated.model_fields_set == default.model_fields_set
