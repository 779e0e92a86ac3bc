"""A Mermaid flowchart of a plan: each cluster, its major resources, and what waits for what.

A full plan has hundreds of registrations, most of them plumbing (IAM attachments,
routes, security group rules); drawn all at once they hide the architecture. So
the diagram keeps components (as subgraphs) and the resource types a reader
recognises as the parts of a cluster, and draws an edge between two kept
resources when one waits for the other, directly or through plumbing that was
left out. Render it with any Mermaid viewer (GitHub renders ```mermaid blocks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from preflight.engine import Plan, Registration
from preflight.estimates import STACK_TYPE, dependencies

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        # AWS
        "aws:ec2/vpc:Vpc",
        "aws:ec2/natGateway:NatGateway",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/fargateProfile:FargateProfile",
        "aws:kms/key:Key",
        "aws:lb/loadBalancer:LoadBalancer",
        # GCP
        "gcp:compute/network:Network",
        "gcp:compute/routerNat:RouterNat",
        "gcp:container/cluster:Cluster",
        "gcp:container/nodePool:NodePool",
        "gcp:kms/cryptoKey:CryptoKey",
        # Azure
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NatGateway",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:AgentPool",
        "azure-native:keyvault:Vault",
        # DigitalOcean
        "digitalocean:index/vpc:Vpc",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "digitalocean:index/loadBalancer:LoadBalancer",
        "digitalocean:index/containerRegistry:ContainerRegistry",
        # On-prem
        "proxmoxve:index/vm:Vm",
        "proxmoxve:index/vmLegacy:VmLegacy",
        "proxmoxve:cloned/vm:Vm",
        "vsphere:index/virtualMachine:VirtualMachine",
        "command:remote:Command",
        # What the workloads layer builds on each cluster
        "pulumi:providers:kubernetes",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:core/v1:Namespace",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
    }
)


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _kind(type_: str) -> str:
    """`aws:eks/nodeGroup:NodeGroup` -> `aws NodeGroup`; providers keep their package name."""
    if type_.startswith("pulumi:providers:"):
        return f"{type_.rsplit(':', 1)[1]} provider"
    package, _, kind = type_.partition(":")
    return f"{package} {kind.rsplit(':', 1)[-1]}"


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
            for kid in self.children.get(reg.urn, []):
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


def mermaid(plan: Plan) -> str:
    """The plan as a Mermaid `flowchart`, clusters left to right."""
    d = _Diagram(plan)
    d.lines.append("flowchart LR")
    roots: Iterable[Registration] = (
        kid for stack in d.children.get("", []) for kid in d.children.get(stack.urn, []) if d.shown(kid)
    )
    for root in roots:
        d.draw(root, "  ")
    edges: list[str] = []
    for urn, node in list(d.ids.items()):
        for dep in sorted(d.waits_for(d.by_urn[urn]), key=lambda u: d.ids[u]):
            edge = f"  {d.ids[dep]} --> {node}"
            if edge not in edges:
                edges.append(edge)
    return "\n".join([*d.lines, *edges]) + "\n"
