"""`python -m preflight <stack> --compare [targets]`: the same clusters priced, timed and checked on each target.

Each cluster of the stack is re-targeted, alone with the workloads placed on it,
to every comparable target of the registry (or those named): its node pools
mapped to the nearest machine type of equal or larger shape and the same node
counts (`preflight.catalogue`), its region to the nearest region, everything
else the target's defaults for the same environment. The variant goes through
the spec's own validation; what the target refuses is taken out, one thing at a
time, and reported with the target's own reason, never dropped silently. Each
variant is then planned offline by the same engine, in this process, and priced,
timed, checked against the policy pack and the cloud-API reject rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from components import spec as spec_models
from components.cluster import KubernetesCluster
from components.spec import NAMESPACE, ClusterBase, Environment, NodePool, SpecError, StackSpec, parse
from components.targets import REGISTRY
from preflight import catalogue, policy, rejects
from preflight.built import run as build
from preflight.catalogue import ROWS, Shape
from preflight.engine import PROJECT_DIR
from preflight.estimates import Estimates
from preflight.stackconfig import StackConfig, from_values, stacks

ADDONS = "add-ons installed"
"""Listed under each target rather than in the table: the list is long and differs in every column."""
BASIS = (
    "list prices (on-demand, no discounts, commitments or credits) in each cost model's reference region; "
    "node pools at their minimum size; usage-based charges excluded; on-prem and Tanzu (vSphere) hardware unpriced"
)


@dataclass
class Pool:
    name: str
    nodes: str
    """`min-max`, as the autoscaler sees it."""
    source: str
    mapped: str
    within_tolerance: bool | None
    """None when either side has no known shape (the target's default for the environment is used)."""


@dataclass
class Variant:
    target: str
    own: bool
    """The cluster's own target: the baseline the others are read against."""
    region: str | None = None
    region_basis: str = ""
    pools: list[Pool] = field(default_factory=list)
    cannot_give: list[str] = field(default_factory=list)
    """What the spec asked for that this target does not give, each with the target's reason."""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    monthly: float = 0.0
    items: list[dict[str, Any]] = field(default_factory=list)
    not_priced: dict[str, int] = field(default_factory=dict)
    deploy_seconds: float = 0.0
    critical_path: list[dict[str, Any]] = field(default_factory=list)
    resources: int = 0
    mandatory: int = 0
    advisory: int = 0
    violations: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    capabilities: dict[str, str] = field(default_factory=dict)
    needs: dict[str, Any] = field(default_factory=dict)
    """What a target without list prices needs from the site: machines, addresses, the API VIP."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ClusterComparison:
    name: str
    target: str
    variants: list[Variant]


# ------------------------------------------------------------------ the variant spec


def _shape(cluster: ClusterBase, pool: NodePool) -> Shape | None:
    row = ROWS[cluster.target]
    if pool.instance_types and (found := catalogue.shape_of(cluster.target, pool.instance_types[0])):
        return found
    return row.pool_shape(cluster, pool) if row.pool_shape else None


def _pools(cluster: ClusterBase, target: str, variant: Variant) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    own = target == cluster.target
    for pool in cluster.node_pools:
        raw = pool.model_dump(by_alias=True, exclude={"instance_types", "zones"})
        shape = _shape(cluster, pool)
        source = (
            f"{pool.instance_types[0]} ({shape})" if pool.instance_types and shape else str(shape or "size unknown")
        )
        mapped, ok = "", None
        if own:
            raw["instanceTypes"], raw["zones"] = list(pool.instance_types), list(pool.zones)
            mapped, ok = source, True
        elif shape is None:
            mapped = "the target's default for the environment"
            variant.notes.append(f"pool {pool.name}: its machine size is not known here, so the target's default")
        elif (near := catalogue.nearest(shape, target)) is None:
            mapped, ok = f"{shape} (your hardware)", True
        else:
            name, found = near
            raw["instanceTypes"] = [name]
            mapped, ok = f"{name} ({found})", catalogue.within_tolerance(found, shape)
            if found.arch != shape.arch:
                variant.cannot_give.append(
                    f"pool {pool.name}: {shape.arch} nodes (none in the catalogue; {found.arch})"
                )
            if not ok:
                variant.notes.append(f"pool {pool.name}: {name} is outside the capacity tolerance for {shape}")
        if not own and 0 < pool.min == pool.max:
            raw["max"] = 2 * pool.min
            variant.notes.append(
                f"pool {pool.name}: fixed at {pool.min} node(s) on {cluster.target}; max {2 * pool.min} here so the "
                "node autoscaler has room (the floor, and so the cost, is unchanged)"
            )
        if not own and pool.zones:
            variant.notes.append(f"pool {pool.name}: zones {pool.zones} not carried (zone names are per cloud)")
        if pool.spot and not ROWS[target].spot:
            raw["spot"] = False
            variant.cannot_give.append(f"pool {pool.name}: spot capacity (none on {target}; on-demand instead)")
        out.append(raw)
        variant.pools.append(Pool(pool.name, f"{pool.min}-{pool.max}", source, mapped, ok))
    return out


def _has(model: type[ClusterBase], key: str) -> bool:
    return key in model.model_fields


def _cluster_raw(
    cluster: ClusterBase, raw: Mapping[str, Any], target: str, env: Environment, variant: Variant
) -> dict[str, Any]:
    if target == cluster.target:
        return dict(raw)
    model = _model(target)
    out: dict[str, Any] = {
        "name": cluster.name,
        "target": target,
        "kubernetesVersion": cluster.kubernetes_version,
        "platform": cluster.platform.model_dump(by_alias=True, exclude_none=True),
    }
    if cluster.tags:
        out["tags"] = dict(cluster.tags)
    pools = _pools(cluster, target, variant)
    if pools:
        out["nodePools"] = pools
    region, basis = catalogue.region_for(cluster.target, getattr(cluster, "region", None), target)
    variant.region, variant.region_basis = region, basis
    if region is not None and _has(model, "region"):
        out["region"] = region
    network = getattr(cluster, "network", None)
    if network is not None and _has(type(cluster), "region") and _has(model, "region") and _has(model, "network"):
        # The address plan carries between clouds (an on-prem network is the site's LAN, not a VPC); the zone
        # count is the target's default for the environment (a DigitalOcean region has no zones to count).
        out["network"] = network.model_dump(by_alias=True, exclude={"zones"})
    row = ROWS[target]
    access = getattr(cluster, "api_access", None)
    if access is not None and _has(model, "api_access"):
        out["apiAccess"] = access.model_dump(by_alias=True)
    elif access is not None and access.private and row.endpoint:
        variant.cannot_give.append(f"a private API endpoint: {row.endpoint}")
    elif access is not None and access.private:
        variant.notes.append("API endpoint: reached on the site network only (no public endpoint to restrict)")
    window = getattr(cluster, "maintenance", None)
    if window is not None and _has(model, "maintenance"):
        # When the window opens carries; how long it lasts is the target's own (GKE wants 12 h, DOKS has 4).
        hours = getattr(model.model_fields["maintenance"].default, "hours", window.hours)
        out["maintenance"] = {"day": window.day, "start": window.start, "hours": hours}
    if _has(model, "deployer"):
        out["deployer"] = _deployer(cluster, out, model, target, env, variant)
    if row.fields is not None:
        counts = [(p.name, p.min, _shape(cluster, p)) for p in cluster.node_pools]
        row.fields(out, env, counts)
    variant.notes.extend(row.notes)
    return out


def _deployer(
    cluster: ClusterBase,
    out: Mapping[str, Any],
    model: type[ClusterBase],
    target: str,
    env: Environment,
    variant: Variant,
) -> dict[str, Any]:
    """The source's runner, and for a private API endpoint the target's placeholder hub: a private cluster is
    planned with the path its first deploy needs (docs/private-deploy.md), as a real stack would be."""
    runner = getattr(getattr(cluster, "deployer", None), "runner", None) or f"deploy-{target}"
    deployer: dict[str, Any] = {"runner": runner}
    private = out.get("apiAccess", {}).get(
        "private", model.env_defaults.get(env, {}).get("apiAccess", {}).get("private", False)
    )
    hub = ROWS[target].hub
    if private and hub is not None:
        deployer["hub"] = dict(hub)
        variant.notes.append(f"deployer: runner {runner} in a placeholder hub ({', '.join(hub['cidrs'])})")
    return deployer


def _model(target: str) -> type[ClusterBase]:
    model: type[ClusterBase] = getattr(spec_models, REGISTRY[target].spec)
    return model


# What a target refuses, and how the variant does without it: problem path -> a change. A change returns what it
# took away; one that only fills a value the source never had (no loss) says so with a leading "note: ".
Fix = Callable[[dict[str, Any], re.Match[str]], str]
NOTE = "note: "


def _cluster_of(ns: dict[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = ns["clusters"][0]
    return cluster


def _public_endpoint(ns: dict[str, Any], _: re.Match[str]) -> str:
    access = _cluster_of(ns).setdefault("apiAccess", {})
    asked = access.get("private") is True
    access["private"] = False
    access["publicCidrs"] = access.get("publicCidrs") or [catalogue.PUBLIC_CIDR_PLACEHOLDER]
    restricted = f"restricted to {', '.join(access['publicCidrs'])} (put your office and CI ranges)"
    if asked:
        return f"a private API endpoint: planned with a public one {restricted}"
    return f"{NOTE}a public API endpoint {restricted}"


def _pool_key(key: str, value: Any) -> Fix:
    def fix(ns: dict[str, Any], m: re.Match[str]) -> str:
        pool = _cluster_of(ns)["nodePools"][int(m.group(1))]
        asked = pool.get(key)
        if value is None:
            pool.pop(key, None)
        else:
            pool[key] = value
        return f"pool {pool['name']}: {key} {asked}"

    return fix


def _system_pool(ns: dict[str, Any], _: re.Match[str]) -> str:
    pools = _cluster_of(ns)["nodePools"]
    pools[0]["role"] = "system"
    return f"{NOTE}pool {pools[0]['name']} is made the system pool (the target needs one)"


def _no_identity(ns: dict[str, Any], m: re.Match[str]) -> str:
    workload = ns["workloads"][int(m.group(1))]
    workload["cloudIdentity"] = False
    return f"workload {workload['name']}: a cloud identity for its pods"


def _drop(key: str, what: str) -> Fix:
    def fix(ns: dict[str, Any], _: re.Match[str]) -> str:
        asked = _cluster_of(ns).pop(key, None)
        return f"{what} {json.dumps(asked)}" if asked is not None else what

    return fix


def _default_version(ns: dict[str, Any], _: re.Match[str]) -> str:
    cluster = _cluster_of(ns)
    asked = cluster.pop("kubernetesVersion", None)
    return f"Kubernetes {asked}: planned with the target's default"


def _drop_network_ranges(ns: dict[str, Any], _: re.Match[str]) -> str:
    _cluster_of(ns).pop("network", None)
    return "the network's address ranges: planned with the target's defaults"


def _drop_tag(ns: dict[str, Any], m: re.Match[str]) -> str:
    tags = _cluster_of(ns).get("tags", {})
    key = m.group(1)
    tags.pop(key, None)
    return f"tag {key}"


def _no_dns01_key(ns: dict[str, Any], _: re.Match[str]) -> str:
    cert_manager = _cluster_of(ns).get("platform", {}).get("certManager", {})
    cert_manager.pop("dns01", None)
    return "DNS-01 with a Route 53 key: the target proves names only with its own solver (platform.dns.zone)"


def _no_vpn(ns: dict[str, Any], m: re.Match[str]) -> str:
    site = ns["sites"][int(m.group(1))]
    site["vpn"] = []
    return f"a site-to-site VPN from site {site.get('name')}"


FIXES: tuple[tuple[re.Pattern[str], Fix], ...] = tuple(
    (re.compile(pattern), fix)
    for pattern, fix in (
        (r"clusters\[0\]\.apiAccess\.(private|publicCidrs)", _public_endpoint),
        (r"clusters\[0\]\.nodePools\[(\d+)\]\.spot", _pool_key("spot", False)),
        (r"clusters\[0\]\.nodePools\[(\d+)\]\.zones", _pool_key("zones", None)),
        (r"clusters\[0\]\.nodePools", _system_pool),
        (r"clusters\[0\]\.kubernetesVersion", _default_version),
        (r"clusters\[0\]\.maintenance\b.*", _drop("maintenance", "the maintenance window")),
        (r"clusters\[0\]\.acceptedRisks\b.*", _drop("acceptedRisks", "accepted risks")),
        (r"clusters\[0\]\.network\b.*", _drop_network_ranges),
        (r'clusters\[0\]\.tags\["?([^"\]]+)"?\]', _drop_tag),
        (r"workloads\[(\d+)\]\.cloudIdentity", _no_identity),
        (r"clusters\[0\]\.platform\.certManager\.dns01", _no_dns01_key),
        # A VPN the target cannot end, or a peer it refuses (HA VPN routes by BGP only): the link is left out.
        (r"sites\[(\d+)\]\.(vpn\[\d+\]|peer\b.*)", _no_vpn),
    )
)

_LINE = re.compile(rf"^{NAMESPACE}:(?P<path>[^:]+): .*?; allowed: (?P<allowed>.*)$")


def validated(ns: dict[str, Any], variant: Variant) -> StackSpec | None:
    """Parse the variant as a stack file would be; take out what the target refuses, reporting each, and retry.

    Each problem path is fixed at most once: a path refused again is one the fallback cannot cure.
    """
    applied: set[str] = set()
    while True:
        try:
            return parse(ns)
        except SpecError as err:
            problems = err.problems
        fixed = False
        for line in problems:
            m = _LINE.match(line)
            if m is None or m.group("path") in applied:
                continue
            for pattern, fix in FIXES:
                found = pattern.fullmatch(m.group("path"))
                if found is not None:
                    applied.add(m.group("path"))
                    done = fix(ns, found)
                    if done.startswith(NOTE):
                        variant.notes.append(done.removeprefix(NOTE))
                    else:
                        variant.cannot_give.append(f"{done} (allowed: {m.group('allowed')})")
                    fixed = True
                    break
            if fixed:
                break  # one change at a time: the next parse says what is still refused
        if not fixed:
            variant.errors.extend(problems)
            return None


# ------------------------------------------------------------------------ planning


def capabilities(cluster: KubernetesCluster[Any], releases: Iterable[str]) -> dict[str, str]:
    spec = cluster.spec
    caps = cluster.capabilities()
    access = getattr(spec, "api_access", None)
    api = "site network only" if access is None else ("private" if access.private else "public, restricted")
    zone = spec.platform.dns.zone
    return {
        "load balancer": caps.load_balancer,
        "node autoscaler": caps.node_autoscaler,
        "pod identity": caps.pod_identity,
        "API endpoint": api,
        "certificates": spec.certificate_issuer + (f" ({spec.acme_challenge})" if spec.acme_challenge else ""),
        "DNS records": (caps.external_dns_provider or "none") if zone else "not asked",
        "run by the cloud": ", ".join(sorted(caps.managed_services)) or "none",
        ADDONS: ", ".join(sorted(releases)) or "none",
    }


def _lost_by_capability(source: Mapping[str, str], got: Mapping[str, str], spec: ClusterBase) -> Iterable[str]:
    """What the source cluster had that the variant silently does not: reported, never dropped."""
    if source.get("certificates", "").startswith("acme") and not got.get("certificates", "").startswith("acme"):
        yield f"ACME certificates ({source['certificates']}): the target has no way for ACME to prove the names"
    if source.get("DNS records") not in (None, "none", "not asked") and got.get("DNS records") == "none":
        yield f"DNS records in {spec.platform.dns.zone}: no external-dns provider on {spec.target}"
    if (
        spec.platform.node_autoscaler
        and source.get("node autoscaler") != "none"
        and got.get("node autoscaler") == "none"
    ):
        yield "node autoscaling: pools stay at their minimum"
    if source.get("load balancer") == "cloud" and got.get("load balancer") != "cloud":
        yield f"cloud load balancers: {got.get('load balancer')} instead"


def plan_variant(
    config: StackConfig,
    ns: dict[str, Any],
    variant: Variant,
    pack_config: Mapping[str, Any] | None,
    project_dir: Path = PROJECT_DIR,
) -> tuple[dict[str, str], ClusterBase | None]:
    """Validate and plan one variant, filling `variant`; its capabilities and spec, or ({}, None) when it fails."""
    stack = validated(ns, variant)
    if stack is None:
        return {}, None
    variant_config = from_values(ns, stack=f"{config.stack}-{variant.target}")
    variant_config.values.update({k: v for k, v in config.values.items() if not k.startswith(f"{NAMESPACE}:")})
    built = build(variant_config, project_dir)
    plan = built.plan
    if not plan.ok:
        variant.errors.extend(plan.errors)
        return {}, None
    est: Estimates = plan.estimates()
    variant.monthly = round(est.monthly, 2)
    variant.items = [
        {"type": i.type, "name": i.name, "monthlyUsd": round(i.cost.monthly, 2), "basis": i.cost.basis}
        for i in est.items
    ]
    variant.not_priced = est.not_priced
    variant.deploy_seconds = est.deploy_seconds
    variant.critical_path = [s.to_json() for s in est.path]
    variant.resources = sum(n for t, n in plan.counts().items() if t != "pulumi:pulumi:Stack")
    variant.rejections = [r.line() for r in rejects.run(plan)]
    if pack_config is not None:
        result = policy.analyze(plan, variant_config, pack_config)
        variant.mandatory, variant.advisory = len(result.mandatory), len(result.advisory)
        variant.violations = [v.line() for v in result.mandatory]
    (cluster,) = built.clusters.values()
    prefix = f"{cluster.spec.name}-"
    releases = [
        str(r.plain.get("name", r.name)).removeprefix(prefix) for r in plan.resources("kubernetes:helm.sh/v3:Release")
    ]
    variant.capabilities = capabilities(cluster, releases)
    needs = ROWS[variant.target].needs
    if needs is not None:
        variant.needs = needs(cluster.spec, {p.name: p.mapped for p in variant.pools})
    return variant.capabilities, cluster.spec


def _alone(workload: Mapping[str, Any], cluster: str, variant: Variant) -> dict[str, Any]:
    """The workload on this one cluster: a global name spans the stack's clusters, so it is left out and said."""
    out = {**workload, "clusters": [cluster]}
    expose = out.get("expose")
    if isinstance(expose, dict) and "global" in expose:
        out["expose"] = {k: v for k, v in expose.items() if k != "global"}
        variant.notes.append(f"workload {workload.get('name')}: its global name spans clusters; planned without it")
    return out


def namespace(config: StackConfig, stack: StackSpec, cluster: ClusterBase, variant: Variant) -> dict[str, Any]:
    """The `orquestra:` config of one variant: the cluster on the variant's target, with the workloads placed on it."""
    raw_ns = config.namespace(NAMESPACE)
    raw = next(c for c in raw_ns.get("clusters", []) if isinstance(c, dict) and c.get("name") == cluster.name)
    workloads = [
        _alone(w, cluster.name, variant)
        for w in raw_ns.get("workloads", [])
        if isinstance(w, dict) and cluster.name in (w.get("clusters") or [])
    ]
    if variant.own:
        variant.region = getattr(cluster, "region", None)
        variant.region_basis = "the cluster's own"
        _pools(cluster, variant.target, variant)
    clusters = [_cluster_raw(cluster, raw, variant.target, stack.environment, variant)]
    sites = _sites(raw_ns, clusters[0])
    return {
        "environment": stack.environment,
        "clusters": clusters,
        "workloads": workloads,
        **({"sites": sites} if sites else {}),
    }


def _sites(raw_ns: Mapping[str, Any], cluster: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sites the cluster lies on or has a VPN to, each with its VPN to this cluster only: a variant prices and
    checks the link on the target (or says the target cannot end it, `_no_vpn`)."""
    out = []
    for site in raw_ns.get("sites") or []:
        if not isinstance(site, dict):
            continue
        linked = cluster.get("name") in (site.get("vpn") or [])
        if linked or cluster.get("site") == site.get("name"):
            out.append({**site, "vpn": [cluster["name"]] if linked else []})
    return out


def compare(
    config: StackConfig,
    stack: StackSpec,
    targets: list[str],
    pack_config: Mapping[str, Any] | None,
    project_dir: Path = PROJECT_DIR,
) -> list[ClusterComparison]:
    """Each cluster of the stack on its own target first (the baseline), then on each of `targets`."""
    out: list[ClusterComparison] = []
    for cluster in stack.clusters:
        order = [cluster.target] if ROWS[cluster.target].comparable else []
        order += [t for t in targets if t != cluster.target]
        variants: list[Variant] = []
        own: dict[str, str] = {}
        for target in order:
            variant = Variant(target=target, own=target == cluster.target)
            ns = namespace(config, stack, cluster, variant)
            caps, spec = plan_variant(config, ns, variant, pack_config, project_dir)
            if variant.own:
                own = caps
            elif spec is not None and own:
                variant.cannot_give.extend(_lost_by_capability(own, caps, spec))
            variants.append(variant)
        out.append(ClusterComparison(cluster.name, cluster.target, variants))
    return out


# ------------------------------------------------------------------------- output


def document(stack: str, comparisons: list[ClusterComparison]) -> dict[str, Any]:
    return {
        "stack": stack,
        "basis": BASIS,
        "tolerance": f"mapped machines have 1x to {catalogue.TOLERANCE:g}x the source's vCPU and memory",
        "clusters": [
            {
                "name": c.name,
                "target": c.target,
                "variants": [{**asdict(v), "ok": v.ok} for v in c.variants],
            }
            for c in comparisons
        ],
    }


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _verdict(v: Variant) -> str:
    if not v.ok:
        return "does not plan"
    parts = [f"{v.mandatory} mandatory, {v.advisory} advisory"]
    if v.rejections:
        parts.append(f"{len(v.rejections)} rejected")
    return "; ".join(parts)


def rows(c: ClusterComparison) -> list[tuple[str, list[str]]]:
    """The side-by-side table of one cluster: (what, one cell per target)."""
    vs = c.variants

    def cost(v: Variant) -> str:
        if not v.ok:
            return "-"
        text = f"${v.monthly:,.2f}"
        return text + " + your hardware" if v.needs else text

    table: list[tuple[str, list[str]]] = [
        ("target", [v.target + (" (now)" if v.own else "") for v in vs]),
        ("region", [v.region or "-" for v in vs]),
        ("monthly floor", [cost(v) for v in vs]),
        ("first deploy", [_duration(v.deploy_seconds) if v.ok else "-" for v in vs]),
        ("resources", [str(v.resources) if v.ok else "-" for v in vs]),
        ("policy verdict", [_verdict(v) for v in vs]),
    ]
    for pool in [p.name for p in vs[0].pools] if vs else []:
        table.append((f"pool {pool}", [next((p.mapped for p in v.pools if p.name == pool), "-") for v in vs]))
    keys = [k for k in dict.fromkeys(k for v in vs for k in v.capabilities) if k != ADDONS]
    for key in keys:
        table.append((key, [v.capabilities.get(key, "-") for v in vs]))
    return table


def print_text(stack: str, comparisons: list[ClusterComparison], out: TextIO) -> None:
    print(f"Compare stack '{stack}' across targets (offline, mock engine)", file=out)
    print(f"Basis: {BASIS}.", file=out)
    for c in comparisons:
        print(f"\nCluster '{c.name}' (now {c.target}):", file=out)
        table = rows(c)
        width = max(len(what) for what, _ in table)
        cols = [max(len(cells[i]) for _, cells in table) for i in range(len(c.variants))]
        for what, cells in table:
            print(f"  {what:<{width}}  " + "  ".join(f"{cell:<{cols[i]}}" for i, cell in enumerate(cells)), file=out)
        for v in c.variants:
            print(f"\n  {v.target}:", file=out)
            if v.region_basis and not v.own:
                print(f"    region {v.region or '-'}: {v.region_basis}", file=out)
            for item in v.items[:6]:
                print(f"    ${item['monthlyUsd']:>9,.2f}  {item['type']}  ({item['basis']})", file=out)
            for type_, n in v.not_priced.items():
                print(f"    not priced: {n} × {type_}", file=out)
            if v.critical_path:
                steps = " → ".join(f"{s['type'].rsplit(':', 1)[-1]} {_duration(s['seconds'])}" for s in v.critical_path)
                print(f"    critical path: {steps}", file=out)
            if ADDONS in v.capabilities:
                print(f"    {ADDONS}: {v.capabilities[ADDONS]}", file=out)
            for key, value in v.needs.items():
                shown = "; ".join(value) if isinstance(value, list) else value
                print(f"    needs {key}: {shown}", file=out)
            for line in v.cannot_give:
                print(f"    cannot give: {line}", file=out)
            for line in v.notes:
                print(f"    note: {line}", file=out)
            for line in v.violations + v.rejections:
                print(f"    {line}", file=out)
            for line in v.errors:
                print(f"    error: {line}", file=out)


def markdown(doc: Mapping[str, Any]) -> str:
    """The comparison as the pull-request comment shows it: one table per cluster."""
    lines = [f"### Stack `{doc['stack']}` on each target", "", f"_{doc['basis']}._", ""]
    for c in doc["clusters"]:
        comparison = ClusterComparison(c["name"], c["target"], [_variant(v) for v in c["variants"]])
        table = rows(comparison)
        lines.append(f"**{c['name']}** (now {c['target']})")
        lines.append("")
        header, *body = table
        lines.append("| | " + " | ".join(header[1]) + " |")
        lines.append("|---|" + "---|" * len(header[1]))
        for what, cells in body:
            lines.append(f"| {what} | " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        for v in comparison.variants:
            for line in v.cannot_give:
                lines.append(f"- {v.target} cannot give: {line}")
        lines.append("")
    return "\n".join(lines)


def _variant(data: Mapping[str, Any]) -> Variant:
    fields = {k: v for k, v in data.items() if k != "ok"}
    pools = [Pool(**p) for p in fields.pop("pools", [])]
    return Variant(**fields, pools=pools)


def targets_of(names: list[str]) -> tuple[list[str], list[str]]:
    """The comparable targets named (all when none), and a line for each name that is not one."""
    comparable = [key for key, row in ROWS.items() if row.comparable and key in REGISTRY and REGISTRY[key].available]
    wanted = [n.strip() for name in names for n in name.split(",") if n.strip()] or comparable
    bad = [
        f"preflight: --compare {n}: not a target to compare with; allowed: {', '.join(comparable)}"
        + (f" ({ROWS[n].why_not})" if n in ROWS and ROWS[n].why_not else "")
        for n in wanted
        if n not in comparable
    ]
    return [n for n in comparable if n in wanted], bad


def run(
    config: StackConfig,
    stack: StackSpec,
    names: list[str],
    json_path: str | None,
    pack_config: Mapping[str, Any] | None,
    project_dir: Path = PROJECT_DIR,
) -> int:
    """The `--compare` entry point: 0 when every variant plans, 2 when a name is wrong or a variant does not."""
    targets, bad = targets_of(names)
    if bad:
        for line in bad:
            print(line, file=sys.stderr)
        return 2
    try:
        comparisons = compare(config, stack, targets, pack_config, project_dir)
    except policy.PolicyError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    doc = document(config.stack, comparisons)
    if json_path == "-":
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        if json_path:
            try:
                Path(json_path).write_text(json.dumps(doc, indent=2) + "\n")
            except OSError as exc:
                print(f"preflight: cannot write the comparison ({exc.strerror or type(exc).__name__})", file=sys.stderr)
                return 2
        print_text(config.stack, comparisons, sys.stdout)
    failed = [v for c in comparisons for v in c.variants if not v.ok]
    return 2 if failed else 0


def _targets(text: str | None) -> frozenset[str]:
    try:
        doc = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return frozenset()
    clusters = ((doc or {}).get("config") or {}).get(f"{NAMESPACE}:clusters") if isinstance(doc, dict) else None
    return frozenset(str(c.get("target")) for c in clusters or [] if isinstance(c, dict))


def changed(base: str, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The stacks whose set of cluster targets differs from the commit `base` (new stacks included)."""
    out: list[str] = []
    for stack in stacks(project_dir):
        path = f"stacks/Pulumi.{stack}.yaml"
        before = subprocess.run(
            ["git", "show", f"{base}:{path}"], cwd=project_dir, capture_output=True, text=True, check=False
        )
        now = (project_dir / path).read_text()
        if _targets(before.stdout if before.returncode == 0 else None) != _targets(now):
            out.append(stack)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m preflight.compare FILE`: a `--compare --json` document as the Markdown a pull request shows;
    `python -m preflight.compare --changed BASE`: the stacks whose targets changed since the commit BASE."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--changed":
        print("\n".join(changed(args[1])))
        return 0
    if len(args) != 1:
        print("usage: python -m preflight.compare COMPARE.json | --changed BASE", file=sys.stderr)
        return 2
    try:
        doc = json.loads(Path(args[0]).read_text())
    except (OSError, ValueError) as exc:
        print(f"preflight.compare: {args[0]}: cannot be read ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
