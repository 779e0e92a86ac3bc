"""YAML the program reads and writes: kubeconfigs, k3s configuration, manifests.

PyYAML's pure-Python emitter costs milliseconds a document, and a fleet of on-prem
clusters writes hundreds of them on every plan. The libyaml emitter, built into
PyYAML's wheels, writes the same text for the plain mappings, lists, strings and
numbers written here (the stacks' snapshots hold that text, so a difference would
show there), and its parser reads a kubeconfig in a fraction of the time; the pure-Python
ones stay as the fallback where PyYAML was built without libyaml.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump(doc: Any, *, sort_keys: bool) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, sort_keys=sort_keys)


def dump_all(docs: Iterable[Any], *, sort_keys: bool) -> str:
    return yaml.dump_all(docs, Dumper=_DUMPER, sort_keys=sort_keys)


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_LOADER)
