"""What DigitalOcean would refuse in a plan: region, droplet size and Kubernetes version slugs.

The slug shapes are those of every slug the provider SDK lists (pulumi-digitalocean's
`Region` and `DropletSlug` enums) and of the versions `doctl kubernetes options versions`
prints; a slug of another shape names nothing DigitalOcean has. Which slugs exist
in an account today is for the API to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

REGION = re.compile(r"^[a-z]{3}[0-9]$")
# `s-2vcpu-4gb`, `c-4`, `so1_5-2vcpu-16gb-intel`, and the legacy `4gb`.
SIZE = re.compile(r"^([a-z][a-z0-9_]*(-[a-z0-9_]+)+|\d+(mb|gb))$")
VERSION = re.compile(r"^\d+\.\d+\.\d+-do\.\d+$")
SLUGS = "pulumi-digitalocean Region and DropletSlug enums; https://docs.digitalocean.com/reference/api/digitalocean/"


def _slug(r: Registration, field: str, pattern: re.Pattern[str], what: str) -> Iterator[Rejection]:
    value: Any = view(r)
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if known(value) and value is not None and not pattern.match(str(value)):
        yield reject(r, field, f"{value!r} is not a {what} slug", SLUGS)


def region(r: Registration, plan: Plan) -> Iterator[Rejection]:
    yield from _slug(r, "region", REGION, "region")


def cluster_slugs(r: Registration, plan: Plan) -> Iterator[Rejection]:
    yield from _slug(r, "region", REGION, "region")
    yield from _slug(r, "version", VERSION, "DOKS version (1.34.1-do.0)")
    yield from _slug(r, "nodePool.size", SIZE, "droplet size")


def pool_size(r: Registration, plan: Plan) -> Iterator[Rejection]:
    yield from _slug(r, "size", SIZE, "droplet size")


RULES: Table = {
    "digitalocean:index/kubernetesCluster:KubernetesCluster": (cluster_slugs,),
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": (pool_size,),
    "digitalocean:index/vpc:Vpc": (region,),
    "digitalocean:index/containerRegistry:ContainerRegistry": (region,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
