"""GCP's end of a site's VPN: HA VPN in the cluster's network and region, two tunnels, BGP on a Cloud Router.

- HA VPN routes only by BGP: "Classic VPN supports static routing options for VPN tunnels, while HA VPN supports
  the dynamic routing option" (https://cloud.google.com/vpn/docs/concepts/choosing-networks-routing), so a site
  linked to a gcp cluster declares `peer.asn` (`check`).
- The site's device is one peer with one address: an external VPN gateway of redundancy type
  `SINGLE_IP_INTERNALLY_REDUNDANT` (pulumi-gcp ExternalVpnGateway.redundancy_type; its one interface is id 0).
  Google's side keeps its 99.99% SLA with "two VPN tunnels from the HA VPN gateway", one per interface, and "one
  peer VPN gateway with one IP address" is one of the three peer set-ups it names
  (https://cloud.google.com/network-connectivity/docs/vpn/concepts/topologies).
- One Cloud Router per link, with its own private ASN: pulumi-gcp RouterBgp.asn "Must be an RFC6996 private ASN,
  either 16-bit or 32-bit", and "each Cloud Router uses the same ASN for all its BGP sessions"
  (https://cloud.google.com/network-connectivity/docs/router/how-to/configuring-bgp). Its sessions are eBGP
  (RFC 4271): the peer is in another AS, so the site's ASN must differ from it.
- Each tunnel's BGP session takes a /30 of link-local space: pulumi-gcp RouterInterface.ip_range "must be in the
  RFC3927 link-local IP space" (169.254.0.0/16); the cloud's address is the /30's first host, the peer's the
  second (the layout of Google's HA VPN examples).
- The router advertises the cluster's routed ranges only (`advertise_mode: CUSTOM`): the nodes' subnet and the
  pods' secondary range, which VPC-native pods take their addresses from
  (https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips). Services stay inside the cluster.
  The site's device advertises the site's `cidrs`, which the router learns as dynamic routes.
- A firewall rule admits the site's ranges to the cluster's network (TCP, UDP, ICMP): the VPC denies ingress by
  default (https://cloud.google.com/firewall/docs/firewalls, implied rules), the network holds only this
  cluster's nodes, pods answer on their own VPC addresses, and an internal passthrough load balancer keeps the
  client's source address, so the nodes see the site's addresses. Finer control is each workload's
  NetworkPolicy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from components.spec import ClusterBase, Problem, Site, tunnel_block_problems, tunnel_ranges
from components.targets.gcp import control_plane

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster

ROUTER_ASN = 64514
"""The Cloud Router's ASN: RFC 6996 private (64512-65534)."""

INSIDE_POOL = ipaddress.IPv4Network("169.254.64.0/18")
"""The link-local block tunnels take their /30s from: clear of 169.254.169.254 (the metadata server) and of the
low /30s AWS reserves on the same device (169.254.0.0/30 to 169.254.5.0/30,
https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html)."""

"""Each link takes a /29 of the pool: a /30 per tunnel."""

TUNNELS = 2
"""One per HA VPN interface (0 and 1)."""


def check(site: Site, cluster: ClusterBase) -> Iterator[Problem]:
    """What GCP needs of the site before an HA VPN to `cluster` can route."""
    peer = site.peer
    if peer is None:
        return  # `Site.problems` already asks for one
    if peer.asn is None:
        yield Problem(
            "peer.asn",
            None,
            f"the BGP ASN of the site's device: HA VPN to gcp cluster '{cluster.name}' routes only by BGP",
        )
    elif peer.asn == ROUTER_ASN:
        yield Problem(
            "peer.asn",
            peer.asn,
            f"an ASN other than {ROUTER_ASN}, the Cloud Router's on gcp cluster '{cluster.name}' (eBGP: two ASes)",
        )
    yield from tunnel_block_problems(site, cluster, INSIDE_POOL)


def inside_ranges(site: Site, cluster: str) -> list[ipaddress.IPv4Network]:
    """Each tunnel's /30 on the link from `site` to `cluster`, out of `INSIDE_POOL` (`spec.tunnel_ranges`)."""
    return tunnel_ranges(site, cluster, INSIDE_POOL, TUNNELS)


def build(site: Site, cluster: GcpCluster, key: pulumi.Output[str], opts: pulumi.ResourceOptions) -> Mapping[str, Any]:
    """The cloud end of the link, in the cluster's VPC; returns what the site's device is set up with."""
    peer = site.peer
    assert peer is not None and peer.asn is not None  # `check`
    spec = cluster.spec
    project, region, name = spec.project, spec.region, f"{spec.name}-{site.name}"
    network = cluster.network.network
    labels = control_plane.labels(cluster.tags(**{"orquestra-site": site.name}))
    gateway = gcp.compute.HaVpnGateway(
        f"{name}-vpn",
        project=project,
        region=region,
        name=f"{name}-vpn",
        network=network.id,
        stack_type="IPV4_ONLY",
        labels=labels,
        description=f"orquestra: HA VPN from GKE cluster {spec.name} to site {site.name}",
        opts=opts,
    )
    device = gcp.compute.ExternalVpnGateway(
        f"{name}-peer",
        project=project,
        name=f"{name}-peer",
        redundancy_type="SINGLE_IP_INTERNALLY_REDUNDANT",
        interfaces=[gcp.compute.ExternalVpnGatewayInterfaceArgs(id=0, ip_address=peer.address)],
        labels=labels,
        description=f"orquestra: the VPN device of site {site.name}",
        opts=opts,
    )
    router = gcp.compute.Router(
        f"{name}-vpn-router",
        project=project,
        region=region,
        name=f"{name}-vpn",
        network=network.id,
        bgp=gcp.compute.RouterBgpArgs(
            asn=ROUTER_ASN,
            advertise_mode="CUSTOM",
            advertised_ip_ranges=[
                gcp.compute.RouterBgpAdvertisedIpRangeArgs(range=cidr, description=f"{spec.name} {path}")
                for path, cidr in spec.networks.items()
            ],
        ),
        description=f"orquestra: BGP for the VPN from GKE cluster {spec.name} to site {site.name}",
        opts=opts,
    )
    tunnels: list[dict[str, Any]] = []
    for i, inside in enumerate(inside_ranges(site, spec.name)):
        cloud_ip, peer_ip = inside.network_address + 1, inside.network_address + 2
        tunnel = gcp.compute.VPNTunnel(
            f"{name}-{i}",
            project=project,
            region=region,
            name=f"{name}-{i}",
            vpn_gateway=gateway.id,
            vpn_gateway_interface=i,
            peer_external_gateway=device.id,
            peer_external_gateway_interface=0,
            router=router.id,
            ike_version=2,
            shared_secret=key,
            labels=labels,
            description=f"orquestra: tunnel {i} of {TUNNELS} to site {site.name}",
            # The SDK marks sharedSecret secret itself; named here too, so the key stays secret whatever it does.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["sharedSecret"])),
        )
        interface = gcp.compute.RouterInterface(
            f"{name}-{i}",
            project=project,
            region=region,
            name=f"{name}-{i}",
            router=router.name,
            ip_range=f"{cloud_ip}/{inside.prefixlen}",
            vpn_tunnel=tunnel.name,
            opts=opts,
        )
        gcp.compute.RouterPeer(
            f"{name}-{i}",
            project=project,
            region=region,
            name=f"{name}-{i}",
            router=router.name,
            interface=interface.name,
            peer_ip_address=str(peer_ip),
            peer_asn=peer.asn,
            opts=opts,
        )
        tunnels.append(
            {
                "address": gateway.vpn_interfaces.apply(lambda ifs, i=i: _address(ifs, i)),
                "insideCidr": str(inside),
                "cloudBgpAddress": str(cloud_ip),
                "peerBgpAddress": str(peer_ip),
            }
        )
    gcp.compute.Firewall(
        f"{spec.name}-from-{site.name}",
        project=project,
        name=f"{spec.name}-from-{site.name}",
        network=network.id,
        direction="INGRESS",
        source_ranges=list(site.cidrs),
        allows=[gcp.compute.FirewallAllowArgs(protocol=p) for p in ("tcp", "udp", "icmp")],
        description=f"orquestra: site {site.name} reaches GKE cluster {spec.name}'s nodes, pods and internal LBs",
        opts=opts,
    )
    return {"tunnels": tunnels, "asn": ROUTER_ASN}


def _address(interfaces: Any, index: int) -> str:
    """The external address Google gave interface `index` of the HA VPN gateway."""
    for interface in interfaces or []:
        if interface.id == index:
            return str(interface.ip_address)
    raise ValueError(f"the HA VPN gateway has no interface {index}")
