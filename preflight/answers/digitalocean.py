"""pulumi-digitalocean: version slugs, UUIDs, endpoints and credentials as the DigitalOcean API returns them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

# DOKS release slugs as `doctl kubernetes options versions` lists them, newest first.
KUBERNETES_VERSIONS = (
    "1.35.1-do.0",
    "1.34.3-do.1",
    "1.34.2-do.0",
    "1.33.7-do.2",
)
_CREATED = "2026-11-28T22:14:07Z"


def _uuid(stack: str, kind: str, name: str) -> str:
    return str(uuid.UUID(hashlib.sha256(f"{stack}/{kind}/{name}".encode()).hexdigest()[:32], version=4))


def _kubernetes_versions(args: dict[str, Any]) -> dict[str, Any]:
    prefix = args.get("versionPrefix") or ""
    valid = [v for v in KUBERNETES_VERSIONS if v.startswith(prefix)]
    return {
        "id": prefix or "kubernetes-versions",
        "latestVersion": valid[0] if valid else "",
        "validVersions": valid,
        "versionPrefix": prefix,
    }


def _nodes(stack: str, pool: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": _uuid(stack, "node", f"{pool}-{i}"),
            "name": f"{pool}-{_uuid(stack, 'suffix', f'{pool}-{i}')[:5]}",
            "status": "running",
            "dropletId": str(480000000 + int(hashlib.sha256(f"{pool}{i}".encode()).hexdigest()[:6], 16)),
            "createdAt": _CREATED,
            "updatedAt": _CREATED,
        }
        for i in range(count)
    ]


def _pool(stack: str, pool: dict[str, Any]) -> dict[str, Any]:
    count = int(pool.get("nodeCount") or pool.get("minNodes") or 1)
    return {
        **pool,
        "id": _uuid(stack, "pool", str(pool.get("name"))),
        "actualNodeCount": count,
        "nodes": _nodes(stack, str(pool.get("name")), count),
    }


def _cluster(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cluster_id = _uuid(stack, "cluster", name)
    endpoint = f"https://{cluster_id}.k8s.ondigitalocean.com"
    ca = base64.b64encode(
        b"-----BEGIN CERTIFICATE-----\nMIIDJzCCAg+gAwIBAgICBnUwDQYJKoZIhvcNAQELBQAwMzEVMBMGA1UEChMMRGln"
        b"aXRhbE9jZWFuMRowGAYDVQQDExFrOHNhYXMgQ2x1c3RlciBDQTAeFw0yNjExMjgy\n-----END CERTIFICATE-----\n"
    ).decode()
    token = "dop_v1_" + hashlib.sha256(f"{stack}/{name}/token".encode()).hexdigest()
    context = f"do-{inputs.get('region')}-{inputs.get('name') or name}"
    raw = (
        "apiVersion: v1\nkind: Config\nclusters:\n"
        f"- cluster:\n    certificate-authority-data: {ca}\n    server: {endpoint}\n  name: {context}\n"
        f"contexts:\n- context:\n    cluster: {context}\n    user: {context}-admin\n  name: {context}\n"
        f"current-context: {context}\nusers:\n- name: {context}-admin\n  user:\n    token: {token}\n"
    )
    return {
        "id": cluster_id,
        "clusterUrn": f"do:kubernetes:{cluster_id}",
        "endpoint": endpoint,
        "ipv4Address": "",
        "status": "running",
        "createdAt": _CREATED,
        "updatedAt": _CREATED,
        "nodePool": _pool(stack, dict(inputs.get("nodePool") or {})),
        "kubeConfigs": [
            {
                "rawConfig": raw,
                "host": endpoint,
                "clusterCaCertificate": ca,
                "token": token,
                "expiresAt": "2026-12-05T22:14:07Z",
                "clientCertificate": "",
                "clientKey": "",
            }
        ],
    }


def _node_pool(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    pool = _pool(stack, inputs)
    return {"id": pool["id"], "actualNodeCount": pool["actualNodeCount"], "nodes": pool["nodes"]}


def _vpc(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vpc_id = _uuid(stack, "vpc", name)
    return {"id": vpc_id, "vpcUrn": f"do:vpc:{vpc_id}", "default": False, "createdAt": _CREATED}


def _registry(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    registry = inputs.get("name") or name
    return {
        "id": registry,
        "endpoint": f"registry.digitalocean.com/{registry}",
        "serverUrl": "registry.digitalocean.com",
        "region": inputs.get("region") or "fra1",
        "storageUsageBytes": 0,
        "createdAt": _CREATED,
    }


INVOKES = {
    "digitalocean:index/getKubernetesVersions:getKubernetesVersions": _kubernetes_versions,
}
RESOURCES = {
    "digitalocean:index/kubernetesCluster:KubernetesCluster": _cluster,
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": _node_pool,
    "digitalocean:index/vpc:Vpc": _vpc,
    "digitalocean:index/containerRegistry:ContainerRegistry": _registry,
}


def cluster_crds(minor: str) -> list[dict[str, Any]]:
    """The Gateway API CRDs DOKS installs and keeps on VPC-native clusters from 1.33 (every cluster created here).

    Source: https://docs.digitalocean.com/products/kubernetes/how-to/use-gateway-api/ ("DOKS installs and manages
    Gateway Custom Resource Definitions"). DigitalOcean does not say which Gateway API release; the schemas here
    are the standard channel as the pinned gateway-crds chart carries it, the release Envoy Gateway is built for.
    """
    from components.workloads import charts
    from preflight import render

    values = {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": False}}}
    rendered = render.render(charts.GATEWAY_CRDS, values, name="doks", namespace="kube-system", minor=minor)
    return [
        obj
        for obj in rendered.objects
        if obj.get("kind") == "CustomResourceDefinition" and obj["spec"]["group"] == "gateway.networking.k8s.io"
    ]
