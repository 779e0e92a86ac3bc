"""What a k3s node is told: its config file, and the kube-vip manifest servers auto-deploy.

Plain functions of the spec (and of the join token, handled only inside an
Output), so tests can read exactly what each role gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components import yamltext
from components.pins import IMAGES
from components.spec import NodePool, OnpremSpec

API_PORT = 6443
IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"
ARTIFACTS_DIR = "/opt/k3s"
DISABLED = ("servicelb", "traefik")
"""MetalLB answers LoadBalancer Services and the platform installs its own gateway."""


@dataclass(frozen=True)
class Role:
    kind: str
    """`server` or `agent`."""
    first: bool = False
    pool: NodePool | None = None


TOKEN_FILE = "/etc/rancher/k3s/token"
AUDIT_POLICY_FILE = "/var/lib/rancher/k3s/server/audit-policy.yaml"
AUDIT_LOG = "/var/lib/rancher/k3s/server/logs/audit.log"


def config(spec: OnpremSpec, role: Role, node_name: str, join: str | None) -> dict[str, Any]:
    """The node's /etc/rancher/k3s/config.yaml; keys are k3s's flag names without the dashes.

    It names the token file instead of holding the token, so it can show in a plan.
    """
    out: dict[str, Any] = {"token-file": TOKEN_FILE, "node-name": node_name}
    if role.kind == "server":
        out.update(
            {
                "tls-san": [spec.api_vip],
                # The platform installs its own metrics-server (pinned, HA in prod); two would collide.
                # Source: https://docs.k3s.io/installation/packaged-components (--disable metrics-server)
                "disable": [*DISABLED, *(["metrics-server"] if spec.platform.metrics_server else [])],
                "cluster-cidr": spec.network.pod_cidr,
                "service-cidr": spec.network.service_cidr,
                "write-kubeconfig-mode": "0600",
                "secrets-encryption": True,
                "etcd-snapshot-schedule-cron": "0 */6 * * *",
                "etcd-snapshot-retention": 20,
                "kube-apiserver-arg": [
                    f"audit-log-path={AUDIT_LOG}",
                    f"audit-policy-file={AUDIT_POLICY_FILE}",
                    "audit-log-maxage=30",
                    "audit-log-maxbackup=10",
                    "audit-log-maxsize=100",
                ],
            }
        )
        if role.first:
            out["cluster-init"] = True
    if join is not None:
        out["server"] = f"https://{join}:{API_PORT}"
    pool = role.pool
    if pool is not None:
        out["node-label"] = [f"{k}={v}" for k, v in pool_labels(pool).items()]
        if pool.taints:
            out["node-taint"] = [
                f"{t['key']}={t['value']}:{t['effect']}" if t.get("value") else f"{t['key']}:{t['effect']}"
                for t in pool_taints(pool)
            ]
    return out


def pool_labels(pool: NodePool | None) -> dict[str, str]:
    """The labels of a pool's nodes: its own, and which pool it is."""
    if pool is None:
        return {}
    return {"orquestra.io/pool": pool.name, **pool.labels}


def pool_taints(pool: NodePool | None) -> list[dict[str, str]]:
    """A pool's taints as the Node API spells them."""
    if pool is None:
        return []
    return [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect} for t in pool.taints]


def dump(doc: dict[str, Any]) -> str:
    return yamltext.dump(doc, sort_keys=True)


def kube_vip(spec: OnpremSpec) -> list[dict[str, Any]]:
    """kube-vip as a DaemonSet on the servers, holding `apiVip` by ARP with leader election."""
    meta = {"name": "kube-vip", "namespace": "kube-system"}
    env = {
        "address": spec.api_vip,
        "port": str(API_PORT),
        "vip_arp": "true",
        "cp_enable": "true",
        "cp_namespace": "kube-system",
        "vip_leaderelection": "true",
        "vip_leasename": "plndr-cp-lock",
        "vip_leaseduration": "5",
        "vip_renewdeadline": "3",
        "vip_retryperiod": "1",
        # LoadBalancer Services belong to MetalLB; kube-vip only holds the API address.
        "svc_enable": "false",
        "prometheus_server": ":2112",
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:kube-vip-role"},
            "rules": [
                {"apiGroups": [""], "resources": ["services/status"], "verbs": ["update"]},
                {
                    "apiGroups": [""],
                    "resources": ["services", "endpoints"],
                    "verbs": ["list", "get", "watch", "update"],
                },
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "get", "watch", "update", "patch"]},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["list", "get", "watch", "update", "create"],
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "get", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:kube-vip-binding"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kube-vip-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "kube-vip", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {**meta, "labels": {"app.kubernetes.io/name": "kube-vip"}},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "kube-vip"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "kube-vip"}},
                    "spec": {
                        "serviceAccountName": "kube-vip",
                        "hostNetwork": True,
                        "nodeSelector": {"node-role.kubernetes.io/control-plane": "true"},
                        "tolerations": [
                            {"effect": "NoSchedule", "operator": "Exists"},
                            {"effect": "NoExecute", "operator": "Exists"},
                        ],
                        "containers": [
                            {
                                "name": "kube-vip",
                                "image": IMAGES["kube-vip"],
                                "imagePullPolicy": "IfNotPresent",
                                "args": ["manager"],
                                "env": [{"name": k, "value": v} for k, v in env.items()],
                                "securityContext": {
                                    "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                                },
                                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                            }
                        ],
                    },
                },
            },
        },
    ]


def manifest(docs: Sequence[dict[str, Any]]) -> str:
    return yamltext.dump_all(list(docs), sort_keys=False)


def audit_policy() -> dict[str, Any]:
    """Who changed what: metadata for reads of secrets, request bodies for writes, nothing for probes."""
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [
            {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version"]},
            {"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"]},
            {
                "level": "Metadata",
                "resources": [
                    {"group": "", "resources": ["secrets", "configmaps"]},
                    {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
                ],
            },
            {"level": "Request", "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
            {"level": "Metadata"},
        ],
    }


def registries(spec: OnpremSpec) -> dict[str, Any] | None:
    """/etc/rancher/k3s/registries.yaml: every registry through the mirror (the `*` wildcard), None without one.

    Source: https://docs.k3s.io/installation/private-registry#mirrors ("*" sets the default endpoint of
    every registry); k3s falls back to the upstream registry only when it can reach it.
    """
    if spec.registry_mirror is None:
        return None
    return {"mirrors": {"*": {"endpoint": [f"https://{spec.registry_mirror}"]}}}


def installer(spec: OnpremSpec) -> str:
    """The install.sh of the pinned release (a staged copy when air-gapped), never the moving get.k3s.io."""
    assert spec.k3s_version is not None
    if spec.airgap:
        return f"{ARTIFACTS_DIR}/install.sh"
    return f"https://raw.githubusercontent.com/k3s-io/k3s/{spec.k3s_version.replace('+', '%2B')}/install.sh"


def node_params(spec: OnpremSpec, role: Role, config_yaml: str) -> dict[str, str]:
    """The public parameters `scripts/k3s-node.sh` reads; the token travels apart, as K3S_TOKEN."""
    assert spec.k3s_version is not None
    server = role.kind == "server"
    return {
        "ROLE": role.kind,
        "INSTALL_K3S_VERSION": spec.k3s_version,
        "INSTALL_K3S_SCRIPT": installer(spec),
        "K3S_CONFIG": config_yaml,
        "MANIFESTS": manifest(kube_vip(spec)) if server else "",
        "AUDIT_POLICY": dump(audit_policy()) if server else "",
        "AIRGAP": "true" if spec.airgap else "false",
        "ARTIFACTS_DIR": ARTIFACTS_DIR,
        # Only with a mirror, so adding the setting leaves the command line of existing nodes as it was.
        **({"REGISTRIES": dump(mirrors)} if (mirrors := registries(spec)) else {}),
    }
