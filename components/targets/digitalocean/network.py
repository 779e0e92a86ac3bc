"""The cluster's network: a VPC of its own in the cluster's region."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi_digitalocean as do

if TYPE_CHECKING:
    from components.targets.digitalocean import DigitalOceanCluster


def build(c: DigitalOceanCluster) -> do.Vpc:
    """A VPC on `network.cidr`; pods and services take `podCidr` and `serviceCidr` inside the cluster."""
    spec = c.spec
    return do.Vpc(
        f"{spec.name}-vpc",
        name=f"{spec.name}-vpc",
        region=spec.region,
        ip_range=spec.network.cidr,
        description=f"orquestra cluster {spec.name} ({c.environment})",
        opts=c.child_opts(),
    )
