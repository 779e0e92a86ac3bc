"""The typed stack spec: the `orquestra:` namespace of a stack, validated in one place.

Everything a stack can say is modelled here, so that a wrong value is found before
any resource is registered and reported the same way everywhere: one line per
violation, naming the full key path, the bad value and what is allowed. The spec
is plain data, and importing it imports no cloud SDK; parsing a stack also runs
each cluster's target `check` (the rules only that cloud knows), which loads
that target's package and SDKs, and no other target's.

Environment defaults (`dev`, `staging`, `prod`) are merged *under* what the stack
file says before validation, so a stack only writes what differs from the
environment, and any key can still be overridden.
"""

# No `from __future__ import annotations`: pydantic would evaluate each of some 400 field annotations from its
# string at import. Annotations are plain expressions, and the few forward references are quoted.
import contextlib
import difflib
import hashlib
import importlib
import ipaddress
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import syntax
from components.pins import K3S_RELEASES
from components.stackfile import key_step as _key
from components.targets import REGISTRY, available

NAMESPACE = "orquestra"
Environment: TypeAlias = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")

# Targets whose clusters can give a pod a cloud identity (IRSA/Pod Identity, Workload Identity).
IDENTITY_TARGETS = frozenset(key for key, target in REGISTRY.items() if target.gives_pod_identity)

# Values under these keys are never echoed in an error message.
SECRET_KEYS = frozenset({"kubeconfig", "privateKey", "password", "token", "dnsToken", "preSharedKey"})

DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
Name = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=24)]


class SpecError(Exception):
    """All problems found in a stack's config, one line each, in key order."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Problem:
    """A violation found after the types validated; `path` is relative to its model."""

    path: str
    value: Any
    allowed: str
    present: bool = True
    """False when the key is missing: the line says so instead of showing a value."""


def deep_merge(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` over `defaults`: maps merge key by key, anything else is replaced (Helm's rule for values too)."""
    out = dict(defaults)
    for key, value in given.items():
        base = out.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(base, value)
        else:
            out[key] = value
    return out


class Model(BaseModel):
    """Base of every spec model: camelCase keys, frozen, unknown keys named with a hint."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        # A model's validator is built when it is first used on its own, not at import: a stack validates its
        # clusters through its own targets' models, whose validators hold their nested models' schemas.
        defer_build=True,
    )

    # Defaults per environment, in the stack file's own (camelCase) shape, merged under what it says.
    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Mapping):
            return data
        env = (info.context or {}).get("environment", "dev")
        return cls._complete(deep_merge(cls.env_defaults.get(env, {}), data), data)

    @classmethod
    def _complete(cls, merged: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
        """What a model derives once the environment's defaults are in; nothing by default."""
        return merged

    @classmethod
    def keys(cls) -> list[str]:
        """The keys a stack file may use here, as it spells them."""
        return sorted(f.alias or n for n, f in cls.model_fields.items())

    def problems(self) -> Iterator[Problem]:
        """Cross-field rules the types cannot express; empty for most models."""
        return iter(())


def _default(model: type[Model], **values: Any) -> Any:
    """A nested model's default value, made without validation: calling the model would build its validator at
    import (`defer_build`) for a value written here once. `tests/test_spec_build.py` validates each of them."""
    return model.model_construct(**values)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise PydanticCustomError("cidr", "a network in CIDR form with no host bits set, e.g. 10.0.0.0/16") from None


Cidr = Annotated[str, AfterValidator(_cidr)]


def _interface(value: str) -> str:
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise PydanticCustomError("interface", "an address with its prefix, e.g. 192.168.10.21/24") from None
    if "/" not in value:
        raise PydanticCustomError("interface", "an address with its prefix, e.g. 192.168.10.21/24")
    return str(iface)


Interface = Annotated[str, AfterValidator(_interface)]


# --------------------------------------------------------------------------- nodes


class Taint(Model):
    key: syntax.TaintKey
    value: syntax.TaintValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(Model):
    """A group of identical nodes; the node autoscaler owns its size between min and max."""

    name: Name
    instance_types: list[Annotated[str, Field(min_length=2, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    min: Annotated[int, Field(ge=0, le=1000)] = 1
    max: Annotated[int, Field(ge=1, le=1000)] = 3
    spot: bool = False
    labels: dict[syntax.NodeLabelKey, syntax.LabelValue] = {}
    taints: list[Taint] = []
    zones: list[str] = []
    disk_size_gb: Annotated[int, Field(ge=20, le=16384)] = 50
    role: Literal["system", "workload"] = "workload"

    def problems(self) -> Iterator[Problem]:
        if self.min > self.max:
            yield Problem("max", self.max, f"an integer >= min ({self.min})")
        # The targets label every node with its pool and role; a pool may restate them, not contradict them.
        for key, own in (("orquestra.io/pool", self.name), ("orquestra.io/role", self.role)):
            if self.labels.get(key, own) != own:
                yield Problem(f'labels["{key}"]', self.labels[key], f"{own!r} (orquestra sets it to the pool's own)")
        # pkg/apis/core/validation/validation.go validateNodeTaints: "taints must be unique by key and effect pair".
        seen: set[tuple[str, str]] = set()
        for i, taint in enumerate(self.taints):
            if (taint.key, taint.effect) in seen:
                yield Problem(f"taints[{i}]", taint.key, "a key and effect pair not used by another taint of the pool")
            seen.add((taint.key, taint.effect))


# How many addresses the public API ranges may hold together, per family: anywhere, and in prod
# unless the cluster accepts the risk `wide-api-access`. Judged on the union, so that splitting a
# range (0.0.0.0/1 + 128.0.0.0/1) changes nothing. A /8 of IPv4 and a /32 of IPv6 (an ISP's
# allocation) are already far wider than any office or CI egress; prod allows a /16 and a /48.
API_ACCESS_BOUND: Mapping[int, int] = {4: 2**24, 6: 2**96}
PROD_API_ACCESS_BOUND: Mapping[int, int] = {4: 2**16, 6: 2**80}


def exposure(cidrs: Iterable[str]) -> dict[int, int]:
    """The number of addresses the union of `cidrs` holds, per IP version; overlaps count once."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    return {
        4: sum(n.num_addresses for n in ipaddress.collapse_addresses(v4)),
        6: sum(n.num_addresses for n in ipaddress.collapse_addresses(v6)),
    }


def _too_wide(cidrs: Iterable[str], bound: Mapping[int, int]) -> str | None:
    """What `allowed:` says when the ranges together hold more addresses than `bound`; None when they do not."""
    held = exposure(cidrs)
    over = [
        f"{held[4]:,} IPv4 addresses" if held[4] > bound[4] else "",
        f"a /{129 - held[6].bit_length()} of IPv6" if held[6] > bound[6] else "",
    ]
    if not any(over):
        return None
    return (
        f"ranges that together hold at most {bound[4]:,} IPv4 addresses (a /{33 - bound[4].bit_length()}) "
        f"and a /{129 - bound[6].bit_length()} of IPv6 (these hold {' and '.join(o for o in over if o)})"
    )


class ApiAccess(Model):
    """Who can reach the Kubernetes API. A public endpoint open to the world is never allowed."""

    private: bool = False
    public_cidrs: list[Cidr] = []

    def problems(self) -> Iterator[Problem]:
        for i, cidr in enumerate(self.public_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0:
                yield Problem(f"publicCidrs[{i}]", cidr, "a network narrower than /0 (the world may not reach the API)")
        if any(ipaddress.ip_network(c).prefixlen == 0 for c in self.public_cidrs):
            return
        wide = _too_wide(self.public_cidrs, API_ACCESS_BOUND)
        if wide:
            yield Problem("publicCidrs", self.public_cidrs, wide)
        if not self.private and not self.public_cidrs:
            yield Problem(
                "publicCidrs",
                [],
                "at least one CIDR allowed to reach a public API endpoint, or private: true",
            )


# A GitHub Actions runner label: what `runs-on` names for a self-hosted runner
# (https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/using-labels-with-self-hosted-runners).
RunnerLabel = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


class Hub(Model):
    """A network that exists before the stack, where the deployer's self-hosted runners run.

    The stack joins the cluster's network to it on the cluster's first deploy, so
    `pulumi up` reaches a private API endpoint with no step done by hand.
    """

    cidrs: list[Cidr] = Field(min_length=1)
    """The hub's address ranges the runners sit in: routed to the cluster and admitted by its API."""


class AwsHub(Hub):
    """Either a hub VPC to peer with (`vpcId` and its `routeTableIds`) or a transit gateway to attach to."""

    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    """A VPC in the cluster's account and region, peered with the cluster's VPC."""
    route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]] = []
    """The hub's route tables of the runners' subnets: each gets a route to the cluster's VPC."""
    transit_gateway_id: Annotated[str, Field(pattern=r"^tgw-[0-9a-f]{8,17}$")] | None = None
    """A transit gateway in the cluster's account and region (a site's VPN ends there in a hybrid stack)."""

    def problems(self) -> Iterator[Problem]:
        if (self.vpc_id is None) == (self.transit_gateway_id is None):
            yield Problem(
                "vpcId", self.vpc_id, "either vpcId (a hub VPC to peer with) or transitGatewayId, not both nor neither"
            )
        elif self.vpc_id is not None and not self.route_table_ids:
            yield Problem(
                "routeTableIds", [], "the hub's route tables of the runners' subnets, to route them to the cluster"
            )
        elif self.transit_gateway_id is not None and self.route_table_ids:
            yield Problem(
                "routeTableIds",
                self.route_table_ids,
                "none with transitGatewayId: the gateway's route table learns the cluster's VPC by propagation",
            )


class GcpHub(Hub):
    network: Annotated[
        str, Field(pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
    ]
    """`projects/<project>/global/networks/<name>`, peered with the cluster's network both ways."""


class AzureHub(Hub):
    vnet_id: Annotated[
        str,
        Field(
            pattern=r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w._()]{1,90}"
            r"/providers/Microsoft\.Network/virtualNetworks/[A-Za-z0-9][-A-Za-z0-9._]{0,62}[A-Za-z0-9_]$"
        ),
    ]
    """The hub VNet's resource id, peered with the cluster's VNet both ways."""
    private_dns_zone_id: (
        Annotated[
            str,
            Field(
                pattern=r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w._()]{1,90}"
                r"/providers/Microsoft\.Network/privateDnsZones/privatelink\.[a-z0-9]+\.azmk8s\.io$"
            ),
        ]
        | None
    ) = None
    """A `privatelink.<region>.azmk8s.io` zone the hub already resolves; unset, the stack creates one and links it
    to the hub VNet (AKS links it to the cluster's VNet and writes the API server's record)."""


class Deployer(Model):
    """Where `pulumi up` for this cluster runs from, so that it reaches the cluster's Kubernetes API.

    `runner` is the label of a self-hosted runner the CD job runs on; `cidrs` are that
    runner's egress ranges when the API endpoint is public (they must be among
    `apiAccess.publicCidrs`). A private endpoint is reached from a `hub` (on the
    targets that have one), which the stack peers with the cluster's network.
    """

    runner: RunnerLabel | None = None
    cidrs: list[Cidr] = []


class SiteDeployer(Model):
    """On-prem: the runner on the site's LAN that reaches the hosts over SSH and the API at `apiVip`."""

    runner: RunnerLabel


class AwsDeployer(Deployer):
    hub: AwsHub | None = None


class GcpDeployer(Deployer):
    hub: GcpHub | None = None


class AzureDeployer(Deployer):
    hub: AzureHub | None = None


class Network(Model):
    """Address plan. Pod and service ranges matter for VPC-native and overlay CNIs."""

    cidr: Cidr = "10.0.0.0/16"
    pod_cidr: Cidr = "10.100.0.0/16"
    service_cidr: Cidr = "10.200.0.0/20"
    zones: Annotated[int, Field(ge=1, le=6)] = 2

    def problems(self) -> Iterator[Problem]:
        nets = {"cidr": self.cidr, "podCidr": self.pod_cidr, "serviceCidr": self.service_cidr}
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
        for key, value in nets.items():
            net = ipaddress.ip_network(value)
            for other_key, other in seen:
                if net.overlaps(other):
                    yield Problem(key, value, f"a range that does not overlap {other_key} ({other})")
            seen.append((key, net))


# --------------------------------------------------------------------- platform


class Gateway(Model):
    enabled: bool = True
    public: bool = False
    """A public LoadBalancer is an explicit opt-in; the default entry point is internal."""
    address: syntax.Host | None = None
    """Where the internet reaches this gateway (an edge NAT's public IP, or a name that resolves to the gateway's
    load balancer): the target of a workload's global name and of its health checks (`expose.global`)."""


class Dns01(Model):
    """DNS-01 in a zone another provider hosts, for a cluster with no cloud identity of its own (on-prem, a cluster
    you already run, Tanzu): the stack creates that provider's credentials for cert-manager (`components/acmedns.py`).
    """

    provider: Literal["route53"]
    zone: syntax.HostName
    """The public hosted zone that holds every name the cluster's Gateway serves."""
    rotation: syntax.DnsLabel | None = None
    """A label of the solver's access key (e.g. `2026-12`): changing it makes `pulumi up` create a new key, hand it
    to cert-manager, then delete the old one."""


class CertManager(Model):
    enabled: bool = True
    issuer: Literal["acme", "internal-ca"] | None = None
    """Who signs the Gateway's certificates. Unset: ACME where it can prove the names (a public gateway by HTTP-01,
    or `dns.zone` by DNS-01 where the target has a solver), else a private CA of the cluster's own."""
    acme_email: syntax.Email | None = None
    """The ACME account's contact. Optional for Let's Encrypt (RFC 8555 section 7.3), which refuses example
    domains in it (`syntax.EMAIL`) and no longer mails expiry notices."""
    acme_server: Literal["staging", "production"] | None = None
    """Let's Encrypt's directory. Unset: production in a `prod` stack, staging elsewhere, whose roots are in no
    trust store (https://letsencrypt.org/docs/staging-environment/) but whose rate limits are far higher."""
    dns01: Dns01 | None = None


class Dns(Model):
    zone: syntax.HostName | None = None
    txt_owner_id: syntax.TxtOwnerId | None = None


class Platform(Model):
    """The platform services installed on the cluster; each can be switched off."""

    gateway: Gateway = _default(Gateway)
    cert_manager: CertManager = _default(CertManager)
    metrics_server: bool = True
    node_autoscaler: bool = True
    dns: Dns = _default(Dns)


# ----------------------------------------------------------------------- clusters


RiskRule: TypeAlias = Literal[
    "single-zone",
    "single-nat-gateway",
    "zonal-control-plane",
    "free-tier",
    "no-node-autoscaler",
    "wide-api-access",
    "single-server",
    "root-ssh",
    "zero-requests",
    "unanalysed-rollout",
]


class AcceptedRisk(Model):
    """A prod lock-down rule a cluster or workload knowingly breaks, and why; every plan prints it."""

    rule: RiskRule
    reason: syntax.Reason


@dataclass(frozen=True)
class Risk:
    """A prod lock-down rule broken: refused in prod unless the object accepts it by name (`acceptedRisks`)."""

    rule: RiskRule
    path: str
    value: Any
    allowed: str


class ClusterBase(Model):
    """What every target shares. Subclasses set `target` and their environment defaults."""

    target: str
    name: Name
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")] = ""
    node_pools: list[NodePool] = Field(default_factory=list, max_length=20)
    deletion_protection: bool = False
    renamed_from: Name | None = None
    """The cluster's previous name: every resource of it is aliased, so a rename moves nothing."""
    tags: dict[str, syntax.TagValue] = {}
    platform: Platform = _default(Platform)
    accepted_risks: list[AcceptedRisk] = []
    """Prod lock-down rules this cluster breaks on purpose, each with its reason."""
    _vpn_sites: "tuple[Site, ...]" = PrivateAttr(default=())
    _workload_images: tuple[str, ...] = PrivateAttr(default=())

    # Instance type used by a node pool that names none, per environment.
    default_instance_type: ClassVar[Mapping[str, str]] = {}
    # The syntax of a node pool's instance types and zones on this target (None: not checked here).
    instance_type_syntax: ClassVar[syntax.Syntax | None] = None
    zone_syntax: ClassVar[syntax.Syntax | None] = None
    tag_key_syntax: ClassVar[syntax.Syntax] = syntax.TAG_KEY
    # Environments in which the target admits container images by the name written (GKE's Binary Authorization in
    # prod): a workload placed there names its image's registry, as the admission policy does.
    images_admitted_by_name_in: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _complete(cls, merged: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
        if not merged.get("kubernetesVersion"):
            merged["kubernetesVersion"] = REGISTRY[str(merged.get("target"))].default_version
        # A stack that lists its own pools replaces the environment's, whole.
        if "nodePools" in given:
            merged["nodePools"] = given["nodePools"]
        return merged

    @model_validator(mode="after")
    def _instance_types(self, info: ValidationInfo) -> "ClusterBase":
        if not self.default_instance_type:
            return self
        env = (info.context or {}).get("environment", "dev")
        default = self.default_instance_type.get(env) or self.default_instance_type["dev"]
        pools = [
            pool if pool.instance_types else pool.model_copy(update={"instance_types": [default]})
            for pool in self.node_pools
        ]
        object.__setattr__(self, "node_pools", pools)
        return self

    @property
    def vpn_sites(self) -> "tuple[Site, ...]":
        """The declared sites whose VPN ends in this cluster's network, set by `parse`: a target whose routes are
        one resource with the network's own (OCI's route tables) routes the sites' ranges as it builds the network,
        before the links (`components/sites.py`) exist."""
        return self._vpn_sites

    @property
    def workload_images(self) -> tuple[str, ...]:
        """The images of the stack's workloads placed on this cluster, set by `parse`: a target that admits images
        by name (GKE's Binary Authorization) admits these when it builds the cluster, before the workloads exist."""
        return self._workload_images

    @property
    def acme_challenge(self) -> Literal["http01", "dns01"] | None:
        """How ACME can prove this cluster's names, if at all.

        DNS-01 through the cloud's DNS in `dns.zone` wherever the target has a solver: it proves a name whichever
        cluster DNS sends its clients to (a global name's, `expose.global`). Else HTTP-01, which needs Let's
        Encrypt to reach the Gateway, so only a public one.
        Source: https://letsencrypt.org/docs/challenge-types/
        """
        if self.platform.cert_manager.dns01 is not None or (
            self.platform.dns.zone and REGISTRY[self.target].acme_dns01
        ):
            return "dns01"
        if self.platform.gateway.enabled and self.platform.gateway.public:
            return "http01"
        return None

    @property
    def certificate_issuer(self) -> Literal["acme", "internal-ca"]:
        return self.platform.cert_manager.issuer or ("acme" if self.acme_challenge else "internal-ca")

    @property
    def acme_zone(self) -> str | None:
        """The zone DNS-01 writes its challenges to: `certManager.dns01.zone`, else the cloud's `dns.zone`."""
        dns01 = self.platform.cert_manager.dns01
        return dns01.zone if dns01 is not None else self.platform.dns.zone

    def problems(self) -> Iterator[Problem]:
        cert_manager = self.platform.cert_manager
        if cert_manager.dns01 is not None and REGISTRY[self.target].acme_dns01:
            yield Problem(
                "platform.certManager.dns01",
                cert_manager.dns01.provider,
                f"unset on {self.target}: its own DNS-01 solver ({REGISTRY[self.target].acme_dns01}) proves names in "
                "platform.dns.zone",
            )
        if cert_manager.dns01 is not None and not self.platform.gateway.enabled:
            yield Problem(
                "platform.certManager.dns01",
                cert_manager.dns01.provider,
                "unset with platform.gateway.enabled: false (its key may prove only the Gateway's names)",
            )
        if cert_manager.dns01 is not None and cert_manager.issuer == "internal-ca":
            yield Problem(
                "platform.certManager.dns01",
                cert_manager.dns01.provider,
                "unset with platform.certManager.issuer: internal-ca (DNS-01 serves only ACME)",
            )
        if cert_manager.enabled and cert_manager.issuer == "acme" and self.acme_challenge is None:
            dns = (
                f"platform.dns.zone (DNS-01 by {REGISTRY[self.target].acme_dns01})"
                if REGISTRY[self.target].acme_dns01
                else "platform.certManager.dns01 (DNS-01 in a Route 53 zone)"
            )
            yield Problem(
                "platform.certManager.issuer",
                "acme",
                f"internal-ca, or a way for ACME to prove names: platform.gateway.public: true (HTTP-01); {dns}",
            )
        supported = REGISTRY[self.target].versions
        if self.kubernetes_version not in supported:
            yield Problem(
                "kubernetesVersion", self.kubernetes_version, f"one of {', '.join(supported)} on {self.target}"
            )
        seen: set[str] = set()
        for i, pool in enumerate(self.node_pools):
            if pool.name in seen:
                yield Problem(f"nodePools[{i}].name", pool.name, "a name not used by another pool of this cluster")
            seen.add(pool.name)
            for p in pool.problems():
                yield Problem(f"nodePools[{i}].{p.path}", p.value, p.allowed)
            for key, values, rule in (
                ("instanceTypes", pool.instance_types, self.instance_type_syntax),
                ("zones", pool.zones, self.zone_syntax),
            ):
                for j, value in enumerate(values):
                    if rule is not None and not rule.ok(value):
                        yield Problem(f"nodePools[{i}].{key}[{j}]", value, f"{rule.allowed} on {self.target}")
        for key in self.tags:
            if not self.tag_key_syntax.ok(key):
                yield Problem(f"tags{_key(key)}", key, f"{self.tag_key_syntax.allowed} on {self.target}")

    def risks(self) -> Iterator[Risk]:
        """The prod lock-down rules this cluster breaks, whether or not it accepts them."""
        return iter(())

    @property
    def networks(self) -> Mapping[str, str]:
        """The ranges this cluster routes beyond itself, by key path: no peer may use them (`_address_plan`)."""
        return {}

    @property
    def local_networks(self) -> Mapping[str, str]:
        """The ranges that never leave the cluster (services; overlay pods): only a peer's routed range collides."""
        return {}


def _pools(min_: int, max_: int, *, system: bool = False) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = [{"name": "general", "min": min_, "max": max_}]
    if system:
        pools.insert(
            0,
            {
                "name": "system",
                "min": 2,
                "max": 3,
                "role": "system",
                "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
            },
        )
    return pools


_LOCKED_DOWN = {"deletionProtection": True, "apiAccess": {"private": True}}


class CloudCluster(ClusterBase):
    """Targets that own their network and API endpoint."""

    region: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z0-9-]+$")]
    network: Network = _default(Network)
    api_access: ApiAccess = _default(ApiAccess)
    deployer: Deployer | None = None

    hub_kind: ClassVar[str | None] = None
    """What a hub is on this target, for the line that asks for one; None when the API is never private."""

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        for p in self.network.problems():
            yield Problem(f"network.{p.path}", p.value, p.allowed)
        for p in self.api_access.problems():
            yield Problem(f"apiAccess.{p.path}", p.value, p.allowed)
        yield from self.reach()
        for i, pool in enumerate(self.node_pools):
            if pool.max < self.network.zones and pool.role == "system" and self.deletion_protection:
                yield Problem(
                    f"nodePools[{i}].max", pool.max, f">= network.zones ({self.network.zones}) for a system pool"
                )

    # Whether pods take addresses the network routes (VPC-native) rather than an overlay's, SNAT-ed at the node.
    routed_pods: ClassVar[bool] = False

    @property
    def networks(self) -> Mapping[str, str]:
        routed = {"network.cidr": self.network.cidr}
        return {**routed, "network.podCidr": self.network.pod_cidr} if self.routed_pods else routed

    @property
    def local_networks(self) -> Mapping[str, str]:
        local = {"network.serviceCidr": self.network.service_cidr}
        return local if self.routed_pods else {"network.podCidr": self.network.pod_cidr, **local}

    def reach(self) -> Iterator[Problem]:
        """Whether `pulumi up` can reach the Kubernetes API from the declared deployer, on the first deploy too.

        A private endpoint answers only inside the cluster's network and networks
        joined to it; that network is created by the same `pulumi up`, so no runner
        can be in it beforehand: the runner sits in a hub the stack joins it to.
        """
        deployer = self.deployer
        hub: Hub | None = getattr(deployer, "hub", None)
        if self.api_access.private:
            if hub is None and self.hub_kind is not None:
                yield Problem(
                    "deployer.hub",
                    None,
                    f"{self.hub_kind}, with deployer.runner a self-hosted runner in it: a private API endpoint "
                    "answers only from a network joined to the cluster's, which does not exist before its first deploy",
                    present=False,
                )
            if deployer is not None and deployer.cidrs:
                yield Problem(
                    "deployer.cidrs", deployer.cidrs, "none: a private API endpoint is reached from deployer.hub"
                )
            if hub is not None and deployer is not None and deployer.runner is None:
                yield Problem(
                    "deployer.runner", None, "the label of a self-hosted runner in deployer.hub", present=False
                )
        elif deployer is not None:
            if hub is not None:
                yield Problem(
                    "deployer.hub",
                    "a mapping",
                    "none on a public API endpoint (deployer.cidrs are the runner's egress ranges there), "
                    "or apiAccess.private: true",
                )
            allowed = [ipaddress.ip_network(c) for c in self.api_access.public_cidrs]
            for i, cidr in enumerate(deployer.cidrs):
                net = ipaddress.ip_network(cidr)
                if not any(net.version == a.version and net.subnet_of(a) for a in allowed):  # type: ignore[arg-type]
                    yield Problem(
                        f"deployer.cidrs[{i}]",
                        cidr,
                        f"a range inside apiAccess.publicCidrs ({', '.join(self.api_access.public_cidrs)}), "
                        "or the endpoint refuses the runner",
                    )
            if deployer.cidrs and deployer.runner is None:
                yield Problem(
                    "deployer.runner",
                    None,
                    "the label of the self-hosted runner whose egress ranges deployer.cidrs are",
                    present=False,
                )
        if hub is None:
            return
        for p in hub.problems():
            yield Problem(f"deployer.hub.{p.path}", p.value, p.allowed)
        owned = {
            "network.cidr": self.network.cidr,
            "network.podCidr": self.network.pod_cidr,
            "network.serviceCidr": self.network.service_cidr,
        }
        for j, cidr in enumerate(hub.cidrs):
            for key, value in owned.items():
                if ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(value)):
                    yield Problem(
                        f"deployer.hub.cidrs[{j}]",
                        cidr,
                        f"a range that does not overlap {key} ({value}): joined networks route by destination",
                    )

    def risks(self) -> Iterator[Risk]:
        if self.network.zones == 1:
            yield Risk(
                "single-zone", "network.zones", 1, "at least 2 zones (a zone outage would take the cluster down)"
            )
        cidrs = self.api_access.public_cidrs
        # Ranges past the bound for every environment are an error of their own (ApiAccess.problems).
        if not self.api_access.private and not _too_wide(cidrs, API_ACCESS_BOUND):
            wide = _too_wide(cidrs, PROD_API_ACCESS_BOUND)
            if wide:
                yield Risk("wide-api-access", "apiAccess.publicCidrs", cidrs, wide)


class ExistingVpc(Model):
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=2)
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []


class AwsSpec(CloudCluster):
    target: Literal["aws"]
    region: syntax.AwsRegion

    node_autoscaler: Literal["karpenter", "cluster-autoscaler"] = "karpenter"
    pod_identity: Literal["eks-pod-identity", "irsa"] = "eks-pod-identity"
    nat_gateways: Literal["single", "per-zone"] = "single"
    existing_vpc: ExistingVpc | None = None
    admin_role_arns: list[syntax.AwsRoleArn] = []
    kms_key_arn: syntax.AwsKmsKeyArn | None = None
    deployer: AwsDeployer | None = None

    hub_kind: ClassVar[str | None] = "a hub (a VPC to peer with, or a transit gateway to attach to)"

    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.AWS_INSTANCE_TYPE
    zone_syntax: ClassVar[syntax.Syntax | None] = syntax.AWS_ZONE
    tag_key_syntax: ClassVar[syntax.Syntax] = syntax.AWS_TAG_KEY

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"network": {"zones": 2}, "natGateways": "single", "nodePools": _pools(1, 3)},
        "staging": {"network": {"zones": 3}, "natGateways": "single", "nodePools": _pools(2, 6)},
        "prod": {
            **_LOCKED_DOWN,
            "network": {"zones": 3},
            "natGateways": "per-zone",
            "nodePools": _pools(3, 12, system=True),
        },
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "t3.large",
        "staging": "m6i.large",
        "prod": "m6i.large",
    }

    @property
    def local_networks(self) -> Mapping[str, str]:
        # The VPC CNI gives pods addresses of the VPC's own subnets (network.cidr); network.podCidr is not used.
        # Source: https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html
        return {"network.serviceCidr": self.network.service_cidr}

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        # "The KMS key must be in the same AWS Region as the cluster"
        # (https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html).
        if self.kms_key_arn and self.kms_key_arn.split(":")[3] != self.region:
            yield Problem("kmsKeyArn", self.kms_key_arn, f"a KMS key in the cluster's region ({self.region})")
        if self.existing_vpc is not None and self.deployer is not None and self.deployer.hub is not None:
            yield Problem(
                "deployer.hub",
                "a mapping",
                "none with existingVpc: joining a hub routes from the VPC's route tables, which this stack does not "
                "own; run the deployer inside that VPC with the API public to its ranges (deployer.cidrs), or let "
                "the stack create the VPC",
            )

    def risks(self) -> Iterator[Risk]:
        yield from super().risks()
        if self.nat_gateways == "single" and self.existing_vpc is None and self.network.zones > 1:
            yield Risk(
                "single-nat-gateway",
                "natGateways",
                "single",
                "per-zone (with one NAT gateway, its zone's outage cuts every node's egress)",
            )
        if not self.platform.node_autoscaler and self.node_autoscaler == "cluster-autoscaler":
            yield Risk(
                "no-node-autoscaler",
                "platform.nodeAutoscaler",
                False,
                "true (with no node autoscaler, pods that do not fit stay pending)",
            )


class MaintenanceWindow(Model):
    """A weekly window, UTC, in which the provider may upgrade the control plane and nodes."""

    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "sunday"
    start: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "03:00"
    hours: Annotated[int, Field(ge=4, le=24)] = 4


class GcpSpec(CloudCluster):
    target: Literal["gcp"]
    # VPC-native: pods take alias IPs from the subnet's secondary range, routed by the VPC and its peers.
    # Source: https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips
    routed_pods: ClassVar[bool] = True
    region: syntax.GcpRegion
    project: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
    regional: bool = False
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    master_cidr: Cidr = "172.16.0.0/28"
    # GKE wants 48 h of maintenance availability in any 32 days: 4 weekly windows of 12 h.
    maintenance: MaintenanceWindow = _default(MaintenanceWindow, hours=12)
    deployer: GcpDeployer | None = None

    hub_kind: ClassVar[str | None] = "a hub network to peer with"

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"regional": False, "nodePools": _pools(1, 3)},
        "staging": {"regional": True, "network": {"zones": 3}, "nodePools": _pools(1, 4)},
        "prod": {
            **_LOCKED_DOWN,
            "regional": True,
            "network": {"zones": 3},
            "releaseChannel": "STABLE",
            "nodePools": _pools(1, 8, system=True),
        },
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "e2-standard-2",
        "staging": "n2-standard-2",
        "prod": "n2-standard-4",
    }
    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.GCP_MACHINE_TYPE
    zone_syntax: ClassVar[syntax.Syntax | None] = syntax.GCP_ZONE
    images_admitted_by_name_in: ClassVar[frozenset[str]] = frozenset({"prod"})

    def risks(self) -> Iterator[Risk]:
        if not self.regional:
            # A zonal cluster has one control-plane replica and its nodes in one zone
            # (https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters).
            yield Risk("zonal-control-plane", "regional", False, "true (a zonal cluster has one control plane)")
            yield from (r for r in super().risks() if r.rule != "single-zone")
        else:
            yield from super().risks()


class AzureSpec(CloudCluster):
    target: Literal["azure"]
    region: syntax.AzureLocation
    resource_group: syntax.AzureResourceGroup | None = None
    tier: Literal["Free", "Standard", "Premium"] = "Free"
    admin_group_object_ids: list[
        Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    ] = []
    local_accounts: bool = True
    maintenance: MaintenanceWindow = _default(MaintenanceWindow)
    deployer: AzureDeployer | None = None
    dns_resource_group: syntax.AzureResourceGroup | None = None
    """The resource group of the Azure DNS zone `platform.dns.zone`, in the deployer's subscription."""

    hub_kind: ClassVar[str | None] = "a hub VNet to peer with"

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"nodePools": _pools(1, 3, system=True)},
        "staging": {"tier": "Standard", "network": {"zones": 3}, "nodePools": _pools(2, 6, system=True)},
        "prod": {
            **_LOCKED_DOWN,
            "tier": "Standard",
            "localAccounts": False,
            "network": {"zones": 3},
            "nodePools": _pools(3, 12, system=True),
        },
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "Standard_D2s_v5",
        "staging": "Standard_D4s_v5",
        "prod": "Standard_D4s_v5",
    }
    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.AZURE_VM_SIZE
    zone_syntax: ClassVar[syntax.Syntax | None] = syntax.AZURE_ZONE
    tag_key_syntax: ClassVar[syntax.Syntax] = syntax.AZURE_TAG_KEY

    def risks(self) -> Iterator[Risk]:
        yield from super().risks()
        if self.tier == "Free":
            # The Free tier has no uptime SLA (https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers).
            yield Risk("free-tier", "tier", "Free", "Standard or Premium (the Free tier has no uptime SLA)")


class DigitalOceanSpec(CloudCluster):
    target: Literal["digitalocean"]
    # VPC-native (cluster_subnet, targets/digitalocean/control_plane.py): pod addresses are routed in the VPC.
    # Source: https://docs.digitalocean.com/products/kubernetes/details/features/
    routed_pods: ClassVar[bool] = True
    region: syntax.DoRegion
    ha: bool = False
    registry: bool = False
    auto_upgrade: bool = True
    surge_upgrade: bool = True
    maintenance: MaintenanceWindow = _default(MaintenanceWindow)
    dns_token: SecretStr | None = None
    """A DigitalOcean API token that may edit the DNS domain `platform.dns.zone`, for cert-manager's DNS-01 solver
    (a secret: pulumi config set --secret --path)."""

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"network": {"zones": 1}, "nodePools": _pools(1, 3)},
        "staging": {"network": {"zones": 1}, "nodePools": _pools(2, 5)},
        # DOKS has no private-only endpoint; prod restricts it by firewall instead.
        "prod": {"deletionProtection": True, "ha": True, "network": {"zones": 1}, "nodePools": _pools(3, 10)},
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "s-2vcpu-4gb",
        "staging": "s-4vcpu-8gb",
        "prod": "s-4vcpu-8gb",
    }
    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.DO_SIZE

    def risks(self) -> Iterator[Risk]:
        # A DigitalOcean region has no zones to spread over; its HA control plane is a policy of its own.
        return (r for r in super().risks() if r.rule != "single-zone")


class FlexShape(Model):
    """OCPUs and memory of a flexible shape (VM.Standard.E5.Flex): on OCI these, not the shape name, size a node."""

    ocpus: Annotated[int, Field(ge=1, le=512)] = 2
    memory_gbs: Annotated[int, Field(ge=1, le=4096)] = 16


class OciExistingVcn(Model):
    """A VCN the cluster joins instead of creating one; its subnets and rules must already admit OKE's traffic."""

    vcn_id: syntax.OciVcnId
    worker_subnet_id: syntax.OciSubnetId
    api_subnet_id: syntax.OciSubnetId
    lb_subnet_id: syntax.OciSubnetId


class OciHub(Hub):
    """A DRG the hub VCN is attached to: the stack attaches the cluster's VCN to it as well."""

    drg_id: syntax.OciDrgId
    """A DRG in the cluster's region; its default route table for VCN attachments imports every attached VCN's
    CIDR, so the hub learns the cluster's VCN with no rule added per cluster (components/targets/oci/deployer.py)."""


class OciDeployer(Deployer):
    hub: OciHub | None = None


class OciSpec(CloudCluster):
    target: Literal["oci"]
    region: syntax.OciRegion
    compartment_id: syntax.OciCompartmentId
    shape: FlexShape = _default(FlexShape)
    """The OCPUs and memory of every pool on a flexible shape, unless `poolShapes` names the pool."""
    pool_shapes: dict[Name, FlexShape] = {}
    existing_vcn: OciExistingVcn | None = None
    kms_key_id: syntax.OciKeyId | None = None
    """A Vault key of your own for Kubernetes Secrets; unset, the cluster gets a vault and key of its own."""
    image_signing_key_ids: list[syntax.OciKeyId] = Field(default_factory=list, max_length=5)
    """Vault keys whose signatures an image must carry to run (OKE image verification); [] leaves it off."""
    deployer: OciDeployer | None = None

    hub_kind: ClassVar[str | None] = "a hub DRG to attach the cluster's VCN to"

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"network": {"zones": 1}, "shape": {"ocpus": 1, "memoryGbs": 8}, "nodePools": _pools(1, 3)},
        "staging": {"network": {"zones": 3}, "shape": {"ocpus": 2, "memoryGbs": 16}, "nodePools": _pools(2, 6)},
        "prod": {
            **_LOCKED_DOWN,
            "network": {"zones": 3},
            "shape": {"ocpus": 2, "memoryGbs": 16},
            "nodePools": _pools(3, 12, system=True),
        },
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "VM.Standard.E5.Flex",
        "staging": "VM.Standard.E5.Flex",
        "prod": "VM.Standard.E5.Flex",
    }
    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.OCI_SHAPE
    zone_syntax: ClassVar[syntax.Syntax | None] = syntax.OCI_AD

    def shape_of(self, pool: NodePool) -> FlexShape:
        return self.pool_shapes.get(pool.name, self.shape)

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        names = {pool.name for pool in self.node_pools}
        for name in self.pool_shapes:
            if name not in names:
                yield Problem(f"poolShapes.{name}", name, f"the name of a node pool ({', '.join(sorted(names))})")
        if self.existing_vcn is not None and self.deployer is not None and self.deployer.hub is not None:
            yield Problem(
                "deployer.hub",
                "a mapping",
                "none with existingVcn: joining a hub routes from the VCN's route tables, which this stack does not "
                "own; run the deployer inside that VCN, or let the stack create the VCN",
            )


# ------------------------------------------------------------------------ on-prem


class SshAccess(Model):
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "ubuntu"
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    private_key: SecretStr
    # An authorized_keys line: type, base64 key, an optional one-word comment (sshd(8), AUTHORIZED_KEYS FILE FORMAT).
    public_key: (
        Annotated[
            str, Field(pattern=r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [!-~]+)?$")
        ]
        | None
    ) = None
    """Authorized on Proxmox VMs by cloud-init; inventory hosts and vSphere templates already trust the key."""


class InventoryHost(Model):
    name: Name
    address: str
    pool: Name | None = None
    """The node pool this host joins as an agent; servers leave it unset."""

    @field_validator("address")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            raise PydanticCustomError("ip", "an IP address such as 192.168.10.11") from None


class InventoryMachines(Model):
    source: Literal["inventory"]
    servers: list[InventoryHost] = Field(min_length=1)
    agents: list[InventoryHost] = []


class ProxmoxMachines(Model):
    source: Literal["proxmox"]
    endpoint: syntax.HttpsUrl
    node: syntax.PveNode
    # PVE::JSONSchema pve-vmid: 100 to 999999999.
    template_vm_id: Annotated[int, Field(ge=100, le=999_999_999)]
    datastore: syntax.PveStorage = "local-lvm"
    bridge: syntax.PveBridge = "vmbr0"
    addresses: list[Interface] = Field(min_length=1)
    """Static addresses (with prefix) handed to VMs in order: servers first, then agents."""
    gateway: str
    cores: Annotated[int, Field(ge=1, le=128)] = 4
    memory_mb: Annotated[int, Field(ge=1024, le=1048576)] = 8192


class VsphereMachines(Model):
    source: Literal["vsphere"]
    server: syntax.Host
    datacenter: syntax.VsphereName
    cluster: syntax.VsphereName
    datastore: syntax.VsphereName
    network: syntax.VsphereName
    template: syntax.VsphereName
    addresses: list[Interface] = Field(min_length=1)
    gateway: str
    cores: Annotated[int, Field(ge=1, le=128)] = 4
    memory_mb: Annotated[int, Field(ge=1024, le=1048576)] = 8192


Machines = Annotated[InventoryMachines | ProxmoxMachines | VsphereMachines, Field(discriminator="source")]


def _address_range(value: str) -> bool:
    """A MetalLB pool entry: a CIDR, or `first-last` addresses of one family in order."""
    try:
        ipaddress.ip_network(value, strict=True)
        return True
    except ValueError:
        pass
    first, sep, last = value.partition("-")
    try:
        a, b = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    except ValueError:
        return False
    return bool(sep) and a.version == b.version and int(a) <= int(b)


class OnpremSpec(ClusterBase):
    target: Literal["onprem"]
    machines: Machines
    ssh: SshAccess
    servers: Annotated[int, Field(ge=1, le=7)] = 1
    # to_camel would spell it k3SVersion.
    k3s_version: Annotated[str, Field(pattern=r"^v1\.[0-9]{2}\.[0-9]+\+k3s[0-9]+$")] | None = Field(
        default=None, alias="k3sVersion"
    )
    api_vip: str
    load_balancer_pool: list[str] = Field(min_length=1)
    airgap: bool = False
    registry_mirror: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$")] | None = None
    """`host[:port]` of a registry every node pulls all images through (HTTPS); required when air-gapped."""
    network: Network = _default(Network, cidr="10.42.0.0/16", pod_cidr="10.43.0.0/16", service_cidr="10.44.0.0/16")
    deployer: SiteDeployer | None = None
    """Unset, the cluster is deployed from a machine on the site's LAN by hand; CD does not reach it."""
    site: Name | None = None
    """The declared site (`orquestra:sites`) whose LAN holds `network.cidr`: its VPNs carry this cluster's traffic."""

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"servers": 1},
        "staging": {"servers": 3},
        "prod": {"servers": 3, "deletionProtection": True},
    }

    @model_validator(mode="after")
    def _pinned_k3s(self) -> "OnpremSpec":
        # The pinned release of the minor (`components/pins.py`) when a stack pins none.
        if self.k3s_version is None and self.kubernetes_version in K3S_RELEASES:
            object.__setattr__(self, "k3s_version", K3S_RELEASES[self.kubernetes_version])
        return self

    @property
    def networks(self) -> Mapping[str, str]:
        return {"network.cidr": self.network.cidr}

    @property
    def local_networks(self) -> Mapping[str, str]:
        # k3s's flannel VXLAN overlay: pod addresses leave a node only encapsulated or SNAT-ed.
        return {"network.podCidr": self.network.pod_cidr, "network.serviceCidr": self.network.service_cidr}

    def risks(self) -> Iterator[Risk]:
        if self.servers == 1:
            yield Risk("single-server", "servers", 1, "3 or more (one server is one machine away from losing etcd)")
        if self.ssh.user == "root":
            yield Risk("root-ssh", "ssh.user", "root", "a user other than root that may sudo (a leaked key is root)")

    @property
    def agent_counts(self) -> dict[str, int]:
        """Agents per node pool. On-prem has no node autoscaler: a VM source creates `min` of each pool."""
        if isinstance(self.machines, InventoryMachines):
            counts: dict[str, int] = {}
            for host in self.machines.agents:
                counts[host.pool or ""] = counts.get(host.pool or "", 0) + 1
            return counts
        return {pool.name: pool.min for pool in self.node_pools}

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        if self.servers % 2 == 0:
            yield Problem("servers", self.servers, "an odd number (etcd needs a majority)")
        if self.airgap and self.registry_mirror is None:
            # Staged artifacts hold k3s's own images only; kube-vip and the platform charts pull the rest.
            yield Problem(
                "registryMirror",
                None,
                "the host[:port] of a registry the nodes reach that mirrors kube-vip's and the platform's images "
                "(airgap: true)",
            )
        for p in self.network.problems():
            yield Problem(f"network.{p.path}", p.value, p.allowed)
        minor = re.match(r"^v(1\.\d+)\.", self.k3s_version or "")
        if minor and minor.group(1) != self.kubernetes_version:
            yield Problem(
                "k3sVersion",
                self.k3s_version,
                f"a k3s release of kubernetesVersion {self.kubernetes_version} (upgrade one minor at a time: "
                "raise kubernetesVersion and k3sVersion together)",
            )
        try:
            vip = ipaddress.ip_address(self.api_vip)
        except ValueError:
            vip = None
            yield Problem("apiVip", self.api_vip, "an IP address such as 192.168.10.10")
        for i, entry in enumerate(self.load_balancer_pool):
            if not _address_range(entry):
                yield Problem(
                    f"loadBalancerPool[{i}]",
                    entry,
                    "a CIDR (192.168.10.64/27) or an address range (192.168.10.200-192.168.10.250)",
                )
            elif vip is not None and _in_range(vip, entry):
                yield Problem(f"loadBalancerPool[{i}]", entry, f"a range that does not contain apiVip ({vip})")
        machines = self.machines
        hosts: list[str]
        if isinstance(machines, InventoryMachines):
            hosts = [h.address for h in (*machines.servers, *machines.agents)]
            if len(machines.servers) != self.servers:
                yield Problem(
                    "machines.servers", f"{len(machines.servers)} hosts", f"exactly servers ({self.servers}) hosts"
                )
            pools = {p.name for p in self.node_pools}
            for i, host in enumerate(machines.agents):
                if host.pool is not None and host.pool not in pools:
                    yield Problem(
                        f"machines.agents[{i}].pool",
                        host.pool,
                        f"the name of a node pool ({', '.join(sorted(pools)) or 'none defined'})",
                    )
        else:
            hosts = [str(ipaddress.ip_interface(a).ip) for a in machines.addresses]
            needed = self.servers + sum(self.agent_counts.values())
            if len(machines.addresses) < needed:
                yield Problem(
                    "machines.addresses",
                    f"{len(machines.addresses)} addresses",
                    f"at least {needed} (servers, then each node pool's min)",
                )
            try:
                ipaddress.ip_address(machines.gateway)
            except ValueError:
                yield Problem("machines.gateway", machines.gateway, "an IP address such as 192.168.10.1")
            subnet = ipaddress.ip_interface(machines.addresses[0]).network
            if vip is not None and vip not in subnet:
                yield Problem(
                    "apiVip", self.api_vip, f"an address in the servers' subnet {subnet} (kube-vip answers ARP)"
                )
        if vip is not None and str(vip) in hosts:
            yield Problem("apiVip", self.api_vip, "an address no machine uses (kube-vip moves it between servers)")
        if len(set(hosts)) != len(hosts):
            yield Problem("machines", "[...]", "each address used by one machine")


def _in_range(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    if "-" in entry:
        first, last = (ipaddress.ip_address(x.strip()) for x in entry.split("-", 1))
        return first.version == address.version and int(first) <= int(address) <= int(last)
    return address in ipaddress.ip_network(entry)


# ----------------------------------------------------------------------- existing


class ExistingSpec(ClusterBase):
    """A cluster you already have: kind, minikube, k3d, Docker Desktop, or any kubeconfig."""

    target: Literal["existing"]
    kubeconfig_path: syntax.FilePath | None = None
    kubeconfig: SecretStr | None = None
    context: syntax.KubeContext | None = None
    load_balancer: Literal["cloud", "metallb", "none"] = "none"
    load_balancer_pool: list[str] = []
    storage_class: syntax.DnsSubdomain = "standard"
    # Values of the nodes' topology.kubernetes.io/zone label.
    zones: list[syntax.LabelValue] = []
    self_signed_kubelet: bool = True
    """kind, k3d and minikube serve kubelet metrics with self-signed certificates."""

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        if (self.kubeconfig_path is None) == (self.kubeconfig is None):
            yield Problem(
                "kubeconfigPath",
                self.kubeconfig_path,
                "exactly one of kubeconfigPath or kubeconfig (a secret: pulumi config set --secret --path)",
            )
        for i, entry in enumerate(self.load_balancer_pool):
            if not _address_range(entry):
                yield Problem(
                    f"loadBalancerPool[{i}]",
                    entry,
                    "a CIDR (172.18.255.192/27) or an address range (172.18.255.200-172.18.255.250)",
                )
        if self.load_balancer == "metallb" and not self.load_balancer_pool:
            yield Problem(
                "loadBalancerPool", [], "at least one address range for MetalLB, e.g. 172.18.255.200-172.18.255.250"
            )
        if self.node_pools:
            yield Problem("nodePools", "[...]", "no node pools: an existing cluster's nodes are not managed here")


# -------------------------------------------------------------------------- tanzu


class TanzuSpec(ClusterBase):
    """A workload cluster that vSphere with Tanzu (the TKG Service on a Supervisor) builds from Cluster API objects.

    The program holds the vSphere Namespace's kubeconfig and applies a `Cluster` with a ClusterClass topology
    there; the Supervisor's controllers create the VMs. Pools name a VM class (`instanceTypes`, one) and at most
    one vSphere Zone (`zones`, the machine deployment's failure domain).
    """

    target: Literal["tanzu"]
    management_kubeconfig: SecretStr
    """A kubeconfig of the Supervisor for `namespace` (pulumi config set --secret --path): a token that does not
    expire within a deployment, such as a ServiceAccount's of the vSphere Namespace."""
    context: syntax.KubeContext | None = None
    namespace: syntax.DnsLabel
    """The vSphere Namespace the cluster's objects go in."""
    deployer: SiteDeployer | None = None
    """The runner on a network where the Supervisor's API and the workload cluster's load-balanced API answer;
    without one, CD cannot reach the cluster (`preflight/pipeline.py`)."""
    cluster_class: syntax.DnsSubdomain = "tanzukubernetescluster"
    control_plane_replicas: Annotated[int, Field(ge=1, le=7)] = 1
    control_plane_vm_class: syntax.DnsSubdomain = "best-effort-medium"
    storage_class: syntax.DnsSubdomain
    """The Kubernetes name of a vSphere storage policy assigned to the Namespace: node disks and the default class."""
    load_balancer: Literal["supervisor", "metallb"] = "supervisor"
    """`supervisor`: the Supervisor's NSX or Avi load balancer serves LoadBalancer Services through the cluster's
    cloud provider; `metallb`: addresses of `loadBalancerPool` on the workload network."""
    load_balancer_pool: list[str] = []
    pod_security: Literal["restricted", "baseline", "privileged"] = "baseline"
    """The Pod Security Standard the cluster enforces by default (namespaces may set their own)."""
    pod_cidr: Cidr = "192.168.0.0/16"
    service_cidr: Cidr = "10.96.0.0/12"

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"controlPlaneReplicas": 1, "nodePools": _pools(1, 3)},
        "staging": {"controlPlaneReplicas": 3, "nodePools": _pools(2, 5)},
        "prod": {"controlPlaneReplicas": 3, "deletionProtection": True, "nodePools": _pools(3, 10)},
    }
    default_instance_type: ClassVar[Mapping[str, str]] = {
        "dev": "best-effort-small",
        "staging": "best-effort-medium",
        "prod": "guaranteed-medium",
    }
    instance_type_syntax: ClassVar[syntax.Syntax | None] = syntax.DNS_SUBDOMAIN
    zone_syntax: ClassVar[syntax.Syntax | None] = syntax.DNS_LABEL

    def risks(self) -> Iterator[Risk]:
        if self.control_plane_replicas == 1:
            yield Risk(
                "single-server",
                "controlPlaneReplicas",
                1,
                "3 or more (one control-plane VM is one machine away from losing etcd)",
            )

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        # KubeadmControlPlane's webhook: replicas "cannot be an even number when etcd is stacked"
        # (cluster-api v1.10.10 controlplane/kubeadm/internal/webhooks/kubeadm_control_plane.go).
        if self.control_plane_replicas % 2 == 0:
            yield Problem("controlPlaneReplicas", self.control_plane_replicas, "an odd number (etcd needs a majority)")
        if ipaddress.ip_network(self.pod_cidr).overlaps(ipaddress.ip_network(self.service_cidr)):
            yield Problem("serviceCidr", self.service_cidr, f"a range that does not overlap podCidr ({self.pod_cidr})")
        for i, pool in enumerate(self.node_pools):
            if len(pool.instance_types) > 1:
                yield Problem(f"nodePools[{i}].instanceTypes", pool.instance_types, "one VM class per pool")
            if len(pool.zones) > 1:
                yield Problem(
                    f"nodePools[{i}].zones", pool.zones, "at most one vSphere Zone per pool (one pool per zone)"
                )
            if pool.spot:
                yield Problem(f"nodePools[{i}].spot", True, "false (a Supervisor has no spot capacity)")
        for i, entry in enumerate(self.load_balancer_pool):
            if not _address_range(entry):
                yield Problem(
                    f"loadBalancerPool[{i}]",
                    entry,
                    "a CIDR (10.20.30.64/27) or an address range (10.20.30.200-10.20.30.250)",
                )
        if self.load_balancer == "metallb" and not self.load_balancer_pool:
            yield Problem("loadBalancerPool", [], "at least one address range for MetalLB (loadBalancer: metallb)")
        if self.load_balancer == "supervisor" and self.load_balancer_pool:
            yield Problem("loadBalancerPool", "[...]", "no pool: the Supervisor's load balancer hands out addresses")


ClusterSpec = Annotated[
    AwsSpec | GcpSpec | AzureSpec | DigitalOceanSpec | OciSpec | OnpremSpec | ExistingSpec | TanzuSpec,
    Field(discriminator="target"),
]
# A cluster is validated by the model its `target` names, so a stack builds the validators of its own targets
# only; the union's, over every target, is built for a cluster whose target names none, and its error lists them.
_CLUSTER = TypeAdapter(ClusterSpec, config=ConfigDict(defer_build=True))
_CLUSTER_MODELS: dict[str, type[ClusterBase]] = {
    tag: model
    for model in get_args(get_args(ClusterSpec)[0])
    for tag in get_args(model.model_fields["target"].annotation)
}


# ---------------------------------------------------------------------- workloads

# The reference grammar of github.com/distribution/reference (regexp.go), lowercase domain; matched
# whole and ASCII-only: a trailing newline or a Unicode letter is not part of an image name.
_IMAGE = re.compile(
    r"(?P<repo>[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?",
    re.ASCII,
)


class Replicas(Model):
    min: Annotated[int, Field(ge=1, le=1000)] = 1
    max: Annotated[int, Field(ge=1, le=1000)] = 3


_CPU = r"^[0-9]+(\.[0-9]+)?m?$"
_MEMORY = r"^[0-9]+(Ki|Mi|Gi)$"


def quantity(text: str) -> float:
    """A CPU (cores) or memory (bytes) quantity of the forms the spec allows, as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


class Resources(Model):
    cpu: Annotated[str, Field(pattern=_CPU)] = "100m"
    memory: Annotated[str, Field(pattern=_MEMORY)] = "128Mi"
    cpu_limit: Annotated[str, Field(pattern=_CPU)] | None = None
    memory_limit: Annotated[str, Field(pattern=_MEMORY)] | None = None

    def problems(self) -> Iterator[Problem]:
        # The API server refuses a request above its limit: "must be less than or equal to <resource> limit"
        # (pkg/apis/core/validation/validation.go ValidateResourceRequirements).
        for key, request, limit in (
            ("cpuLimit", self.cpu, self.cpu_limit),
            ("memoryLimit", self.memory, self.memory_limit),
        ):
            if limit is not None and quantity(limit) < quantity(request):
                yield Problem(key, limit, f"a limit >= the request ({request})")


class GlobalRouting(Model):
    """One name for a workload on several clusters: health-checked DNS routing, one target per cluster's gateway.

    `dns` names the provider that hosts the zone, and so who checks and routes: Route 53 records with health
    checks, a Cloud DNS record set with a routing policy and a health check, or an Azure Traffic Manager profile
    with a CNAME to it in the Azure DNS zone (`components/globaldns.py`). Each target is the cluster's
    `platform.gateway.address`, so a cluster whose gateway stops answering drops out of the answers.
    """

    name: syntax.HostName
    zone: syntax.HostName
    """The public zone that holds `name`; records go there, not through any cluster's external-dns."""
    dns: Literal["route53", "clouddns", "azure"] = "route53"
    """Who hosts the zone: Route 53, Cloud DNS, or Azure DNS (routing by Traffic Manager)."""
    policy: Literal["failover", "weighted", "latency"]
    primary: Name | None = None
    """failover: the cluster that answers while healthy; the other is the secondary."""
    weights: dict[Name, Annotated[int, Field(ge=0, le=1000)]] = {}
    """weighted: each cluster's share of answers (Route 53 takes 0-255, Traffic Manager 1-1000)."""
    regions: dict[Name, str] = {}
    """The region that stands for each cluster, in the zone provider's terms (an AWS region, a GCP region, an Azure
    location): latency is measured to it, and Cloud DNS places a failover's secondary there. A cluster on the
    provider's own cloud defaults to its own region."""
    project: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")] | None = None
    """clouddns: the GCP project of the managed zone (and of the health check)."""
    subscription: (
        Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")] | None
    ) = None
    """azure: the subscription of the DNS zone; the deployer's default subscription when unset."""
    resource_group: syntax.AzureResourceGroup | None = None
    """azure: the resource group of the DNS zone; the Traffic Manager profile is created there too."""
    ttl: Annotated[int, Field(ge=10, le=300)] = 60
    """Short, so resolvers follow a failover within about a minute of the health check's verdict."""


class Expose(Model):
    host: syntax.HostName | None = None
    path: syntax.RoutePath = "/"
    global_routing: GlobalRouting | None = Field(default=None, alias="global")

    def hosts(self) -> list[str]:
        """Every name the workload answers to on a cluster: its own host and its global name."""
        return [h for h in (self.host, self.global_routing.name if self.global_routing else None) if h]


def _env_value(value: Any) -> str | SecretStr:
    if isinstance(value, (str, SecretStr)):
        return value
    raise PydanticCustomError("env_value", "text, or a secret set with pulumi config set --secret --path")


# Namespaces a workload may not take: the `kube-` prefix is reserved for Kubernetes
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/), `default` already
# exists, and the platform installs its charts into the others (components/workloads/charts.py);
# a workload's Namespace would collide with or relabel them.
RESERVED_NAMESPACES = frozenset(
    {"default", "envoy-gateway-system", "cert-manager", "external-dns", "metallb-system", "karpenter"}
)


def _own_namespace(value: str) -> str:
    if value.startswith("kube-") or value in RESERVED_NAMESPACES:
        raise PydanticCustomError(
            "namespace", "a namespace of the workload's own (not default, kube-*, or one the platform installs into)"
        )
    return value


RolloutStrategy = Literal["rolling", "canary", "blueGreen"]
PROGRESSIVE: tuple[RolloutStrategy, ...] = ("canary", "blueGreen")
"""Strategies that shift traffic through the workload's HTTPRoute, driven by Flagger from live metrics."""


class Rollout(Model):
    """How a new version replaces the old one.

    `rolling` replaces pods in place, never below the wanted count (`maxUnavailable: 0`) and gated by
    readiness. `canary` sends `steps` percent of the route's traffic to the new version, one step per
    `intervalSeconds` while the analysis passes, and rolls back after `threshold` failed checks.
    `blueGreen` runs `iterations` checks on the new version with no live traffic, then switches all of it.
    """

    strategy: RolloutStrategy = "rolling"
    max_surge: Annotated[str, Field(pattern=r"^([1-9][0-9]?|100)%$")] = "25%"
    steps: list[Annotated[int, Field(ge=1, le=99)]] = [10, 25, 50]
    interval_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    threshold: Annotated[int, Field(ge=1, le=20)] = 3
    """Failed checks that roll the new version back."""
    success_rate: Annotated[float, Field(ge=50, le=100)] = 99.0
    """The lowest share of non-5xx responses, in percent, a check accepts."""
    latency_ms: Annotated[int, Field(ge=1, le=60000)] = 500
    """The highest p99 response time, in milliseconds, a check accepts."""
    iterations: Annotated[int, Field(ge=1, le=100)] = 5

    @property
    def progressive(self) -> bool:
        return self.strategy in PROGRESSIVE

    def problems(self) -> Iterator[Problem]:
        if self.strategy == "canary" and (not self.steps or any(a >= b for a, b in itertools.pairwise(self.steps))):
            yield Problem("steps", self.steps, "one or more traffic percentages (1-99), each above the one before")


class WorkloadSpec(Model):
    name: Name
    image: str
    run_as_user: Annotated[int, Field(ge=1, le=2**31 - 1)] = 65532
    """Numeric, so the kubelet can prove the container is not root even when the image names its user."""
    clusters: list[Name] = Field(min_length=1)
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63), AfterValidator(_own_namespace)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    health_path: syntax.ProbePath = "/healthz"
    replicas: Replicas = _default(Replicas)
    resources: Resources = _default(Resources)
    cpu_target: Annotated[int, Field(ge=10, le=100)] = 70
    memory_target: Annotated[int, Field(ge=10, le=100)] = 80
    env: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
        Annotated[str | SecretStr, PlainValidator(_env_value)],
    ] = {}
    """Plain values go into the Deployment; secret ones (secure:) into a Secret the container reads by reference."""
    expose: Expose | None = None
    rollout: Rollout = _default(Rollout)
    cloud_identity: bool = False
    accepted_risks: list[AcceptedRisk] = []

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"replicas": {"min": 1, "max": 3}},
        "staging": {"replicas": {"min": 2, "max": 6}},
        "prod": {"replicas": {"min": 3, "max": 12}},
    }

    @model_validator(mode="before")
    @classmethod
    def _default_strategy(cls, data: Any, info: ValidationInfo) -> Any:
        """Prod workloads behind the Gateway roll out as canaries unless the stack says otherwise."""
        if not isinstance(data, Mapping) or not isinstance(data.get("rollout", {}), Mapping):
            return data
        rollout = dict(data.get("rollout", {}))
        if "strategy" not in rollout:
            env = (info.context or {}).get("environment", "dev")
            rollout["strategy"] = "canary" if env == "prod" and data.get("expose") is not None else "rolling"
        return {**data, "rollout": rollout}

    @field_validator("image")
    @classmethod
    def _pinned(cls, v: str) -> str:
        # A reference's name is at most 255 characters (distribution/reference), its tag 128, its digest 71.
        match = _IMAGE.fullmatch(v) if len(v) <= 512 else None
        if not match:
            raise PydanticCustomError("image", "an image reference such as ghcr.io/org/app:1.2.3")
        tag, digest = match.group("tag"), match.group("digest")
        if digest is None and (tag is None or tag == "latest"):
            raise PydanticCustomError("image", "a pinned image: a tag other than 'latest', or an @sha256 digest")
        return v

    def problems(self) -> Iterator[Problem]:
        if self.replicas.min > self.replicas.max:
            yield Problem("replicas.max", self.replicas.max, f"an integer >= replicas.min ({self.replicas.min})")
        if len(set(self.clusters)) != len(self.clusters):
            yield Problem("clusters", self.clusters, "each cluster named once")
        for p in self.resources.problems():
            yield Problem(f"resources.{p.path}", p.value, p.allowed)
        for p in self.rollout.problems():
            yield Problem(f"rollout.{p.path}", p.value, p.allowed)
        if self.rollout.progressive and self.expose is None:
            yield Problem(
                "rollout.strategy",
                self.rollout.strategy,
                "rolling for a workload with no expose (canary and blueGreen shift traffic through its HTTPRoute)",
            )

    def risks(self) -> Iterator[Risk]:
        """The prod lock-down rules this workload breaks, whether or not it accepts them."""
        for key, value in (("cpu", self.resources.cpu), ("memory", self.resources.memory)):
            if quantity(value) == 0:
                yield Risk(
                    "zero-requests",
                    f"resources.{key}",
                    value,
                    "a request above zero (a pod that requests nothing is scheduled anywhere and evicted first)",
                )
        if self.expose is not None and not self.rollout.progressive:
            yield Risk(
                "unanalysed-rollout",
                "rollout.strategy",
                self.rollout.strategy,
                "canary or blueGreen for a workload behind the Gateway (a new version is analysed before it serves "
                "everyone)",
            )


_WORKLOAD = TypeAdapter(WorkloadSpec)


# -------------------------------------------------------------------------- sites

# A BGP ASN: 0, 23456 (AS_TRANS) and 4294967295 are reserved (RFC 7607, RFC 6793, RFC 7300).
Asn = Annotated[int, Field(ge=1, le=4294967294)]

# The pre-shared keys every cloud takes: AWS is the narrowest, "8-64 characters; letters, numbers, periods and
# underscores; cannot start with zero" (https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html). GCP takes
# any printable ASCII and Azure up to 128 characters, so a key AWS takes is one every cloud takes.
PRE_SHARED_KEY = re.compile(r"^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$")


def _vpn_address(value: str) -> str:
    ip = ip_or_none(value)
    # Documentation ranges are allowed for examples; every other reserved range cannot face the internet.
    if not isinstance(ip, ipaddress.IPv4Address) or not (ip.is_global or _documentation(ip)):
        raise PydanticCustomError(
            "vpn_address", "the public IPv4 address of the site's VPN device (not private, shared or reserved)"
        )
    return value


def _documentation(ip: ipaddress.IPv4Address) -> bool:
    # RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24.
    return any(ip in ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


class VpnPeer(Model):
    """The site's VPN device, as every cloud it links to sees it: one public address, BGP or static routes, one key."""

    address: Annotated[str, AfterValidator(_vpn_address)]
    asn: Asn | None = None
    """The device's BGP ASN: routes go both ways by BGP; unset, each cloud routes the site's `cidrs` statically and
    the device routes the clouds' ranges the stack exports."""
    pre_shared_key: SecretStr | None = None
    """The IKE key of every tunnel; unset, the stack generates one per link and exports it as a secret."""

    def problems(self) -> Iterator[Problem]:
        from components.runtime import UNKNOWN_SECRET

        key = self.pre_shared_key
        # Offline, an encrypted key is the unknown-secret sentinel: the value is checked where it is known.
        if (
            key is not None
            and key.get_secret_value() != UNKNOWN_SECRET
            and not PRE_SHARED_KEY.match(key.get_secret_value())
        ):
            yield Problem(
                "preSharedKey",
                key,
                "8-64 letters, digits, periods or underscores, not starting with 0 (AWS's rule, the narrowest)",
            )


class Site(Model):
    """A place the stack does not build but routes to: an on-prem LAN, with a VPN device facing the internet.

    Its ranges take part in the address plan of the whole stack, and each cluster named in `vpn` gets a
    site-to-site VPN from its cloud network to `peer`, with routes both ways.
    """

    name: Name
    cidrs: list[Cidr] = Field(min_length=1)
    """The site's ranges that the clouds route to it (its LAN, the node range of an on-prem cluster on it)."""
    peer: VpnPeer | None = None
    vpn: list[Name] = []
    """Clusters of this stack on a cloud with a site-to-site VPN; each gets one, ending in its network."""

    def problems(self) -> Iterator[Problem]:
        if self.peer is not None:
            for p in self.peer.problems():
                yield Problem(f"peer.{p.path}", p.value, p.allowed)
        if self.vpn and self.peer is None:
            yield Problem("peer", None, "the site's VPN device (address, asn, preSharedKey) when vpn names clusters")
        for i, name in enumerate(self.vpn):
            if name in self.vpn[:i]:
                yield Problem(f"vpn[{i}]", name, f"a cluster not already named at vpn[{self.vpn.index(name)}]")
        nets = [ipaddress.ip_network(c) for c in self.cidrs]
        for i, net in enumerate(nets):
            for j, other in enumerate(nets[:i]):
                if net.overlaps(other):
                    yield Problem(f"cidrs[{i}]", self.cidrs[i], f"a range that does not overlap cidrs[{j}] ({other})")


def tunnel_ranges(
    site: Site, cluster: str, pool: ipaddress.IPv4Network, tunnels: int = 2
) -> list[ipaddress.IPv4Network]:
    """The link-local /30 of each tunnel of the link from `site` to `cluster`, out of a cloud's `pool`: the same on
    every run.

    A slot (a /29 of the pool) is chosen by hashing the link's names, so adding or reordering a site's links leaves
    the others' ranges alone unless two hash to one slot: then the site's links are placed in name order and the
    later takes the next free slot, so no two links of one site (one device) share a range. Across sites a
    collision is left to each cloud's reject rules.
    """
    slots = pool.num_addresses // 8
    taken: dict[str, int] = {}
    for name in sorted(site.vpn if cluster in site.vpn else [*site.vpn, cluster]):
        slot = int(hashlib.sha256(f"{site.name}/{name}".encode()).hexdigest(), 16) % slots
        while slot in taken.values():
            slot = (slot + 1) % slots
        taken[name] = slot
    block = ipaddress.IPv4Network((int(pool.network_address) + 8 * taken[cluster], 29))
    return list(block.subnets(new_prefix=30))[:tunnels]


def tunnel_block_problems(site: Site, cluster: ClusterBase, pool: ipaddress.IPv4Network) -> Iterator[Problem]:
    """A site range inside the block a cloud's tunnels take their /30s from (`tunnel_ranges`): the site's device
    would hold that range on its tunnel interfaces and route it nowhere else."""
    for i, cidr in enumerate(site.cidrs):
        if ipaddress.ip_network(cidr).overlaps(pool):
            yield Problem(
                f"cidrs[{i}]",
                cidr,
                f"a range outside {pool}, where the tunnels to {cluster.target} cluster '{cluster.name}' take their "
                "inside and BGP addresses",
            )


_SITE = TypeAdapter(Site)


# --------------------------------------------------------------------------- stack


@dataclass(frozen=True)
class StackSpec:
    environment: Environment
    clusters: tuple[ClusterBase, ...]
    workloads: tuple[WorkloadSpec, ...]
    sites: tuple[Site, ...] = ()

    def cluster(self, name: str) -> ClusterBase:
        return next(c for c in self.clusters if c.name == name)

    def site(self, name: str) -> Site:
        return next(s for s in self.sites if s.name == name)

    def workloads_on(self, cluster: str) -> tuple[WorkloadSpec, ...]:
        return tuple(w for w in self.workloads if cluster in w.clusters)

    def accepted_risks(self) -> list[tuple[str, str, str]]:
        """(subject, rule, reason) of every accepted risk, for plans to print."""
        return [
            (f"{kind} {obj.name}", a.rule, a.reason)
            for kind, objs in (("cluster", self.clusters), ("workload", self.workloads))
            for obj in objs
            for a in obj.accepted_risks
        ]


REDACTED = "[redacted: looks like a key or token]"


def _small_int(value: Any) -> bool:
    return isinstance(value, int) and abs(value) <= 10**18


def _show(value: Any, path: str) -> str:
    """A value as an error line shows it: briefly, on one line, and never anything that may be a secret."""
    last = re.split(r"[.\[]", path)[-1]
    if (last in SECRET_KEYS and value is not None) or isinstance(value, SecretStr):
        return "[secret]"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        plain = all(v is None or isinstance(v, (str, bool, float)) or _small_int(v) for v in value)
        if not plain:
            return "a list"
        text = json.dumps(list(value))
        if len(text) > 60:
            return "a list"
        return REDACTED if syntax.may_be_secret(text) else text
    if isinstance(value, str):
        # What is shown is a prefix: judging the prefix and what may run on from it is enough, and bounded.
        if syntax.may_be_secret(value[:400]):
            return REDACTED
        text = repr(value[:60])
    elif isinstance(value, int) and not _small_int(value):
        # Python refuses to turn an int of over 4300 digits into text; no key needs one.
        return "a very large number"
    elif value is None or isinstance(value, (bool, int, float)):
        text = json.dumps(value)
    else:
        # Dates, sets or bytes from a caller that did not read the stack file strictly.
        return f"a value of type {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _line(path: str, value: Any, allowed: str, *, present: bool = True) -> str:
    shown = _show(value, path) if present else "missing"
    return f"{_where(path)}: {shown}; allowed: {allowed}"


def _where(path: str) -> str:
    """The key path a line leads with; one built from a very long key is cut, so the line stays readable."""
    return f"{NAMESPACE}:{path}" if len(path) <= 200 else f"{NAMESPACE}:{path[:197]}..."


def _path(prefix: str, data: Any, loc: tuple[int | str, ...]) -> tuple[str, Any, bool, list[Any]]:
    """Turn a pydantic error location into the stack's own key path.

    Discriminated unions add the tag (`aws`, `inventory`) to a location; it is not
    a key in the file, so it is dropped by walking the data the user wrote. The
    tags met on the way are returned too, to find the model at the location.
    """
    path, cur, present, trail = prefix, data, True, []
    for part in loc:
        if isinstance(cur, list) and isinstance(part, int):
            path += f"[{part}]"
            cur = cur[part] if part < len(cur) else None
        elif isinstance(cur, Mapping) and part in (cur.get("target"), cur.get("source")) and part not in cur:
            trail.append(part)
            continue
        elif isinstance(cur, Mapping) and part in cur:
            path += _key(part)
            cur = cur[part]
        else:
            path += _key(part)
            cur, present = None, False
        trail.append(part)
    return path, cur, present, trail


def _model_at(root: Any, trail: list[Any]) -> type[Model] | None:
    """The spec model that a location inside `root` (a type) points into."""
    tp = root
    for part in trail:
        tp = _unwrap(tp, part)
        if tp is None:
            return None
        if isinstance(part, str) and isinstance(tp, type) and issubclass(tp, Model):
            if part in _tags(tp):
                continue
            field = next((f for n, f in tp.model_fields.items() if part in {n, f.alias}), None)
            if field is None:
                return None
            tp = field.annotation
    tp = _unwrap(tp, None)
    return tp if isinstance(tp, type) and issubclass(tp, Model) else None


def _unwrap(tp: Any, part: Any) -> Any:
    """Strip Annotated, Optional and list wrappers; pick a union member by its tag."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (list, tuple) and isinstance(part, int):
            return get_args(tp)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            tagged = [m for m in members if isinstance(m, type) and issubclass(m, Model) and part in _tags(m)]
            if tagged:
                return tagged[0]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _tags(model: type[Model]) -> set[str]:
    tags: set[str] = set()
    for key in ("target", "source"):
        field = model.model_fields.get(key)
        if field is not None and get_origin(field.annotation) is Literal:
            tags.update(get_args(field.annotation))
    return tags


def _allowed(err: Mapping[str, Any]) -> str:
    kind, ctx, msg = err["type"], err.get("ctx") or {}, str(err["msg"])
    if kind == "missing":
        return "a value; this key is required"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}".replace("'", "")
    if kind == "string_pattern_mismatch":
        return f"a string matching {ctx.get('pattern')}"
    if kind == "union_tag_invalid":
        return f"one of {ctx.get('expected_tags', '')}".replace("'", "")
    if kind == "union_tag_not_found":
        return "a value; this key is required"
    msg = msg.removeprefix("Value error, ").removeprefix("Input should be ")
    return msg[0].lower() + msg[1:] if msg else kind


def _validation_lines(prefix: str, root: Any, data: Any, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            loc = (*loc, str(err["ctx"]["discriminator"]).strip("'"))
        # Pydantic places an error about a mapping's key under a `[key]` step; the line names the key itself.
        is_key = bool(loc) and loc[-1] == "[key]"
        path, value, present, trail = _path(prefix, data, loc[:-1] if is_key else loc)
        if is_key:
            value, present = loc[-2], True
        if isinstance(value, SecretStr) and err["type"] not in {"extra_forbidden", "missing"}:
            lines.append(
                _line(
                    path,
                    value,
                    "a plain value: this key takes no secret (secure: values go in kubeconfig, "
                    "ssh.privateKey, dnsToken or a workload's env)",
                )
            )
        elif err["type"] == "extra_forbidden":
            model = _model_at(root, trail[:-1])
            allowed = model.keys() if model else []
            near = difflib.get_close_matches(str(trail[-1]), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            lines.append(f"{_where(path)}: unknown key{hint}; allowed: {', '.join(allowed) or 'no keys here'}")
        else:
            lines.append(_line(path, value, _allowed(err), present=present))
    return lines


def parse(config: Mapping[str, Any], *, local: bool = False) -> StackSpec:
    """Validate a stack's `orquestra:` config (keys without the namespace, values as YAML gives them).

    Raises SpecError listing every problem found, in one pass: types, each
    model's rules, each valid cluster's target `check`, and the rules across the
    stack. Clusters and workloads are validated one by one so that a type error in
    one does not hide a rule broken by another. `local` adds what only this
    machine can show (`check_local`): the program asks for it, unless it plans
    offline; tools that only read stack files do not.
    """
    problems: list[str] = []
    credentials = list(_credentials(config))
    allowed_keys = {"environment", "clusters", "workloads", "sites"}
    for key in config:
        if key not in allowed_keys:
            near = difflib.get_close_matches(str(key), sorted(allowed_keys), n=1)
            hint = f" (did you mean '{NAMESPACE}:{near[0]}'?)" if near else ""
            shown = _key(key).removeprefix(".")
            problems.append(f"{_where(shown)}: unknown key{hint}; allowed: {', '.join(sorted(allowed_keys))}")

    env = config.get("environment", "dev")
    if env not in ENVIRONMENTS:
        problems.append(_line("environment", env, f"one of {', '.join(ENVIRONMENTS)}"))
        env = "dev"
    context = {"environment": env}

    raw_clusters = config.get("clusters")
    if not isinstance(raw_clusters, list) or not raw_clusters:
        problems.append(
            _line("clusters", raw_clusters, "a non-empty list of clusters", present=raw_clusters is not None)
        )
        raw_clusters = []
    clusters: list[ClusterBase] = _each(
        "clusters",
        raw_clusters,
        _CLUSTER,
        ClusterSpec,
        context,
        problems,
        lambda prefix, c: [
            *(_line(f"{prefix}.{p.path}", p.value, p.allowed) for p in _target_problems(c, local)),
            *_lockdown(prefix, c, env),
        ],
        members=_CLUSTER_MODELS,
    )

    raw_workloads = config.get("workloads", [])
    if not isinstance(raw_workloads, list):
        problems.append(_line("workloads", raw_workloads, "a list of workloads"))
        raw_workloads = []
    workloads: list[WorkloadSpec] = _each(
        "workloads",
        raw_workloads,
        _WORKLOAD,
        WorkloadSpec,
        context,
        problems,
        lambda prefix, w: _lockdown(prefix, w, env),
    )

    raw_sites = config.get("sites", [])
    if not isinstance(raw_sites, list):
        problems.append(_line("sites", raw_sites, "a list of sites"))
        raw_sites = []
    sites: list[Site] = _each("sites", raw_sites, _SITE, Site, context, problems, lambda prefix, s: ())

    problems.extend(_stack_rules(raw_clusters, clusters, raw_workloads, workloads))
    problems.extend(_image_registries(raw_workloads, workloads, clusters, env))
    problems.extend(_address_plan(raw_clusters, clusters, sites))
    # dict.fromkeys: a site-wide rule of a cloud (its peer ASN) is told once, not once per cluster it links.
    problems.extend(dict.fromkeys(_sites(raw_sites, sites, raw_clusters, clusters)))
    if credentials:
        # A credential's own line says what to do; other lines about the same key would only repeat it.
        flagged = tuple(f"{_where(path)}: " for path, _ in credentials)
        problems = [line for line in problems if not line.startswith(flagged)]
        problems[:0] = [line for _, line in credentials]
    if problems:
        raise SpecError(problems)
    for cluster in clusters:
        cluster._vpn_sites = tuple(s for s in sites if cluster.name in s.vpn)
        cluster._workload_images = tuple(sorted({w.image for w in workloads if cluster.name in w.clusters}))
    return StackSpec(environment=env, clusters=tuple(clusters), workloads=tuple(workloads), sites=tuple(sites))


def _each(
    key: str,
    raw_items: list[Any],
    adapter: TypeAdapter[Any],
    root: Any,
    context: Mapping[str, Any],
    problems: list[str],
    rules: Callable[[str, Any], Iterable[str]],
    *,
    members: Mapping[str, type[Model]] | None = None,
) -> list[Any]:
    """Each item of a list validated on its own, so a type error in one hides no rule another breaks: its types,
    its model's `problems`, then `rules` (the lines under `key[i]`); the items that validated, in order.

    `members` are the models of a union `adapter` by their `target` tag: an item whose tag names one is validated
    by that model alone, which the union would pick too."""
    found: list[Any] = []
    for i, raw in enumerate(raw_items):
        prefix = f"{key}[{i}]"
        tag = raw.get("target") if members and isinstance(raw, Mapping) else None
        member = members.get(tag) if members and isinstance(tag, str) else None
        try:
            if member is not None:
                item = member.model_validate(raw, context=context)
            else:
                item = adapter.validate_python(raw, context=context)
        except ValidationError as exc:
            problems.extend(_validation_lines(prefix, member or root, raw, exc))
            continue
        problems.extend(_line(f"{prefix}.{p.path}", p.value, p.allowed, present=p.present) for p in item.problems())
        problems.extend(rules(prefix, item))
        found.append(item)
    return found


def _target_problems(cluster: ClusterBase, local: bool) -> Iterator[Problem]:
    """What the cluster's own target refuses (`KubernetesCluster.check`, and `check_local` when `local`)."""
    target = REGISTRY[cluster.target]
    if not target.available:
        shipped = ", ".join(available())
        yield Problem(
            "target",
            cluster.target,
            f"a target available in this version of orquestra ({shipped}); '{cluster.target}' is not yet available",
        )
        return
    component = target.load()
    yield from component.check(cluster)
    if local:
        yield from component.check_local(cluster)


# Fields whose value is a secret whether or not the stack file encrypted it (SecretStr in the models).
_SECRET_FIELD = re.compile(r"clusters\[\d+\]\.(kubeconfig|managementKubeconfig|ssh\.privateKey|dnsToken)")
# No plain key or value of the spec needs more; a longer one is refused before any pattern reads it.
MAX_TEXT = 16384


def _credentials(config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, line) for each plain key or value that is a key or token by its content, wherever it was put.

    Such a value would be stored and shown in plain text (state, plans, cloud
    tags, Kubernetes objects); it belongs in a secret, or nowhere near the spec.
    """

    def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, SecretStr) or _SECRET_FIELD.fullmatch(path):
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                at = f"{path}{_key(key)}" if path else _key(key).removeprefix(".")
                # Such a key is named by where it is, never by itself; lines about it (unknown key, ...) are dropped.
                where = _where(path) if path else NAMESPACE
                if isinstance(key, str) and len(key) > MAX_TEXT:
                    yield at, f"{where}: a key of {len(key)} characters; allowed: at most {MAX_TEXT}"
                elif isinstance(key, str) and syntax.looks_like_credential(key):
                    yield at, f"{where}: a key that looks like a credential (not shown); allowed: a plain key"
                else:
                    yield from walk(item, at)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, f"{path}[{i}]")
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            yield path, _line(path, value, f"text of at most {MAX_TEXT} characters")
        elif isinstance(value, str) and syntax.looks_like_credential(value):
            yield (
                path,
                _line(
                    path,
                    value,
                    "no key or token in plain text (secrets go only in kubeconfig, managementKubeconfig, "
                    "ssh.privateKey, dnsToken or a workload's env, set with pulumi config set --secret --path)",
                ),
            )

    yield from walk(config, "")


def _lockdown(prefix: str, obj: ClusterBase | WorkloadSpec, env: str) -> Iterator[str]:
    """Prod lock-down: each risk the object takes is refused in prod unless accepted by name with a reason."""
    taken = {risk.rule for risk in obj.risks()}
    accepted = {a.rule for a in obj.accepted_risks}
    for risk in obj.risks():
        if env == "prod" and risk.rule not in accepted:
            yield _line(
                f"{prefix}.{risk.path}",
                risk.value,
                f"{risk.allowed} in prod; or accept the risk: acceptedRisks: [{{rule: {risk.rule}, reason: ...}}]",
            )
    for i, a in enumerate(obj.accepted_risks):
        if any(b.rule == a.rule for b in obj.accepted_risks[:i]):
            yield _line(f"{prefix}.acceptedRisks[{i}].rule", a.rule, "a rule not accepted twice")
        elif a.rule not in taken:
            yield _line(
                f"{prefix}.acceptedRisks[{i}].rule",
                a.rule,
                f"a risk this {'workload' if isinstance(obj, WorkloadSpec) else 'cluster'} takes "
                f"({', '.join(sorted(taken)) or 'it takes none'})",
            )


def in_zone(host: str, zone: str) -> bool:
    """The zone's apex or a name below it, label by label: `a.notexample.com` is not in `example.com`."""
    return host == zone or host.endswith(f".{zone}")


def _index(raw: list[Any], key: str, value: Any) -> int:
    return next(i for i, r in enumerate(raw) if isinstance(r, Mapping) and r.get(key) == value)


def _image_registries(
    raw_workloads: list[Any], workloads: list[WorkloadSpec], clusters: list[ClusterBase], env: str
) -> Iterator[str]:
    """A workload on a cluster that admits images by name (`images_admitted_by_name_in`) names its registry.

    The policy lists each workload's repository as written (`registry/path*`: its wildcard is allowed only after a
    registry, https://cloud.google.com/binary-authorization/docs/policy-yaml-reference), and a short Docker Hub
    name is not spelt the way the runtime expands it.
    """
    by_name = {c.name: c for c in clusters}
    for workload in workloads:
        strict = [n for n in workload.clusters if n in by_name and env in by_name[n].images_admitted_by_name_in]
        if strict and not syntax.names_registry(workload.image):
            cluster = by_name[strict[0]]
            yield _line(
                f"workloads[{_index(raw_workloads, 'name', workload.name)}].image",
                workload.image,
                f"an image named with its registry ({syntax.with_registry(workload.image)}) on {cluster.target} "
                f"cluster '{cluster.name}' in {env}: its Binary Authorization policy admits images by the name "
                "written",
            )


def _stack_rules(
    raw_clusters: list[Any],
    clusters: list[ClusterBase],
    raw_workloads: list[Any],
    workloads: list[WorkloadSpec],
) -> Iterator[str]:
    names: dict[str, int] = {}
    for i, raw in enumerate(raw_clusters):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if isinstance(name, str):
            if name in names:
                yield _line(f"clusters[{i}].name", name, f"a name not used by clusters[{names[name]}]")
            names.setdefault(name, i)

    runners: dict[str, int] = {}
    for cluster in clusters:
        runner = getattr(getattr(cluster, "deployer", None), "runner", None)
        if runner is None:
            continue
        i = _index(raw_clusters, "name", cluster.name)
        first = next(iter(runners.items()), None)
        if first is not None and first[0] != runner:
            # One `pulumi up` runs on one runner: it must reach every cluster of the stack.
            yield _line(
                f"clusters[{i}].deployer.runner",
                runner,
                f"'{first[0]}', the runner of clusters[{first[1]}]: one stack deploys from one runner",
            )
        runners.setdefault(runner, i)

    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_workloads):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                yield _line(f"workloads[{i}].name", name, f"a name not used by workloads[{seen[name]}]")
            seen.setdefault(name, i)
    by_name = {c.name: c for c in clusters}
    for workload in workloads:
        i = _index(raw_workloads, "name", workload.name)
        yield from _global_routing(f"workloads[{i}]", workload, by_name)
        for j, cluster_name in enumerate(workload.clusters):
            target = by_name[cluster_name].target if cluster_name in by_name else None
            if workload.cloud_identity and target is not None and target not in IDENTITY_TARGETS:
                yield _line(
                    f"workloads[{i}].cloudIdentity",
                    True,
                    f"false: cluster '{cluster_name}' ({target}) gives pods no cloud identity "
                    f"(targets that do: {', '.join(sorted(IDENTITY_TARGETS))})",
                )
            if (
                workload.rollout.progressive
                and cluster_name in by_name
                and not by_name[cluster_name].platform.gateway.enabled
            ):
                yield _line(
                    f"workloads[{i}].rollout.strategy",
                    workload.rollout.strategy,
                    f"rolling: cluster '{cluster_name}' has platform.gateway.enabled: false, and traffic shifts "
                    "through the Gateway",
                )
            zone = by_name[cluster_name].platform.dns.zone if cluster_name in by_name else None
            host = workload.expose.host if workload.expose is not None else None
            if zone and host and not in_zone(host, zone):
                # external-dns publishes only names inside its domainFilters, so this host would get no record.
                # Source: https://github.com/kubernetes-sigs/external-dns/blob/v0.19.0/docs/flags.md (--domain-filter)
                yield _line(
                    f"workloads[{i}].expose.host",
                    host,
                    f"a name in the zone of cluster '{cluster_name}' (platform.dns.zone: {zone})",
                )
            dns01 = by_name[cluster_name].platform.cert_manager.dns01 if cluster_name in by_name else None
            if dns01 is not None and host and not in_zone(host, dns01.zone):
                # The solver may write challenges only in that zone (components/acmedns.py).
                yield _line(
                    f"workloads[{i}].expose.host",
                    host,
                    f"a name in the zone cluster '{cluster_name}' proves by DNS-01 "
                    f"(platform.certManager.dns01.zone: {dns01.zone})",
                )
            if cluster_name not in names:
                # Only names that are names: a cluster's raw `name` may hold anything, a key included.
                known = ", ".join(n for n in names if re.fullmatch(DNS_LABEL, n) and len(n) <= 24) or "none defined"
                yield _line(
                    f"workloads[{i}].clusters[{j}]", cluster_name, f"the name of a cluster in this stack ({known})"
                )


def _address_plan(raw_clusters: list[Any], clusters: list[ClusterBase], sites: list[Site]) -> Iterator[str]:
    """No routed range may overlap another's ranges: the clusters and sites of a stack are meant to reach each other.

    A range is routed when the network carries it beyond the cluster (node and VPC ranges always; pod ranges where
    pods take network addresses: `routed_pods`; a site's `cidrs`). Services, and pods on an overlay, never leave
    their cluster, so two clusters may repeat them; but one of them over a peer's routed range would capture the
    traffic meant for it. An on-prem cluster's node range lies in its own site's ranges, which route it.
    """
    Net: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
    routed: list[tuple[str, str, Net]] = []
    local: list[tuple[str, str, Net]] = []
    for cluster in clusters:
        i = _index(raw_clusters, "name", cluster.name)
        owner = f"cluster '{cluster.name}'"
        for key, cidr in cluster.networks.items():
            net = ipaddress.ip_network(cidr)
            for other_owner, other_path, other in routed + local:
                if other_owner != owner and net.overlaps(other):
                    yield _line(
                        f"clusters[{i}].{key}",
                        cidr,
                        f"a range that does not overlap {other_path} ({other}, {other_owner})",
                    )
            routed.append((owner, f"clusters[{i}].{key}", net))
        for key, cidr in cluster.local_networks.items():
            net = ipaddress.ip_network(cidr)
            for other_owner, other_path, other in routed:
                if other_owner != owner and net.overlaps(other):
                    yield _line(
                        f"clusters[{i}].{key}",
                        cidr,
                        f"a range that does not overlap {other_path} ({other}, routed by {other_owner})",
                    )
            local.append((owner, f"clusters[{i}].{key}", net))
    for i, site in enumerate(sites):
        own = {f"cluster '{c.name}'" for c in clusters if getattr(c, "site", None) == site.name}
        for j, cidr in enumerate(site.cidrs):
            net = ipaddress.ip_network(cidr)
            for other_owner, other_path, other in routed + local:
                if other_owner in own and other_path.endswith(".network.cidr"):
                    continue  # its own cluster's node range (`_sites` checks it lies inside)
                if net.overlaps(other):
                    yield _line(
                        f"sites[{i}].cidrs[{j}]",
                        cidr,
                        f"a range that does not overlap {other_path} ({other}, {other_owner})",
                    )
            routed.append((f"site '{site.name}'", f"sites[{i}].cidrs[{j}]", net))


def _inside(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network, of: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    return net.version == of.version and net.subnet_of(of)  # type: ignore[arg-type]


def _sites(
    raw_sites: list[Any], sites: list[Site], raw_clusters: list[Any], clusters: list[ClusterBase]
) -> Iterator[str]:
    """Each site's VPNs end in a cloud cluster's network that can hold one; an on-prem cluster lies on its site."""
    by_name = {c.name: c for c in clusters}
    seen: dict[str, int] = {}
    for i, site in enumerate(sites):
        if site.name in seen:
            yield _line(f"sites[{i}].name", site.name, f"a name not used by sites[{seen[site.name]}]")
        seen.setdefault(site.name, i)
        for j, name in enumerate(site.vpn):
            cluster = by_name.get(name)
            if cluster is None:
                known = ", ".join(by_name) or "none defined"
                yield _line(f"sites[{i}].vpn[{j}]", name, f"the name of a cluster in this stack ({known})")
                continue
            target = REGISTRY[cluster.target]
            if target.site_vpn is None:
                able = ", ".join(sorted(k for k, t in REGISTRY.items() if t.site_vpn))
                yield _line(
                    f"sites[{i}].vpn[{j}]",
                    name,
                    f"a cluster on a target with a site-to-site VPN ({able}); '{name}' is on {cluster.target}",
                )
                continue
            hub = getattr(getattr(cluster, "deployer", None), "hub", None)
            for cidr in hub.cidrs if hub is not None else ():
                for k, own in enumerate(site.cidrs):
                    if ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(own)):
                        # Both paths would route the same range; the VPC's static route to the hub would win.
                        yield _line(
                            f"sites[{i}].cidrs[{k}]",
                            own,
                            f"a range that does not overlap clusters[{_index(raw_clusters, 'name', name)}]"
                            f".deployer.hub.cidrs ({cidr}): the hub already routes it to '{name}'",
                        )
            module = importlib.import_module(target.site_vpn)
            for p in module.check(site, cluster):
                yield _line(f"sites[{i}].{p.path}", p.value, p.allowed)
    names = {s.name: s for s in sites}
    for cluster in clusters:
        declared = getattr(cluster, "site", None)
        if declared is None:
            continue
        i = _index(raw_clusters, "name", cluster.name)
        home = names.get(declared)
        if home is None:
            # A site that failed its own checks is still declared: its lines say what is wrong with it.
            declared_names = [r.get("name") for r in raw_sites if isinstance(r, Mapping)]
            if declared not in declared_names:
                known = ", ".join(n for n in declared_names if isinstance(n, str)) or "none"
                yield _line(f"clusters[{i}].site", declared, f"a site in orquestra:sites ({known})")
            continue
        node = ipaddress.ip_network(cluster.networks["network.cidr"])
        if not any(_inside(node, ipaddress.ip_network(c)) for c in home.cidrs):
            yield _line(
                f"clusters[{i}].network.cidr",
                str(node),
                f"a range inside one of site '{declared}''s cidrs ({', '.join(home.cidrs)})",
            )


# Per zone provider: its name in messages, the cloud whose clusters stand for their own region, the syntax of a
# region there, and the weights it takes. Sources: Route 53 Weight 0-255
# (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html); Traffic Manager endpoint
# weight 1-1000 (pulumi_azure_native 3.29.0 trafficmanager/_inputs.py EndpointArgs.weight, from the
# Microsoft.Network/trafficManagerProfiles API); a Cloud DNS WRR weight is any non-negative number
# (https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets, RRSetRoutingPolicy.WrrPolicyItem).
_GLOBAL_DNS: dict[str, tuple[str, str, str, syntax.Syntax, int, int]] = {
    "route53": ("Route 53", "aws", "an AWS region", syntax.AWS_REGION, 0, 255),
    "clouddns": ("Cloud DNS", "gcp", "a GCP region", syntax.GCP_REGION, 0, 1000),
    "azure": ("Traffic Manager", "azure", "an Azure location", syntax.AZURE_LOCATION, 1, 1000),
}


_SOLVER_DNS = {"route53": "route53", "cloudDNS": "clouddns", "azureDNS": "azure"}
"""A target's DNS-01 solver (`REGISTRY[...].acme_dns01`) as the `expose.global.dns` that hosts the same zone."""


def _global_routing(prefix: str, workload: WorkloadSpec, by_name: Mapping[str, ClusterBase]) -> Iterator[str]:
    """What the zone's provider and the clusters need before a global name can route to each cluster of the workload.

    Sources: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-failover.html (one primary
    and one secondary record), .../routing-policy-weighted.html and
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html (Weight 0-255; Region per
    latency record; a CNAME cannot be the zone apex), and
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html (no health check on a local,
    private, non-routable or multicast IP address). Cloud DNS:
    https://cloud.google.com/dns/docs/routing-policies-overview (health checks of public endpoints probe Internet
    IP addresses, `healthCheckedTargets.externalEndpoints`; a failover's backup is a geolocation policy, so it
    has a location). Traffic Manager: https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods
    (Performance needs the location of each external endpoint) and
    https://learn.microsoft.com/azure/traffic-manager/traffic-manager-endpoint-types (external endpoints of one
    profile are all names or all IP addresses).
    """
    g = workload.expose.global_routing if workload.expose is not None else None
    if g is None:
        return
    at = f"{prefix}.expose.global"
    names = list(workload.clusters)
    provider, home, region_noun, region_syntax, low, high = _GLOBAL_DNS[g.dns]
    if len(names) < 2:
        yield _line(f"{prefix}.clusters", names, "at least two clusters for a global name (one is its own host)")
    if not in_zone(g.name, g.zone) or g.name == g.zone:
        yield _line(f"{at}.name", g.name, f"a name below the zone {g.zone} (the apex cannot hold a CNAME)")
    yield from _global_provider_keys(at, g)
    if g.policy == "failover":
        if len(names) != 2:
            yield _line(f"{prefix}.clusters", names, "exactly two clusters for failover (a primary and a secondary)")
        if g.primary not in names:
            yield _line(f"{at}.primary", g.primary, f"one of the workload's clusters ({', '.join(names)})")
    elif g.primary is not None:
        yield _line(f"{at}.primary", g.primary, "unset unless policy: failover")
    if g.policy == "weighted":
        if sorted(g.weights) != sorted(names):
            yield _line(
                f"{at}.weights", g.weights, f"a weight for each of the workload's clusters ({', '.join(names)})"
            )
        for name, weight in g.weights.items():
            if not low <= weight <= high:
                yield _line(f"{at}.weights.{name}", weight, f"{low}-{high} ({provider} weights)")
    elif g.weights:
        yield _line(f"{at}.weights", g.weights, "unset unless policy: weighted")
    # Who needs a region: every cluster for latency; for Cloud DNS failover, the secondary (its backup geo item).
    located = names if g.policy == "latency" else []
    if g.dns == "clouddns" and g.policy == "failover":
        located = [n for n in names if n != g.primary]
    for name, region in g.regions.items():
        if name not in located:
            allowed = "unset unless policy: latency" + (
                " or, for failover, the secondary's" if g.dns == "clouddns" else ""
            )
            yield _line(f"{at}.regions.{name}", region, allowed)
        elif not region_syntax.ok(region):
            yield _line(f"{at}.regions.{name}", region, region_syntax.allowed)
    for name in located:
        cluster = by_name.get(name)
        if cluster is not None and cluster.target != home and name not in g.regions:
            yield _line(
                f"{at}.regions",
                g.regions,
                f"{region_noun} for cluster '{name}' ({cluster.target}) to "
                f"{'measure by' if g.policy == 'latency' else 'place its backup in'}",
            )
    kinds: set[str] = set()
    for name in names:
        cluster = by_name.get(name)
        if cluster is None:
            continue
        gateway = cluster.platform.gateway
        address = gateway.address
        where = f"cluster '{name}'"
        if not gateway.enabled or address is None:
            yield _line(
                f"{at}.name",
                g.name,
                f"{where} with platform.gateway.enabled and platform.gateway.address (where the internet reaches it)",
            )
            continue
        ip = ip_or_none(address)
        kinds.add("name" if ip is None else f"IPv{ip.version}")
        if isinstance(cluster, CloudCluster) and not gateway.public:
            yield _line(
                f"{at}.name",
                g.name,
                f"{where} with platform.gateway.public: true ({provider}'s health checkers cannot reach an internal "
                "load balancer)",
            )
        if ip is None and g.dns == "clouddns":
            yield _line(
                f"{at}.name",
                g.name,
                f"{where}'s platform.gateway.address ({address}) a public IP address: Cloud DNS health-checks "
                "external endpoints by IP only",
            )
        zone = cluster.acme_zone
        dns01 = cluster.platform.cert_manager.dns01
        if cluster.certificate_issuer == "acme" and cluster.acme_challenge == "dns01" and zone:
            key = "platform.certManager.dns01.zone" if dns01 else "platform.dns.zone"
            if not in_zone(g.name, zone):
                yield _line(f"{at}.name", g.name, f"a name in the zone {where} proves by DNS-01 ({key}: {zone})")
            if ip is None and not in_zone(address, zone):
                # The health check probes the gateway by this name, so the Gateway serves it and certifies it too.
                yield _line(
                    f"{at}.name",
                    g.name,
                    f"{where}'s platform.gateway.address ({address}) in the zone it proves by DNS-01 ({key}: {zone})",
                )
        solver = (
            (dns01.provider if dns01 is not None else REGISTRY[cluster.target].acme_dns01) if zone == g.zone else None
        )
        if solver is not None and _SOLVER_DNS.get(solver) != g.dns:
            # One zone name is served by the one provider its delegation names: the cluster's external-dns and
            # DNS-01 solver write `zone` there, so the global name's routing must be in the same provider.
            yield _line(
                f"{at}.dns",
                g.dns,
                f"the provider of {where}'s DNS-01 zone {zone} ({solver}), or a cluster zone "
                "delegated below it: one zone has one host",
            )
        if ip is not None and not ip.is_global:
            yield _line(
                f"{at}.name",
                g.name,
                f"{where}'s platform.gateway.address ({address}) a public IP: {provider} cannot health-check a "
                "private or reserved one",
            )
        if cluster.acme_challenge == "http01" and cluster.certificate_issuer == "acme":
            # HTTP-01 for the global name reaches whichever cluster DNS answers with, so the others never prove it.
            # Source: https://letsencrypt.org/docs/challenge-types/
            yield _line(
                f"{at}.name",
                g.name,
                f"{where} issuing by DNS-01 (platform.dns.zone) or platform.certManager.issuer: internal-ca; "
                "HTTP-01 cannot prove a name DNS sends to another cluster",
            )
    if len(kinds) > 1:
        yield _line(
            f"{at}.name",
            g.name,
            "gateway addresses all IPs of one family (A or AAAA records) or all host names (CNAME records)",
        )


def _global_provider_keys(at: str, g: GlobalRouting) -> Iterator[str]:
    """The zone provider's own keys: each only with its `dns`, the ones it cannot do without present."""
    own = {"project": "clouddns", "subscription": "azure", "resourceGroup": "azure"}
    values = {"project": g.project, "subscription": g.subscription, "resourceGroup": g.resource_group}
    for key, dns in own.items():
        if values[key] is not None and g.dns != dns:
            yield _line(f"{at}.{key}", values[key], f"unset unless dns: {dns}")
    if g.dns == "clouddns" and g.project is None:
        yield _line(f"{at}.project", None, "the GCP project of the Cloud DNS managed zone", present=False)
    if g.dns == "azure" and g.resource_group is None:
        yield _line(f"{at}.resourceGroup", None, "the resource group of the Azure DNS zone", present=False)
    if g.dns == "azure":
        # The profile's relative name is one DNS label of trafficmanager.net (RFC 1035 section 2.3.4: 63 octets).
        relative = traffic_manager_name(g.name)
        if len(relative) > 63:
            yield _line(
                f"{at}.name", g.name, "a name whose Traffic Manager label (its dots as dashes) fits in 63 characters"
            )


def traffic_manager_name(name: str) -> str:
    """The profile's relative DNS name under trafficmanager.net: the global name with its dots as dashes.

    Derived, so one global name always maps to one profile; it must be unique across all of trafficmanager.net,
    which only the create call can tell (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-faqs).
    """
    return name.replace(".", "-")


def ip_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def load(config: Mapping[str, Any] | None = None) -> StackSpec:
    """Read the live `orquestra:` namespace from the Pulumi runtime and parse it, with this machine's checks."""
    from components.runtime import OFFLINE_ENV

    if config is None:
        config = read_config()
    return parse(config, local=not os.environ.get(OFFLINE_ENV))


def read_config() -> dict[str, Any]:
    """The namespace's keys as plain values, with every secret leaf a `SecretStr`.

    Read below `pulumi.Config` on purpose: a stack that set one nested secret with
    `--path` marks the whole key secret, and the spec must know which leaves are
    secret, so that each stays a secret and none lands where a plain value goes
    (`runtime.secret_leaves` finds them).
    """
    from pulumi.runtime.config import CONFIG, get_config_env

    from components.runtime import secret_leaves

    prefix = f"{NAMESPACE}:"
    out: dict[str, Any] = {}
    for full_key, value in {**get_config_env(), **CONFIG.get()}.items():
        if not full_key.startswith(prefix):
            continue
        with contextlib.suppress(TypeError, json.JSONDecodeError):
            value = json.loads(value) if full_key != f"{prefix}environment" else value
        out[full_key.removeprefix(prefix)] = value
    return secret_leaves(out, NAMESPACE)
