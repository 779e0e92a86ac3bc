"""The kubeconfig of a GKE cluster."""

from __future__ import annotations

from components.cluster import exec_kubeconfig

AUTH_PLUGIN = "gke-gcloud-auth-plugin"


def render(context: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig whose credentials come from `gke-gcloud-auth-plugin`, never a static token."""
    return exec_kubeconfig(
        context,
        f"https://{endpoint}",
        ca_certificate,
        {
            "command": AUTH_PLUGIN,
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        },
    )
