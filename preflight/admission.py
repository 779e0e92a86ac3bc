"""What every cluster of a plan would be asked to admit, and what it would refuse.

Joins the rendered releases (`preflight.render`) with the program's own objects,
per cluster, and validates each (`preflight.validate`): a chart that fails to render,
values its schema refuses, an object its schema or its CRD's CEL rules refuse, a
custom resource whose CRD no release installs. Alongside, what a reader of the plan
should see: object counts per release, the images a stack pulls, pods with host
access, LoadBalancer Services the charts create, values keys no template reads, and
CEL rules that could not be evaluated here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from preflight import reference, validate
from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.render import Cluster, Release, clusters, default_values, manifest, render, template_text

MIRROR_SOURCE = "chart lock table (components/workloads/charts.py) and the chart mirror"

# Where each workload kind keeps its pod template (apps/v1, batch/v1).
POD_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
_PINNED = re.compile(r"^(?P<name>[^@]+?)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?$")


@dataclass(frozen=True)
class Image:
    image: str
    pinned: bool
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    """Something a reader must see that no cluster would refuse."""

    subject: str
    field: str
    message: str

    def line(self) -> str:
        return f"{self.subject}: {self.field}: {self.message}" if self.field else f"{self.subject}: {self.message}"


@dataclass
class Review:
    clusters: list[Cluster]
    rejections: list[Rejection] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """Values keys no template reads, and CEL rules that could not be evaluated."""
    images: list[Image] = field(default_factory=list)
    host_access: list[str] = field(default_factory=list)
    """One line per pod template that is privileged, on the host network, or mounts a hostPath."""
    unvalidated: list[Finding] = field(default_factory=list)
    """Custom resources whose CRD comes with a management cluster and is absent here (`preflight.reference`)."""

    def releases(self) -> Iterator[Release]:
        for c in self.clusters:
            yield from c.releases

    def counts(self) -> dict[str, Counter[str]]:
        """Release URN -> kinds it installs, with counts."""
        return {r.registration.urn: Counter(str(o.get("kind")) for o in r.installed) for r in self.releases()}


def object_name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{ns + '/' if ns else ''}{meta.get('name')}"


def _validate(
    subject: str,
    obj: Mapping[str, Any],
    cluster: Cluster,
    crds: Mapping[tuple[str, str, str], validate.Crd],
    review: Review,
    incomplete: bool = False,
    unread: Mapping[tuple[str, str, str], reference.ReferenceCrd] | None = None,
) -> None:
    """Validate one object into `review`; `incomplete` when a release of the cluster could not be rendered.

    A kind is a custom resource when a CRD on the cluster serves it (no CRD may serve a
    built-in group), else a built-in kind when the cluster's minor has a schema for it.
    """
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    gvk = (group, version, str(obj.get("kind", "")))
    crd, ref = crds.get(gvk), (unread or {}).get(gvk)
    if crd is not None:
        problems, unevaluable = validate.custom(obj, crd)
        review.findings += [
            Finding(subject, u.field, f"CEL rule cannot be evaluated here ({u.reason}): {u.rule} [{u.source}]")
            for u in unevaluable
        ]
    elif ref is not None:
        # Named the same on every machine (the plan and its snapshot must not carry this machine's paths).
        where = f"{ref.file} (in ${reference.REFERENCE_ENV}, else the chart mirror's reference/)"
        review.unvalidated.append(
            Finding(
                subject,
                "",
                f"not validated against its CRD: {where} is absent (add {ref.source}); "
                "only the target's own structural rules checked it",
            )
        )
        return
    else:
        found = validate.builtin(obj, cluster.minor)
        if found is None and incomplete:
            return  # a release of this cluster could not be rendered; that is the line to read, not this one
        if found is None:
            review.rejections.append(
                Rejection(
                    subject,
                    "apiVersion",
                    f"{obj.get('apiVersion')} {obj.get('kind')} is neither a built-in kind of Kubernetes "
                    f"{cluster.minor} nor served by a CRD that a release on cluster {cluster.name} installs",
                    f"Kubernetes {cluster.minor} OpenAPI schema; {MIRROR_SOURCE}",
                )
            )
            return
        problems = found
    review.rejections += [Rejection(subject, p.field, p.message, p.source) for p in problems]


def _unread_values(release: Release) -> Iterator[Finding]:
    """Values keys the chart neither declares in its own values nor names in any template: Helm ignores them."""
    chart = release.chart
    assert chart is not None
    defaults = default_values(chart)

    def walk(given: Any, known: Any, path: list[str]) -> Iterator[Finding]:
        if not isinstance(given, dict) or not isinstance(known, dict) or not known:
            return  # a free-form map (labels, annotations, extraArgs...) or a value the chart takes whole
        if path and _templates_take_whole(chart.key, chart.version, path[-1]):
            return  # a template takes the whole map (`toYaml .Values.resources`), so any key of it reaches the object
        for key, value in given.items():
            if key in known:
                yield from walk(value, known[key], [*path, key])
            elif not _templates_name(chart.key, chart.version, key):
                yield Finding(
                    release.subject,
                    "values." + ".".join([*path, key]),
                    f"chart {chart.key} {chart.version} never reads this key; Helm ignores it",
                )

    yield from walk(dict(release.values), defaults, [])


@cache
def _templates_take_whole(chart: str, version: str, key: str) -> bool:
    """Whether a template of the chart reads `key` as a whole value (`.resources`, not `.resources.limits`).

    Each answer scans every template of the chart; a fleet asks the same few questions of
    the same charts for every cluster.
    """
    return re.search(rf"\.{re.escape(key)}(?![\w.-])", template_text(chart, version)) is not None


@cache
def _templates_name(chart: str, version: str, key: str) -> bool:
    """Whether a template of the chart names `key` at all (`.key` or `"key"`)."""
    return re.search(rf"(\.|\"){re.escape(key)}\b", template_text(chart, version)) is not None


def _pods(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    node: Any = obj
    for part in POD_PATHS.get(str(obj.get("kind")), ()):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) and str(obj.get("kind")) in POD_PATHS else None


def _host_access(where: str, pod: Mapping[str, Any]) -> str | None:
    found = []
    containers = [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
    privileged = [c.get("name") for c in containers if ((c.get("securityContext") or {}).get("privileged")) is True]
    if privileged:
        found.append(f"privileged containers {', '.join(map(str, privileged))}")
    if pod.get("hostNetwork") is True:
        found.append("hostNetwork")
    paths = [str((v.get("hostPath") or {}).get("path")) for v in pod.get("volumes") or [] if v.get("hostPath")]
    if paths:
        found.append(f"hostPath {', '.join(paths)}")
    return f"{where}: {'; '.join(found)}" if found else None


def _images(objects: Sequence[tuple[str, Mapping[str, Any]]], review: Review) -> None:
    users: dict[str, list[str]] = {}
    for where, obj in objects:
        pod = _pods(obj)
        if pod is None:
            continue
        line = _host_access(where, pod)
        if line:
            review.host_access.append(line)
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            if c.get("image"):
                users.setdefault(str(c["image"]), []).append(where)
    for image, used in sorted(users.items()):
        m = _PINNED.match(image)
        pinned = bool(m and (m.group("digest") or (m.group("tag") and m.group("tag") != "latest")))
        review.images.append(Image(image, pinned, tuple(sorted(set(used)))))


def review(plan: Plan) -> Review:
    """The plan's clusters, rendered and validated; computed once per plan object."""
    for cached_plan, cached in _CACHE:
        if cached_plan is plan:
            return cached
    result = _review(plan)
    _CACHE.insert(0, (plan, result))
    del _CACHE[8:]
    return result


_CACHE: list[tuple[Plan, Review]] = []


def _review(plan: Plan) -> Review:
    found = clusters(plan)
    result = Review(found)
    seen_objects: list[tuple[str, Mapping[str, Any]]] = []
    # CRDs the management clusters bring (Cluster API's), read from the reference directory where it holds them.
    referenced = [(f"{ref.source} (reference directory)", dict(doc)) for ref, doc in reference.available()]
    unread = reference.missing()
    for cluster in found:
        crds = validate.crds_of(
            [
                *referenced,
                *((f"installed by the cloud on cluster {cluster.name}", crd) for crd in cluster.cloud_crds),
                *(
                    (f"chart {r.chart.key} {r.chart.version}" if r.chart else r.subject, crd)
                    for r, crd in cluster.crds()
                ),
            ]
        )
        for r in cluster.releases:
            if r.chart is None:
                result.rejections.append(
                    Rejection(
                        r.subject,
                        "chart",
                        f"{r.registration.plain.get('chart')} {r.registration.plain.get('version')} is not in the "
                        "chart lock table, so it cannot be rendered offline",
                        MIRROR_SOURCE,
                    )
                )
                continue
            if r.missing:
                result.rejections.append(Rejection(r.subject, "chart", r.missing, MIRROR_SOURCE))
                continue
            rendered = r.rendered
            assert rendered is not None
            source = f"chart {r.chart.key} {r.chart.version} rendered by Helm"
            for path, message in rendered.schema_errors:
                result.rejections.append(
                    Rejection(
                        r.subject,
                        f"values.{path}" if path != "(root)" else "values",
                        message,
                        f"{source}: values.schema.json",
                    )
                )
            if rendered.error and not rendered.schema_errors:
                result.rejections.append(Rejection(r.subject, "", rendered.error, source))
            if rendered.error:
                continue
            result.findings += list(_unread_values(r))
            for obj in r.installed:
                subject = f"{r.subject}: {object_name(obj)}"
                seen_objects.append((subject, obj))
                _validate(subject, obj, cluster, crds, result)
        incomplete = any(r.rendered is None or r.rendered.error for r in cluster.releases)
        for reg in cluster.objects:
            obj = manifest(reg)
            subject = f"{reg.type} {reg.name}"
            seen_objects.append((subject, obj))
            _validate(subject, obj, cluster, crds, result, incomplete, unread)
    _images(seen_objects, result)
    return result


# The container settings the pack's Kubernetes rules read (policies/rules/kubernetes.py), by rule: the
# values keys that conventionally carry them, and a setting of that key that changes what Helm renders.
# Only resources: a chart's values can also set a securityContext or probes, but whether the software
# still runs with them is the chart's knowledge, not the values' (MetalLB's speaker needs root for ARP).
VALUES_FIXES: Mapping[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    "k8s-resource-requests": (("resources",), {"requests": {"cpu": "11m", "memory": "11Mi"}}),
    "k8s-resource-limits": (("resources",), {"limits": {"memory": "11Mi"}}),
}


def values_fix(plan: Plan, release_urn: str, name: str, policy: str) -> str | None:
    """The values key of a release that changes its rendered object `name` where `policy` looks, if there is one.

    Helm decides: each key of the chart's values named for what the rule reads is set,
    the chart rendered again, and the key is the fix when that object changes.
    """
    from components.spec import deep_merge

    if policy not in VALUES_FIXES:
        return None
    release = next((r for r in review(plan).releases() if r.registration.urn == release_urn), None)
    if release is None or release.chart is None or release.rendered is None or release.rendered.error:
        return None
    chart, keys, setting = release.chart, *VALUES_FIXES[policy]

    def rendered(values: Mapping[str, Any]) -> Any:
        out = render(chart, values, name=release.name, namespace=release.namespace, minor=release.minor)
        return next((o for o in out.objects if object_name(o) == name), None)

    def paths(node: Any, at: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys and (value is None or isinstance(value, dict)):
                    yield (*at, key)
                yield from paths(value, (*at, key))

    before = rendered(release.values)
    for path in paths(default_values(chart), ()):
        change: dict[str, Any] = dict(setting)
        for key in reversed(path):
            change = {key: change}
        if rendered(deep_merge(release.values, change)) != before:
            return "values." + ".".join(path)
    return None


def rendered_load_balancers(plan: Plan, release: Registration) -> int | None:
    """How many `LoadBalancer` Services Helm renders for a release of the plan; None if it could not be rendered."""
    for r in review(plan).releases():
        if r.registration.urn == release.urn:
            if r.rendered is None or r.rendered.error:
                return None
            return sum(1 for o in r.installed if _is_load_balancer(o))
    return None


def _is_load_balancer(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer"
