"""`python -m preflight <stack> --upgrade-to <minor>`: how each cluster gets to a Kubernetes minor, and what stops it.

Per cluster, the ordered steps: the control plane one minor at a time (every
target's cloud requires it, sources below), then per minor the managed add-ons
whose pins follow the control plane, then the node pools; at the end the charts
and images pinned per minor. What blocks it: a chart whose `kubeVersion`
excludes a minor on the way, nodes or kube-proxy outside the Kubernetes version
skew policy at some step, and APIs the rendered manifests use that a minor on the
way no longer serves (checked against that minor's OpenAPI schemas). The
duration reuses the create times of `preflight.estimates`: a control plane
upgrade is taken as long as creating one, a node pool rolls its minimum node
count in batches of its surge, each batch as long as creating the pool.
"""

from __future__ import annotations

import math
import re
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from components import pins
from components.spec import ClusterBase, ExistingSpec, OnpremSpec, StackSpec
from components.targets import REGISTRY
from preflight import engine, mirror, render, validate
from preflight.engine import Plan, Registration
from preflight.estimates import create_seconds
from preflight.estimates.base import get_in
from preflight.report import emit
from preflight.stackconfig import StackConfig

# Kubernetes version skew policy, https://kubernetes.io/releases/version-skew-policy/ (components 1.25 and later):
# kubelet must not be newer than kube-apiserver and may be up to three minors older; kube-proxy likewise,
# and may be up to three minors older or newer than the kubelet beside it.
KUBELET_MAX_BEHIND = 3
KUBE_PROXY_MAX_FROM_KUBELET = 3

CONTROL_PLANES: Mapping[str, str] = {
    "aws:eks/cluster:Cluster": "EKS control plane",
    "gcp:container/cluster:Cluster": "GKE control plane",
    "azure-native:containerservice:ManagedCluster": "AKS control plane",
    "digitalocean:index/kubernetesCluster:KubernetesCluster": "DOKS control plane",
}
NODE_POOLS: Mapping[str, tuple[str, ...]] = {
    # The input that pins a pool to the control plane's minor; a pool without it keeps its nodes' minor.
    "aws:eks/nodeGroup:NodeGroup": ("version",),
    "azure-native:containerservice:AgentPool": ("orchestratorVersion",),
    # GKE moves a pool with auto-upgrade on to the control plane's version itself
    # (https://cloud.google.com/kubernetes-engine/docs/how-to/node-auto-upgrades).
    "gcp:container/nodePool:NodePool": ("version", "management.autoUpgrade"),
    # DOKS upgrades every node pool with the cluster
    # (https://docs.digitalocean.com/products/kubernetes/how-to/upgrade-cluster/).
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": (),
}
_MINIMUM_NODES = (
    "scalingConfig.minSize",
    "autoscaling.minNodeCount",
    "autoscaling.totalMinNodeCount",
    "minCount",
    "minNodes",
    "nodeCount",
    "count",
)
_SURGE = (
    "updateConfig.maxUnavailable",
    "updateConfig.maxUnavailablePercentage",
    "upgradeSettings.maxSurge",
    "maxSurge",
)
"""How many nodes a pool moves at once: a count, or a percentage of its nodes (`33`, `"33%"`), rounded up as AKS
documents it (https://learn.microsoft.com/azure/aks/upgrade-aks-cluster#customize-node-surge-upgrade)."""


def minor_tuple(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


# Every target upgrades its control plane one minor at a time. Kubernetes itself: kube-apiserver instances stay
# within one minor of each other, and each component is upgraded from one minor to the next
# (https://kubernetes.io/releases/version-skew-policy/#supported-component-upgrade-order); GKE, DOKS and k3s
# (whose spec refuses a k3sVersion of another minor, components/spec.py) follow it. The clouds that say so:
# EKS: https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html ("one minor version at a time")
# AKS: https://learn.microsoft.com/azure/aks/upgrade-aks-cluster ("you can't skip Kubernetes minor versions")
def hops(current: str, target: str) -> list[str]:
    """The minors a control plane passes through after `current`, up to and with `target`."""
    major, now = minor_tuple(current)
    return [f"{major}.{m}" for m in range(now + 1, minor_tuple(target)[1] + 1)]


# ---------------------------------------------------------------- blockers


def skew_problems(apiserver: str, kubelet: str, kube_proxy: str) -> list[str]:
    """What the version skew policy forbids in this state of a cluster."""
    a, k, p = (minor_tuple(v)[1] for v in (apiserver, kubelet, kube_proxy))
    out = []
    if k > a:
        out.append(f"kubelet {kubelet} is newer than kube-apiserver {apiserver}")
    if a - k > KUBELET_MAX_BEHIND:
        out.append(f"kubelet {kubelet} is more than {KUBELET_MAX_BEHIND} minors older than kube-apiserver {apiserver}")
    if p > a:
        out.append(f"kube-proxy {kube_proxy} is newer than kube-apiserver {apiserver}")
    if a - p > KUBELET_MAX_BEHIND:
        out.append(
            f"kube-proxy {kube_proxy} is more than {KUBELET_MAX_BEHIND} minors older than kube-apiserver {apiserver}"
        )
    if abs(p - k) > KUBE_PROXY_MAX_FROM_KUBELET:
        out.append(f"kube-proxy {kube_proxy} is more than {KUBE_PROXY_MAX_FROM_KUBELET} minors from kubelet {kubelet}")
    return out


_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _parts(text: str) -> tuple[tuple[int, int, int], int]:
    """A version and how many of its parts were given (wildcards count as not given)."""
    m = _VERSION.match(text.strip())
    if not m:
        raise ValueError(text)
    given = [g for g in m.groups() if g is not None and g not in ("x", "X", "*")]
    nums = [int(g) for g in given] + [0] * (3 - len(given))
    return (nums[0], nums[1], nums[2]), len(given)


def _bump(v: tuple[int, int, int], at: int) -> tuple[int, int, int]:
    return (v[0] + 1, 0, 0) if at == 0 else (v[0], v[1] + 1, 0) if at == 1 else (v[0], v[1], v[2] + 1)


def _clause(term: str, version: tuple[int, int, int]) -> bool:
    op = re.match(r"^(>=|<=|!=|=>|=<|>|<|=|~>|~|\^)?\s*(.+)$", term.strip())
    if not op:
        raise ValueError(term)
    operator, text = op.group(1) or "=", op.group(2)
    bound, given = _parts(text)
    if operator in ("=", "!="):
        # A partial version is a range: `1.30` is >= 1.30.0 and < 1.31.0.
        lower, upper = bound, _bump(bound, max(given - 1, 0)) if given < 3 else None
        inside = version == bound if upper is None else lower <= version < upper
        return inside if operator == "=" else not inside
    if operator in ("~", "~>"):
        return bound <= version < _bump(bound, 0 if given == 1 else 1)
    if operator == "^":
        first = next((i for i, n in enumerate(bound) if n != 0), 2)
        return bound <= version < _bump(bound, min(first, given - 1) if given else 0)
    return {">": version > bound, "<": version < bound, ">=": version >= bound, "=>": version >= bound}.get(
        operator, version <= bound
    )


def satisfies(constraint: str, minor: str) -> bool:
    """Whether Kubernetes `<minor>.0` meets a chart's `kubeVersion`, in Helm's constraint syntax.

    Helm checks `kubeVersion` with Masterminds/semver constraints
    (https://github.com/Masterminds/semver#checking-version-constraints): `||` between
    alternatives, commas or spaces between terms that must all hold, `~`, `^`,
    wildcards and hyphen ranges. A `-0` pre-release suffix only admits pre-releases
    (the cloud versions like `1.35.2-eks-...`), so it changes nothing for `<minor>.0`.
    """
    major, m = minor_tuple(minor)
    version = (major, m, 0)
    for alternative in constraint.split("||"):
        alternative = re.sub(r"(\S+)\s+-\s+(\S+)", r">= \1, <= \2", alternative.strip())
        alternative = re.sub(r"(>=|<=|!=|=>|=<|~>|>|<|=|~|\^)\s+", r"\1", alternative)
        terms = [t for t in re.split(r"[\s,]+", alternative) if t]
        if all(_clause(t, version) for t in terms):
            return True
    return False


@cache
def kube_version(key: str, version: str) -> str | None:
    """The `kubeVersion` constraint of a pinned chart, read from its archive in the chart mirror."""
    from components.workloads.charts import ALL

    with tarfile.open(mirror.archive(ALL[key])) as tar:
        for member in tar.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/Chart.yaml"):
                f = tar.extractfile(member)
                meta = yaml.safe_load(f.read()) if f else {}
                found = (meta or {}).get("kubeVersion")
                return str(found) if found else None
    return None


def removed_apis(objects: Iterable[tuple[str, Mapping[str, Any]]], current: str, minor: str) -> list[str]:
    """`owner: Kind apiVersion` for built-in kinds served at `current` whose API `minor`'s schemas no longer have."""
    out = []
    for owner, obj in objects:
        if validate.builtin(obj, current) is None:
            continue  # not a built-in kind (a custom resource: its CRD says what is served)
        if validate.builtin(obj, minor) is None:
            line = f"{owner}: {obj.get('kind')} {obj.get('apiVersion')}"
            if line not in out:
                out.append(line)
    return out


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Step:
    minor: str
    what: str
    seconds: float


@dataclass
class ClusterUpgrade:
    cluster: str
    target: str
    current: str
    to: str
    steps: list[Step] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def _first(inputs: Mapping[str, Any], paths: Sequence[str]) -> Any:
    for path in paths:
        value = get_in(inputs, *path.split("."))
        if value is not None:
            return value
    return None


def _rolls(reg: Registration) -> float:
    """Seconds a node pool takes to move its nodes: its minimum nodes in batches of its surge, each a create."""
    nodes = _first(reg.plain, _MINIMUM_NODES)
    count = max(int(nodes), 1) if isinstance(nodes, (int, float)) else 1
    batch = 1
    for path in _SURGE:
        surge = _first(reg.plain, (path,))
        if isinstance(surge, str) and surge.endswith("%") and surge[:-1].isdigit():
            batch = math.ceil(count * int(surge[:-1]) / 100)
        elif isinstance(surge, (int, float)):
            batch = math.ceil(count * surge / 100) if path.endswith("Percentage") else int(surge)
        else:
            continue
        break
    return math.ceil(count / max(batch, 1)) * create_seconds(reg)[0]


def _follows(reg: Registration) -> bool:
    keys = NODE_POOLS[reg.type]
    return not keys or any(_first(reg.plain, (k,)) not in (None, False, "") for k in keys)


def _k3s_server(reg: Registration) -> bool:
    """Whether a k3s install runs a server: its command line sets `ROLE=server` (components/targets/onprem/k3s.py)."""
    return re.search(r"(^|\s)ROLE=server(\s|$)", str(reg.plain.get("create", ""))) is not None


def _skew(result: ClusterUpgrade, apiserver: str, kubelet: str, kube_proxy: str) -> None:
    for problem in skew_problems(apiserver, kubelet, kube_proxy):
        line = f"at {apiserver}: {problem}"
        if line not in result.blockers:
            result.blockers.append(line)


def plan_cluster(plan: Plan, cluster: ClusterBase, to: str, rendered: render.Cluster | None) -> ClusterUpgrade:
    current = cluster.kubernetes_version
    result = ClusterUpgrade(cluster.name, cluster.target, current, to)
    component = next(
        (r for r in plan.registrations if r.type.startswith("orquestra:targets:") and r.name == cluster.name), None
    )
    owned = list(plan.descendants(component)) if component is not None else []
    control = [r for r in owned if r.type in CONTROL_PLANES]
    pools = [r for r in owned if r.type in NODE_POOLS]
    addons = [r for r in owned if r.type == "aws:eks/addon:Addon"]
    lagging = [p for p in pools if not _follows(p)]
    # On-prem, one k3s install per machine (`<machine>-k3s`); the servers go first, one at a time
    # (https://docs.k3s.io/upgrades/manual), then the agents.
    k3s_installs = [r for r in owned if r.type == "command:remote:Command" and r.name.endswith("-k3s")]
    kubelet = current
    releases = rendered.releases if rendered else []

    if isinstance(cluster, ExistingSpec):
        result.notes.append(
            "an existing cluster: its owner upgrades the control plane and nodes; orquestra moves only what it installs"
        )
    # EKS runs kube-proxy as a managed add-on pinned per minor; elsewhere it moves with the nodes.
    managed_proxy = cluster.target == "aws" and bool(addons)
    control_minor = current
    for minor in hops(current, to):
        # EKS refuses UpdateClusterVersion while a managed node group's version differs from the cluster's
        # (https://docs.aws.amazon.com/cli/latest/reference/eks/update-cluster-version.html).
        behind = [p.name for p in lagging if p.type == "aws:eks/nodeGroup:NodeGroup"]
        if behind and kubelet != control_minor:
            result.blockers.append(
                f"at {minor}: EKS refuses to move the control plane while node groups {', '.join(behind)} "
                f"run {kubelet}, not {control_minor}"
            )
        control_minor = minor
        if control:
            for cp in control:
                result.steps.append(
                    Step(minor, f"{CONTROL_PLANES[cp.type]} {cp.name} -> {minor}", create_seconds(cp)[0])
                )
        elif isinstance(cluster, OnpremSpec):
            k3s = pins.K3S_RELEASES.get(minor)
            if k3s is None:
                result.blockers.append(f"no pinned k3s release for {minor} (components/pins.py K3S_RELEASES)")
            servers = [r for r in k3s_installs if _k3s_server(r)]
            seconds = sum(create_seconds(r)[0] for r in servers)
            result.steps.append(Step(minor, f"k3s servers -> {k3s or '?'} (kubernetesVersion: {minor})", seconds))
        else:
            result.steps.append(Step(minor, f"control plane -> {minor} (by the cluster's owner)", 0.0))
        if managed_proxy:
            row = pins.EKS_ADDONS.get(minor)
            if row is None:
                result.blockers.append(f"no EKS add-on pins for {minor} (components/pins.py EKS_ADDONS)")
            else:
                names = ", ".join(f"{name} {version}" for name, version in sorted(row.items()))
                result.steps.append(Step(minor, f"EKS add-ons -> {names}", max(create_seconds(a)[0] for a in addons)))
        # The widest skew of the minor: the control plane and the add-ons moved, the nodes not yet.
        _skew(result, minor, kubelet, minor if managed_proxy else kubelet)
        moving = [p for p in pools if p not in lagging]
        if moving:
            names = ", ".join(p.name for p in moving)
            result.steps.append(Step(minor, f"node pools {names} -> {minor} (rolling)", max(map(_rolls, moving))))
        agents = [r for r in k3s_installs if not _k3s_server(r)]
        if agents:
            result.steps.append(Step(minor, f"k3s agents -> {minor}", sum(create_seconds(a)[0] for a in agents)))
        if not lagging:
            kubelet = minor
        _skew(result, minor, kubelet, minor if managed_proxy else kubelet)
    for pool in lagging:
        result.notes.append(
            f"node pool {pool.name} does not follow the control plane (no {' or '.join(NODE_POOLS[pool.type])} "
            f"input): its nodes keep {current} until replaced"
        )

    hopped = hops(current, to)
    for release in releases:
        chart = release.chart
        if chart is None:
            continue
        # A chart missing from the mirror is already a rejection of the plan (preflight.admission).
        constraint = kube_version(chart.key, chart.version) if release.missing is None else None
        for minor in hopped:
            try:
                outside = bool(constraint) and not satisfies(str(constraint), minor)
            except ValueError:
                result.blockers.append(f"chart {chart.key} {chart.version}: kubeVersion {constraint!r} cannot be read")
                break
            if outside:
                result.blockers.append(
                    f"chart {chart.key} {chart.version} requires kubeVersion {constraint}; {minor} is outside it: "
                    "move its pin (components/workloads/charts.py)"
                )
                break
        if chart.key == "cluster-autoscaler":
            old, new = pins.CLUSTER_AUTOSCALER_TAGS.get(current), pins.CLUSTER_AUTOSCALER_TAGS.get(to)
            if new is None:
                result.blockers.append(
                    f"no cluster-autoscaler image for {to} (components/pins.py CLUSTER_AUTOSCALER_TAGS)"
                )
            elif new != old:
                result.steps.append(
                    Step(
                        to,
                        f"release {release.registration.name}: image {old} -> {new}",
                        create_seconds(release.registration)[0],
                    )
                )
    crds = [crd for _, crd in rendered.crds()] if rendered else []
    for minor in hopped:
        owners: list[tuple[str, Mapping[str, Any]]] = [
            (r.name, render.manifest(r)) for r in (rendered.objects if rendered else [])
        ]
        for release in releases:
            if release.chart is None or release.rendered is None:
                continue
            # Charts read the cluster's version (and, some, the APIs its other releases' CRDs serve).
            again = render.render(
                release.chart,
                release.values,
                name=release.name,
                namespace=release.namespace,
                minor=minor,
                api_versions=render._api_versions(crds) if render.reads_capabilities(release.chart) else (),
            )
            if again.error:
                result.blockers.append(
                    f"release {release.registration.name} does not render for {minor}: {again.error}"
                )
            owners += [(f"release {release.registration.name}", obj) for obj in again.objects]
        for line in removed_apis(owners, current, minor):
            result.blockers.append(f"{minor} no longer serves {line}")
        if validate.schema_minor(minor) is None:
            result.blockers.append(
                f"no Kubernetes {minor} schemas to check the manifests against (kubernetes-validate)"
            )
    return result


def check_target(stack: StackSpec, to: str) -> list[str]:
    """Why `to` cannot be planned for this stack (one line each), before anything is planned."""
    if not re.match(r"^1\.\d{1,2}$", to):
        return [f"--upgrade-to {to}: allowed: a Kubernetes minor such as 1.36"]
    out = []
    for cluster in stack.clusters:
        supported = REGISTRY[cluster.target].versions
        if to not in supported:
            out.append(
                f"--upgrade-to {to}: cluster '{cluster.name}' ({cluster.target}) can run {', '.join(supported)}; "
                f"allowed: one of those"
            )
        elif minor_tuple(to) < minor_tuple(cluster.kubernetes_version):
            out.append(
                f"--upgrade-to {to}: cluster '{cluster.name}' runs {cluster.kubernetes_version}; "
                "allowed: a newer minor (Kubernetes has no downgrade)"
            )
    return out


def plan_upgrade(plan: Plan, stack: StackSpec, to: str) -> list[ClusterUpgrade]:
    by_name = {c.name: c for c in render.clusters(plan)}
    return [plan_cluster(plan, c, to, by_name.get(c.name)) for c in stack.clusters]


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def text_lines(stack: str, to: str, found: Sequence[ClusterUpgrade]) -> list[str]:
    lines = [f"Upgrade plan of stack '{stack}' to Kubernetes {to} (offline)"]
    for u in found:
        lines.append("")
        if u.current == u.to:
            lines.append(f"{u.cluster} ({u.target}): already at {u.to}")
            continue
        lines.append(f"{u.cluster} ({u.target}): {u.current} -> {u.to}, about {_duration(u.seconds)}")
        for i, s in enumerate(u.steps, 1):
            lines.append(f"  {i:2d}. [{s.minor}] {s.what}  (~{_duration(s.seconds)})")
        for note in u.notes:
            lines.append(f"  note: {note}")
        if u.blockers:
            lines.append(f"  BLOCKED ({len(u.blockers)}):")
            lines.extend(f"    - {b}" for b in u.blockers)
    return lines


def main(config: StackConfig, stack: StackSpec, to: str, json_path: str | None, project_dir: Path) -> int:
    """The `--upgrade-to` mode of `python -m preflight`: 0 when nothing blocks, 4 when something does, 2 if refused."""
    refused = check_target(stack, to)
    if refused:
        print(f"preflight: {refused[0]}", file=sys.stderr)
        return 2
    plan = engine.run(config, project_dir)
    if not plan.ok:
        for line in plan.errors:
            print(line, file=sys.stderr)
        return 2
    found = plan_upgrade(plan, stack, to)
    document = {
        "stack": config.stack,
        "to": to,
        "clusters": [{**asdict(u), "seconds": u.seconds} for u in found],
    }
    if not emit(document, json_path, text_lines(config.stack, to, found), "upgrade plan"):
        return 2
    return 4 if any(u.blockers for u in found) else 0
