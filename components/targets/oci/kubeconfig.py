"""The kubeconfig of an OKE cluster: the CA and endpoint OKE reports, credentials from the OCI CLI."""

from __future__ import annotations

from typing import Any

from components import yamltext
from components.cluster import exec_kubeconfig


def render(context: str, endpoint: str, ca_certificate: str, cluster_id: str, region: str) -> str:
    """A kubeconfig whose token `oci ce cluster generate-token` mints on each use, never a stored one.

    The arguments are those `oci ce cluster create-kubeconfig --token-version 2.0.0` writes
    (https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengdownloadkubeconfigfile.htm); the CLI
    signs with whatever the caller is (API key, instance or workload principal via OCI_CLI_AUTH).
    """
    return exec_kubeconfig(
        context,
        f"https://{endpoint}",
        ca_certificate,
        {
            "command": "oci",
            "args": ["ce", "cluster", "generate-token", "--cluster-id", cluster_id, "--region", region],
            "installHint": "Install the OCI CLI: https://docs.oracle.com/en-us/iaas/Content/API/SDKDocs/cliinstall.htm",
            "interactiveMode": "Never",
        },
    )


def ca_of(content: str) -> str:
    """The certificate authority of the kubeconfig OKE generates (its only cluster)."""
    doc: dict[str, Any] = yamltext.load(content)
    return str(doc["clusters"][0]["cluster"]["certificate-authority-data"])
