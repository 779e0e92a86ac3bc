"""A Mermaid flowchart of a plan: each cluster, its major resources, and what waits for what.

A full plan has hundreds of registrations, most of them plumbing (IAM attachments,
routes, security group rules); drawn all at once they hide the architecture. So
the diagram keeps components (as subgraphs) and the resource types a reader
recognises as the parts of a cluster, and draws an edge between two kept
resources when one waits for the other, directly or through plumbing that was
left out; an edge implied by a longer path is dropped. Render it with any
Mermaid viewer (GitHub renders ```mermaid blocks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from preflight.engine import Plan, Registration, reveal
from preflight.estimates import MAJOR_TYPES, STACK_TYPE, dependencies


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _kind(type_: str) -> str:
    """`aws:eks/nodeGroup:NodeGroup` -> `aws eks NodeGroup`; providers keep their package name."""
    if type_.startswith("pulumi:providers:"):
        return f"{type_.rsplit(':', 1)[1]} provider"
    package, module, kind = [*type_.split(":"), "", ""][:3]
    area = module.split("/")[0] if "/" in module and package != "kubernetes" else ""
    return " ".join(p for p in (package, "" if area == "index" else area, kind) if p)


def _reduce(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop an edge a -> c when a path a -> b -> ... -> c says the same (transitive reduction)."""

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            node = stack.pop()
            for nxt in edges.get(node, ()):
                if (node, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    return {a: {c for c in targets if c not in reachable(a, (a, c))} for a, targets in edges.items()}


class _Diagram:
    def __init__(self, plan: Plan) -> None:
        self.by_urn = {r.urn: r for r in plan.registrations}
        self.children: dict[str, list[Registration]] = {}
        for r in plan.registrations:
            self.children.setdefault(r.parent, []).append(r)
        self.ids: dict[str, str] = {}
        self.lines: list[str] = []

    def _id(self, urn: str) -> str:
        return self.ids.setdefault(urn, f"n{len(self.ids)}")

    def _has_major(self, reg: Registration) -> bool:
        return any(
            (kid.type in MAJOR_TYPES) or (not kid.custom and self._has_major(kid))
            for kid in self.children.get(reg.urn, [])
        )

    def shown(self, reg: Registration) -> bool:
        return reg.type != STACK_TYPE and (reg.type in MAJOR_TYPES or not reg.custom)

    def draw(self, reg: Registration, indent: str) -> None:
        node = self._id(reg.urn)
        if not reg.custom and self._has_major(reg):
            self.lines.append(f'{indent}subgraph {node}["{_label(reg.name)} · {_label(_kind(reg.type))}"]')
            self.lines.append(f"{indent}  direction TB")
            # By name, not registration order: the mock engine's order can vary, a diagram in a PR should not.
            for kid in sorted(self.children.get(reg.urn, []), key=lambda r: (r.name, r.type)):
                if self.shown(kid):
                    self.draw(kid, indent + "  ")
            self.lines.append(f"{indent}end")
        else:
            shape = ('(["', '"])') if not reg.custom else ('["', '"]')
            label = f"{_label(reg.name)}<br/>{_label(_kind(reg.type))}"
            self.lines.append(f"{indent}{node}{shape[0]}{label}{shape[1]}")

    def waits_for(self, reg: Registration) -> set[str]:
        """The nearest drawn registrations `reg` waits for, looking through the ones left out."""
        found: set[str] = set()
        seen: set[str] = set()
        queue = deque(dependencies(reg))
        while queue:
            urn = queue.popleft()
            if urn in seen or urn not in self.by_urn:
                continue
            seen.add(urn)
            if urn in self.ids:
                found.add(urn)
            else:
                queue.extend(dependencies(self.by_urn[urn]))
        return found


RECORD = "aws:route53/record:Record"
GATEWAY_RELEASE = "envoy-gateway"


def _policy(record: Registration) -> str:
    """How a global record routes: `failover PRIMARY`, `weight 80`, `latency eu-west-1`."""
    inputs = record.plain
    for key, field_name, word in (
        ("failoverRoutingPolicies", "type", "failover"),
        ("weightedRoutingPolicies", "weight", "weight"),
        ("latencyRoutingPolicies", "region", "latency"),
    ):
        for block in inputs.get(key) or []:
            return f"{word} {block.get(field_name)}"
    return "simple"


def _global_names(plan: Plan, d: _Diagram) -> list[str]:
    """Each global name (`expose.global`) as one node, with an edge to the gateway of every cluster it answers with.

    A record's set identifier is its cluster's name (components/globaldns.py); that cluster's gateway is drawn as
    its envoy-gateway release.
    """
    gateways = {r.name: r.urn for r in plan.resources("kubernetes:helm.sh/v3:Release") if r.urn in d.ids}
    names: dict[str, str] = {}
    lines: list[str] = []
    for record in sorted(plan.resources(RECORD), key=lambda r: r.name):
        inputs = record.plain
        cluster = inputs.get("setIdentifier")
        gateway = gateways.get(f"{cluster}-{GATEWAY_RELEASE}")
        if not cluster or gateway is None:
            continue
        name = str(inputs.get("name"))
        if name not in names:
            names[name] = f"g{len(names)}"
            lines.append(f'  {names[name]}{{{{"{_label(name)}<br/>global name"}}}}')
        lines.append(f'  {names[name]} -. "{_label(_policy(record))}" .-> {d.ids[gateway]}')
    return lines


VPN_LINK = "orquestra:site:VpnLink"


def _link(device: object) -> str:
    """How a site's VPN to one cluster routes: `IPsec · BGP · 2 tunnels` (the link's `sites` output)."""
    tunnels = device.get("tunnels") if isinstance(device, dict) else None
    count = len(tunnels) if isinstance(tunnels, list) else 0
    routing = "static" if isinstance(device, dict) and device.get("peerAsn") is None else "BGP"
    return f"IPsec · {routing} · {count} tunnel{'s' if count != 1 else ''}"


def _sites(plan: Plan, d: _Diagram) -> list[str]:
    """Each declared site as one node, with an edge per VPN link to where it ends in the cluster's network.

    The links are the stack's `sites` output (components/sites.py): site -> cluster -> what the site's device is
    configured with; only the routing and the number of tunnels are drawn, never an address or a key. A link ends
    at the drawn resource its cloud end waits for: the cloud's VPN gateway where the diagram draws one (every cloud
    names its end a gateway), else whatever of the cluster's network it reaches.
    """
    # Secret as a whole (it carries the keys); the diagram reads only the shape of it.
    exported = reveal(plan.stack_outputs.get("sites"))
    if not isinstance(exported, dict):
        return []
    links = {r.name: r for r in plan.resources(VPN_LINK)}
    lines: list[str] = []
    for i, (site, by_cluster) in enumerate(sorted(exported.items())):
        node = f"s{i}"
        lines.append(f'  {node}[("{_label(site)}<br/>site")]')
        for cluster, device in sorted(by_cluster.items()) if isinstance(by_cluster, dict) else ():
            link = links.get(f"{site}-{cluster}")
            if link is None:
                continue
            # A gateway of the link's own (GCP's HA VPN gateway) is drawn beside the site, joined to what it
            # waits for in the cluster's network; a gateway the cluster owns (AWS's) is drawn in the cluster.
            own = sorted(
                (kid for kid in d.children.get(link.urn, []) if kid.custom and kid.type in MAJOR_TYPES),
                key=lambda r: (r.name, r.type),
            )
            for kid in own:
                start = len(d.lines)
                d.draw(kid, "  ")
                lines.extend(d.lines[start:])
                del d.lines[start:]
                lines.extend(
                    f"  {d.ids[kid.urn]} --> {d.ids[urn]}" for urn in sorted(d.waits_for(kid), key=d.ids.__getitem__)
                )
            ends: set[str] = {kid.urn for kid in own}
            if not ends:
                for kid in d.children.get(link.urn, []):
                    ends |= d.waits_for(kid)
            gateways = {urn for urn in ends if "gateway" in d.by_urn[urn].type.lower()}
            for urn in sorted(gateways or ends, key=d.ids.__getitem__):
                lines.append(f'  {node} ---|"{_label(_link(device))}"| {d.ids[urn]}')
    return lines


def mermaid(plan: Plan) -> str:
    """The plan as a Mermaid `flowchart`, clusters left to right."""
    d = _Diagram(plan)
    d.lines.append("flowchart LR")
    # A site's VPN links are drawn as edges from the site (`_sites`), not as components of their own.
    roots: Iterable[Registration] = sorted(
        (
            kid
            for stack in d.children.get("", [])
            for kid in d.children.get(stack.urn, [])
            if d.shown(kid) and kid.type != VPN_LINK
        ),
        key=lambda r: (r.name, r.type),
    )
    for root in roots:
        d.draw(root, "  ")
    edges: dict[str, set[str]] = {}
    for urn in list(d.ids):
        for dep in d.waits_for(d.by_urn[urn]):
            edges.setdefault(dep, set()).add(urn)
    order = {urn: i for i, urn in enumerate(d.ids)}
    lines = [
        f"  {d.ids[a]} --> {d.ids[b]}"
        for a, targets in sorted(_reduce(edges).items(), key=lambda e: order[e[0]])
        for b in sorted(targets, key=order.__getitem__)
    ]
    return "\n".join([*d.lines, *lines, *_global_names(plan, d), *_sites(plan, d)]) + "\n"
