"""vSphere with Tanzu: what the Supervisor's Cluster API answers for a workload cluster.

A created `Cluster` gets the status Cluster API reports once provisioned (its control plane endpoint is the
Supervisor load balancer's virtual IP on port 6443); the read of `<cluster>-kubeconfig` finds the Secret
Cluster API writes: type `cluster.x-k8s.io/secret`, labelled with the cluster, the kubeconfig under `value`
(cluster-api v1.10.10 util/secret/consts.go, util/kubeconfig/kubeconfig.go), a client-certificate user named
`<cluster>-admin` on the cluster's own CA.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from typing import Any


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _pem(kind: str, seed: str) -> str:
    """A PEM-shaped block, base64 as a kubeconfig embeds it (stable per cluster)."""
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----", ""])
    return base64.b64encode(pem.encode()).decode()


def endpoint(namespace: str, name: str) -> str:
    """The virtual IP the Supervisor's load balancer gives a cluster's API (an address of its ingress range)."""
    return str(ipaddress.ip_address("10.220.8.0") + int(_digest(namespace, name)[:4], 16) % 250 + 2)


def capi_kubeconfig(namespace: str, name: str, stack: str) -> str:
    """The kubeconfig Cluster API writes for a cluster (util/kubeconfig/kubeconfig.go `New`)."""
    seed = f"{stack}/{namespace}/{name}"
    user = f"{name}-admin"
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {_pem('CERTIFICATE', seed + '/ca')}\n"
        f"    server: https://{endpoint(namespace, name)}:6443\n"
        f"  name: {name}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {name}\n"
        f"    user: {user}\n"
        f"  name: {user}@{name}\n"
        f"current-context: {user}@{name}\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {user}\n"
        "  user:\n"
        f"    client-certificate-data: {_pem('CERTIFICATE', seed + '/client')}\n"
        f"    client-key-data: {_pem('RSA PRIVATE KEY', seed + '/key')}\n"
    )


def _cluster(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    meta = dict(inputs.get("metadata") or {})
    namespace, cluster = str(meta.get("namespace") or "default"), str(meta.get("name") or name)
    digest = _digest(stack, namespace, cluster)
    meta["uid"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    return {
        "id": f"{namespace}/{cluster}",
        "metadata": meta,
        "status": {
            "phase": "Provisioned",
            "infrastructureReady": True,
            "controlPlaneReady": True,
            "conditions": [ready],
        },
    }


def _kubeconfig_secret(resource_id: str, stack: str) -> dict[str, Any]:
    namespace, _, secret = resource_id.partition("/")
    cluster = secret.removesuffix("-kubeconfig")
    if not namespace or secret == cluster:
        raise LookupError(
            f"no Secret {resource_id}: Cluster API writes <cluster>-kubeconfig in the Cluster's namespace"
        )
    value = base64.b64encode(capi_kubeconfig(namespace, cluster, stack).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret,
            "namespace": namespace,
            "labels": {"cluster.x-k8s.io/cluster-name": cluster},
        },
        "type": "cluster.x-k8s.io/secret",
        "data": {"value": value},
    }


RESOURCES = {"kubernetes:cluster.x-k8s.io/v1beta1:Cluster": _cluster}
INVOKES: dict[str, Any] = {}
READS = {"kubernetes:core/v1:Secret": _kubeconfig_secret}
