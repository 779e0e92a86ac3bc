"""The cluster's VPC-native network: a VPC, the nodes' subnet with pod and service ranges, Cloud NAT."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster


@dataclass(frozen=True)
class Network:
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    nat: gcp.compute.RouterNat
    """Private nodes reach the internet (image registries outside Google) through it."""


def build(c: GcpCluster, apis: Sequence[pulumi.Resource]) -> Network:
    """The network the cluster lives in; private nodes, so egress goes through Cloud NAT."""
    spec, name, project, region = c.spec, c.spec.name, c.spec.project, c.spec.region
    full_telemetry = c.environment != "dev"
    network = gcp.compute.Network(
        f"{name}-vpc",
        project=project,
        name=f"{name}-vpc",
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        description=f"orquestra: VPC of GKE cluster {name}",
        opts=c.child_opts(depends_on=apis),
    )
    subnet = gcp.compute.Subnetwork(
        f"{name}-nodes",
        project=project,
        region=region,
        name=f"{name}-nodes",
        network=network.id,
        ip_cidr_range=spec.network.cidr,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=spec.network.pod_cidr),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range=spec.network.service_cidr),
        ],
        # Private nodes have no external IP: Google APIs (Artifact Registry, logging) over internal routes.
        private_ip_google_access=True,
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_5_SEC",
            flow_sampling=0.5 if full_telemetry else 0.1,
            metadata="INCLUDE_ALL_METADATA",
        ),
        opts=c.child_opts(),
    )
    router = gcp.compute.Router(
        f"{name}-router",
        project=project,
        region=region,
        name=f"{name}-router",
        network=network.id,
        opts=c.child_opts(),
    )
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        project=project,
        region=region,
        name=f"{name}-nat",
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
        subnetworks=[gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
        enable_endpoint_independent_mapping=False,
        enable_dynamic_port_allocation=True,
        min_ports_per_vm=64,
        max_ports_per_vm=4096,
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=c.child_opts(),
    )
    return Network(network, subnet, nat)
