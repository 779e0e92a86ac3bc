"""Kubernetes objects the program renders: workloads, Services, PDBs, HPAs and Helm releases.

Rules read the objects as registered (`kubernetes:apps/v1:Deployment` inputs are
the manifest), so they hold for every target. A Helm release is one resource whose
rendered objects are not visible here; its rule checks that the chart is pinned.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Severity

from policies.memo import content_key
from policies.rules.base import (
    Case,
    Context,
    Finding,
    Node,
    Resource,
    Rule,
    StackCase,
    Unknown,
    first_unknown,
    per_resource,
)

POD_SPEC: dict[str, str] = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    "kubernetes:core/v1:Pod": "spec",
}
WORKLOADS = tuple(POD_SPEC)
LONG_RUNNING = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
REPLICATED = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

PUBLIC_OPT_IN = "orquestra.io/public"

_IMAGE = re.compile(r"^(?P<name>[^@]+?)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?$")


def _pod(r: Resource) -> Node:
    return r.props.node(POD_SPEC[r.type])


def _containers(r: Resource, *, init: bool = True) -> Iterator[tuple[str, Node]]:
    pod = _pod(r)
    kinds = ("containers", "initContainers") if init else ("containers",)
    for kind in kinds:
        for c in pod.each(kind):
            yield f"{kind}[{c.get('name')}]", c


def _pinned_images(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        image = str(c.get("image") or "")
        m = _IMAGE.match(image)
        tag, digest = (m.group("tag"), m.group("digest")) if m else (None, None)
        if not digest and (not tag or tag == "latest"):
            yield f"{where}.image {image!r} is not pinned: use a version tag or an @sha256 digest"


def _requests(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        missing = [k for k in ("cpu", "memory") if c.get(f"resources.requests.{k}") is None]
        if missing:
            yield f"{where} sets no resources.requests {' and '.join(missing)}: the scheduler cannot place it well"


def _limits(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        if c.get("resources.limits.memory") is None:
            yield f"{where} sets no resources.limits.memory: one leak can starve the node"


def _probes(r: Resource, ctx: Context) -> Iterator[str]:
    if r.type not in LONG_RUNNING:
        return
    for where, c in _containers(r, init=False):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not c.present(p)]
        if missing:
            yield f"{where} has no {' or '.join(missing)}"


def _security(pod: Node, c: Node, key: str) -> Any:
    """A container's effective securityContext setting: its own, else the pod's."""
    own = c.get(f"securityContext.{key}")
    return own if own is not None else pod.get(f"securityContext.{key}")


def _non_root(r: Resource, ctx: Context) -> Iterator[str]:
    pod = _pod(r)
    for where, c in _containers(r):
        user = _security(pod, c, "runAsUser")
        if _security(pod, c, "runAsNonRoot") is not True and not (isinstance(user, int) and user > 0):
            yield f"{where} may run as root: set securityContext.runAsNonRoot: true"
        elif user == 0:
            yield f"{where} sets runAsUser: 0"


def _read_only_root(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        if c.get("securityContext.readOnlyRootFilesystem") is not True:
            yield f"{where} needs securityContext.readOnlyRootFilesystem: true (mount an emptyDir for scratch)"


def _no_privilege_escalation(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        if c.get("securityContext.allowPrivilegeEscalation") is not False:
            yield f"{where} needs securityContext.allowPrivilegeEscalation: false"


def _not_privileged(r: Resource, ctx: Context) -> Iterator[str]:
    for where, c in _containers(r):
        if c.get("securityContext.privileged") is True:
            yield f"{where} is privileged: it owns the node"
        added = c.get("securityContext.capabilities.add") or []
        dangerous = sorted({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE"} & set(added))
        if dangerous:
            yield f"{where} adds capabilities {', '.join(dangerous)}"


def _host_namespaces(r: Resource, ctx: Context) -> Iterator[str]:
    pod = _pod(r)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            yield f"{key}: true shares the node's namespace with the pod"
    for where, c in _containers(r):
        for port in c.each("ports"):
            if port.get("hostPort"):
                yield f"{where} binds hostPort {port.get('hostPort')}"


def _host_path(r: Resource, ctx: Context) -> Iterator[str]:
    for volume in _pod(r).each("volumes"):
        if volume.present("hostPath"):
            yield f"volume {volume.get('name')!r} mounts hostPath {volume.get('hostPath.path')!r} from the node"


def _service_account_token(r: Resource, ctx: Context) -> Iterator[str]:
    pod = _pod(r)
    account = pod.get("serviceAccountName") or "default"
    if account == "default" and pod.get("automountServiceAccountToken") is not False:
        yield "the pod mounts the namespace's default ServiceAccount token; set automountServiceAccountToken: false"


_INTERNAL: dict[str, tuple[str, ...]] = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "networking.gke.io/load-balancer-type": ("Internal",),
    "cloud.google.com/load-balancer-type": ("Internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/do-loadbalancer-network": ("INTERNAL",),
}
# MetalLB hands out addresses from an operator-defined pool on the site network.
_METALLB_POOL = ("metallb.universe.tf/address-pool", "metallb.io/address-pool")


def _public_load_balancer(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("spec.type") != "LoadBalancer":
        return
    annotations = r.get("metadata.annotations") or {}
    if str(annotations.get(PUBLIC_OPT_IN, "")).lower() == "true":
        return
    if any(str(annotations.get(k)) in v for k, v in _INTERNAL.items()) or any(a in annotations for a in _METALLB_POOL):
        return
    yield (
        f"a LoadBalancer Service without an internal-load-balancer annotation gets a public address; "
        f'annotate it {PUBLIC_OPT_IN}: "true" if that is intended'
    )


def _namespace(r: Resource) -> str:
    return str(r.get("metadata.namespace") or "default")


def _selectors(resources: Sequence[Resource]) -> tuple[list[tuple[str, dict[str, Any]]], Unknown | None]:
    """(namespace, matchLabels) of every PDB; the first unknown one, if any, makes "not covered" undecidable."""
    found, unknown = [], None
    for p in (r for r in resources if r.type == PDB):
        try:
            if not p.props.present("spec.selector.matchExpressions"):
                found.append((_namespace(p), p.get("spec.selector.matchLabels") or {}))
        except Unknown as exc:
            unknown = unknown or exc.about(p)
    return found, unknown


def _pdb(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    budgets, unknown = _selectors(resources)

    def check(w: Resource) -> Iterator[str]:
        labels = w.get("spec.template.metadata.labels") or {}
        ns = _namespace(w)
        if any(ns == pns and sel and all(labels.get(k) == v for k, v in sel.items()) for pns, sel in budgets):
            return
        if unknown is not None:
            raise unknown
        yield "no PodDisruptionBudget selects its pods"

    yield from per_resource((r for r in resources if r.type in REPLICATED), check)


def _replicas(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    if not ctx.prod:
        return
    wanted = int(ctx.config.get("minReplicas", 2))
    hpas: dict[tuple[str, Any, Any], Any] = {}
    unknown: Unknown | None = None
    for h in (r for r in resources if r.type == HPA):
        try:
            key = (_namespace(h), h.get("spec.scaleTargetRef.kind"), h.get("spec.scaleTargetRef.name"))
            hpas[key] = h.get("spec.minReplicas", 1)
        except Unknown as exc:
            unknown = unknown or exc.about(h)

    def check(w: Resource) -> Iterator[str]:
        kind = w.type.rsplit(":", 1)[1]
        key = (_namespace(w), kind, w.get("metadata.name"))
        if key not in hpas and unknown is not None:
            raise unknown
        count = int(hpas[key] if key in hpas else w.get("spec.replicas", 1))
        if count < wanted:
            source = "HPA minReplicas" if key in hpas else "spec.replicas"
            yield f"{source} is {count}; prod needs at least {wanted}"

    yield from per_resource((r for r in resources if r.type in REPLICATED), check)


def _helm_pinned(r: Resource, ctx: Context) -> Iterator[str]:
    chart = str(r.get("chart") or "")
    if not r.get("version"):
        yield f"chart {chart!r} has no version: pin it so a second deploy renders the same objects"
    if not r.props.present("repositoryOpts.repo") and not chart.startswith("oci://"):
        yield f"chart {chart!r} names no repository (repositoryOpts.repo or an oci:// chart)"


def cluster_version(r: Resource, ctx: Context) -> str:
    """The Kubernetes version of the cluster an object goes to, found through its provider's name."""
    from components.targets import REGISTRY

    clusters = [c for c in ctx.stack_config.get("orquestra:clusters") or [] if isinstance(c, dict)]
    name = r.provider_name.removesuffix("-k8s")
    match = [c for c in clusters if c.get("name") == name] or (clusters if len(clusters) == 1 else [])
    if match:
        c = match[0]
        target = REGISTRY.get(str(c.get("target")))
        return str(c.get("kubernetesVersion") or (target.default_version if target else ""))
    return str(ctx.config.get("kubernetesVersion", ""))


def _schema_reason(exc: Any) -> str:
    """What the schema wants, never the offending value itself: it may be a secret (the pack sees them decoded)."""
    if exc.validator in ("required", "additionalProperties"):
        return str(exc.message)  # names properties, not values
    wanted = json.dumps(exc.validator_value)
    return f"must satisfy {exc.validator}: {wanted[:80]}{'...' if len(wanted) > 80 else ''}"


@functools.cache
def _validator(version: str, api_version: str, kind: str) -> Any:
    """The strict schema `kubernetes_validate.validate` checks one kind against (`policies.kschema`).

    Its lookup, step for step (kubernetes-validate 1.37.0, `kubernetes_validate/utils.py`):
    the newest schema version not newer than `version`, the `<kind>-<group>-<version>.json`
    file of its `-local-strict` directory and the shared `_definitions.json`. Raises its
    `VersionNotSupportedError` and `SchemaNotFoundError`.
    """
    from kubernetes_validate import utils

    from policies import kschema

    desired = version.removeprefix("v")
    if utils.major_minor(desired) > utils.latest_version():
        raise utils.VersionNotSupportedError(version=utils.major_minor(desired))
    found = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(desired)][-1]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    checker = kschema.checker(f"v{found}-local-strict", f"{kind.lower()}-{group}.json")
    if checker is None:
        raise utils.SchemaNotFoundError(version=utils.major_minor(desired), kind=kind, api_version=api_version)
    return checker


def _schema(r: Resource, ctx: Context) -> Iterator[str]:
    manifest = {k: v for k, v in r.props.value.items() if not k.startswith("__")}
    unknown = first_unknown(manifest, "")
    if unknown:
        raise Unknown(unknown.lstrip("."))
    version = cluster_version(r, ctx)
    if not version:
        yield "cannot tell the cluster's Kubernetes version; set kubernetesVersion in this rule's config"
        return
    key = content_key(manifest)
    if key is None:
        yield from _schema_verdict(version, manifest)
        return
    if (version, key) not in _SCHEMA_VERDICTS:
        _SCHEMA_VERDICTS[(version, key)] = tuple(_schema_verdict(version, manifest))
    yield from _SCHEMA_VERDICTS[(version, key)]


_SCHEMA_VERDICTS: dict[tuple[str, bytes], tuple[str, ...]] = {}
"""(version, manifest's `content_key`) -> messages: a fleet sends the same objects to many clusters."""


def _schema_verdict(version: str, manifest: dict[str, Any]) -> Iterator[str]:
    import jsonschema
    from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError

    try:
        _validator(version, str(manifest["apiVersion"]), str(manifest["kind"])).validate(manifest)
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(root)"
        yield f"not valid for Kubernetes {version}: {path}: {_schema_reason(exc)}"
    except VersionNotSupportedError:
        yield f"no schema for Kubernetes {version}; update kubernetes-validate"
    except SchemaNotFoundError:
        yield f"{manifest.get('apiVersion')}/{manifest.get('kind')} does not exist in Kubernetes {version}"


def is_builtin(type_: str) -> bool:
    """Built-in API objects (the ones with a published schema), not Helm, YAML or custom resources."""
    parts = type_.split(":")
    return len(parts) == 3 and parts[0] == "kubernetes" and parts[1].split("/")[0] in _CORE_GROUPS


_CORE_GROUPS = frozenset(
    {
        "core",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "events.k8s.io",
        "resource.k8s.io",
        "apiregistration.k8s.io",
        "storagemigration.k8s.io",
        "internal.apiserver.k8s.io",
    }
)


RULES = [
    Rule(
        "k8s-pinned-images",
        "Every container image is pinned to a tag other than latest, or a digest.",
        "baseline",
        WORKLOADS,
        _pinned_images,
        severity=Severity.HIGH,
    ),
    Rule("k8s-resource-requests", "Every container requests CPU and memory.", "hardening", WORKLOADS, _requests),
    Rule("k8s-resource-limits", "Every container has a memory limit.", "hardening", WORKLOADS, _limits),
    Rule("k8s-probes", "Long-running containers have readiness and liveness probes.", "hardening", WORKLOADS, _probes),
    Rule(
        "k8s-run-as-non-root",
        "Containers run as a non-root user.",
        "hardening",
        WORKLOADS,
        _non_root,
        severity=Severity.HIGH,
    ),
    Rule(
        "k8s-read-only-root-filesystem",
        "Containers have a read-only root filesystem.",
        "hardening",
        WORKLOADS,
        _read_only_root,
    ),
    Rule(
        "k8s-no-privilege-escalation",
        "Containers set allowPrivilegeEscalation: false.",
        "hardening",
        WORKLOADS,
        _no_privilege_escalation,
        severity=Severity.HIGH,
    ),
    Rule(
        "k8s-no-privileged",
        "No container is privileged or adds dangerous capabilities.",
        "baseline",
        WORKLOADS,
        _not_privileged,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "k8s-no-host-namespaces",
        "Pods share no host namespace (network, PID, IPC) and bind no host port.",
        "baseline",
        WORKLOADS,
        _host_namespaces,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "k8s-no-host-path",
        "Pods mount no hostPath volume.",
        "baseline",
        WORKLOADS,
        _host_path,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "k8s-no-default-service-account-token",
        "Pods do not mount the default ServiceAccount's token.",
        "advice",
        WORKLOADS,
        _service_account_token,
    ),
    Rule(
        "k8s-pod-disruption-budget",
        "Every Deployment and StatefulSet has a PodDisruptionBudget.",
        "lockdown",
        stack_check=_pdb,
    ),
    Rule(
        "k8s-min-replicas",
        "Prod Deployments and StatefulSets run at least two replicas (or an HPA keeps at least two).",
        "lockdown",
        stack_check=_replicas,
        config={"minReplicas": {"type": "integer", "minimum": 1, "default": 2}},
    ),
    Rule(
        "k8s-public-load-balancer-opt-in",
        f'A LoadBalancer Service is internal unless annotated {PUBLIC_OPT_IN}: "true".',
        "baseline",
        (SERVICE,),
        _public_load_balancer,
        severity=Severity.HIGH,
    ),
    Rule(
        "k8s-schema-valid",
        "Every object is valid for its cluster's Kubernetes version.",
        "baseline",
        check=_schema,
        matches=is_builtin,
        config={
            "kubernetesVersion": {
                "type": "string",
                "default": "1.35",
                "description": "Version used when the stack config does not say which cluster an object is on.",
            }
        },
    ),
    Rule(
        "k8s-helm-chart-pinned",
        "Every Helm release pins its chart version and repository.",
        "baseline",
        (HELM_RELEASE,),
        _helm_pinned,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

GOOD_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "ghcr.io/stefanprodan/podinfo:6.9.2",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 9898}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 9898}},
    "securityContext": {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
}


def good_deployment(container: dict[str, Any] | None = None, **pod: Any) -> dict[str, Any]:
    """A Deployment every rule here passes; a case changes the one field its rule is about."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hello", "namespace": "hello"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "hello"}},
            "template": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"containers": [{**GOOD_CONTAINER, **(container or {})}], **pod},
            },
        },
    }


def good_service(annotations: dict[str, str]) -> dict[str, Any]:
    """A LoadBalancer Service with the given annotations."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw", "namespace": "gateway", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}], "selector": {"app": "gw"}},
    }


def _with_security(**ctx: Any) -> dict[str, Any]:
    return good_deployment({"securityContext": {**GOOD_CONTAINER["securityContext"], **ctx}})


GOOD_PDB: dict[str, Any] = {"metadata": {"namespace": "hello"}, "spec": {"selector": {"matchLabels": {"app": "hello"}}}}

CASES: dict[str, Case] = {
    "k8s-no-default-service-account-token": Case(
        DEPLOYMENT,
        good_deployment(automountServiceAccountToken=False),
        good_deployment(),
        "automountServiceAccountToken",
    ),
    "k8s-pinned-images": Case(DEPLOYMENT, good_deployment(), good_deployment({"image": "nginx:latest"}), "not pinned"),
    "k8s-resource-requests": Case(
        DEPLOYMENT, good_deployment(), good_deployment({"resources": {"limits": {"memory": "1Gi"}}}), "cpu"
    ),
    "k8s-resource-limits": Case(
        DEPLOYMENT,
        good_deployment(),
        good_deployment({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}),
        "limits.memory",
    ),
    "k8s-probes": Case(DEPLOYMENT, good_deployment(), good_deployment({"livenessProbe": None}), "livenessProbe"),
    "k8s-run-as-non-root": Case(DEPLOYMENT, good_deployment(), _with_security(runAsNonRoot=False), "root"),
    "k8s-read-only-root-filesystem": Case(
        DEPLOYMENT, good_deployment(), _with_security(readOnlyRootFilesystem=False), "readOnly"
    ),
    "k8s-no-privilege-escalation": Case(
        DEPLOYMENT, good_deployment(), _with_security(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"
    ),
    "k8s-no-privileged": Case(DEPLOYMENT, good_deployment(), _with_security(privileged=True), "privileged"),
    "k8s-no-host-namespaces": Case(DEPLOYMENT, good_deployment(), good_deployment(hostNetwork=True), "hostNetwork"),
    "k8s-no-host-path": Case(
        DEPLOYMENT,
        good_deployment(volumes=[{"name": "tmp", "emptyDir": {}}]),
        good_deployment(volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]),
        "docker.sock",
    ),
    "k8s-public-load-balancer-opt-in": Case(
        SERVICE,
        good_service({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
        good_service({}),
        "orquestra.io/public",
    ),
    "k8s-schema-valid": Case(
        DEPLOYMENT, good_deployment(), good_deployment({"ports": [{"containerPort": "http"}]}), "containerPort"
    ),
    "k8s-helm-chart-pinned": Case(
        HELM_RELEASE,
        {"chart": "cert-manager", "version": "v1.19.1", "repositoryOpts": {"repo": "https://charts.jetstack.io"}},
        {"chart": "cert-manager", "repositoryOpts": {"repo": "https://charts.jetstack.io"}},
        "no version",
    ),
}

STACK_CASES: dict[str, StackCase] = {
    "k8s-pod-disruption-budget": StackCase(
        [(DEPLOYMENT, "hello", good_deployment()), (PDB, "hello", GOOD_PDB)],
        [(DEPLOYMENT, "hello", good_deployment()), (PDB, "other", {**GOOD_PDB, "metadata": {"namespace": "other"}})],
        "PodDisruptionBudget",
    ),
    "k8s-min-replicas": StackCase(
        [
            (DEPLOYMENT, "hello", {**good_deployment(), "spec": {**good_deployment()["spec"], "replicas": None}}),
            (
                HPA,
                "hello",
                {
                    "metadata": {"namespace": "hello"},
                    "spec": {"minReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "hello"}},
                },
            ),
        ],
        [(DEPLOYMENT, "hello", {**good_deployment(), "spec": {**good_deployment()["spec"], "replicas": 1}})],
        "at least 2",
    ),
}
