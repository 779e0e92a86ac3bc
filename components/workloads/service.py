"""A service workload from the spec, run the way production teams run one.

Zero-downtime rollouts (surge, never unavailable), probes, requests and limits, a
locked-down pod (non-root, read-only root, no escalation, no capabilities,
RuntimeDefault seccomp), spread over zones and nodes, a PodDisruptionBudget, an
HPA that owns the replica count, a NetworkPolicy that admits only the gateway and
the namespace itself, and an HTTPRoute on the shared Gateway when exposed.

The manifests are built by plain functions so tests and schema validation read
exactly what is registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
from pydantic import SecretStr

from components.cluster import KubernetesCluster
from components.ignores import ignored
from components.runtime import secret_output
from components.spec import WorkloadSpec
from components.workloads import rollout
from components.workloads.platform import (
    GATEWAY_ACCESS_LABEL,
    GATEWAY_NAME,
    GATEWAY_NAMESPACE,
    OWN_NAME_LISTENER,
    gateway_host,
    https_listeners,
    spread,
)


def labels(w: WorkloadSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": w.name, "app.kubernetes.io/managed-by": "orquestra"}


def selector(w: WorkloadSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": w.name}


def pod_selector(w: WorkloadSpec) -> dict[str, str]:
    """The pods of every version: under a progressive rollout Flagger renames the primary's name label."""
    return {rollout.WORKLOAD_LABEL: w.name} if w.rollout.progressive else selector(w)


def namespace_of(w: WorkloadSpec) -> str:
    return w.namespace or w.name


def namespace_metadata(name: str, exposed: bool) -> dict[str, Any]:
    ns_labels = {
        "app.kubernetes.io/managed-by": "orquestra",
        "kubernetes.io/metadata.name": name,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    if exposed:
        ns_labels[GATEWAY_ACCESS_LABEL] = GATEWAY_NAME
    return {"name": name, "labels": ns_labels}


def namespaces(
    cluster: KubernetesCluster, workloads: Sequence[WorkloadSpec], gateway: pulumi.Resource | None
) -> dict[str, k8s.core.v1.Namespace]:
    """One Namespace per name, however many workloads share it; open to the gateway if any is exposed."""
    names = sorted({namespace_of(w) for w in workloads})
    opts = pulumi.ResourceOptions(parent=cluster, provider=cluster.provider, depends_on=list(cluster.ready))
    return {
        ns: k8s.core.v1.Namespace(
            f"{cluster.spec.name}-{ns}",
            metadata=cast(
                Any,
                namespace_metadata(
                    ns, gateway is not None and any(w.expose for w in workloads if namespace_of(w) == ns)
                ),
            ),
            opts=opts,
        )
        for ns in names
    }


def service_account(w: WorkloadSpec, annotations: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": w.name,
            "namespace": namespace_of(w),
            "labels": labels(w),
            "annotations": dict(annotations),
        },
        # Tokens are mounted only into pods that use a cloud identity (projected into the pod spec below).
        "automount_service_account_token": False,
    }


def env_secret_name(w: WorkloadSpec) -> str:
    return f"{w.name}-env"


def env_vars(w: WorkloadSpec) -> list[dict[str, Any]]:
    """Plain values inline; secret ones by reference to the workload's Secret, so no plan or Deployment holds them."""
    return [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": env_secret_name(w), "key": k}}}
        if isinstance(v, SecretStr)
        else {"name": k, "value": v}
        for k, v in sorted(w.env.items())
    ]


def env_secret(w: WorkloadSpec) -> dict[str, Any] | None:
    """The Secret holding the workload's secret env values, each a secret Output; None when it has none."""
    secrets = {k: v for k, v in w.env.items() if isinstance(v, SecretStr)}
    if not secrets:
        return None
    return {
        "metadata": {"name": env_secret_name(w), "namespace": namespace_of(w), "labels": labels(w)},
        "type": "Opaque",
        "string_data": {k: secret_output(v) for k, v in sorted(secrets.items())},
    }


def deployment(w: WorkloadSpec, identity: bool) -> dict[str, Any]:
    probe = {"httpGet": {"path": w.health_path, "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2}
    limits = {"memory": w.resources.memory_limit or w.resources.memory}
    if w.resources.cpu_limit:
        limits["cpu"] = w.resources.cpu_limit
    container = {
        "name": w.name,
        "image": w.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": w.port, "protocol": "TCP"}],
        "env": env_vars(w),
        "resources": {"requests": {"cpu": w.resources.cpu, "memory": w.resources.memory}, "limits": limits},
        "readinessProbe": {**probe, "failureThreshold": 3},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 6},
        "startupProbe": {**probe, "failureThreshold": 30},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": w.run_as_user,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
        "spec": {
            "replicas": w.replicas.min,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(w)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": w.rollout.max_surge},
            },
            "template": {
                "metadata": {"labels": {**labels(w), **pod_selector(w)}},
                "spec": {
                    "serviceAccountName": w.name,
                    "automountServiceAccountToken": identity,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": w.run_as_user,
                        "runAsGroup": w.run_as_user,
                        "fsGroup": w.run_as_user,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": spread(selector(w)),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def service(w: WorkloadSpec) -> dict[str, Any]:
    return {
        "metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(w),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(w: WorkloadSpec) -> dict[str, Any]:
    # With one replica a minAvailable of 1 would block every drain; allow one pod down instead.
    budget = {"minAvailable": 1} if w.replicas.min > 1 else {"maxUnavailable": 1}
    return {
        "metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
        "spec": {"selector": {"matchLabels": pod_selector(w)}, **budget},
    }


def autoscaler(w: WorkloadSpec) -> dict[str, Any]:
    def target(resource: str, percent: int) -> dict[str, Any]:
        return {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
        }

    return {
        "metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
            "minReplicas": w.replicas.min,
            "maxReplicas": w.replicas.max,
            "metrics": [target("cpu", w.cpu_target), target("memory", w.memory_target)],
            "behavior": {
                # Scale up at once, scale down slowly: flapping costs more than idle pods.
                "scaleUp": {"stabilizationWindowSeconds": 0},
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
                },
            },
        },
    }


def network_policy(w: WorkloadSpec, exposed: bool) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [{"podSelector": {}}]
    if exposed:
        sources.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}}})
    return {
        "metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
        "spec": {
            "podSelector": {"matchLabels": pod_selector(w)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"port": w.port, "protocol": "TCP"}]}],
        },
    }


def own_name(w: WorkloadSpec, gateway: str | None) -> str | None:
    """The gateway's own name when this workload answers to it: a global workload, whose health check probes it."""
    return gateway if w.expose is not None and w.expose.global_routing is not None else None


def route_parents(w: WorkloadSpec, gateway: str | None = None) -> list[dict[str, Any]]:
    """The shared Gateway's HTTP listener, the workload's HTTPS listeners, and the gateway's own name's listener
    when a global name's health check probes the gateway by that name (`platform.gateway_host`)."""
    assert w.expose is not None
    own = [OWN_NAME_LISTENER] if own_name(w, gateway) else []
    return [
        {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "sectionName": section}
        for section in ["http", *https_listeners(w), *own]
    ]


def route_hostnames(w: WorkloadSpec, gateway: str | None = None) -> list[str]:
    """The names the workload's route answers to; none means every name of the listeners it attaches to."""
    assert w.expose is not None
    own = own_name(w, gateway)
    return [*w.expose.hosts(), *([own] if own else [])] if w.expose.hosts() else []


def http_route(w: WorkloadSpec, gateway: str | None = None) -> dict[str, Any]:
    assert w.expose is not None
    spec: dict[str, Any] = {
        "parentRefs": route_parents(w, gateway),
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": w.expose.path}}],
                "backendRefs": [{"name": w.name, "port": 80}],
            }
        ],
    }
    if hostnames := route_hostnames(w, gateway):
        spec["hostnames"] = hostnames
    return {"metadata": {"name": w.name, "namespace": namespace_of(w), "labels": labels(w)}, "spec": spec}


class ServiceWorkload(pulumi.ComponentResource):
    def __init__(
        self,
        cluster: KubernetesCluster,
        w: WorkloadSpec,
        namespace: k8s.core.v1.Namespace,
        gateway: pulumi.Resource | None,
        opts: pulumi.ResourceOptions | None = None,
        flagger: Sequence[pulumi.Resource] = (),
    ) -> None:
        name = f"{cluster.spec.name}-{w.name}"
        super().__init__("orquestra:workloads:Service", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=list(cluster.ready))
        exposed = w.expose is not None and gateway is not None
        # Flagger owns the Services and the HTTPRoute of a progressive rollout; it creates them from the Canary.
        progressive = exposed and w.rollout.progressive and bool(flagger)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))

        annotations: Mapping[str, Any] = {}
        if w.cloud_identity:
            annotations = cluster.workload_identity(namespace_of(w), w.name, pulumi.ResourceOptions(parent=self))
        k8s.core.v1.ServiceAccount(f"{name}-sa", **service_account(w, annotations), opts=in_ns)

        secret = env_secret(w)
        uses: list[pulumi.Resource] = []
        if secret is not None:
            uses.append(k8s.core.v1.Secret(f"{name}-env", **secret, opts=in_ns))
        deploy = deployment(w, identity=w.cloud_identity)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            **deploy,
            # The HPA owns the replica count once it exists; a re-deploy must not reset it.
            opts=pulumi.ResourceOptions.merge(
                in_ns, pulumi.ResourceOptions(ignore_changes=ignored("kubernetes:apps/v1:Deployment"), depends_on=uses)
            ),
        )
        if not progressive:
            k8s.core.v1.Service(f"{name}-service", **service(w), opts=in_ns)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", **disruption_budget(w), opts=in_ns)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-hpa", **autoscaler(w), opts=in_ns)
        k8s.networking.v1.NetworkPolicy(f"{name}-netpol", **network_policy(w, exposed), opts=in_ns)
        if progressive and gateway is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-canary",
                api_version="flagger.app/v1beta1",
                kind="Canary",
                metadata={"name": w.name, "namespace": namespace_of(w), "labels": labels(w)},
                spec=rollout.canary_spec(
                    w,
                    route_parents(w, gateway_host(cluster.spec)),
                    route_hostnames(w, gateway_host(cluster.spec)),
                ),
                opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway, *flagger])),
            )
        elif gateway is not None and w.expose is not None:
            route = http_route(w, gateway_host(cluster.spec))
            k8s.apiextensions.CustomResource(
                f"{name}-route",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata=route["metadata"],
                spec=route["spec"],
                opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway])),
            )
        self.register_outputs({})
