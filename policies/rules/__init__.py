"""Every rule of the pack: each target's module (the registry's `rules`), then the rules across them.

Each module has its `RULES` (a list of `base.Rule`), and next to them its
`CASES` and `STACK_CASES`: for every rule, what passes it and what fails it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from components.targets import REGISTRY
from policies.rules import kubernetes, network, rollout
from policies.rules.base import Rule

MODULES: tuple[ModuleType, ...] = (
    *(importlib.import_module(t.rules) for t in REGISTRY.values() if t.rules),
    kubernetes,
    rollout,
    network,
)
RULES: list[Rule] = [rule for module in MODULES for rule in module.RULES]
