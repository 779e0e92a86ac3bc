"""The kubeconfig of a cluster you already run: yours, cut down to the one context this stack manages."""

from __future__ import annotations

from typing import Any

import yaml

from components import yamltext


def minify(kubeconfig: str, context: str | None) -> tuple[str, str]:
    """The kubeconfig cut down to one context (its cluster and user), and that cluster's server URL.

    A laptop's kubeconfig holds credentials for every cluster its owner reaches;
    only the one this stack manages belongs in the stack's state. A document that
    cannot be read is passed through whole, for the provider to report on.
    """
    try:
        doc: dict[str, Any] = yamltext.load(kubeconfig) or {}
        name = context or doc.get("current-context")
        ctx = next(c for c in doc.get("contexts", []) if c.get("name") == name)
        cluster = next(c for c in doc.get("clusters", []) if c.get("name") == ctx["context"]["cluster"])
        users = [u for u in doc.get("users", []) if u.get("name") == ctx["context"].get("user")]
    except (yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError):
        return kubeconfig, ""
    small = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "contexts": [ctx],
        "users": users,
        "current-context": name,
    }
    return yamltext.dump(small, sort_keys=False), str(cluster.get("cluster", {}).get("server", ""))
