"""The kubeconfig of an AKS cluster with Entra ID authentication."""

from __future__ import annotations

import base64
from typing import Any

from components import yamltext

AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The Entra ID application of the AKS API server (the same in every tenant)."""


def render(encoded: str) -> str:
    """The AKS user kubeconfig with every user switched to kubelogin using the Azure CLI login.

    Entra ID clusters hand out a kubeconfig without credentials; kubelogin turns
    the caller's `az login` (a workstation, or CI with a federated identity)
    into a token for the AKS server application.
    """
    doc: dict[str, Any] = yamltext.load(base64.b64decode(encoded).decode()) or {}
    for user in doc.get("users") or []:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "kubelogin",
                "args": ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID],
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": False,
            }
        }
    return yamltext.dump(doc, sort_keys=False)
