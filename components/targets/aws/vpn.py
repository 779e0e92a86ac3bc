"""A declared site's Site-to-Site VPN to an EKS cluster's VPC: a virtual private gateway, the site's customer gateway
and a VPN connection of two tunnels (https://docs.aws.amazon.com/vpn/latest/s2svpn/how_it_works.html).

The virtual private gateway is the VPC's, one per VPC ("You can attach one virtual private gateway to one VPC at a
time", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVpnGateway.html), so it is the cluster's
child and every site linked to the cluster shares it, each with a customer gateway and a connection of its own (the
VPN CloudHub shape, https://docs.aws.amazon.com/vpn/latest/s2svpn/VPN_CloudHub.html). It propagates what it learns
into every route table of the VPC: by BGP from the device, or the connection's static routes (one per site range)
when the peer has no ASN (https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNRoutingTypes.html). The public table too:
EKS may put the private API endpoint's interfaces in any of the subnets the cluster names, public ones included.

The cluster security group admits TCP 443 from the site's ranges, so operators and tooling on the site reach the
private API across the VPN, as the deployer's hub does (deployer.py). Nothing else is opened: workloads reach the
site through internal load balancers, whose security groups the AWS Load Balancer Controller keeps per Service.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import pulumi
import pulumi_aws as aws

from components.spec import AwsSpec, ClusterBase, Problem, Site, tunnel_block_problems, tunnel_ranges
from components.targets.aws.deployer import admit_to_api

if TYPE_CHECKING:
    from components.cluster import KubernetesCluster
    from components.targets.aws import AwsCluster

# The virtual private gateway's ASN: AWS's own default for CreateVpnGateway (a private ASN, 64512-65534 or
# 4200000000-4294967294), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpnGateway.html.
AMAZON_SIDE_ASN = 64512

# A customer gateway always has an ASN; for a device without BGP it is a placeholder, and CreateCustomerGateway's
# default is 65000 (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html, BgpAsn).
STATIC_PLACEHOLDER_ASN = 65000

# BgpAsn takes 1-2147483647; a larger ASN goes in BgpAsnExtended (same page; pulumi-aws `ec2.CustomerGateway`).
BGP_ASN_MAX = 2_147_483_647

# Public ASNs AWS keeps for itself, which a customer gateway may not use: in every region, or in one
# (https://docs.aws.amazon.com/vpn/latest/s2svpn/cgw-options.html).
RESERVED_ASNS: Mapping[int, str | None] = {
    7224: None,
    9059: "eu-west-1",
    10124: "ap-northeast-1",
    17943: "ap-southeast-1",
}

# IKEv2 only, and strong proposals on both tunnels: AES-256, SHA-2, Diffie-Hellman group 14 or higher, instead of
# the AES-128 / SHA-1 / group 2 AWS also accepts by default. Valid values: pulumi-aws `ec2.VpnConnection`
# (tunnel1_phase1_* ...); AWS's recommendation: https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html.
TUNNEL_OPTIONS: Mapping[str, Any] = {
    "ike_versions": ["ikev2"],
    "phase1_encryption_algorithms": ["AES256", "AES256-GCM-16"],
    "phase2_encryption_algorithms": ["AES256", "AES256-GCM-16"],
    "phase1_integrity_algorithms": ["SHA2-256", "SHA2-384", "SHA2-512"],
    "phase2_integrity_algorithms": ["SHA2-256", "SHA2-384", "SHA2-512"],
    "phase1_dh_group_numbers": [14, 19, 20, 21],
    "phase2_dh_group_numbers": [14, 19, 20, 21],
}
TUNNELS = 2
"""A VPN connection has two tunnels, each to an outside address in its own AWS endpoint."""

INSIDE_POOL = ipaddress.IPv4Network("169.254.128.0/19")
"""The link-local block the tunnels' inside /30s come from, chosen here rather than left to AWS.

AWS takes any /30 of 169.254.0.0/16 but the ones it reserves (169.254.0.0/30 to 169.254.5.0/30, 169.254.169.252/30;
TunnelInsideCidr, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html),
and left to choose it keeps them unique on its own gateway only: "CIDR blocks that aren't unique can create a
conflict on your customer gateway" (https://repost.aws/knowledge-center/vpn-custom-psk-inside-tunnel-ip). One
device may end links to several clouds, so each cloud's tunnels take a block of their own: this one is clear of
AWS's reserved /30s and the metadata address 169.254.169.254, and of GCP's 169.254.64.0/18, OCI's 169.254.192.0/18
and Azure's 169.254.21.0-169.254.22.255. A tunnel's inside range cannot change in place (CloudFormation's
VpnTunnelOptionsSpecification: "Update requires: Replacement")."""


def _at(site: Site, cluster: ClusterBase) -> str:
    return f"vpn[{site.vpn.index(cluster.name)}]"


def check(site: Site, cluster: ClusterBase) -> Iterator[Problem]:
    """What AWS's VPN needs of the peer and the cluster, beyond the shared spec."""
    spec = cast(AwsSpec, cluster)
    peer = site.peer
    if spec.existing_vpc is not None:
        yield Problem(
            _at(site, cluster),
            cluster.name,
            "a cluster whose VPC the stack creates: with existingVpc the VPC's route tables (which learn the "
            "site's routes) and its one virtual private gateway are not the stack's",
        )
    yield from tunnel_block_problems(site, cluster, INSIDE_POOL)
    if peer is None or peer.asn is None:
        return
    if peer.asn == AMAZON_SIDE_ASN:
        yield Problem(
            "peer.asn",
            peer.asn,
            f"an ASN other than the virtual private gateway's ({AMAZON_SIDE_ASN}): the two BGP ends of an AWS "
            "VPN differ",
        )
    if peer.asn in RESERVED_ASNS and RESERVED_ASNS[peer.asn] in (None, spec.region):
        yield Problem(
            "peer.asn",
            peer.asn,
            f"an ASN AWS does not reserve in {spec.region} (7224 everywhere, 9059 in eu-west-1, 10124 in "
            "ap-northeast-1, 17943 in ap-southeast-1)",
        )


def inside_ranges(site: Site, cluster: str) -> list[ipaddress.IPv4Network]:
    """Each tunnel's /30 on the link from `site` to `cluster`, out of `INSIDE_POOL` (`spec.tunnel_ranges`)."""
    return tunnel_ranges(site, cluster, INSIDE_POOL, TUNNELS)


def _gateway(c: AwsCluster) -> aws.ec2.VpnGateway:
    """The VPC's virtual private gateway, attached, propagating into every route table; built once per cluster."""
    if c.vpn_gateway is not None:
        return c.vpn_gateway
    name = c.spec.name
    # `vpc_id` creates and attaches in one (pulumi-aws `ec2.VpnGateway`).
    gateway = aws.ec2.VpnGateway(
        f"{name}-vgw",
        vpc_id=c.network.vpc_id,
        amazon_side_asn=str(AMAZON_SIDE_ASN),
        tags={"Name": f"{name}-vgw"},
        opts=c.opts(),
    )
    for i, table in enumerate(c.network.route_tables):
        aws.ec2.VpnGatewayRoutePropagation(
            f"{name}-rt{i}-vgw", vpn_gateway_id=gateway.id, route_table_id=table, opts=c.opts()
        )
    c.vpn_gateway = gateway
    return gateway


def build(
    site: Site, cluster: KubernetesCluster[Any], key: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> Mapping[str, Any]:
    """The site's customer gateway and VPN connection on the cluster's gateway; the tunnels for the site's device."""
    c = cast("AwsCluster", cluster)
    peer = site.peer
    assert peer is not None  # `Site.problems`
    gateway = _gateway(c)
    link = f"{site.name}-{c.spec.name}"
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=c.aws))
    static = peer.asn is None
    asn = STATIC_PLACEHOLDER_ASN if peer.asn is None else peer.asn
    # An identical CreateCustomerGateway (type, address, ASN) returns the existing gateway, so each link names its
    # device: two clusters in one region linked to one site get two gateways (CreateCustomerGateway, above).
    customer = aws.ec2.CustomerGateway(
        f"{link}-cgw",
        type="ipsec.1",
        ip_address=peer.address,
        device_name=link,
        **({"bgp_asn": str(asn)} if asn <= BGP_ASN_MAX else {"bgp_asn_extended": str(asn)}),
        tags={"Name": link},
        opts=child,
    )
    options = {f"tunnel{t}_{k}": v for t in range(1, TUNNELS + 1) for k, v in TUNNEL_OPTIONS.items()}
    inside = {f"tunnel{t}_inside_cidr": str(r) for t, r in enumerate(inside_ranges(site, c.spec.name), start=1)}
    connection = aws.ec2.VpnConnection(
        f"{link}-vpn",
        type="ipsec.1",
        customer_gateway_id=customer.id,
        vpn_gateway_id=gateway.id,
        static_routes_only=static,
        # The link's key is a secret Output (components/sites.py), so both inputs are secret whatever the SDK does;
        # pulumi-aws 7.51.1 also wraps them and lists both keys and the device's configuration (which holds them)
        # in additionalSecretOutputs (pulumi_aws/ec2/vpn_connection.py).
        tunnel1_preshared_key=key,
        tunnel2_preshared_key=key,
        **options,
        **inside,
        tags={"Name": link},
        opts=child,
    )
    if static:
        for j, cidr in enumerate(site.cidrs):
            aws.ec2.VpnConnectionRoute(
                f"{link}-route-{j}", vpn_connection_id=connection.id, destination_cidr_block=cidr, opts=child
            )
    admit_to_api(c.cluster, f"{link}-api", site.cidrs, f"Kubernetes API from site {site.name} across its VPN", child)
    tunnels = []
    for t in range(1, TUNNELS + 1):
        tunnel: dict[str, Any] = {
            "address": getattr(connection, f"tunnel{t}_address"),
            # The tunnel interface's /30 on both ends, BGP or not: AWS's end is its first address, the device's the
            # second (`tunnelN_vgw_inside_address`, `tunnelN_cgw_inside_address`).
            "insideCidr": getattr(connection, f"tunnel{t}_inside_cidr"),
        }
        if not static:
            tunnel["cloudBgpAddress"] = getattr(connection, f"tunnel{t}_vgw_inside_address")
            tunnel["peerBgpAddress"] = getattr(connection, f"tunnel{t}_cgw_inside_address")
        tunnels.append(tunnel)
    return {"tunnels": tunnels, "asn": None if static else AMAZON_SIDE_ASN}
