"""The cluster's network: a VPC with large private subnets for pods and small public ones for load balancers."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.spec import AwsSpec, Problem
from components.targets.aws.identity import policy_document

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster


FLOW_LOG_GROUP = "/aws/vpc/{name}/flow-logs"


@dataclass(frozen=True)
class Network:
    vpc_id: pulumi.Input[str]
    private: list[pulumi.Input[str]]
    """Subnet ids of the nodes and pods, one per zone."""
    public: list[pulumi.Input[str]]
    private_by_zone: Mapping[str, pulumi.Input[str]]
    """Zone -> private subnet id; empty for an `existingVpc`, whose subnets' zones are not known here."""
    route_tables: list[pulumi.Input[str]] = field(default_factory=list)
    """Ids of the route tables the stack created (public, then one per zone); empty for an `existingVpc`."""


def cluster_zones(named: Sequence[str], available: Sequence[str], count: int) -> list[str]:
    """The zones the pools name, filled up to `count` with the account's first others, in the account's order.

    A pool may name any zone of the region, not only the account's first ones; a
    named zone the account does not offer stays in, for preflight to reject.
    """
    wanted = list(dict.fromkeys(named))
    others = [z for z in available if z not in wanted]
    chosen = set(wanted) | set(others[: max(0, count - len(wanted))])
    return [z for z in available if z in chosen] + [z for z in wanted if z not in available]


def check_pool_zones(spec: AwsSpec) -> Iterator[Problem]:
    """The pools together name at most `network.zones` zones: the VPC has a subnet in that many."""
    if spec.existing_vpc is not None:
        return
    named: list[str] = []
    for i, pool in enumerate(spec.node_pools):
        for j, zone in enumerate(pool.zones):
            if zone in named:
                continue
            if len(named) == spec.network.zones:
                yield Problem(
                    f"nodePools[{i}].zones[{j}]",
                    zone,
                    f"one of the network.zones ({spec.network.zones}) zones the VPC spans; "
                    f"the pools already name {', '.join(named)}",
                )
                continue
            named.append(zone)


def split_network(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Large private subnets for pods (the VPC CNI gives each pod a VPC address), small public ones for LBs."""
    net = ipaddress.IPv4Network(cidr)
    bits = math.ceil(math.log2(zones + 1))
    blocks = list(net.subnets(prefixlen_diff=bits))
    private = [str(b) for b in blocks[:zones]]
    public = [str(b) for b in blocks[-1].subnets(prefixlen_diff=max(1, math.ceil(math.log2(zones))))][:zones]
    return private, public


def subnet_tags(name: str, public: bool) -> dict[str, str]:
    """Discovery tags: public subnets take internet-facing LBs, private ones internal LBs and Karpenter nodes."""
    cluster_tag = {f"kubernetes.io/cluster/{name}": "shared"}
    if public:
        return {"kubernetes.io/role/elb": "1", **cluster_tag}
    return {"kubernetes.io/role/internal-elb": "1", "karpenter.sh/discovery": name, **cluster_tag}


def harden(c: AwsCluster, vpc: aws.ec2.Vpc, logs_key: aws.kms.Key) -> None:
    """Flow logs of all traffic to a KMS-encrypted group, and a default security group with no rules.

    CIS AWS Foundations Benchmark v3.0.0 3.7 (VPC flow logging enabled in all VPCs)
    and 5.4 (the default security group of every VPC restricts all traffic): an
    `ec2.DefaultSecurityGroup` without ingress or egress removes the rules AWS puts
    there (pulumi-aws `ec2.DefaultSecurityGroup` docs).
    """
    name = c.spec.name
    aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=c.opts())
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs",
        name=FLOW_LOG_GROUP.format(name=name),
        retention_in_days=365 if c.environment == "prod" else 30,
        kms_key_id=logs_key.arn,
        opts=c.opts(),
    )
    # The delivery role trusts the flow-logs service for this account's flow logs only (confused
    # deputy): https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    role = aws.iam.Role(
        f"{name}-flow-logs",
        assume_role_policy=policy_document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": c.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{c.partition}:ec2:{c.spec.region}:{c.account}:vpc-flow-log/*"},
                },
            }
        ),
        opts=c.opts(),
    )
    aws.iam.RolePolicy(
        f"{name}-flow-logs-policy",
        role=role.id,
        policy=group.arn.apply(
            lambda arn: policy_document(
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [arn, f"{arn}:*"],
                },
                {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
            )
        ),
        opts=c.opts(),
    )
    aws.ec2.FlowLog(
        f"{name}-flow-logs",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        max_aggregation_interval=60,
        opts=c.opts(),
    )


def build(c: AwsCluster, logs_key: aws.kms.Key) -> Network:
    """The VPC, its subnets in each of the cluster's zones and NAT, or the `existingVpc` as it is."""
    spec, name = c.spec, c.spec.name
    if spec.existing_vpc is not None:
        byo = spec.existing_vpc
        given = [(s, False) for s in byo.private_subnet_ids] + [(s, True) for s in byo.public_subnet_ids]
        # Karpenter and the LB controller find subnets by tag; given subnets get them as tags of their own,
        # which `pulumi destroy` removes again and which leave the subnets' other tags alone.
        for subnet_id, public in given:
            for key, value in subnet_tags(name, public).items():
                aws.ec2.Tag(
                    f"{name}-{subnet_id}-{re.sub(r'[^a-z0-9-]', '-', key)}",
                    resource_id=subnet_id,
                    key=key,
                    value=value,
                    opts=c.opts(),
                )
        return Network(byo.vpc_id, list(byo.private_subnet_ids), list(byo.public_subnet_ids), {})
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=spec.network.cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={"Name": f"{name}-vpc"},
        opts=c.opts(),
    )
    harden(c, vpc, logs_key)
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=c.opts())
    public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=c.opts())
    aws.ec2.Route(
        f"{name}-public-default",
        route_table_id=public_rt.id,
        destination_cidr_block="0.0.0.0/0",
        gateway_id=igw.id,
        opts=c.opts(),
    )
    private_cidrs, public_cidrs = split_network(spec.network.cidr, len(c.zones))
    public_ids: list[pulumi.Input[str]] = []
    private_ids: list[pulumi.Input[str]] = []
    tables: list[pulumi.Input[str]] = [public_rt.id]
    nats: list[aws.ec2.NatGateway] = []
    for i, zone in enumerate(c.zones):
        pub = aws.ec2.Subnet(
            f"{name}-public-{zone}",
            vpc_id=vpc.id,
            cidr_block=public_cidrs[i],
            availability_zone=zone,
            tags={"Name": f"{name}-public-{zone}", **subnet_tags(name, public=True)},
            opts=c.opts(),
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{zone}", subnet_id=pub.id, route_table_id=public_rt.id, opts=c.opts()
        )
        public_ids.append(pub.id)
        if spec.nat_gateways == "per-zone" or i == 0:
            eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"}, opts=c.opts())
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.allocation_id,
                    subnet_id=pub.id,
                    tags={"Name": f"{name}-nat-{zone}"},
                    opts=c.opts(depends_on=[igw]),
                )
            )
    for i, zone in enumerate(c.zones):
        priv = aws.ec2.Subnet(
            f"{name}-private-{zone}",
            vpc_id=vpc.id,
            cidr_block=private_cidrs[i],
            availability_zone=zone,
            tags={"Name": f"{name}-private-{zone}", **subnet_tags(name, public=False)},
            opts=c.opts(),
        )
        rt = aws.ec2.RouteTable(
            f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{zone}"}, opts=c.opts()
        )
        aws.ec2.Route(
            f"{name}-private-{zone}-default",
            route_table_id=rt.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nats[min(i, len(nats) - 1)].id,
            opts=c.opts(),
        )
        aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=priv.id, route_table_id=rt.id, opts=c.opts())
        private_ids.append(priv.id)
        tables.append(rt.id)
    return Network(vpc.id, private_ids, public_ids, dict(zip(c.zones, private_ids, strict=True)), tables)
