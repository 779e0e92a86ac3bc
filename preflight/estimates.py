"""What a plan costs a month and how long its first `pulumi up` takes, from the registrations alone.

Both tables are keyed on the providers' own type tokens (`aws:eks/cluster:Cluster`),
so they apply to whatever the targets register, without importing a cloud SDK.

Cost basis: on-demand list prices, late 2026, Linux, no commitments, no free
tier or credits, 730 hours a month; AWS us-east-1, GCP us-central1, Azure
eastus, DigitalOcean (one price everywhere, billed monthly). A node pool costs
its *minimum* node count (what runs when the autoscaler has scaled in), so the
total is the floor of the bill, not its ceiling; spot capacity is priced at
on-demand (an upper bound for spot). Usage-based charges (data processed by NAT
gateways and load balancers, egress, log ingestion, disks and snapshots, KMS
requests) are not estimated. A resource type with no entry costs 0 and is
listed as "not priced", so a gap in the table is visible rather than silent.

Deploy time: typical create times in seconds, as observed for each resource type
when everything it waits for already exists. The critical path walks the
dependency graph the way the Pulumi engine schedules it: a resource starts when
its explicit and property dependencies and its provider are created, and when
its parent is registered. A component registers at once (no create time), so
the children of a component run in parallel unless they depend on each other;
a dependency on a component means a dependency on everything inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from preflight.engine import UNKNOWN, Plan, Registration, Secret, reveal

HOURS_PER_MONTH = 730.0
STACK_TYPE = "pulumi:pulumi:Stack"

# ------------------------------------------------------------------ compute prices

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

GCP_MACHINE_HOURLY: Mapping[str, float] = {
    # us-central1, on-demand, USD per hour.
    "e2-medium": 0.033503,
    "e2-standard-2": 0.067006,
    "e2-standard-4": 0.134012,
    "n2-standard-2": 0.097118,
    "n2-standard-4": 0.194236,
    "n2-standard-8": 0.388472,
    "n2d-standard-2": 0.084492,
}
GKE_DEFAULT_MACHINE_TYPE = "e2-medium"
GKE_REGION_ZONES = 3
"""Zones a regional GKE cluster or node pool spreads over when no nodeLocations are given."""

AZURE_VM_HOURLY: Mapping[str, float] = {
    # eastus, pay-as-you-go Linux, USD per hour.
    "Standard_B2s": 0.0416,
    "Standard_D2s_v5": 0.096,
    "Standard_D4s_v5": 0.192,
    "Standard_D8s_v5": 0.384,
    "Standard_D2as_v5": 0.086,
    "Standard_D4as_v5": 0.172,
}

DO_DROPLET_MONTHLY: Mapping[str, float] = {
    # DigitalOcean bills droplets by the month (capped at 672 hours); USD per month.
    "s-1vcpu-2gb": 12.0,
    "s-2vcpu-2gb": 18.0,
    "s-2vcpu-4gb": 24.0,
    "s-4vcpu-8gb": 48.0,
    "s-8vcpu-16gb": 96.0,
}

# ----------------------------------------------------------------------- fees

EKS_CONTROL_PLANE_HOURLY = 0.10
GKE_CLUSTER_FEE_HOURLY = 0.10
"""Same fee for zonal and regional Standard clusters; the free-tier credit (one zonal cluster) is not deducted."""
AKS_TIER_HOURLY: Mapping[str, float] = {"free": 0.0, "standard": 0.10, "premium": 0.60}
DOKS_HA_MONTHLY = 40.0
AWS_NAT_GATEWAY_HOURLY = 0.045
AWS_PUBLIC_IPV4_HOURLY = 0.005
AWS_LOAD_BALANCER_HOURLY = 0.0225
AWS_INTERFACE_ENDPOINT_HOURLY = 0.01
"""Per interface endpoint per availability zone (subnet)."""
AWS_KMS_KEY_MONTHLY = 1.0
AWS_ROUTE53_ZONE_MONTHLY = 0.50
GCP_NAT_PER_VM_HOURLY = 0.0014
GCP_NAT_MAX_HOURLY = 0.044
"""Cloud NAT bills per VM using the gateway, capped at 32 VMs."""
GCP_EXTERNAL_IP_HOURLY = 0.005
GCP_FORWARDING_RULE_HOURLY = 0.025
GCP_KMS_KEY_MONTHLY: Mapping[str, float] = {"SOFTWARE": 0.06, "HSM": 1.00}
GCP_DNS_ZONE_MONTHLY = 0.20
AZURE_NAT_GATEWAY_HOURLY = 0.045
AZURE_PUBLIC_IP_HOURLY = 0.005
AZURE_LOAD_BALANCER_HOURLY = 0.025
AZURE_HSM_KEY_MONTHLY = 1.0
AZURE_DNS_ZONE_MONTHLY = 0.50
DO_LOAD_BALANCER_MONTHLY = 12.0
"""Per size unit (node) of a DigitalOcean load balancer."""
DO_REGISTRY_MONTHLY: Mapping[str, float] = {"starter": 0.0, "basic": 5.0, "professional": 20.0}

CLOUD_LOAD_BALANCER_MONTHLY: Mapping[str, float] = {
    "aws": AWS_LOAD_BALANCER_HOURLY * HOURS_PER_MONTH,
    "gcp": GCP_FORWARDING_RULE_HOURLY * HOURS_PER_MONTH,
    "azure-native": AZURE_LOAD_BALANCER_HOURLY * HOURS_PER_MONTH,
    "digitalocean": DO_LOAD_BALANCER_MONTHLY,
}
"""What a Kubernetes `LoadBalancer` Service costs on each cloud (the cloud controller creates it)."""


@dataclass(frozen=True)
class Cost:
    monthly: float
    basis: str
    priced: bool = True


def _hourly(rate: float, what: str) -> Callable[[Registration, _Context], Cost]:
    return lambda reg, ctx: Cost(rate * HOURS_PER_MONTH, f"{what} ${rate}/h")


def _monthly(amount: float, what: str) -> Callable[[Registration, _Context], Cost]:
    return lambda reg, ctx: Cost(amount, f"{what} ${amount}/mo")


def _get(inputs: Any, *path: str | int) -> Any:
    """A nested input, or None when any step is missing or not known until deployment."""
    cur = inputs
    for step in path:
        if isinstance(step, int):
            cur = cur[step] if isinstance(cur, list) and len(cur) > step else None
        else:
            cur = cur.get(step) if isinstance(cur, dict) else None
        if cur is None or cur is UNKNOWN:
            return None
    return cur


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _nodes(count: int, instance: str, hourly: float | None, monthly: float | None = None, spot: bool = False) -> Cost:
    if hourly is None and monthly is None:
        return Cost(0.0, f"{count} × {instance}: instance type not in the price table", priced=False)
    each = monthly if monthly is not None else (hourly or 0.0) * HOURS_PER_MONTH
    rate = f"${monthly}/mo" if monthly is not None else f"${hourly}/h"
    return Cost(count * each, f"{count} × {instance} at {rate}" + (" (spot, at the on-demand price)" if spot else ""))


# ------------------------------------------------------------------- cost models


@dataclass
class _Context:
    """Plan-wide facts a price depends on (the launch template a node group uses, VMs behind a NAT)."""

    plan: Plan
    by_urn: dict[str, Registration]
    children: dict[str, list[Registration]]

    @classmethod
    def of(cls, plan: Plan) -> _Context:
        children: dict[str, list[Registration]] = {}
        for r in plan.registrations:
            children.setdefault(r.parent, []).append(r)
        return cls(plan, {r.urn: r for r in plan.registrations}, children)

    def descendants(self, urn: str) -> Iterator[Registration]:
        for kid in self.children.get(urn, []):
            yield kid
            yield from self.descendants(kid.urn)

    def cloud_of(self, reg: Registration) -> str | None:
        """The cloud package of the cluster a Kubernetes object lands on, via its provider's component."""
        start = self.by_urn.get(provider_urn(reg.provider)) if reg.provider else None
        node: Registration | None = start or reg
        while node is not None:
            if not node.custom and node.type != STACK_TYPE:
                for d in self.descendants(node.urn):
                    package = d.type.split(":", 1)[0]
                    if package in CLOUD_LOAD_BALANCER_MONTHLY:
                        return package
            node = self.by_urn.get(node.parent) if node.parent else None
        return None


def _eks_node_group(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    count = _int(_get(inputs, "scalingConfig", "minSize"))
    types = _get(inputs, "instanceTypes") or []
    instance = types[0] if types and isinstance(types[0], str) else None
    if instance is None:
        for urn in reg.property_dependencies.get("launchTemplate", []):
            template = ctx.by_urn.get(urn)
            found = _get(reveal(template.inputs), "instanceType") if template else None
            instance = found if isinstance(found, str) else instance
    instance = instance or EKS_DEFAULT_INSTANCE_TYPE
    spot = _get(inputs, "capacityType") == "SPOT"
    return _nodes(count, instance, AWS_INSTANCE_HOURLY.get(instance), spot=spot)


def _gke_zones(inputs: Mapping[str, Any]) -> int:
    locations = _get(inputs, "nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = _get(inputs, "location")
    return GKE_REGION_ZONES if isinstance(location, str) and _is_gcp_region(location) else 1


def _is_gcp_region(location: str) -> bool:
    """`europe-west1` is a region, `europe-west1-b` a zone."""
    return len(location.split("-")) == 2


def _gke_pool_nodes(inputs: Mapping[str, Any]) -> int:
    """Nodes at the autoscaler's floor: GKE's min/node counts are per zone, `totalMinNodeCount` is not."""
    autoscaling = _get(inputs, "autoscaling")
    if isinstance(autoscaling, dict):
        if autoscaling.get("totalMinNodeCount") is not None:
            return _int(autoscaling["totalMinNodeCount"])
        if autoscaling.get("minNodeCount") is not None:
            return _int(autoscaling["minNodeCount"]) * _gke_zones(inputs)
    per_zone = _get(inputs, "nodeCount")
    if per_zone is None:
        per_zone = _get(inputs, "initialNodeCount")
    return _int(per_zone, 1) * _gke_zones(inputs)


def _gke_node_pool(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    machine = _get(inputs, "nodeConfig", "machineType") or GKE_DEFAULT_MACHINE_TYPE
    spot = _get(inputs, "nodeConfig", "spot") is True or _get(inputs, "nodeConfig", "preemptible") is True
    return _nodes(_gke_pool_nodes(inputs), machine, GCP_MACHINE_HOURLY.get(machine), spot=spot)


def _gke_cluster(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    fee = GKE_CLUSTER_FEE_HOURLY * HOURS_PER_MONTH
    kind = "regional" if _is_gcp_region(str(_get(inputs, "location") or "")) else "zonal"
    basis = f"{kind} cluster fee ${GKE_CLUSTER_FEE_HOURLY}/h"
    if _get(inputs, "enableAutopilot") is True or _get(inputs, "removeDefaultNodePool") is True:
        return Cost(fee, basis)
    # The default node pool stays: its nodes are billed like any pool's.
    machine = _get(inputs, "nodeConfig", "machineType") or GKE_DEFAULT_MACHINE_TYPE
    count = _int(_get(inputs, "initialNodeCount"), 1) * _gke_zones(inputs)
    pool = _nodes(count, machine, GCP_MACHINE_HOURLY.get(machine))
    return Cost(fee + pool.monthly, f"{basis} + default pool {pool.basis}", pool.priced)


def _gcp_router_nat(reg: Registration, ctx: _Context) -> Cost:
    """Billed per VM behind it: the node pools' floors in the same plan stand in for that count."""
    vms = sum(_gke_pool_nodes(reveal(r.inputs)) for r in ctx.plan.resources("gcp:container/nodePool:NodePool"))
    hourly = min(vms * GCP_NAT_PER_VM_HOURLY, GCP_NAT_MAX_HOURLY)
    return Cost(hourly * HOURS_PER_MONTH, f"{vms} VMs × ${GCP_NAT_PER_VM_HOURLY}/h (max ${GCP_NAT_MAX_HOURLY}/h)")


def _gcp_address(reg: Registration, ctx: _Context) -> Cost:
    if str(_get(reveal(reg.inputs), "addressType") or "EXTERNAL").upper() == "INTERNAL":
        return Cost(0.0, "internal address")
    return Cost(GCP_EXTERNAL_IP_HOURLY * HOURS_PER_MONTH, f"external IPv4 ${GCP_EXTERNAL_IP_HOURLY}/h")


def _gcp_kms_key(reg: Registration, ctx: _Context) -> Cost:
    level = str(_get(reveal(reg.inputs), "versionTemplate", "protectionLevel") or "SOFTWARE").upper()
    monthly = GCP_KMS_KEY_MONTHLY.get(level, GCP_KMS_KEY_MONTHLY["HSM"])
    return Cost(monthly, f"{level.lower()} key version ${monthly}/mo")


def _aks_pool(profile: Mapping[str, Any]) -> Cost:
    size = str(profile.get("vmSize") or "")
    count = profile.get("minCount") if profile.get("enableAutoScaling") else profile.get("count")
    spot = profile.get("scaleSetPriority") == "Spot"
    return _nodes(_int(count, 1), size or "unknown size", AZURE_VM_HOURLY.get(size), spot=spot)


AKS_OUTBOUND_HOURLY: Mapping[str, tuple[float, str]] = {
    # What AKS creates for egress in its node resource group, outside the program's registrations.
    "loadBalancer": (AZURE_LOAD_BALANCER_HOURLY + AZURE_PUBLIC_IP_HOURLY, "managed outbound load balancer + IP"),
    "managedNATGateway": (AZURE_NAT_GATEWAY_HOURLY + AZURE_PUBLIC_IP_HOURLY, "managed NAT gateway + IP"),
}


def _aks_cluster(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    tier = str(_get(inputs, "sku", "tier") or "Free")
    fee = AKS_TIER_HOURLY.get(tier.lower(), 0.0) * HOURS_PER_MONTH
    parts = [f"{tier} tier ${AKS_TIER_HOURLY.get(tier.lower(), 0.0)}/h"]
    total, priced = fee, tier.lower() in AKS_TIER_HOURLY
    outbound = str(_get(inputs, "networkProfile", "outboundType") or "loadBalancer")
    if outbound in AKS_OUTBOUND_HOURLY:
        hourly, what = AKS_OUTBOUND_HOURLY[outbound]
        total += hourly * HOURS_PER_MONTH
        parts.append(f"{what} ${hourly:.3f}/h")
    for profile in _get(inputs, "agentPoolProfiles") or []:
        if isinstance(profile, dict):
            pool = _aks_pool(profile)
            total += pool.monthly
            priced = priced and pool.priced
            parts.append(f"pool {profile.get('name', '?')}: {pool.basis}")
    return Cost(total, "; ".join(parts), priced)


def _aks_agent_pool(reg: Registration, ctx: _Context) -> Cost:
    return _aks_pool(reveal(reg.inputs))


def _azure_key(reg: Registration, ctx: _Context) -> Cost:
    kty = str(_get(reveal(reg.inputs), "properties", "kty") or "RSA")
    if kty.endswith("-HSM"):
        return Cost(AZURE_HSM_KEY_MONTHLY, f"{kty} key ${AZURE_HSM_KEY_MONTHLY}/mo")
    return Cost(0.0, f"{kty} software key (billed per operation)")


def _do_pool(pool: Mapping[str, Any]) -> Cost:
    size = str(pool.get("size") or "")
    count = pool.get("minNodes") if pool.get("autoScale") else pool.get("nodeCount")
    return _nodes(_int(count, 1), size or "unknown size", None, DO_DROPLET_MONTHLY.get(size))


def _doks_cluster(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    ha = _get(inputs, "ha") is True
    pool = _do_pool(_get(inputs, "nodePool") or {})
    fee = DOKS_HA_MONTHLY if ha else 0.0
    plane = f"HA control plane ${DOKS_HA_MONTHLY}/mo" if ha else "control plane free"
    return Cost(fee + pool.monthly, f"{plane}; default pool {pool.basis}", pool.priced)


def _doks_node_pool(reg: Registration, ctx: _Context) -> Cost:
    return _do_pool(reveal(reg.inputs))


def _do_registry(reg: Registration, ctx: _Context) -> Cost:
    tier = str(_get(reveal(reg.inputs), "subscriptionTierSlug") or "")
    if tier not in DO_REGISTRY_MONTHLY:
        return Cost(0.0, f"registry tier {tier!r} not in the price table", priced=False)
    return Cost(DO_REGISTRY_MONTHLY[tier], f"{tier} registry ${DO_REGISTRY_MONTHLY[tier]}/mo")


def _do_load_balancer(reg: Registration, ctx: _Context) -> Cost:
    units = _int(_get(reveal(reg.inputs), "sizeUnit"), 1)
    return Cost(units * DO_LOAD_BALANCER_MONTHLY, f"{units} unit(s) × ${DO_LOAD_BALANCER_MONTHLY}/mo")


def _aws_interface_endpoint(reg: Registration, ctx: _Context) -> Cost:
    inputs = reveal(reg.inputs)
    if str(_get(inputs, "vpcEndpointType") or "Gateway") != "Interface":
        return Cost(0.0, "gateway endpoint")
    zones = max(len(_get(inputs, "subnetIds") or []), 1)
    hourly = zones * AWS_INTERFACE_ENDPOINT_HOURLY
    return Cost(hourly * HOURS_PER_MONTH, f"{zones} AZ × ${AWS_INTERFACE_ENDPOINT_HOURLY}/h")


def _load_balancers_in(value: Any) -> int:
    """How many Services a chart's values ask to expose as `type: LoadBalancer`."""
    if isinstance(value, dict):
        own = 1 if value.get("type") == "LoadBalancer" else 0
        return own + sum(_load_balancers_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(_load_balancers_in(v) for v in value)
    return 0


def _cluster_load_balancers(count: int, reg: Registration, ctx: _Context) -> Cost:
    if count == 0:
        return Cost(0.0, "runs inside the cluster")
    cloud = ctx.cloud_of(reg)
    if cloud is None:
        return Cost(0.0, f"{count} LoadBalancer Service(s) on a cluster with no cloud load balancer")
    each = CLOUD_LOAD_BALANCER_MONTHLY[cloud]
    return Cost(count * each, f"{count} {cloud} load balancer(s) × ${each:.2f}/mo")


def _k8s_service(reg: Registration, ctx: _Context) -> Cost:
    is_lb = _get(reveal(reg.inputs), "spec", "type") == "LoadBalancer"
    return _cluster_load_balancers(1 if is_lb else 0, reg, ctx)


def _helm_release(reg: Registration, ctx: _Context) -> Cost:
    """The LoadBalancer Services Helm renders for the release; a guess from its values if it cannot be rendered."""
    from preflight.admission import rendered_load_balancers  # renders charts; needed only for releases

    count = rendered_load_balancers(ctx.plan, reg)
    if count is None:
        count = _load_balancers_in(_get(reveal(reg.inputs), "values"))
    return _cluster_load_balancers(count, reg, ctx)


_NO_CHARGE = "no charge"
_ON_PREM = "on-premises hardware: no list price"

COSTS: Mapping[str, Callable[[Registration, _Context], Cost]] = {
    # AWS
    "aws:eks/cluster:Cluster": _hourly(EKS_CONTROL_PLANE_HOURLY, "EKS control plane"),
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:ec2/natGateway:NatGateway": _hourly(AWS_NAT_GATEWAY_HOURLY, "NAT gateway"),
    "aws:ec2/eip:Eip": _hourly(AWS_PUBLIC_IPV4_HOURLY, "public IPv4"),
    "aws:lb/loadBalancer:LoadBalancer": _hourly(AWS_LOAD_BALANCER_HOURLY, "load balancer"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _aws_interface_endpoint,
    "aws:kms/key:Key": _monthly(AWS_KMS_KEY_MONTHLY, "KMS key"),
    "aws:route53/zone:Zone": _monthly(AWS_ROUTE53_ZONE_MONTHLY, "hosted zone"),
    # GCP
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "gcp:compute/routerNat:RouterNat": _gcp_router_nat,
    "gcp:compute/address:Address": _gcp_address,
    "gcp:compute/globalAddress:GlobalAddress": _gcp_address,
    "gcp:kms/cryptoKey:CryptoKey": _gcp_kms_key,
    "gcp:dns/managedZone:ManagedZone": _monthly(GCP_DNS_ZONE_MONTHLY, "managed zone"),
    # Azure
    "azure-native:containerservice:ManagedCluster": _aks_cluster,
    "azure-native:containerservice:AgentPool": _aks_agent_pool,
    "azure-native:network:NatGateway": _hourly(AZURE_NAT_GATEWAY_HOURLY, "NAT gateway"),
    "azure-native:network:PublicIPAddress": _hourly(AZURE_PUBLIC_IP_HOURLY, "Standard public IP"),
    "azure-native:network:LoadBalancer": _hourly(AZURE_LOAD_BALANCER_HOURLY, "Standard load balancer"),
    "azure-native:keyvault:Key": _azure_key,
    "azure-native:dns:Zone": _monthly(AZURE_DNS_ZONE_MONTHLY, "DNS zone"),
    # DigitalOcean
    "digitalocean:index/kubernetesCluster:KubernetesCluster": _doks_cluster,
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": _doks_node_pool,
    "digitalocean:index/loadBalancer:LoadBalancer": _do_load_balancer,
    "digitalocean:index/containerRegistry:ContainerRegistry": _do_registry,
    # In-cluster objects cost nothing by themselves, except the cloud load balancers they ask for.
    "kubernetes:core/v1:Service": _k8s_service,
    "kubernetes:helm.sh/v3:Release": _helm_release,
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
        "azure-native:monitor:DiagnosticSetting",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/flowLog:FlowLog",
        "aws:route53/record:Record",
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/firewall:Firewall",
        "gcp:serviceaccount/account:Account",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/service:Service",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:Subnet",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:SecurityRule",
        "azure-native:network:RouteTable",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:authorization:RoleAssignment",
        "azure-native:keyvault:Vault",
        "azure-native:containerservice:MaintenanceConfiguration",
        "azure-native:operationalinsights:Workspace",
        "digitalocean:index/vpc:Vpc",
        "digitalocean:index/firewall:Firewall",
        "digitalocean:index/project:Project",
        "digitalocean:index/domain:Domain",
        "digitalocean:index/dnsRecord:DnsRecord",
    }
)
"""Types with no standing charge (usage may still be billed; see the module docstring)."""

FREE_PACKAGES: tuple[str, ...] = ("kubernetes:", "pulumi:providers:", "random:", "tls:", "command:")
"""In-cluster objects, providers and local helpers: nothing to pay for."""

ON_PREM: frozenset[str] = frozenset(
    {
        "proxmoxve:index/vm:Vm",
        "proxmoxve:index/vmLegacy:VmLegacy",
        "proxmoxve:index/vm2Legacy:Vm2Legacy",
        "proxmoxve:cloned/vm:Vm",
        "vsphere:index/virtualMachine:VirtualMachine",
    }
)
"""Machines on your own hardware: known, but without a list price."""


def _secret_strings(value: Any, inside: bool = False) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _secret_strings(value.value, True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _secret_strings(v, inside)
    elif isinstance(value, list):
        for v in value:
            yield from _secret_strings(v, inside)
    elif inside and isinstance(value, str) and len(value) >= 3:
        # Shorter strings would match inside prices; no input that sets a price is that short.
        yield value


def cost_of(reg: Registration, ctx: _Context) -> Cost:
    """The monthly cost of one registration; its basis never shows an input the program marked secret."""
    model = COSTS.get(reg.type)
    if model is not None:
        cost = model(reg, ctx)
        basis = cost.basis
        for text in sorted(set(_secret_strings(reg.inputs)), key=len, reverse=True):
            basis = basis.replace(text, "[secret]")
        return Cost(cost.monthly, basis, cost.priced)
    if not reg.custom:
        return Cost(0.0, "component")
    if reg.type in FREE or reg.type.startswith(FREE_PACKAGES):
        return Cost(0.0, _NO_CHARGE)
    if reg.type in ON_PREM:
        return Cost(0.0, _ON_PREM, priced=False)
    return Cost(0.0, "not priced", priced=False)


# ---------------------------------------------------------------- create times

DEFAULT_CREATE_SECONDS = 10.0
"""Create time assumed for a custom resource type with no entry (listed as "not timed")."""
KUBERNETES_OBJECT_SECONDS = 2.0
"""Most Kubernetes objects are ready as soon as the API server accepts them."""

HELM_CHART_SECONDS: Mapping[str, float] = {
    # Time until every object of the release is ready (Pulumi awaits them unless skipAwait).
    "cert-manager": 90.0,
    "ingress-nginx": 120.0,
    "gateway-helm": 90.0,
    "envoy-gateway": 90.0,
    "traefik": 90.0,
    "karpenter": 60.0,
    "cluster-autoscaler": 45.0,
    "aws-load-balancer-controller": 60.0,
    "metrics-server": 45.0,
    "external-dns": 30.0,
    "metallb": 60.0,
    "cilium": 120.0,
}
HELM_DEFAULT_SECONDS = 60.0
HELM_SKIP_AWAIT_SECONDS = 5.0


def _gke_cluster_seconds(reg: Registration) -> float:
    location = str(_get(reveal(reg.inputs), "location") or "")
    return 540.0 if _is_gcp_region(location) else 330.0


def _helm_seconds(reg: Registration) -> float:
    inputs = reveal(reg.inputs)
    if _get(inputs, "skipAwait") is True:
        return HELM_SKIP_AWAIT_SECONDS
    # `repo/chart` and `oci://registry/path/chart` name the same chart as `chart`.
    chart = str(_get(inputs, "chart") or "").rstrip("/").rsplit("/", 1)[-1]
    return HELM_CHART_SECONDS.get(chart, HELM_DEFAULT_SECONDS)


def _service_seconds(reg: Registration) -> float:
    # A LoadBalancer Service is awaited until the cloud hands out an address.
    return 60.0 if _get(reveal(reg.inputs), "spec", "type") == "LoadBalancer" else KUBERNETES_OBJECT_SECONDS


CREATE_SECONDS: Mapping[str, float | Callable[[Registration], float]] = {
    # AWS
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
    "azure-native:monitor:DiagnosticSetting": 10.0,
    "aws:cloudwatch/eventRule:EventRule": 5.0,
    "aws:cloudwatch/eventTarget:EventTarget": 3.0,
    "aws:cloudwatch/logGroup:LogGroup": 3.0,
    "aws:lb/loadBalancer:LoadBalancer": 180.0,
    "aws:route53/zone:Zone": 45.0,
    "aws:route53/record:Record": 40.0,
    # GCP
    "gcp:container/cluster:Cluster": _gke_cluster_seconds,
    "gcp:container/nodePool:NodePool": 150.0,
    "gcp:compute/network:Network": 25.0,
    "gcp:compute/subnetwork:Subnetwork": 25.0,
    "gcp:compute/router:Router": 20.0,
    "gcp:compute/routerNat:RouterNat": 25.0,
    "gcp:compute/firewall:Firewall": 12.0,
    "gcp:compute/address:Address": 5.0,
    "gcp:compute/globalAddress:GlobalAddress": 12.0,
    "gcp:serviceaccount/account:Account": 5.0,
    "gcp:serviceaccount/iAMMember:IAMMember": 10.0,
    "gcp:projects/iAMMember:IAMMember": 10.0,
    "gcp:projects/service:Service": 45.0,
    "gcp:kms/keyRing:KeyRing": 3.0,
    "gcp:kms/cryptoKey:CryptoKey": 3.0,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 8.0,
    "gcp:dns/managedZone:ManagedZone": 5.0,
    # Azure
    "azure-native:resources:ResourceGroup": 3.0,
    "azure-native:network:VirtualNetwork": 10.0,
    "azure-native:network:Subnet": 8.0,
    "azure-native:network:NatGateway": 20.0,
    "azure-native:network:PublicIPAddress": 8.0,
    "azure-native:network:NetworkSecurityGroup": 10.0,
    "azure-native:network:SecurityRule": 8.0,
    "azure-native:network:RouteTable": 8.0,
    "azure-native:network:LoadBalancer": 30.0,
    "azure-native:containerservice:ManagedCluster": 420.0,
    "azure-native:containerservice:AgentPool": 240.0,
    "azure-native:containerservice:MaintenanceConfiguration": 5.0,
    "azure-native:managedidentity:UserAssignedIdentity": 5.0,
    "azure-native:managedidentity:FederatedIdentityCredential": 5.0,
    "azure-native:authorization:RoleAssignment": 20.0,
    "azure-native:keyvault:Vault": 60.0,
    "azure-native:keyvault:Key": 5.0,
    "azure-native:operationalinsights:Workspace": 30.0,
    "azure-native:dns:Zone": 30.0,
    # DigitalOcean
    "digitalocean:index/kubernetesCluster:KubernetesCluster": 390.0,
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": 240.0,
    "digitalocean:index/vpc:Vpc": 5.0,
    "digitalocean:index/firewall:Firewall": 3.0,
    "digitalocean:index/project:Project": 3.0,
    "digitalocean:index/containerRegistry:ContainerRegistry": 5.0,
    "digitalocean:index/loadBalancer:LoadBalancer": 120.0,
    "digitalocean:index/domain:Domain": 3.0,
    "digitalocean:index/dnsRecord:DnsRecord": 3.0,
    # On-prem: clone + first boot, then installs run over SSH.
    "proxmoxve:index/vm:Vm": 120.0,
    "proxmoxve:index/vmLegacy:VmLegacy": 120.0,
    "proxmoxve:index/vm2Legacy:Vm2Legacy": 120.0,
    "proxmoxve:cloned/vm:Vm": 120.0,
    "proxmoxve:download/file:File": 60.0,
    "vsphere:index/virtualMachine:VirtualMachine": 180.0,
    "command:remote:Command": 60.0,
    "command:remote:CopyToRemote": 5.0,
    "command:local:Command": 5.0,
    "tls:index/privateKey:PrivateKey": 1.0,
    "tls:index/selfSignedCert:SelfSignedCert": 1.0,
    "random:index/randomPassword:RandomPassword": 1.0,
    "random:index/randomString:RandomString": 1.0,
    "random:index/randomId:RandomId": 1.0,
    # Kubernetes: objects Pulumi awaits until ready take longer than the rest.
    "kubernetes:helm.sh/v3:Release": _helm_seconds,
    "kubernetes:core/v1:Service": _service_seconds,
    "kubernetes:apps/v1:Deployment": 45.0,
    "kubernetes:apps/v1:StatefulSet": 60.0,
    "kubernetes:apps/v1:DaemonSet": 45.0,
    "kubernetes:batch/v1:Job": 60.0,
}


def create_seconds(reg: Registration) -> tuple[float, bool]:
    """Seconds to create `reg`, and whether the table knows its type (False: the default was assumed)."""
    if not reg.custom or reg.type.startswith("pulumi:providers:"):
        return 0.0, True
    entry = CREATE_SECONDS.get(reg.type)
    if entry is None:
        if reg.type.startswith("kubernetes:"):
            return KUBERNETES_OBJECT_SECONDS, True
        return DEFAULT_CREATE_SECONDS, False
    return (entry(reg) if callable(entry) else float(entry)), True


# ------------------------------------------------------------- critical path


def provider_urn(reference: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN is what the graph knows."""
    return reference.rsplit("::", 1)[0] if reference else ""


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    seconds: float
    start: float
    finish: float

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "seconds": self.seconds,
            "start": self.start,
            "finish": self.finish,
        }


def dependencies(reg: Registration) -> set[str]:
    """What Pulumi waits for before creating `reg`, except its parent."""
    deps = set(reg.dependencies)
    for urns in reg.property_dependencies.values():
        deps.update(urns)
    if reg.provider:
        deps.add(provider_urn(reg.provider))
    deps.discard(reg.urn)
    return deps


class _Schedule:
    """Earliest start and finish of every registration, given unlimited parallelism."""

    def __init__(self, plan: Plan) -> None:
        self.by_urn = {r.urn: r for r in plan.registrations}
        self.children: dict[str, list[str]] = {}
        for r in plan.registrations:
            if r.parent:
                self.children.setdefault(r.parent, []).append(r.urn)
        self.finish: dict[str, float] = {}
        self.start: dict[str, float] = {}
        self.cause: dict[str, str | None] = {}
        self.seconds: dict[str, float] = {}
        self._visiting: set[str] = set()

    def _ancestors(self, urn: str) -> set[str]:
        out: set[str] = set()
        reg = self.by_urn.get(urn)
        while reg is not None and reg.parent and reg.parent not in out:
            out.add(reg.parent)
            reg = self.by_urn.get(reg.parent)
        return out

    def _subtree(self, urn: str) -> Iterator[str]:
        for kid in self.children.get(urn, []):
            yield kid
            yield from self._subtree(kid)

    def _waits_on(self, reg: Registration) -> Iterator[str]:
        """URNs whose finish gates `reg`'s start: dependencies (components expanded) and the parent."""
        own = {reg.urn, *self._ancestors(reg.urn)}
        for dep in dependencies(reg):
            target = self.by_urn.get(dep)
            if target is None:
                continue
            yield dep
            if not target.custom and dep not in own:
                yield from (u for u in self._subtree(dep) if u not in own)
        if reg.parent in self.by_urn:
            yield reg.parent

    def visit(self, urn: str) -> float:
        if urn in self.finish:
            return self.finish[urn]
        reg = self.by_urn[urn]
        self._visiting.add(urn)
        start, cause = 0.0, None
        for dep in sorted(self._waits_on(reg)):  # sorted: ties resolve the same way every run
            if dep in self._visiting:
                # A cycle cannot be deployed; the engine would refuse it. Break it rather than loop.
                continue
            end = self.visit(dep)
            if cause is None or end > start:
                start, cause = end, dep
        self._visiting.discard(urn)
        seconds, _ = create_seconds(reg)
        self.start[urn], self.seconds[urn], self.cause[urn] = start, seconds, cause
        self.finish[urn] = start + seconds
        return self.finish[urn]

    def path(self) -> list[Step]:
        for urn in self.by_urn:
            self.visit(urn)
        if not self.finish:
            return []
        last = max(self.finish, key=lambda u: (self.finish[u], self.seconds[u]))
        chain: list[Step] = []
        cur: str | None = last
        seen: set[str] = set()
        while cur is not None and cur not in seen:
            seen.add(cur)
            reg = self.by_urn[cur]
            if self.seconds[cur] > 0:
                chain.append(Step(cur, reg.type, reg.name, self.seconds[cur], self.start[cur], self.finish[cur]))
            cur = self.cause[cur]
        return list(reversed(chain))


def critical_path(plan: Plan) -> tuple[float, list[Step]]:
    """Longest chain of creates, in seconds, and the resources on it (components and providers left out)."""
    schedule = _Schedule(plan)
    chain = schedule.path()
    return (max(schedule.finish.values()) if schedule.finish else 0.0), chain


# ------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Item:
    type: str
    name: str
    cost: Cost


@dataclass
class Estimates:
    monthly: float
    items: list[Item]
    """Every resource with a non-zero monthly cost, most expensive first."""
    not_priced: dict[str, int]
    """Type -> count of resources the cost model has no price for."""
    deploy_seconds: float
    path: list[Step]
    not_timed: dict[str, int] = field(default_factory=dict)
    """Type -> count of resources whose create time is the default guess."""

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": "on-demand list prices, late 2026; AWS us-east-1, GCP us-central1, Azure eastus; "
            f"{HOURS_PER_MONTH:g} h/month; node pools at their minimum size; usage-based charges excluded",
            "monthlyUsd": round(self.monthly, 2),
            "items": [
                {"type": i.type, "name": i.name, "monthlyUsd": round(i.cost.monthly, 2), "basis": i.cost.basis}
                for i in self.items
            ],
            "notPriced": self.not_priced,
            "deploySeconds": self.deploy_seconds,
            "criticalPath": [s.to_json() for s in self.path],
            "notTimed": self.not_timed,
        }


def _count(types: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in types:
        out[t] = out.get(t, 0) + 1
    return dict(sorted(out.items()))


def estimate(plan: Plan) -> Estimates:
    ctx = _Context.of(plan)
    priced: list[Item] = []
    unpriced: list[str] = []
    for reg in plan.registrations:
        if reg.type == STACK_TYPE:
            continue
        cost = cost_of(reg, ctx)
        if not cost.priced:
            unpriced.append(reg.type)
        if cost.monthly > 0:
            priced.append(Item(reg.type, reg.name, cost))
    priced.sort(key=lambda i: (-i.cost.monthly, i.type, i.name))
    seconds, path = critical_path(plan)
    untimed = [r.type for r in plan.registrations if not create_seconds(r)[1]]
    return Estimates(
        monthly=sum(i.cost.monthly for i in priced),
        items=priced,
        not_priced=_count(unpriced),
        deploy_seconds=seconds,
        path=path,
        not_timed=_count(untimed),
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def report_lines(est: Estimates, top: int = 10) -> list[str]:
    """The cost and deploy-time sections of the human-readable plan."""
    lines = [f"Monthly cost (floor, on-demand list prices late 2026): ${est.monthly:,.2f}"]
    for item in est.items[:top]:
        lines.append(f"  ${item.cost.monthly:>9,.2f}  {item.type}  {item.name}  ({item.cost.basis})")
    if len(est.items) > top:
        rest = sum(i.cost.monthly for i in est.items[top:])
        lines.append(f"  ${rest:>9,.2f}  {len(est.items) - top} more")
    for type_, n in est.not_priced.items():
        lines.append(f"  not priced: {n} × {type_}")
    lines.append("")
    lines.append(f"Deploy time (critical path of `pulumi up`): ~{_duration(est.deploy_seconds)}")
    for step in est.path:
        lines.append(f"  {_duration(step.start):>7} +{_duration(step.seconds):<7} {step.type}  {step.name}")
    for type_, n in est.not_timed.items():
        lines.append(f"  not timed ({DEFAULT_CREATE_SECONDS:g}s assumed): {n} × {type_}")
    return lines
