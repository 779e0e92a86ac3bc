"""The path from the deployer's hub to a private EKS API endpoint, built by the cluster's own first deploy.

A private endpoint answers only inside the cluster's VPC and networks joined to it
("Connected network: connect your network to the VPC with a transit gateway or other
connectivity option"), and only if the cluster security group admits 443 from that
network: https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
(Accessing a private only API server). So the stack peers the VPC with the hub (or
attaches it to the hub's transit gateway), routes both ways what it owns, and opens
443 from the hub's ranges.

DNS needs nothing here: the endpoint's name is served by a Route 53 private zone
that EKS owns in its own account (it cannot be associated with another VPC), and
since December 2019 EKS also answers the name from public DNS with the endpoint's
private addresses, so a runner in a joined network resolves it with any resolver:
https://aws.amazon.com/blogs/compute/enabling-dns-resolution-for-amazon-eks-cluster-endpoints/
(update of December 2019) and the cluster-endpoint page above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.spec import AwsHub

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster
    from components.targets.aws.network import Network


def join(c: AwsCluster, hub: AwsHub, network: Network, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
    """Peering or attachment, routes both ways and the 443 rules; what must exist before the first Kubernetes call."""
    name = c.spec.name
    via: dict[str, Any]
    made: list[pulumi.Resource] = []
    if hub.vpc_id is not None:
        # Same account and region: the requester may accept its own request (`auto_accept`, pulumi-aws docs).
        peering = aws.ec2.VpcPeeringConnection(
            f"{name}-hub",
            vpc_id=network.vpc_id,
            peer_vpc_id=hub.vpc_id,
            auto_accept=True,
            tags={"Name": f"{name}-hub"},
            opts=c.opts(),
        )
        via = {"vpc_peering_connection_id": peering.id}
        made.append(peering)
        for table in hub.route_table_ids:
            made.append(
                aws.ec2.Route(
                    f"{name}-hub-{table}",
                    route_table_id=table,
                    destination_cidr_block=c.spec.network.cidr,
                    **via,
                    opts=c.opts(),
                )
            )
    else:
        assert hub.transit_gateway_id is not None  # AwsHub.problems: one of the two
        # One attachment ENI per zone, in the nodes' subnets; the gateway's default route table learns the VPC's
        # CIDR by propagation: https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html
        attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-hub",
            transit_gateway_id=hub.transit_gateway_id,
            vpc_id=network.vpc_id,
            subnet_ids=network.private,
            dns_support="enable",
            tags={"Name": f"{name}-hub"},
            opts=c.opts(),
        )
        via = {"transit_gateway_id": hub.transit_gateway_id}
        made.append(attachment)
    for i, table_id in enumerate(network.route_tables):
        for j, cidr in enumerate(hub.cidrs):
            made.append(
                aws.ec2.Route(
                    f"{name}-rt{i}-hub-{j}",
                    route_table_id=table_id,
                    destination_cidr_block=cidr,
                    **via,
                    opts=c.opts(depends_on=made[:1]),
                )
            )
    made += admit_to_api(cluster, f"{name}-api-from-hub", hub.cidrs, "Kubernetes API from the deployer's hub", c.opts())
    return made


def admit_to_api(
    cluster: aws.eks.Cluster, name: str, cidrs: list[str], description: str, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """TCP 443 from each range on the group EKS creates for the cluster and puts on the private endpoint's ENIs
    (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html, "cluster security group")."""
    group = cluster.vpc_config.apply(lambda v: str(v.cluster_security_group_id))
    return [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-{j}",
            security_group_id=group,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=description,
            opts=opts,
        )
        for j, cidr in enumerate(cidrs)
    ]
