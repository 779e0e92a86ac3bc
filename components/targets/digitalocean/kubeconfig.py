"""The kubeconfig of a DOKS cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.cluster import exec_kubeconfig


def render(name: str, endpoint: str, ca_certificate: str, cluster_id: str) -> str:
    """A kubeconfig whose credential `doctl` mints on every use, so it never goes stale.

    `kube_configs[0].raw_config` embeds a bearer token that DigitalOcean expires
    after seven days (`kubeconfig_expire_seconds` only trades that for a longer
    lived admin token stored in state). The provider renews it only on `pulumi
    refresh`, so a plan a week later would talk to the cluster with a dead
    token. Exec auth keeps nothing secret in the file: `doctl kubernetes cluster
    kubeconfig exec-credential` asks the API for a short-lived token with the
    DigitalOcean token already in the environment (`DIGITALOCEAN_ACCESS_TOKEN`,
    which both doctl and the Pulumi provider read). It is still published as a
    secret, as the contract requires.
    """
    args = ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", cluster_id]
    exec_ = {"command": "doctl", "args": args, "interactiveMode": "Never", "provideClusterInfo": False}
    return exec_kubeconfig(name, endpoint, ca_certificate, exec_, user=f"{name}-admin")


def ca(kube_configs: Sequence[Any]) -> str:
    """The cluster CA from `kube_configs[0]`, which arrives untyped (camelCase keys) through `Output.all`."""
    first = kube_configs[0]
    value = first.get("clusterCaCertificate") or first.get("cluster_ca_certificate")
    return str(value)
