"""Render every Helm release of a plan with Helm's own engine, offline, from the pinned archives.

A `helm.v3.Release` is one opaque resource to the mock engine; what a cluster receives
is what Helm renders from its chart, values, release name, namespace and the cluster's
capabilities. This module renders exactly that through Helm's Go SDK (helm-python-sdk
embeds it; no binary, no re-implemented templates), from the archive the chart mirror
holds for the version the program pins, and returns the objects Helm would apply.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import tarfile
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from components.targets import REGISTRY
from components.workloads.charts import Chart, locked
from preflight import caches, mirror
from preflight.engine import UNKNOWN, Plan, Registration, reveal

RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER = "pulumi:providers:kubernetes"
DEFAULT_MINOR = "1.35"

# How Helm splits a rendered template into documents: helm.sh/helm/v4 pkg/release/v1/util/manifest.go (SplitManifests).
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
_CACHE_FROM = 64 * 1024
_SCHEMA_LINE = re.compile(r"^\s*- at '(?P<path>[^']*)': (?P<message>.+)$")


@dataclass(frozen=True)
class Rendered:
    """What Helm makes of one release; `error` is Helm's own message when it refuses to render."""

    chart: Chart
    objects: tuple[dict[str, Any], ...] = ()
    """Every object of the templates, in template order, `List` kinds expanded as Helm's client does."""
    error: str | None = None
    schema_errors: tuple[tuple[str, str], ...] = ()
    """(values path, message) from the chart's values.schema.json, as Helm validates it before rendering."""


@dataclass(frozen=True)
class Release:
    """One Release registration of a plan, rendered for the cluster it goes to."""

    registration: Registration
    name: str
    namespace: str
    values: Mapping[str, Any]
    skip_crds: bool
    minor: str
    chart: Chart | None
    """None when the release's chart reference is not in the lock table."""
    rendered: Rendered | None = None
    missing: str | None = None
    """Why the archive could not be had (not in the mirror), naming the chart and version."""

    @property
    def subject(self) -> str:
        return f"release {self.registration.name}"

    @property
    def installed(self) -> tuple[dict[str, Any], ...]:
        """Everything Helm applies on install: the crds/ folders (unless skipCrds), then the templates."""
        if self.rendered is None:
            return ()
        assert self.chart is not None
        crds = () if self.skip_crds else crd_folder(self.chart.key, self.chart.version)
        return crds + self.rendered.objects


def _documents(text: str) -> tuple[dict[str, Any], ...]:
    """The objects of a manifest, parsed by the Go YAML library Helm and the Kubernetes clients use.

    A cluster's CRDs run to megabytes of YAML, which take seconds to parse; the parse of a
    large manifest is kept in the per-user cache under the hash of its text, so it is
    paid once per machine and chart version, never trusted across different text.
    """
    import hashlib

    import helm_python as helm

    stored: Path | None = None
    if len(text) >= _CACHE_FROM:
        digest = hashlib.sha256(f"{helm.__version__}\n{text}".encode()).hexdigest()
        stored = caches.root() / "parsed" / f"{digest}.json"
        try:
            return tuple(json.loads(stored.read_text()))
        except (OSError, ValueError):
            pass
    found: list[dict[str, Any]] = []
    for doc in _SEPARATOR.split(text):
        if not doc.strip():
            continue
        obj = helm.values_from_yaml(doc)
        if not obj:
            continue
        if obj.get("kind") == "List" and isinstance(obj.get("items"), list):
            found += [i for i in obj["items"] if isinstance(i, dict)]
        else:
            found.append(obj)
    if stored is not None:
        try:
            stored.parent.mkdir(parents=True, exist_ok=True)
            with caches.replacing(stored, "w") as f:
                f.write(json.dumps(found))
        except OSError:
            pass  # a read-only home only costs the parse next time
    return tuple(found)


@cache
def _load(key: str, version: str) -> Any:
    import helm_python as helm

    from components.workloads.charts import ALL

    return helm.Chart.load(mirror.archive(ALL[key]))


@cache
def template_text(key: str, version: str) -> str:
    """Every template of the chart and its subcharts, as one text: what the chart can ever read from its values."""
    from components.workloads.charts import ALL

    parts: list[str] = []
    with tarfile.open(mirror.archive(ALL[key])) as tar:
        for member in tar.getmembers():
            if member.isfile() and "/templates/" in member.name:
                f = tar.extractfile(member)
                if f is not None:
                    parts.append(f.read().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def default_values(chart: Chart) -> dict[str, Any]:
    """The chart's own values with its subcharts' coalesced in, as Helm composes them."""
    merged: dict[str, Any] = _load(chart.key, chart.version).merge_values({})
    return merged


def reads_capabilities(chart: Chart) -> bool:
    return ".Capabilities.APIVersions" in template_text(chart.key, chart.version)


def _helm(
    key: str, version: str, values_json: str, name: str, namespace: str, minor: str, api_versions: tuple[str, ...]
) -> Rendered | dict[str, str]:
    """Helm's own work for one release: the manifests by template path, or Helm's refusal."""
    import helm_python as helm
    from helm_python import _native

    from components.workloads.charts import ALL

    chart = ALL[key]
    loaded = _load(key, version)
    values = json.loads(values_json)
    try:
        loaded.validate_schema(values)
    except helm.HelmValuesError as exc:
        found = [
            (m.group("path").strip("/").replace("/", ".") or "(root)", m.group("message"))
            for m in map(_SCHEMA_LINE.match, str(exc).splitlines())
            if m and m.group("message") != "validation failed"
        ]
        return Rendered(chart, error=str(exc).splitlines()[0], schema_errors=tuple(found) or (("(root)", str(exc)),))
    # The Python wrapper exposes only name and namespace; the library's render options also take the
    # cluster's version and extra API versions (helm-c-sdk 0.2.2 RenderOptions: kube_version, api_versions).
    opts = {"name": name, "namespace": namespace, "kube_version": f"v{minor}.0", "api_versions": list(api_versions)}
    try:
        manifests: dict[str, str] = json.loads(
            _native.call_string("helm_render", loaded._raw(), values_json, json.dumps(opts))
        )
    except helm.HelmError as exc:
        return Rendered(chart, error=" ".join(str(exc).split()))
    return manifests


@lru_cache(maxsize=256)
def _render(
    key: str, version: str, values_json: str, name: str, namespace: str, minor: str, api_versions: tuple[str, ...]
) -> Rendered:
    import helm_python as helm

    from components.workloads.charts import ALL

    args = (key, version, values_json, name, namespace, minor, api_versions)
    out = _AHEAD.take(args) if _AHEAD is not None else None
    if out is None:
        out = _helm(*args)
    if isinstance(out, Rendered):
        return out
    try:
        objects = tuple(obj for path in sorted(out) if not path.endswith("NOTES.txt") for obj in _documents(out[path]))
    except helm.HelmError as exc:
        return Rendered(ALL[key], error=" ".join(str(exc).split()))
    return Rendered(ALL[key], objects=objects)


_Key = tuple[str, str, str, str, str, str, tuple[str, ...]]


def _key(
    chart: Chart, values: Mapping[str, Any], name: str, namespace: str, minor: str, api_versions: Sequence[str]
) -> _Key:
    return (
        chart.key,
        chart.version,
        json.dumps(values, sort_keys=True),
        name,
        namespace,
        minor,
        tuple(sorted(set(api_versions))),
    )


@cache
def crd_folder(key: str, version: str) -> tuple[dict[str, Any], ...]:
    """The CustomResourceDefinitions of the chart's and its subcharts' crds/ folders (values never change them)."""
    return tuple(obj for f in _load(key, version).crds for obj in _documents(f["data"]))


def render(
    chart: Chart,
    values: Mapping[str, Any],
    *,
    name: str,
    namespace: str,
    minor: str,
    api_versions: Sequence[str] = (),
) -> Rendered:
    """Helm's rendering of one release; the same inputs render once per process."""
    return _render(*_key(chart, values, name, namespace, minor, api_versions))


def minor_of(version: Any) -> str:
    m = re.match(r"^v?(\d+)\.(\d+)", str(version or ""))
    return f"{m.group(1)}.{m.group(2)}" if m else DEFAULT_MINOR


@dataclass
class Cluster:
    """The Kubernetes objects one cluster of a plan receives, the program's own and the charts'."""

    name: str
    minor: str
    releases: list[Release] = field(default_factory=list)
    objects: list[Registration] = field(default_factory=list)
    """The program's own Kubernetes objects on this cluster (every type but Release)."""
    cloud_crds: list[dict[str, Any]] = field(default_factory=list)
    """CRDs the cloud itself installs and keeps on the cluster (`cloud_crds`), which no release carries."""

    def crds(self) -> list[tuple[Release, dict[str, Any]]]:
        return [(r, obj) for r in self.releases for obj in r.installed if obj.get("kind") == "CustomResourceDefinition"]


def _api_versions(crds: Sequence[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for v in spec.get("versions") or []:
            if v.get("served"):
                out += [f"{group}/{v.get('name')}", f"{group}/{v.get('name')}/{kind}"]
    return out


def _minor(provider: Registration, component: Registration | None) -> str:
    """The cluster's minor: its target component's `kubernetesVersion` output, else the provider's own version."""
    version = (component.outputs.get("kubernetesVersion") if component else None) or provider.inputs.get("version")
    return minor_of(version if isinstance(version, str) else None)


def clusters(plan: Plan) -> list[Cluster]:
    """Each cluster of the plan with its releases rendered.

    Releases see, through `.Capabilities.APIVersions`, the CRDs that the cluster's other
    releases install, as they would on a cluster where those went first.
    """
    by_urn = {r.urn: r for r in plan.registrations}
    found: dict[str, Cluster] = {}
    for p in plan.resources(PROVIDER):
        component = by_urn.get(p.parent)
        name = p.name.removesuffix("-k8s")
        minor = _minor(p, component)
        found[p.urn] = Cluster(name, minor, cloud_crds=cloud_crds(component.type if component else "", minor))
    for r in plan.registrations:
        if not r.type.startswith("kubernetes:") or not r.provider:
            continue
        cluster = found.get(r.provider.rsplit("::", 1)[0])
        if cluster is None:
            continue
        if r.type == RELEASE:
            cluster.releases.append(_release(r, cluster))
        else:
            cluster.objects.append(r)
    again: list[tuple[Cluster, int, list[str]]] = []
    for cluster in found.values():
        extra = _api_versions([*cluster.cloud_crds, *(crd for _, crd in cluster.crds())])
        if extra:
            again += [
                (cluster, i, extra)
                for i, r in enumerate(cluster.releases)
                if r.chart and r.rendered and reads_capabilities(r.chart)
            ]
    if _AHEAD is not None:  # Helm renders them all while the first ones are parsed
        for cluster, i, extra in again:
            first = cluster.releases[i]
            assert first.chart is not None
            _AHEAD.submit(_key(first.chart, first.values, first.name, first.namespace, first.minor, extra))
    for cluster, i, extra in again:
        cluster.releases[i] = _release(cluster.releases[i].registration, cluster, extra)
    return [c for c in found.values() if c.releases or c.objects]


def cloud_crds(component_type: str, minor: str) -> list[dict[str, Any]]:
    """The CRDs a target's cloud installs on each cluster it creates: its answers module's `cluster_crds(minor)`.

    A target component's class is named like its type token's last part (`orquestra:targets:DigitalOceanCluster`).
    """
    if not component_type.startswith("orquestra:targets:"):
        return []
    for target in REGISTRY.values():
        if target.answers and target.component.rsplit(":", 1)[-1] == component_type.rsplit(":", 1)[-1]:
            answer = getattr(importlib.import_module(target.answers), "cluster_crds", None)
            return list(answer(minor)) if answer else []
    return []


def _unrendered(reg: Registration, minor: str) -> Release:
    """What a Release registration asks Helm for: chart, values, name, namespace."""
    inputs = reg.plain
    repo = (inputs.get("repositoryOpts") or {}).get("repo")
    chart = locked(str(inputs.get("chart", "")), str(inputs.get("version", "")), repo)
    values = wire(inputs.get("values") or {})
    name = str(inputs.get("name") or reg.name)
    namespace = str(inputs.get("namespace") or "default")
    return Release(reg, name, namespace, values, bool(inputs.get("skipCrds")), minor, chart)


def _release(reg: Registration, cluster: Cluster, api_versions: Sequence[str] = ()) -> Release:
    base = _unrendered(reg, cluster.minor)
    if base.chart is None:
        return base
    try:
        rendered = render(
            base.chart,
            base.values,
            name=base.name,
            namespace=base.namespace,
            minor=base.minor,
            api_versions=api_versions,
        )
    except mirror.ChartMissing as exc:
        return dataclasses.replace(base, missing=str(exc))
    return dataclasses.replace(base, rendered=rendered)


def _load_helm() -> None:
    import helm_python  # noqa: F401 (loads Helm's Go library; its runtime starts in ~0.2 s)


class Ahead:
    """Helm's work for one plan, done on a worker thread beside the Python that plans and checks it.

    Helm's Go engine holds no GIL in its calls, so on a second core it can work while the
    program still runs on the mock engine and while `clusters` parses what Helm has
    already rendered. Nothing is worked out that the review would not ask for,
    and under exactly the inputs it will ask with: Helm's library is loaded when the
    program starts; a release's chart is loaded and rendered as soon as its registration is
    complete (values, name, namespace, and the cluster's minor, known once its target
    component has registered its outputs); the second renders of charts that read
    `.Capabilities.APIVersions` as soon as `clusters` has every CRD of the cluster. The
    worker only calls Helm: its manifests are parsed where they are asked for, in order,
    and whatever the worker did not do or failed at is done there again, so the objects,
    their order and every error are those of rendering in line.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight-helm")
        self._pool.submit(_load_helm)
        self._seen: dict[str, Registration] = {}
        self._pending: dict[_Key, Future[Rendered | dict[str, str]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def start(cls) -> Ahead:
        """A worker that renders consult until it is closed."""
        global _AHEAD
        _AHEAD = cls()
        return _AHEAD

    def watch(self, reg: Registration) -> None:
        """The engine's hook (`engine.run(watch=...)`), on the SDK's threads: a Release of a known cluster renders."""
        self._seen[reg.urn] = reg
        if reg.type != RELEASE or not reg.provider:
            return
        provider = self._seen.get(reg.provider.rsplit("::", 1)[0])
        if provider is None or provider.type != PROVIDER:
            return
        component = self._seen.get(provider.parent)
        if provider.parent and (component is None or not component.outputs):
            return  # the cluster's minor is not final before its component's outputs are; it renders in line
        try:
            release = _unrendered(reg, _minor(provider, component))
        except Exception:
            return  # never the program's failure: `clusters` reads the same inputs in line and fails there
        if release.chart is not None:
            self.submit(_key(release.chart, release.values, release.name, release.namespace, release.minor, ()))

    def submit(self, key: _Key) -> None:
        """Queue Helm's work for `key` on the worker; a key already queued is not queued again."""
        with self._lock:
            if key not in self._pending and _AHEAD is self:
                self._pending[key] = self._pool.submit(_helm, *key)

    def take(self, key: _Key) -> Rendered | dict[str, str] | None:
        """Helm's output for `key` once the worker has it; None (do it here) if it is not asked for, queued or failed.

        Work still queued is taken back rather than waited for: the worker is behind, or busy with
        a release that is needed later, and the calling thread is free to ask Helm itself.
        """
        with self._lock:
            future = self._pending.pop(key, None)
        if future is None or future.cancel():
            return None
        try:
            return future.result()
        except Exception:
            return None  # done again in line, where it fails as it always has

    def close(self) -> None:
        """Stop the worker: what it has not started is dropped, what it is doing is waited for."""
        global _AHEAD
        with self._lock:
            if _AHEAD is self:
                _AHEAD = None
            self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)


_AHEAD: Ahead | None = None


def wire(value: Any) -> Any:
    """A recorded input as the provider sends it on: whole numbers as integers, unknowns as empty strings.

    Property values travel as protobuf doubles, so `1` is recorded as `1.0`; the provider
    hands Helm and the API server `1`. A null in a map never reaches the provider: the
    Python SDK drops it (pulumi/pulumi#12178, pulumi/pulumi-kubernetes#3811), so a null
    cannot unset a chart default through a Release's values. An unknown is rare on the mock engine; it becomes ""
    so that a schema can still say what it wants there.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is UNKNOWN:
        return ""
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def manifest(reg: Registration) -> dict[str, Any]:
    """A registered Kubernetes object as the manifest the provider sends (secret markers removed).

    A whole field that is unknown offline is left out rather than sent as "": a Secret's `stringData` made from an
    encrypted stack value is one unknown map (pulumi_kubernetes wraps it in `Output.secret` whole), and nothing in it
    can be checked before deployment.
    """
    return {k: wire(v) for k, v in reveal(reg.inputs).items() if not k.startswith("__") and v is not UNKNOWN}
