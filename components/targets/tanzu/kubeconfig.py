"""The kubeconfigs a Tanzu cluster uses: the Supervisor's (given) and the workload cluster's (Cluster API's)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import yaml

from components import yamltext

# cluster-api v1.10.10 util/secret/consts.go: the Secret `<cluster>-kubeconfig` ("Kubeconfig" purpose) holds
# the workload cluster's kubeconfig under the data key `value`.
SECRET_KEY = "value"


def secret_name(cluster: str) -> str:
    return f"{cluster}-kubeconfig"


def from_secret(data: Mapping[str, Any] | None) -> str:
    """The kubeconfig in a Cluster API kubeconfig Secret's `data` (base64, as the API returns it)."""
    encoded = (data or {}).get(SECRET_KEY) or ""
    return base64.b64decode(encoded).decode() if encoded else ""


def server(kubeconfig: str) -> str:
    """The API server URL of the current context's cluster; "" when the document does not say."""
    try:
        doc: dict[str, Any] = yamltext.load(kubeconfig) or {}
        name = doc.get("current-context")
        ctx = next(c for c in doc.get("contexts", []) if c.get("name") == name)
        cluster = next(c for c in doc.get("clusters", []) if c.get("name") == ctx["context"]["cluster"])
        return str(cluster["cluster"]["server"])
    except (yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError):
        return ""
