"""The kubeconfig of an EKS cluster."""

from __future__ import annotations

from components.cluster import exec_kubeconfig


def render(name: str, region: str, endpoint: str, ca: str) -> str:
    """Authenticates with `aws eks get-token`: short-lived tokens from whatever AWS identity runs kubectl."""
    args = ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"]
    return exec_kubeconfig(name, endpoint, ca, {"command": "aws", "args": args, "interactiveMode": "Never"})
