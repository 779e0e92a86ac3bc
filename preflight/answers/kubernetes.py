"""pulumi-kubernetes: objects get the uid and status the API server would give them."""

from __future__ import annotations

import hashlib
from typing import Any


def _object(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    meta = dict(inputs.get("metadata") or {})
    meta.setdefault("name", name)
    digest = hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()
    meta["uid"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    namespace = meta.get("namespace")
    return {"id": f"{namespace}/{meta['name']}" if namespace else meta["name"], "metadata": meta}


def _release(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    namespace = inputs.get("namespace") or "default"
    release = inputs.get("name") or name
    return {
        "id": f"{namespace}/{release}",
        "status": {
            "name": release,
            "namespace": namespace,
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "revision": 1,
            "status": "deployed",
        },
    }


RESOURCES = {
    "kubernetes:helm.sh/v3:Release": _release,
    **{
        t: _object
        for t in (
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:apps/v1:Deployment",
        )
    },
}
INVOKES: dict[str, Any] = {}
