"""AWS in a plan: what its resources cost a month, how long they take to create, which the diagram draws.

Prices: us-east-1, on-demand Linux, USD, late 2026 (see `preflight.estimates` for the basis).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.targets import REGISTRY
from preflight.engine import Registration, reveal
from preflight.estimates.base import (
    HOURS_PER_MONTH,
    Context,
    Cost,
    CostModel,
    CreateTime,
    as_int,
    get_in,
    nodes_cost,
    per_hour,
    per_month,
)

AWS_INSTANCE_HOURLY: Mapping[str, float] = {
    # us-east-1, on-demand Linux, USD per hour.
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6i.2xlarge": 0.384,
    "m7i.large": 0.1008,
    "m7g.large": 0.0816,
    "c6i.large": 0.085,
    "c6i.xlarge": 0.17,
    "r6i.large": 0.126,
}
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"
"""What EKS launches when a managed node group names no instance type and no launch template does."""

EKS_CONTROL_PLANE_HOURLY = 0.10
AWS_NAT_GATEWAY_HOURLY = 0.045
AWS_PUBLIC_IPV4_HOURLY = 0.005
AWS_LOAD_BALANCER_HOURLY = 0.0225
AWS_INTERFACE_ENDPOINT_HOURLY = 0.01
"""Per interface endpoint per availability zone (subnet)."""
AWS_KMS_KEY_MONTHLY = 1.0
AWS_ROUTE53_ZONE_MONTHLY = 0.50
AWS_TGW_ATTACHMENT_HOURLY = 0.05
"""Per transit gateway attachment hour, us-east-1 (https://aws.amazon.com/transit-gateway/pricing/); data extra."""
AWS_VPN_CONNECTION_HOURLY = 0.05
"""Per Site-to-Site VPN connection hour (both its tunnels), billed while the connection is available, us-east-1,
read December 2026 (https://aws.amazon.com/vpn/pricing/); data transfer out extra. The virtual private gateway and
the customer gateway have no charge of their own."""

# Route 53 health checks and queries: https://aws.amazon.com/route53/pricing/ as transcribed on 2026-09-20. A check of
# an AWS endpoint (a load balancer or instance in AWS, in the check's account) costs less than one of any other
# endpoint; each optional feature (HTTPS, string matching, fast 10 s interval, latency measurement) costs extra, per
# check. The allowance of 50 free checks of AWS endpoints is left out, like every free tier here.
ROUTE53_HEALTH_CHECK_MONTHLY: Mapping[bool, float] = {True: 0.50, False: 0.75}
"""Basic health check per month, by whether the endpoint is in AWS."""
ROUTE53_HEALTH_CHECK_FEATURE_MONTHLY: Mapping[bool, float] = {True: 1.00, False: 2.00}
"""Each optional feature of a health check per month, by whether the endpoint is in AWS."""
ROUTE53_QUERIES_PER_MILLION: Mapping[str, float] = {"failover": 0.40, "weighted": 0.40, "latency": 0.60}
"""Queries answered by a record of each routing policy, per million (the first billion a month): usage, not in the
floor. Failover and weighted records are billed as standard queries."""
AWS_TARGET_TYPE = f"orquestra:targets:{REGISTRY['aws'].component.rsplit(':', 1)[1]}"
"""The component a health check of an AWS cluster's gateway hangs under (`components/globaldns.py` parents each
check to its cluster): that gateway is an AWS load balancer, an AWS endpoint to Route 53's pricing."""

LOAD_BALANCER_MONTHLY: Mapping[str, float] = {"aws": AWS_LOAD_BALANCER_HOURLY * HOURS_PER_MONTH}
"""What a Kubernetes `LoadBalancer` Service costs here (the cloud controller creates it)."""


def _eks_node_group(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    count = as_int(get_in(inputs, "scalingConfig", "minSize"))
    types = get_in(inputs, "instanceTypes") or []
    instance = types[0] if types and isinstance(types[0], str) else None
    if instance is None:
        for urn in reg.property_dependencies.get("launchTemplate", []):
            template = ctx.by_urn.get(urn)
            found = get_in(reveal(template.inputs), "instanceType") if template else None
            instance = found if isinstance(found, str) else instance
    instance = instance or EKS_DEFAULT_INSTANCE_TYPE
    spot = get_in(inputs, "capacityType") == "SPOT"
    return nodes_cost(count, instance, AWS_INSTANCE_HOURLY.get(instance), spot=spot)


def _aws_interface_endpoint(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    if str(get_in(inputs, "vpcEndpointType") or "Gateway") != "Interface":
        return Cost(0.0, "gateway endpoint")
    zones = max(len(get_in(inputs, "subnetIds") or []), 1)
    hourly = zones * AWS_INTERFACE_ENDPOINT_HOURLY
    return Cost(hourly * HOURS_PER_MONTH, f"{zones} AZ × ${AWS_INTERFACE_ENDPOINT_HOURLY}/h")


def _aws_endpoint(reg: Registration, ctx: Context) -> bool:
    """Whether a health check probes an endpoint in AWS: the cluster it belongs to is an EKS cluster."""
    node = ctx.by_urn.get(reg.parent)
    while node is not None and not node.type.startswith("orquestra:targets:"):
        node = ctx.by_urn.get(node.parent)
    return node is not None and node.type == AWS_TARGET_TYPE


def health_check_features(inputs: Mapping[str, object]) -> list[str]:
    """The optional, separately priced features a health check's inputs turn on."""
    kind = str(inputs.get("type") or "")
    features = {
        "HTTPS": kind.startswith("HTTPS"),
        "string matching": kind.endswith("_STR_MATCH"),
        "fast interval": as_int(inputs.get("requestInterval"), 30) == 10,
        "latency measurement": inputs.get("measureLatency") is True,
    }
    return [name for name, on in features.items() if on]


def _route53_health_check(reg: Registration, ctx: Context) -> Cost:
    inputs = reveal(reg.inputs)
    aws = _aws_endpoint(reg, ctx)
    features = health_check_features(inputs)
    base, each = ROUTE53_HEALTH_CHECK_MONTHLY[aws], ROUTE53_HEALTH_CHECK_FEATURE_MONTHLY[aws]
    where = "AWS endpoint" if aws else "non-AWS endpoint"
    extras = f" + {len(features)} × ${each}/mo ({', '.join(features)})" if features else ""
    return Cost(base + each * len(features), f"health check, {where} ${base}/mo{extras}")


def _route53_record(reg: Registration, ctx: Context) -> Cost:
    """A routed record's share of its hosted zone, and the price of its queries (usage, so not in the floor).

    The zone is looked up, not created, but a global name needs it: its $0.50 a month is shared by the stack's
    routed records in it.
    """
    inputs = reveal(reg.inputs)
    policy = next((p for p in ROUTE53_QUERIES_PER_MILLION if inputs.get(f"{p}RoutingPolicies")), None)
    if policy is None:
        return Cost(0.0, "record: queries are usage")
    zone = inputs.get("zoneId")
    routed = [
        r
        for r in ctx.plan.resources(reg.type)
        if reveal(r.inputs).get("zoneId") == zone
        and any(reveal(r.inputs).get(f"{p}RoutingPolicies") for p in ROUTE53_QUERIES_PER_MILLION)
    ]
    share = AWS_ROUTE53_ZONE_MONTHLY / max(len(routed), 1)
    return Cost(
        share,
        f"hosted zone ${AWS_ROUTE53_ZONE_MONTHLY}/mo shared by {len(routed)} routed records; "
        f"{policy} queries ${ROUTE53_QUERIES_PER_MILLION[policy]} per million, usage",
    )


COSTS: Mapping[str, CostModel] = {
    "aws:eks/cluster:Cluster": per_hour(EKS_CONTROL_PLANE_HOURLY, "EKS control plane"),
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:ec2/natGateway:NatGateway": per_hour(AWS_NAT_GATEWAY_HOURLY, "NAT gateway"),
    "aws:ec2/eip:Eip": per_hour(AWS_PUBLIC_IPV4_HOURLY, "public IPv4"),
    "aws:lb/loadBalancer:LoadBalancer": per_hour(AWS_LOAD_BALANCER_HOURLY, "load balancer"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _aws_interface_endpoint,
    "aws:kms/key:Key": per_month(AWS_KMS_KEY_MONTHLY, "KMS key"),
    "aws:route53/zone:Zone": per_month(AWS_ROUTE53_ZONE_MONTHLY, "hosted zone"),
    "aws:route53/healthCheck:HealthCheck": _route53_health_check,
    "aws:route53/record:Record": _route53_record,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": per_hour(
        AWS_TGW_ATTACHMENT_HOURLY, "transit gateway attachment"
    ),
    "aws:ec2/vpnConnection:VpnConnection": per_hour(AWS_VPN_CONNECTION_HOURLY, "Site-to-Site VPN connection"),
}

FREE: frozenset[str] = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policy:Policy",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/alias:Alias",
        "aws:sqs/queue:Queue",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/flowLog:FlowLog",
        "aws:iam/user:User",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/accessKey:AccessKey",
        # Peering has no hourly charge; traffic across it is billed as data transfer
        # (https://aws.amazon.com/vpc/pricing/, VPC peering).
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
        # A site's VPN is billed per connection (COSTS); its gateways, routes and propagations are not.
        "aws:ec2/vpnGateway:VpnGateway",
        "aws:ec2/customerGateway:CustomerGateway",
        "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
        "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
    }
)
"""Types with no standing charge (usage may still be billed; see `preflight.estimates`)."""

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "aws:eks/cluster:Cluster": 600.0,
    "aws:eks/nodeGroup:NodeGroup": 210.0,
    "aws:eks/addon:Addon": 60.0,
    "aws:eks/fargateProfile:FargateProfile": 150.0,
    "aws:eks/accessEntry:AccessEntry": 3.0,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 3.0,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 3.0,
    "aws:ec2/vpc:Vpc": 5.0,
    "aws:ec2/subnet:Subnet": 5.0,
    "aws:ec2/internetGateway:InternetGateway": 3.0,
    "aws:ec2/eip:Eip": 3.0,
    "aws:ec2/natGateway:NatGateway": 110.0,
    "aws:ec2/routeTable:RouteTable": 3.0,
    "aws:ec2/route:Route": 3.0,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 2.0,
    "aws:ec2/securityGroup:SecurityGroup": 5.0,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 5.0,
    "aws:ec2/securityGroupRule:SecurityGroupRule": 2.0,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 2.0,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2.0,
    "aws:ec2/launchTemplate:LaunchTemplate": 3.0,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 90.0,
    "aws:ec2/flowLog:FlowLog": 5.0,
    "aws:iam/role:Role": 3.0,
    "aws:iam/rolePolicy:RolePolicy": 2.0,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 2.0,
    "aws:iam/policy:Policy": 3.0,
    "aws:iam/instanceProfile:InstanceProfile": 8.0,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 3.0,
    "aws:kms/key:Key": 10.0,
    "aws:kms/alias:Alias": 2.0,
    "aws:sqs/queue:Queue": 25.0,
    "aws:sqs/queuePolicy:QueuePolicy": 5.0,
    "aws:cloudwatch/eventRule:EventRule": 5.0,
    "aws:cloudwatch/eventTarget:EventTarget": 3.0,
    "aws:cloudwatch/logGroup:LogGroup": 3.0,
    "aws:lb/loadBalancer:LoadBalancer": 180.0,
    "aws:route53/zone:Zone": 45.0,
    "aws:route53/record:Record": 40.0,
    "aws:route53/healthCheck:HealthCheck": 5.0,
    "aws:iam/user:User": 3.0,
    "aws:iam/userPolicy:UserPolicy": 2.0,
    "aws:iam/accessKey:AccessKey": 2.0,
    # A same-account peering is accepted on creation; an attachment turns `available` once its ENIs are up.
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": 10.0,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": 90.0,
    # Typical times (AWS publishes none): a virtual private gateway turns `available` and then `attached` (pulumi-aws
    # waits for both); a VPN connection stays `pending` for minutes while AWS provisions its two endpoints, and
    # pulumi-aws waits for `available`.
    "aws:ec2/vpnGateway:VpnGateway": 120.0,
    "aws:ec2/customerGateway:CustomerGateway": 5.0,
    "aws:ec2/vpnConnection:VpnConnection": 360.0,
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": 10.0,
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": 5.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/natGateway:NatGateway",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/fargateProfile:FargateProfile",
        "aws:kms/key:Key",
        "aws:lb/loadBalancer:LoadBalancer",
        # Where a declared site's VPN ends in the VPC: the diagram links the site to it.
        "aws:ec2/vpnGateway:VpnGateway",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
