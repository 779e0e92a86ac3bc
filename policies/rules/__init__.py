"""Every rule of the pack, by area. Each module's `RULES` is a list of `base.Rule`."""

from __future__ import annotations

from policies.rules import aks, doks, eks, gke, kubernetes, onprem
from policies.rules.base import Rule

RULES: list[Rule] = [*eks.RULES, *gke.RULES, *aks.RULES, *doks.RULES, *onprem.RULES, *kubernetes.RULES]
