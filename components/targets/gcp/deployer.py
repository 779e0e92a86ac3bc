"""The path from the deployer's hub network to a private GKE control plane.

A peering-based private cluster's control plane lives in a Google-owned network
peered with the cluster's; peering is not transitive, so a hub peered with the
cluster's network never reaches it ("VPC Network Peering only supports
communication between directly peered networks"):
https://cloud.google.com/kubernetes-engine/docs/concepts/private-cluster-concept
(The control plane in private clusters) and
https://cloud.google.com/architecture/creating-kubernetes-engine-private-clusters-with-net-proxies.
With a hub the cluster therefore uses a Private Service Connect control plane,
whose endpoint "is located entirely within the cluster network"
(https://cloud.google.com/kubernetes-engine/docs/concepts/private-service-connect):
an address of the nodes' subnetwork (`private_endpoint_subnetwork`), whose route
the peering exchanges with the hub. The hub's ranges are master authorized
networks (control_plane.py) and control plane global access is on for private
endpoints, so a runner in another region of the hub is admitted too
(https://cloud.google.com/kubernetes-engine/docs/how-to/legacy/network-isolation, global access).
DNS needs nothing: the kubeconfig names the endpoint by its address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from components.spec import GcpHub

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster
    from components.targets.gcp.network import Network

COMPUTE = "https://www.googleapis.com/compute/v1"


def join(c: GcpCluster, hub: GcpHub, network: Network) -> list[pulumi.Resource]:
    """The peering, both ways: GCP activates a peering only once each network has its half
    (https://cloud.google.com/vpc/docs/vpc-peering, peering is established when both sides configure it)."""
    name = c.spec.name
    hub_link = f"{COMPUTE}/{hub.network}"
    out = gcp.compute.NetworkPeering(
        f"{name}-to-hub",
        name=f"{name}-to-hub",
        network=network.network.self_link,
        peer_network=hub_link,
        opts=c.child_opts(),
    )
    back = gcp.compute.NetworkPeering(
        f"{name}-from-hub",
        name=f"hub-to-{name}",
        network=hub_link,
        peer_network=network.network.self_link,
        # GCP refuses concurrent peering operations on one network; the second half waits for the first.
        opts=c.child_opts(depends_on=[out]),
    )
    return [out, back]
