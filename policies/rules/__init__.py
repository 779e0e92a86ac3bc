"""Every rule of the pack: each target's module (the registry's `rules`), then the Kubernetes rules.

Each module's `RULES` is a list of `base.Rule`.
"""

from __future__ import annotations

import importlib

from components.targets import REGISTRY
from policies.rules import kubernetes
from policies.rules.base import Rule

RULES: list[Rule] = [
    *(rule for t in REGISTRY.values() if t.rules for rule in importlib.import_module(t.rules).RULES),
    *kubernetes.RULES,
]
