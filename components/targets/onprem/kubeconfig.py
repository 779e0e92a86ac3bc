"""The kubeconfig of a k3s cluster, as read back from its first server."""

from __future__ import annotations

from typing import Any

from components import yamltext
from components.spec import OnpremSpec
from components.targets.onprem.k3s import API_PORT


def render(text: str, spec: OnpremSpec) -> str:
    """k3s writes https://127.0.0.1:6443 and names everything `default`: point it at the VIP, name it the cluster."""
    doc: dict[str, Any] = yamltext.load(text) or {}
    name = spec.name
    for entry in doc.get("clusters", []):
        entry["name"] = name
        entry.setdefault("cluster", {})["server"] = f"https://{spec.api_vip}:{API_PORT}"
    for entry in doc.get("users", []):
        entry["name"] = name
    for entry in doc.get("contexts", []):
        entry["name"] = name
        entry["context"] = {**entry.get("context", {}), "cluster": name, "user": name}
    doc["current-context"] = name
    return yamltext.dump(doc, sort_keys=False)
