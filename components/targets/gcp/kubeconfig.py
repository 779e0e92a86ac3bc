"""The kubeconfig of a GKE cluster."""

from __future__ import annotations

from components.cluster import exec_kubeconfig

AUTH_PLUGIN = "gke-gcloud-auth-plugin"
ADC_FLAG = "--use_application_default_credentials"
"""Tokens from Application Default Credentials instead of the gcloud CLI's own login: a workstation's
`gcloud auth application-default login`, a service-account key, or workload identity federation in CI
(GOOGLE_APPLICATION_CREDENTIALS) all work, and no gcloud install is needed. It is what gcloud itself
writes when `container/use_application_default_credentials` is set (googlecloudsdk
api_lib/container/kubeconfig.py, `_ExecAuthPlugin`; plugin source:
https://github.com/kubernetes/cloud-provider-gcp/tree/master/cmd/gke-gcloud-auth-plugin)."""


def render(context: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig whose credentials `gke-gcloud-auth-plugin` mints from ADC, never a static token."""
    return exec_kubeconfig(
        context,
        f"https://{endpoint}",
        ca_certificate,
        {
            "command": AUTH_PLUGIN,
            "args": [ADC_FLAG],
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        },
    )
