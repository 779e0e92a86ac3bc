"""The cluster's VCN: private worker and API endpoint subnets, a load balancer subnet, gateways and NSGs.

The subnets, route tables and security rules follow Oracle's "Network Resource
Configuration for Cluster Creation and Deployment" for the flannel CNI
(https://docs.oracle.com/en-us/iaas/Content/ContEng/Concepts/contengnetworkconfig.htm, the
"Security Rules" tables of each subnet) as network security groups, which that page recommends
over security lists: each rule names the NSG on its other side, so nothing but the cluster's own
parts is admitted, and the subnets' security lists stay empty.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_oci.core as core

from components.targets.oci import deployer, vpn

if TYPE_CHECKING:
    from components.spec import OciSpec
    from components.targets.oci import OciCluster

ALL_SERVICES = "All .* Services In Oracle Services Network"
"""The service gateway's target: every regional Oracle service (Object Storage, OCIR, OKE itself) over the
Oracle Services Network, matched by name as `oci.core.get_services` lists it."""
PATH_DISCOVERY = (3, 4)
"""ICMP type 3 code 4 (fragmentation needed): the path MTU discovery every OKE subnet admits ("ICMP 3, 4")."""
API_PORT = 6443
CONTROL_PLANE_PORT = 12250
"""Kubelets and the proxymux client reach the control plane on 12250 besides the API on 6443."""
NODE_PORTS = (30000, 32767)
KUBE_PROXY_HEALTH = 10256
"""What a load balancer's health check of a node's kube-proxy uses."""
LISTENER_PORTS = (80, 443)
"""The gateway's listeners: the only ports a load balancer of the cluster serves."""


@dataclass(frozen=True)
class Subnets:
    """The subnets carved from `network.cidr`: workers get half, load balancers an eighth, the API a /28."""

    workers: str
    load_balancers: str
    api: str


def carve(cidr: str) -> Subnets:
    net = ipaddress.ip_network(cidr)
    workers, rest = net.subnets(prefixlen_diff=1)
    load_balancers = next(rest.subnets(prefixlen_diff=2))
    api = list(rest.subnets(new_prefix=28))[-1]
    return Subnets(str(workers), str(load_balancers), str(api))


def api_clients(spec: OciSpec) -> list[str]:
    """Who may open the API on 6443 from outside the cluster.

    A public endpoint admits `apiAccess.publicCidrs`; a private one admits the VCN itself (a runner or
    bastion inside it), the declared deployer's hub, joined to the VCN through its DRG (deployer.py), and the
    sites whose VPN ends in the VCN (vpn.py): the private endpoint is reached from them or not at all.
    """
    if spec.api_access.private:
        hub = spec.deployer.hub if spec.deployer is not None else None
        return [
            spec.network.cidr,
            *spec.api_access.public_cidrs,
            *(hub.cidrs if hub is not None else []),
            *vpn.site_ranges(spec),
        ]
    return list(spec.api_access.public_cidrs)


@dataclass(frozen=True)
class Network:
    vcn_id: pulumi.Input[str]
    worker_subnet_id: pulumi.Input[str]
    api_subnet_id: pulumi.Input[str]
    lb_subnet_id: pulumi.Input[str]
    worker_nsg_ids: list[pulumi.Input[str]] = field(default_factory=list)
    api_nsg_ids: list[pulumi.Input[str]] = field(default_factory=list)
    ready: Sequence[pulumi.Resource] = ()
    """What must exist before nodes boot: their egress (NAT, service gateway) and the rules admitting them."""
    drg_id: pulumi.Input[str] | None = None
    """The DRG the VCN is attached to (the hub's, or the stack's own for a site's VPN); None when on none."""


def existing(c: OciCluster) -> Network:
    """A VCN brought by the stack: its subnets' own rules must admit what `build` would."""
    vcn = c.spec.existing_vcn
    assert vcn is not None
    return Network(vcn.vcn_id, vcn.worker_subnet_id, vcn.api_subnet_id, vcn.lb_subnet_id)


class _Rules:
    """NSG rules named after their NSG and purpose, so a plan reads like Oracle's tables."""

    def __init__(self, c: OciCluster, resources: list[pulumi.Resource]) -> None:
        self.c, self.resources = c, resources

    def add(
        self,
        nsg: core.NetworkSecurityGroup,
        key: str,
        description: str,
        *,
        direction: str,
        protocol: str,
        peer: pulumi.Input[str],
        peer_type: str = "CIDR_BLOCK",
        ports: tuple[int, int] | None = None,
        icmp: tuple[int, int] | None = None,
    ) -> None:
        where = {"source": peer, "source_type": peer_type} if direction == "INGRESS" else {}
        if direction == "EGRESS":
            where = {"destination": peer, "destination_type": peer_type}
        self.resources.append(
            core.NetworkSecurityGroupSecurityRule(
                f"{self.c.spec.name}-{key}",
                network_security_group_id=nsg.id,
                direction=direction,
                # Protocol numbers as the API takes them: "6" TCP, "1" ICMP, "all".
                protocol=protocol,
                description=description,
                stateless=False,
                tcp_options=core.NetworkSecurityGroupSecurityRuleTcpOptionsArgs(
                    destination_port_range=core.NetworkSecurityGroupSecurityRuleTcpOptionsDestinationPortRangeArgs(
                        min=ports[0], max=ports[1]
                    )
                )
                if ports
                else None,
                icmp_options=core.NetworkSecurityGroupSecurityRuleIcmpOptionsArgs(type=icmp[0], code=icmp[1])
                if icmp
                else None,
                opts=self.c.child_opts(),
                **where,
            )
        )


TCP, ICMP, ALL = "6", "1", "all"


def build(c: OciCluster) -> Network:
    """A VCN of the cluster's own; workers and the API endpoint stay private, egress goes through NAT."""
    spec, name, compartment = c.spec, c.spec.name, c.spec.compartment_id
    tags = c.tags()
    subnets = carve(spec.network.cidr)
    public_api = not spec.api_access.private
    public_lb = spec.platform.gateway.enabled and spec.platform.gateway.public

    vcn = core.Vcn(
        f"{name}-vcn",
        compartment_id=compartment,
        cidr_blocks=[spec.network.cidr],
        display_name=f"{name}-vcn",
        dns_label=_dns_label(name),
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    hub = spec.deployer.hub if spec.deployer is not None else None
    # The path from the deployer's hub: everything the first Kubernetes call needs waits for `ready` below.
    attachment = deployer.attach(c, hub, vcn) if hub is not None else None
    drg_id: pulumi.Input[str] | None = hub.drg_id if hub is not None else None
    if spec.vpn_sites and hub is None:
        # A VCN is on one DRG at most: a site's VPN ends on the hub's when there is one, else on a DRG of its own.
        drg_id, attachment = vpn.drg(c, vcn)
    services = core.get_services(
        filters=[core.GetServicesFilterArgs(name="name", values=[ALL_SERVICES], regex=True)],
        opts=pulumi.InvokeOptions(parent=c),
    ).services
    service = services[0]
    service_gateway = core.ServiceGateway(
        f"{name}-sgw",
        compartment_id=compartment,
        vcn_id=vcn.id,
        services=[core.ServiceGatewayServiceArgs(service_id=service.id)],
        display_name=f"{name}-sgw",
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    nat = core.NatGateway(
        f"{name}-nat",
        compartment_id=compartment,
        vcn_id=vcn.id,
        block_traffic=False,
        display_name=f"{name}-nat",
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    to_services = core.RouteTableRouteRuleArgs(
        network_entity_id=service_gateway.id,
        destination=service.cidr_block,
        destination_type="SERVICE_CIDR_BLOCK",
        description="Oracle services (OKE, OCIR, Object Storage) over the service gateway",
    )
    private_routes = core.RouteTable(
        f"{name}-private-rt",
        compartment_id=compartment,
        vcn_id=vcn.id,
        display_name=f"{name}-private",
        route_rules=[
            core.RouteTableRouteRuleArgs(
                network_entity_id=nat.id,
                destination="0.0.0.0/0",
                destination_type="CIDR_BLOCK",
                description="Internet egress (image registries outside Oracle) through NAT",
            ),
            to_services,
            *(deployer.routes(hub) if hub is not None else []),
            *(vpn.routes(spec, drg_id) if drg_id is not None else []),
        ],
        freeform_tags=tags,
        opts=c.child_opts(depends_on=[attachment] if attachment is not None else None),
    )
    public_routes = private_routes
    if public_api or public_lb:
        internet = core.InternetGateway(
            f"{name}-igw",
            compartment_id=compartment,
            vcn_id=vcn.id,
            enabled=True,
            display_name=f"{name}-igw",
            freeform_tags=tags,
            opts=c.child_opts(),
        )
        public_routes = core.RouteTable(
            f"{name}-public-rt",
            compartment_id=compartment,
            vcn_id=vcn.id,
            display_name=f"{name}-public",
            route_rules=[
                core.RouteTableRouteRuleArgs(
                    network_entity_id=internet.id,
                    destination="0.0.0.0/0",
                    destination_type="CIDR_BLOCK",
                    description="The internet, for a public API endpoint or public load balancers",
                )
            ],
            freeform_tags=tags,
            opts=c.child_opts(),
        )

    # Every subnet names its security list, so the VCN's default one (which admits SSH from anywhere) applies to
    # none. The API and worker subnets' lists are empty: their NSGs say everything. The load balancers' list
    # holds their rules, because the cloud controller creates load balancers in the subnet but attaches no NSG.
    closed = core.SecurityList(
        f"{name}-closed-sl",
        compartment_id=compartment,
        vcn_id=vcn.id,
        display_name=f"{name}-closed",
        ingress_security_rules=[],
        egress_security_rules=[],
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    # A site reaches an internal load balancer through its VPN (vpn.py); nodes and pods stay closed to it.
    listeners = ["0.0.0.0/0"] if public_lb else [spec.network.cidr, *vpn.site_ranges(spec)]
    lb_rules = core.SecurityList(
        f"{name}-lbs-sl",
        compartment_id=compartment,
        vcn_id=vcn.id,
        display_name=f"{name}-lbs",
        ingress_security_rules=[
            core.SecurityListIngressSecurityRuleArgs(
                protocol=TCP,
                source=source,
                source_type="CIDR_BLOCK",
                description=f"Clients to the gateway's listener on {port}",
                tcp_options=core.SecurityListIngressSecurityRuleTcpOptionsArgs(min=port, max=port),
            )
            for source in listeners
            for port in LISTENER_PORTS
        ],
        egress_security_rules=[
            core.SecurityListEgressSecurityRuleArgs(
                protocol=TCP,
                destination=subnets.workers,
                destination_type="CIDR_BLOCK",
                description=description,
                tcp_options=core.SecurityListEgressSecurityRuleTcpOptionsArgs(min=low, max=high),
            )
            for description, (low, high) in (
                ("Load balancers to node ports", NODE_PORTS),
                ("Health checks of kube-proxy", (KUBE_PROXY_HEALTH, KUBE_PROXY_HEALTH)),
            )
        ],
        freeform_tags=tags,
        opts=c.child_opts(),
    )

    def subnet(key: str, cidr: str, public: bool, security_list: core.SecurityList = closed) -> core.Subnet:
        # Regional subnets (no availability_domain): one subnet spans every AD, as Oracle recommends for OKE.
        return core.Subnet(
            f"{name}-{key}",
            compartment_id=compartment,
            vcn_id=vcn.id,
            cidr_block=cidr,
            display_name=f"{name}-{key}",
            dns_label=key.replace("-", "")[:15],
            prohibit_public_ip_on_vnic=not public,
            prohibit_internet_ingress=not public,
            route_table_id=(public_routes if public else private_routes).id,
            security_list_ids=[security_list.id],
            freeform_tags=tags,
            opts=c.child_opts(),
        )

    workers = subnet("workers", subnets.workers, public=False)
    api = subnet("api", subnets.api, public=public_api)
    lbs = subnet("lbs", subnets.load_balancers, public=public_lb, security_list=lb_rules)

    def nsg(key: str) -> core.NetworkSecurityGroup:
        return core.NetworkSecurityGroup(
            f"{name}-{key}-nsg",
            compartment_id=compartment,
            vcn_id=vcn.id,
            display_name=f"{name}-{key}",
            freeform_tags=tags,
            opts=c.child_opts(),
        )

    api_nsg, worker_nsg = nsg("api"), nsg("workers")
    rules: list[pulumi.Resource] = []
    r = _Rules(c, rules)
    in_, out, group = "INGRESS", "EGRESS", "NETWORK_SECURITY_GROUP"
    services_peer, services_type = service.cidr_block, "SERVICE_CIDR_BLOCK"

    # Kubernetes API endpoint subnet.
    for i, cidr in enumerate(api_clients(spec)):
        r.add(
            api_nsg,
            f"api-in-clients-{i}",
            "Clients to the Kubernetes API",
            direction=in_,
            protocol=TCP,
            peer=cidr,
            ports=(API_PORT, API_PORT),
        )
    r.add(
        api_nsg,
        "api-in-workers-api",
        "Workers to the Kubernetes API",
        direction=in_,
        protocol=TCP,
        peer=worker_nsg.id,
        peer_type=group,
        ports=(API_PORT, API_PORT),
    )
    r.add(
        api_nsg,
        "api-in-workers-cp",
        "Workers to the control plane",
        direction=in_,
        protocol=TCP,
        peer=worker_nsg.id,
        peer_type=group,
        ports=(CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
    )
    r.add(
        api_nsg,
        "api-in-workers-icmp",
        "Path discovery",
        direction=in_,
        protocol=ICMP,
        peer=worker_nsg.id,
        peer_type=group,
        icmp=PATH_DISCOVERY,
    )
    r.add(
        api_nsg,
        "api-out-services",
        "Control plane to OKE",
        direction=out,
        protocol=TCP,
        peer=services_peer,
        peer_type=services_type,
        ports=(443, 443),
    )
    r.add(
        api_nsg,
        "api-out-workers",
        "Control plane to the workers",
        direction=out,
        protocol=TCP,
        peer=worker_nsg.id,
        peer_type=group,
    )
    r.add(
        api_nsg,
        "api-out-workers-icmp",
        "Path discovery",
        direction=out,
        protocol=ICMP,
        peer=worker_nsg.id,
        peer_type=group,
        icmp=PATH_DISCOVERY,
    )

    # Worker node subnet (pods share it under flannel).
    r.add(
        worker_nsg,
        "workers-in-workers",
        "Pod to pod, node to node",
        direction=in_,
        protocol=ALL,
        peer=worker_nsg.id,
        peer_type=group,
    )
    r.add(
        worker_nsg,
        "workers-in-api",
        "Control plane to the workers",
        direction=in_,
        protocol=TCP,
        peer=api_nsg.id,
        peer_type=group,
    )
    r.add(
        worker_nsg,
        "workers-in-icmp",
        "Path discovery",
        direction=in_,
        protocol=ICMP,
        peer="0.0.0.0/0",
        icmp=PATH_DISCOVERY,
    )
    r.add(
        worker_nsg,
        "workers-in-lb-nodeports",
        "Load balancers to node ports",
        direction=in_,
        protocol=TCP,
        peer=subnets.load_balancers,
        ports=NODE_PORTS,
    )
    r.add(
        worker_nsg,
        "workers-in-lb-health",
        "Load balancer health checks of kube-proxy",
        direction=in_,
        protocol=TCP,
        peer=subnets.load_balancers,
        ports=(KUBE_PROXY_HEALTH, KUBE_PROXY_HEALTH),
    )
    r.add(
        worker_nsg,
        "workers-out-workers",
        "Pod to pod, node to node",
        direction=out,
        protocol=ALL,
        peer=worker_nsg.id,
        peer_type=group,
    )
    r.add(
        worker_nsg,
        "workers-out-services",
        "Workers to OKE and Oracle services",
        direction=out,
        protocol=TCP,
        peer=services_peer,
        peer_type=services_type,
    )
    r.add(
        worker_nsg,
        "workers-out-api",
        "Workers to the Kubernetes API",
        direction=out,
        protocol=TCP,
        peer=api_nsg.id,
        peer_type=group,
        ports=(API_PORT, API_PORT),
    )
    r.add(
        worker_nsg,
        "workers-out-cp",
        "Workers to the control plane",
        direction=out,
        protocol=TCP,
        peer=api_nsg.id,
        peer_type=group,
        ports=(CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
    )
    r.add(
        worker_nsg,
        "workers-out-icmp",
        "Path discovery",
        direction=out,
        protocol=ICMP,
        peer="0.0.0.0/0",
        icmp=PATH_DISCOVERY,
    )
    r.add(
        worker_nsg,
        "workers-out-internet",
        "Workers to the internet through NAT (image registries outside Oracle, as Oracle's table allows)",
        direction=out,
        protocol=ALL,
        peer="0.0.0.0/0",
    )

    return Network(
        vcn.id,
        workers.id,
        api.id,
        lbs.id,
        worker_nsg_ids=[worker_nsg.id],
        api_nsg_ids=[api_nsg.id],
        ready=[nat, service_gateway, private_routes, *rules, *([attachment] if attachment is not None else [])],
        drg_id=drg_id,
    )


def _dns_label(name: str) -> str:
    """A VCN DNS label: letters and digits, starting with a letter, at most 15 (Core API `Vcn.dnsLabel`)."""
    label = "".join(ch for ch in name if ch.isalnum())
    return (label if label[:1].isalpha() else f"k{label}")[:15]
