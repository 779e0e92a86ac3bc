"""Every rule of the pack, by area. Each module's `RULES` is a list of `base.Rule`."""

from __future__ import annotations

from policies.rules import aws, azure, digitalocean, gcp, kubernetes, onprem
from policies.rules.base import Rule

RULES: list[Rule] = [*aws.RULES, *gcp.RULES, *azure.RULES, *digitalocean.RULES, *onprem.RULES, *kubernetes.RULES]
