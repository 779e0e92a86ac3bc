"""The address plan of the whole stack, as planned: no routed range overlaps another cluster's or site's ranges.

The spec refuses such a stack before anything registers (`components/spec.py` `_address_plan`), from what the
stack file declares. This rule reads the ranges the plan itself asks the clouds for, so it also catches a
network a code change builds, a registration edited after preflight, or a stack planned without the spec.

A range is routed when the network carries it beyond its cluster (node and VPC ranges; pod ranges where pods
take network addresses), local when it never leaves the cluster (services; pods on an overlay): the table of
docs/hybrid.md "Address plans across clusters". A routed range may overlap no range of another owner; local
ranges may repeat across clusters. The ranges of one cluster are grouped by its component
(`orquestra:targets:<Target>Cluster`, the parent of everything the target builds), so a cluster's own ranges
are never compared with each other (each cloud checks those itself).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, TypeAlias

from pulumi_policy import Severity

from policies.rules.base import Case, Context, Finding, Resource, Rule, StackCase, Unknown

Net: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

AWS_VPC = "aws:ec2/vpc:Vpc"
AWS_VPC_CIDR = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
EKS = "aws:eks/cluster:Cluster"
GCP_SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
GKE = "gcp:container/cluster:Cluster"
AZURE_VNET = "azure-native:network:VirtualNetwork"
AKS = "azure-native:containerservice:ManagedCluster"
DO_VPC = "digitalocean:index/vpc:Vpc"
DOKS = "digitalocean:index/kubernetesCluster:KubernetesCluster"
OCI_VCN = "oci:Core/vcn:Vcn"
OKE = "oci:ContainerEngine/cluster:Cluster"
# Tanzu: Cluster API's Cluster (`components/targets/tanzu/topology.py`); its nodes sit on the Supervisor's
# workload network, which the stack does not build.
CAPI_CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"
CLUSTER_COMPONENT = "orquestra:targets:"


class Read(NamedTuple):
    """A property holding a range (or a list of them), and whether the network routes it beyond its cluster."""

    path: str
    routed: bool


# Property names are the providers' wire names (each SDK's `_inputs.py`; tests/test_policies_sdk.py checks them).
READS: Mapping[str, tuple[Read, ...]] = {
    # The VPC CNI gives pods addresses of the VPC's subnets: no pod range of its own.
    # https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html
    AWS_VPC: (Read("cidrBlock", True),),
    AWS_VPC_CIDR: (Read("cidrBlock", True),),
    EKS: (Read("kubernetesNetworkConfig.serviceIpv4Cidr", False),),
    # VPC-native GKE: pods take alias IPs the VPC routes; a range GKE creates itself is named on the cluster.
    # https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips
    GCP_SUBNETWORK: (Read("ipCidrRange", True),),
    GKE: (
        Read("clusterIpv4Cidr", True),
        Read("ipAllocationPolicy.clusterIpv4CidrBlock", True),
        Read("ipAllocationPolicy.servicesIpv4CidrBlock", False),
    ),
    # Azure CNI Overlay: pod addresses never leave the cluster (SNAT to the node).
    # https://learn.microsoft.com/azure/aks/concepts-network-azure-cni-overlay
    AZURE_VNET: (Read("addressSpace.addressPrefixes", True),),
    AKS: (
        Read("networkProfile.podCidr", False),
        Read("networkProfile.podCidrs", False),
        Read("networkProfile.serviceCidr", False),
        Read("networkProfile.serviceCidrs", False),
    ),
    # DOKS is VPC-native: `cluster_subnet` is routed in the VPC.
    # https://docs.digitalocean.com/products/kubernetes/details/features/
    DO_VPC: (Read("ipRange", True),),
    DOKS: (Read("clusterSubnet", True), Read("serviceSubnet", False)),
    # OKE on the flannel overlay: `podsCidr` stays in the cluster.
    # https://docs.oracle.com/en-us/iaas/Content/ContEng/Concepts/contengpodnetworking_topic-flannel_CNI_plugin.htm
    OCI_VCN: (Read("cidrBlock", True), Read("cidrBlocks", True)),
    OKE: (
        Read("options.kubernetesNetworkConfig.podsCidr", False),
        Read("options.kubernetesNetworkConfig.servicesCidr", False),
    ),
    # A TKG cluster's pods network with the antrea or calico CNI is "only unique within the cluster and not
    # routable on the network" (vSphere 8.0 TKG docs, "Routable Pods Networking":
    # https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-DC40E329-08EC-43EF-962B-18AC404CA9AA.html).
    CAPI_CLUSTER: (
        Read("spec.clusterNetwork.pods.cidrBlocks", False),
        Read("spec.clusterNetwork.services.cidrBlocks", False),
    ),
}
# A subnetwork's secondary ranges are routed like its primary one, except the one a GKE cluster of the same
# owner takes for its Services (`ipAllocationPolicy.servicesSecondaryRangeName`), which is local.
SECONDARY_RANGES = "secondaryIpRanges"
SECONDARY_RANGE = Read("ipCidrRange", True)
SECONDARY_NAME = "rangeName"
SERVICES_RANGE_NAME = "ipAllocationPolicy.servicesSecondaryRangeName"


@dataclass(frozen=True)
class Range:
    net: Net
    routed: bool
    owner: str
    """`cluster '<name>'`, `site '<name>'`, or, for a network no cluster owns, the network or resource itself."""
    source: str
    """Where it was read: `<Type> <name> <property>` or `orquestra:<key path>`."""
    urn: str
    """The resource a violation about it is reported against; "" for the stack."""
    within: str = ""
    """The owner whose routed range holds this one by design: an on-prem cluster's node range in its site's."""

    def __str__(self) -> str:
        return f"{self.net} ({self.owner}, {self.source}, {'routed' if self.routed else 'local'})"


def _nets(value: Any) -> list[Net]:
    """The ranges of a value that is one range or a list of them; what does not parse is the cloud's to reject."""
    out: list[Net] = []
    for item in value if isinstance(value, list) else [value]:
        try:
            out.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            continue
    return out


def _owner(r: Resource, by_urn: Mapping[str, Resource]) -> str:
    """The cluster whose component the resource hangs from; else its network (a GCP subnetwork), else itself."""
    parent, seen = by_urn.get(r.parent), set()
    while parent is not None and parent.urn not in seen:
        if parent.type.startswith(CLUSTER_COMPONENT):
            return f"cluster '{parent.name}'"
        seen.add(parent.urn)
        parent = by_urn.get(parent.parent)
    try:
        network = r.get("network") if r.type == GCP_SUBNETWORK else None
    except Unknown:
        network = None  # only groups its ranges: alone, they are compared with more, never with fewer
    return f"network {network}" if isinstance(network, str) and network else _label(r)


def _label(r: Resource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} {r.name}"


def planned(resources: Sequence[Resource]) -> tuple[list[Range], list[Finding]]:
    """Every range the plan's resources ask for, and an `Unknown` finding for each resource that cannot tell yet."""
    by_urn = {r.urn: r for r in resources}
    ranges: list[Range] = []
    unknown: list[Finding] = []
    services: dict[str, set[str]] = {}
    for r in (r for r in resources if r.type == GKE):
        try:
            name = r.get(SERVICES_RANGE_NAME)
        except Unknown as exc:
            unknown.append((exc.about(r), r.urn))
            continue
        if name:
            services.setdefault(_owner(r, by_urn), set()).add(str(name))
    for r in (r for r in resources if r.type in READS):
        owner = _owner(r, by_urn)
        found: list[Range] = []
        try:
            for read in READS[r.type]:
                found += [
                    Range(n, read.routed, owner, f"{_label(r)} {read.path}", r.urn) for n in _nets(r.get(read.path))
                ]
            if r.type == GCP_SUBNETWORK:
                for i, secondary in enumerate(r.props.each(SECONDARY_RANGES)):
                    routed = secondary.get(SECONDARY_NAME) not in services.get(owner, set())
                    path = f"{_label(r)} {SECONDARY_RANGES}[{i}].{SECONDARY_RANGE.path}"
                    found += [Range(n, routed, owner, path, r.urn) for n in _nets(secondary.get(SECONDARY_RANGE.path))]
        except Unknown as exc:
            unknown.append((exc.about(r), r.urn))
            continue
        ranges += found
    return ranges, unknown


def declared(stack_config: Mapping[str, Any], resources: Sequence[Resource]) -> list[Range]:
    """What the plan cannot show, from the stack's config, read as the spec reads it.

    An on-prem cluster's network (its machines exist already: nothing registered carries its ranges), the VPC
    an aws cluster is given (`existingVpc`: the stack creates no VPC), and each site's `cidrs`.
    """
    components = {r.name: r.urn for r in resources if r.type.startswith(CLUSTER_COMPONENT)}
    clusters = [c for c in stack_config.get("orquestra:clusters") or [] if isinstance(c, dict)]
    sites = [s for s in stack_config.get("orquestra:sites") or [] if isinstance(s, dict)]
    out: list[Range] = []
    wanted = [(i, c) for i, c in enumerate(clusters) if c.get("target") == "onprem" or c.get("existingVpc")]
    if wanted:
        # Only here: building the spec's models takes longer than the whole pack otherwise needs to start.
        from pydantic import ValidationError

        from components.spec import AwsSpec, Network, OnpremSpec

        for i, c in wanted:
            model = OnpremSpec if c.get("target") == "onprem" else AwsSpec
            try:
                raw = c.get("network")
                network = Network.model_validate(raw) if raw is not None else model.model_fields["network"].default
            except ValidationError:
                continue
            # `networks` and `local_networks`, the spec's own split into routed and local, read `network` alone.
            spec = model.model_construct(network=network)  # type: ignore[call-arg]
            name = str(c.get("name"))
            owner, urn = f"cluster '{name}'", components.get(name, "")
            site = c.get("site")
            # An aws cluster's service range is on its EKS resource, in the plan.
            nets = [(True, spec.networks)] + ([(False, spec.local_networks)] if model is OnpremSpec else [])
            for routed, keys in nets:
                for key, cidr in keys.items():
                    within = f"site '{site}'" if site and key == "network.cidr" else ""
                    for n in _nets(cidr):
                        out.append(Range(n, routed, owner, f"orquestra:clusters[{i}].{key}", urn, within))
    for i, s in enumerate(sites):
        for j, cidr in enumerate(s.get("cidrs") or []):
            out += [
                Range(n, True, f"site '{s.get('name')}'", f"orquestra:sites[{i}].cidrs[{j}]", "") for n in _nets(cidr)
            ]
    return out


def overlaps(ranges: Sequence[Range]) -> Iterator[tuple[Range, Range]]:
    """Each pair of ranges of different owners that overlap where one of them is routed: the routed one first."""
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            if a.owner == b.owner or not (a.routed or b.routed) or a.within == b.owner or b.within == a.owner:
                continue
            if a.net.version != b.net.version or not a.net.overlaps(b.net):
                continue
            # Reported against a routed range's resource, one the plan registers where there is one.
            routed = [x for x in (a, b) if x.routed]
            first = next((x for x in routed if x.urn), routed[0])
            yield first, b if first is a else a


def _no_overlaps(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    ranges, unknown = planned(resources)
    ranges += declared(ctx.stack_config, resources)
    yield from unknown
    for routed, other in overlaps(ranges):
        why = (
            "both are routed between the clusters and sites of this stack: an address in both has no one destination"
            if other.routed
            else f"{other.owner} keeps that range to itself and would capture the traffic meant for {routed.owner}"
        )
        yield f"{routed} overlaps {other}: {why}", routed.urn


RULES = [
    Rule(
        "network-no-overlapping-ranges",
        "No routed range of a cluster or site overlaps another cluster's or site's ranges.",
        "baseline",
        stack_check=_no_overlaps,
        severity=Severity.HIGH,
        remediation=(
            "Give each cluster and site its own node, VPC and routed pod ranges (docs/hybrid.md, "
            "'Address plans across clusters'); local ranges may repeat, but never over a peer's routed range."
        ),
    ),
]


# ------------------------------------------------------------------------- cases
# The rule's own case (tests/test_policies.py: resources without a cluster, each its own owner), then a
# passing and a failing plan for each kind of range it reads (tests/test_policy_ranges.py).

STACK_CASES: dict[str, StackCase] = {
    "network-no-overlapping-ranges": StackCase(
        [(AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}), (AWS_VPC, "b-vpc", {"cidrBlock": "10.1.0.0/16"})],
        [(AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}), (AWS_VPC, "b-vpc", {"cidrBlock": "10.0.128.0/17"})],
        "10.0.0.0/16 (Vpc a-vpc, Vpc a-vpc cidrBlock, routed) overlaps 10.0.128.0/17 (Vpc b-vpc",
    ),
}
CASES: dict[str, Case] = {}

Planned: TypeAlias = tuple[str, str, dict[str, Any], str]
"""`(type, name, props, cluster)`: a resource the cluster's component is the parent of."""


class RangeCase(NamedTuple):
    """A plan (and stack config) a kind of range passes, one it fails, and a part of the failing message."""

    good: list[Planned]
    bad: list[Planned]
    fails_with: str
    good_config: Mapping[str, Any] = MappingProxyType({})
    bad_config: Mapping[str, Any] = MappingProxyType({})


_A_VPC: Planned = (AWS_VPC, "a-vpc", {"cidrBlock": "10.0.0.0/16"}, "a")


def _onprem(**fields: Any) -> dict[str, Any]:
    return {"orquestra:clusters": [{"name": "dc1", "target": "onprem", **fields}]}


KINDS: dict[str, RangeCase] = {
    "aws-vpc": RangeCase(
        [_A_VPC, (AWS_VPC, "b-vpc", {"cidrBlock": "10.1.0.0/16"}, "b")],
        [_A_VPC, (AWS_VPC, "b-vpc", {"cidrBlock": "10.0.128.0/17"}, "b")],
        "10.0.0.0/16 (cluster 'a', Vpc a-vpc cidrBlock, routed) overlaps 10.0.128.0/17 (cluster 'b', "
        "Vpc b-vpc cidrBlock, routed)",
    ),
    "aws-vpc-secondary-cidr": RangeCase(
        [_A_VPC, (AWS_VPC_CIDR, "b-pods", {"vpcId": "vpc-1", "cidrBlock": "100.64.0.0/16"}, "b")],
        [_A_VPC, (AWS_VPC_CIDR, "b-pods", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/20"}, "b")],
        "VpcIpv4CidrBlockAssociation b-pods cidrBlock, routed",
    ),
    "eks-service-range": RangeCase(
        [_A_VPC, (EKS, "b-eks", {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"}}, "b")],
        [_A_VPC, (EKS, "b-eks", {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.0.16.0/20"}}, "b")],
        "Cluster b-eks kubernetesNetworkConfig.serviceIpv4Cidr, local",
    ),
    "gcp-subnetwork-pods": RangeCase(
        # The services range names a range GKE keeps to itself: local, like an EKS service range.
        [
            (GKE, "a-gke", {"ipAllocationPolicy": {"servicesSecondaryRangeName": "services"}}, "a"),
            (
                GCP_SUBNETWORK,
                "a-nodes",
                {
                    "ipCidrRange": "10.20.0.0/20",
                    "secondaryIpRanges": [
                        {"rangeName": "pods", "ipCidrRange": "10.64.0.0/14"},
                        {"rangeName": "services", "ipCidrRange": "172.20.0.0/20"},
                    ],
                },
                "a",
            ),
            (EKS, "b-eks", {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"}}, "b"),
        ],
        [
            (
                GCP_SUBNETWORK,
                "a-nodes",
                {
                    "ipCidrRange": "10.20.0.0/20",
                    "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "172.20.0.0/14"}],
                },
                "a",
            ),
            (EKS, "b-eks", {"kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"}}, "b"),
        ],
        "Subnetwork a-nodes secondaryIpRanges[0].ipCidrRange, routed",
    ),
    "gcp-subnetwork": RangeCase(
        [_A_VPC, (GCP_SUBNETWORK, "b-nodes", {"ipCidrRange": "10.20.0.0/20"}, "b")],
        [_A_VPC, (GCP_SUBNETWORK, "b-nodes", {"ipCidrRange": "10.0.0.0/20"}, "b")],
        "Subnetwork b-nodes ipCidrRange, routed",
    ),
    "gke-own-ranges": RangeCase(
        [_A_VPC, (GKE, "b-gke", {"ipAllocationPolicy": {"clusterIpv4CidrBlock": "10.64.0.0/14"}}, "b")],
        [_A_VPC, (GKE, "b-gke", {"ipAllocationPolicy": {"servicesIpv4CidrBlock": "10.0.32.0/20"}}, "b")],
        "Cluster b-gke ipAllocationPolicy.servicesIpv4CidrBlock, local",
    ),
    "azure-vnet": RangeCase(
        [_A_VPC, (AZURE_VNET, "b-vnet", {"addressSpace": {"addressPrefixes": ["10.40.0.0/16"]}}, "b")],
        [_A_VPC, (AZURE_VNET, "b-vnet", {"addressSpace": {"addressPrefixes": ["10.40.0.0/16", "10.0.0.0/8"]}}, "b")],
        "10.0.0.0/8 (cluster 'b', VirtualNetwork b-vnet addressSpace.addressPrefixes, routed)",
    ),
    "aks-overlay": RangeCase(
        # Both clusters keep the overlay's default pod range: local ranges may repeat.
        [
            (AKS, "a-aks", {"networkProfile": {"podCidr": "10.244.0.0/16", "serviceCidr": "10.41.0.0/20"}}, "a"),
            (AKS, "b-aks", {"networkProfile": {"podCidr": "10.244.0.0/16", "serviceCidr": "10.41.0.0/20"}}, "b"),
        ],
        [
            (AKS, "a-aks", {"networkProfile": {"podCidr": "10.244.0.0/16"}}, "a"),
            (AZURE_VNET, "b-vnet", {"addressSpace": {"addressPrefixes": ["10.244.0.0/16"]}}, "b"),
        ],
        "overlaps 10.244.0.0/16 (cluster 'a', ManagedCluster a-aks networkProfile.podCidr, local)",
    ),
    "digitalocean-vpc": RangeCase(
        [_A_VPC, (DO_VPC, "b-vpc", {"ipRange": "10.20.0.0/20"}, "b")],
        [_A_VPC, (DO_VPC, "b-vpc", {"ipRange": "10.0.0.0/20"}, "b")],
        "Vpc b-vpc ipRange, routed",
    ),
    "doks-pods": RangeCase(
        [_A_VPC, (DOKS, "b", {"clusterSubnet": "10.120.0.0/16", "serviceSubnet": "10.220.0.0/20"}, "b")],
        [_A_VPC, (DOKS, "b", {"clusterSubnet": "10.0.0.0/16", "serviceSubnet": "10.220.0.0/20"}, "b")],
        "KubernetesCluster b clusterSubnet, routed",
    ),
    "oci-vcn": RangeCase(
        [_A_VPC, (OCI_VCN, "b-vcn", {"cidrBlocks": ["10.30.0.0/16"]}, "b")],
        [_A_VPC, (OCI_VCN, "b-vcn", {"cidrBlocks": ["10.30.0.0/16", "10.0.64.0/18"]}, "b")],
        "10.0.64.0/18 (cluster 'b', Vcn b-vcn cidrBlocks, routed)",
    ),
    "oke-overlay": RangeCase(
        [_A_VPC, (OKE, "b-oke", {"options": {"kubernetesNetworkConfig": {"podsCidr": "10.244.0.0/16"}}}, "b")],
        [_A_VPC, (OKE, "b-oke", {"options": {"kubernetesNetworkConfig": {"servicesCidr": "10.0.0.0/20"}}}, "b")],
        "Cluster b-oke options.kubernetesNetworkConfig.servicesCidr, local",
    ),
    "tanzu-cluster-network": RangeCase(
        [_A_VPC, (CAPI_CLUSTER, "b", {"spec": {"clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}}}}, "b")],
        [_A_VPC, (CAPI_CLUSTER, "b", {"spec": {"clusterNetwork": {"services": {"cidrBlocks": ["10.0.0.0/12"]}}}}, "b")],
        "Cluster b spec.clusterNetwork.services.cidrBlocks, local",
    ),
    "onprem-network": RangeCase(
        [_A_VPC],
        [_A_VPC],
        "10.0.0.0/16 (cluster 'a', Vpc a-vpc cidrBlock, routed) overlaps 10.0.10.0/24 (cluster 'dc1', "
        "orquestra:clusters[0].network.cidr, routed)",
        _onprem(network={"cidr": "192.168.10.0/24", "podCidr": "10.42.0.0/16", "serviceCidr": "10.43.0.0/16"}),
        _onprem(network={"cidr": "10.0.10.0/24", "podCidr": "10.42.0.0/16", "serviceCidr": "10.43.0.0/16"}),
    ),
    "onprem-default-overlay": RangeCase(
        # Without `network`, an on-prem cluster has the spec's defaults: pods on 10.43.0.0/16, local.
        [_A_VPC],
        [(AWS_VPC, "a-vpc", {"cidrBlock": "10.43.0.0/16"}, "a")],
        "overlaps 10.43.0.0/16 (cluster 'dc1', orquestra:clusters[0].network.podCidr, local)",
        _onprem(),
        _onprem(),
    ),
    "aws-existing-vpc": RangeCase(
        [_A_VPC],
        [_A_VPC],
        "overlaps 10.0.0.0/20 (cluster 'b', orquestra:clusters[0].network.cidr, routed)",
        {
            "orquestra:clusters": [
                {
                    "name": "b",
                    "target": "aws",
                    "existingVpc": {"vpcId": "vpc-0123456789abcdef0"},
                    "network": {"cidr": "10.1.0.0/16"},
                }
            ]
        },
        {
            "orquestra:clusters": [
                {
                    "name": "b",
                    "target": "aws",
                    "existingVpc": {"vpcId": "vpc-0123456789abcdef0"},
                    "network": {"cidr": "10.0.0.0/20"},
                }
            ]
        },
    ),
    "site": RangeCase(
        # A site holds its own on-prem cluster's node range: they belong together.
        [_A_VPC],
        [_A_VPC],
        "10.0.0.0/16 (cluster 'a', Vpc a-vpc cidrBlock, routed) overlaps 10.0.0.0/8 (site 'dc1', "
        "orquestra:sites[0].cidrs[1], routed)",
        {
            **_onprem(site="lan", network={"cidr": "192.168.10.0/24"}),
            "orquestra:sites": [{"name": "lan", "cidrs": ["192.168.0.0/16"]}],
        },
        {"orquestra:sites": [{"name": "dc1", "cidrs": ["192.168.0.0/16", "10.0.0.0/8"]}]},
    ),
}
