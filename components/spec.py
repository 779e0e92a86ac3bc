"""The typed stack spec: the `orquestra:` namespace of a stack, validated in one place.

Everything a stack can say is modelled here, so that a wrong value is found before
any resource is registered and reported the same way everywhere: one line per
violation, naming the full key path, the bad value and what is allowed. The spec
is plain data; nothing here imports a cloud SDK.

Environment defaults (`dev`, `staging`, `prod`) are merged *under* what the stack
file says before validation, so a stack only writes what differs from the
environment, and any key can still be overridden.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components.targets import REGISTRY

NAMESPACE = "orquestra"
Environment: TypeAlias = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")

# Targets whose clusters can give a pod a cloud identity (IRSA/Pod Identity, Workload Identity).
IDENTITY_TARGETS = frozenset(key for key, target in REGISTRY.items() if target.gives_pod_identity)

# Values under these keys are never echoed in an error message.
SECRET_KEYS = frozenset({"kubeconfig", "privateKey", "password", "token"})

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
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9./_-]+$")]
    value: Annotated[str, Field(max_length=63)] = ""
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
    labels: dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=63)]] = {}
    taints: list[Taint] = []
    zones: list[str] = []
    disk_size_gb: Annotated[int, Field(ge=20, le=16384)] = 50
    role: Literal["system", "workload"] = "workload"

    def problems(self) -> Iterator[Problem]:
        if self.min > self.max:
            yield Problem("max", self.max, f"an integer >= min ({self.min})")


class ApiAccess(Model):
    """Who can reach the Kubernetes API. A public endpoint open to the world is never allowed."""

    private: bool = False
    public_cidrs: list[Cidr] = []

    def problems(self) -> Iterator[Problem]:
        for i, cidr in enumerate(self.public_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0:
                yield Problem(f"publicCidrs[{i}]", cidr, "a network narrower than /0 (the world may not reach the API)")
        if not self.private and not self.public_cidrs:
            yield Problem(
                "publicCidrs",
                [],
                "at least one CIDR allowed to reach a public API endpoint, or private: true",
            )


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


class CertManager(Model):
    enabled: bool = True
    issuer: Literal["acme", "internal-ca"] | None = None
    """Who signs the Gateway's certificates. Unset: ACME where it can prove the names (a public gateway by HTTP-01,
    or `dns.zone` by DNS-01 where the target has a solver), else a private CA of the cluster's own."""
    acme_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = "platform@example.com"
    acme_server: Literal["staging", "production"] = "staging"


class Dns(Model):
    zone: Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")] | None = None
    txt_owner_id: Annotated[str, Field(max_length=63)] | None = None


class Platform(Model):
    """The platform services installed on the cluster; each can be switched off."""

    gateway: Gateway = Gateway()
    cert_manager: CertManager = CertManager()
    metrics_server: bool = True
    node_autoscaler: bool = True
    dns: Dns = Dns()


# ----------------------------------------------------------------------- clusters


class ClusterBase(Model):
    """What every target shares. Subclasses set `target` and their environment defaults."""

    target: str
    name: Name
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = ""
    node_pools: list[NodePool] = Field(default_factory=list, max_length=20)
    deletion_protection: bool = False
    renamed_from: Name | None = None
    """The cluster's previous name: every resource of it is aliased, so a rename moves nothing."""
    tags: dict[
        Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9_.:/=+@-]+$")],
        Annotated[str, Field(max_length=63)],
    ] = {}
    platform: Platform = Platform()

    # Instance type used by a node pool that names none, per environment.
    default_instance_type: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def _complete(cls, merged: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
        if not merged.get("kubernetesVersion"):
            merged["kubernetesVersion"] = REGISTRY[str(merged.get("target"))].default_version
        # A stack that lists its own pools replaces the environment's, whole.
        if "nodePools" in given:
            merged["nodePools"] = given["nodePools"]
        return merged

    @model_validator(mode="after")
    def _instance_types(self, info: ValidationInfo) -> ClusterBase:
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
    def acme_challenge(self) -> Literal["http01", "dns01"] | None:
        """How ACME can prove this cluster's names, if at all.

        HTTP-01 needs Let's Encrypt to reach the Gateway, so only a public one; an internal
        gateway proves names through the cloud's DNS (DNS-01) in `dns.zone`.
        Source: https://letsencrypt.org/docs/challenge-types/
        """
        if self.platform.gateway.enabled and self.platform.gateway.public:
            return "http01"
        if self.platform.dns.zone and REGISTRY[self.target].acme_dns01:
            return "dns01"
        return None

    @property
    def certificate_issuer(self) -> Literal["acme", "internal-ca"]:
        return self.platform.cert_manager.issuer or ("acme" if self.acme_challenge else "internal-ca")

    def problems(self) -> Iterator[Problem]:
        cert_manager = self.platform.cert_manager
        if cert_manager.enabled and cert_manager.issuer == "acme" and self.acme_challenge is None:
            dns = (
                f"platform.dns.zone (DNS-01 by {REGISTRY[self.target].acme_dns01})"
                if REGISTRY[self.target].acme_dns01
                else f"no DNS-01 on {self.target}"
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

    @property
    def networks(self) -> Mapping[str, str]:
        """The address ranges this cluster owns, by key path, for the stack-wide overlap rule."""
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
    network: Network = Network()
    api_access: ApiAccess = ApiAccess()

    def problems(self) -> Iterator[Problem]:
        yield from super().problems()
        for p in self.network.problems():
            yield Problem(f"network.{p.path}", p.value, p.allowed)
        for p in self.api_access.problems():
            yield Problem(f"apiAccess.{p.path}", p.value, p.allowed)
        for i, pool in enumerate(self.node_pools):
            if pool.max < self.network.zones and pool.role == "system" and self.deletion_protection:
                yield Problem(
                    f"nodePools[{i}].max", pool.max, f">= network.zones ({self.network.zones}) for a system pool"
                )

    @property
    def networks(self) -> Mapping[str, str]:
        return {"network.cidr": self.network.cidr}


class ExistingVpc(Model):
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=2)
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []


class AwsSpec(CloudCluster):
    target: Literal["aws"]
    node_autoscaler: Literal["karpenter", "cluster-autoscaler"] = "karpenter"
    pod_identity: Literal["eks-pod-identity", "irsa"] = "eks-pod-identity"
    nat_gateways: Literal["single", "per-zone"] = "single"
    existing_vpc: ExistingVpc | None = None
    admin_role_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")]] = []
    kms_key_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:.+$")] | None = None

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


class MaintenanceWindow(Model):
    """A weekly window, UTC, in which the provider may upgrade the control plane and nodes."""

    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "sunday"
    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "03:00"
    hours: Annotated[int, Field(ge=4, le=24)] = 4


class GcpSpec(CloudCluster):
    target: Literal["gcp"]
    project: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
    regional: bool = False
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    master_cidr: Cidr = "172.16.0.0/28"
    # GKE wants 48 h of maintenance availability in any 32 days: 4 weekly windows of 12 h.
    maintenance: MaintenanceWindow = MaintenanceWindow(hours=12)

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


class AzureSpec(CloudCluster):
    target: Literal["azure"]
    resource_group: Annotated[str, Field(pattern=r"^[-\w._()]{1,90}$")] | None = None
    tier: Literal["Free", "Standard", "Premium"] = "Free"
    admin_group_object_ids: list[
        Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    ] = []
    local_accounts: bool = True
    maintenance: MaintenanceWindow = MaintenanceWindow()

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


class DigitalOceanSpec(CloudCluster):
    target: Literal["digitalocean"]
    ha: bool = False
    registry: bool = False
    auto_upgrade: bool = True
    surge_upgrade: bool = True
    maintenance: MaintenanceWindow = MaintenanceWindow()

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


# ------------------------------------------------------------------------ on-prem


class SshAccess(Model):
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "ubuntu"
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    private_key: SecretStr
    public_key: (
        Annotated[str, Field(pattern=r"^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( \S+)?$")] | None
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
    endpoint: Annotated[str, Field(pattern=r"^https://")]
    node: Annotated[str, Field(min_length=1)]
    template_vm_id: Annotated[int, Field(ge=100)]
    datastore: str = "local-lvm"
    bridge: str = "vmbr0"
    addresses: list[Interface] = Field(min_length=1)
    """Static addresses (with prefix) handed to VMs in order: servers first, then agents."""
    gateway: str
    cores: Annotated[int, Field(ge=1, le=128)] = 4
    memory_mb: Annotated[int, Field(ge=1024, le=1048576)] = 8192


class VsphereMachines(Model):
    source: Literal["vsphere"]
    server: Annotated[str, Field(min_length=1)]
    datacenter: str
    cluster: str
    datastore: str
    network: str
    template: str
    addresses: list[Interface] = Field(min_length=1)
    gateway: str
    cores: Annotated[int, Field(ge=1, le=128)] = 4
    memory_mb: Annotated[int, Field(ge=1024, le=1048576)] = 8192


Machines = Annotated[InventoryMachines | ProxmoxMachines | VsphereMachines, Field(discriminator="source")]

# The k3s release installed for each Kubernetes minor when a stack pins none.
# Refresh with each k3s patch release; a stack may pin its own `k3sVersion`.
K3S_VERSIONS: dict[str, str] = {
    "1.33": "v1.33.6+k3s1",
    "1.34": "v1.34.2+k3s1",
    "1.35": "v1.35.0+k3s1",
    "1.36": "v1.36.0+k3s1",
}


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
    k3s_version: Annotated[str, Field(pattern=r"^v1\.\d{2}\.\d+\+k3s\d+$")] | None = Field(
        default=None, alias="k3sVersion"
    )
    api_vip: str
    load_balancer_pool: list[str] = Field(min_length=1)
    airgap: bool = False
    registry_mirror: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$")] | None = None
    """`host[:port]` of a registry every node pulls all images through (HTTPS); required when air-gapped."""
    network: Network = Network(cidr="10.42.0.0/16", pod_cidr="10.43.0.0/16", service_cidr="10.44.0.0/16")

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"servers": 1},
        "staging": {"servers": 3},
        "prod": {"servers": 3, "deletionProtection": True},
    }

    @model_validator(mode="after")
    def _pinned_k3s(self) -> OnpremSpec:
        if self.k3s_version is None and self.kubernetes_version in K3S_VERSIONS:
            object.__setattr__(self, "k3s_version", K3S_VERSIONS[self.kubernetes_version])
        return self

    @property
    def networks(self) -> Mapping[str, str]:
        return {"network.cidr": self.network.cidr}

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
    kubeconfig_path: str | None = None
    kubeconfig: SecretStr | None = None
    context: Annotated[str, Field(min_length=1)] | None = None
    load_balancer: Literal["cloud", "metallb", "none"] = "none"
    load_balancer_pool: list[str] = []
    storage_class: Annotated[str, Field(pattern=DNS_LABEL)] = "standard"
    zones: list[str] = []
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
        if self.load_balancer == "metallb" and not self.load_balancer_pool:
            yield Problem(
                "loadBalancerPool", [], "at least one address range for MetalLB, e.g. 172.18.255.200-172.18.255.250"
            )
        if self.node_pools:
            yield Problem("nodePools", "[...]", "no node pools: an existing cluster's nodes are not managed here")


ClusterSpec = Annotated[
    AwsSpec | GcpSpec | AzureSpec | DigitalOceanSpec | OnpremSpec | ExistingSpec,
    Field(discriminator="target"),
]
_CLUSTER = TypeAdapter(ClusterSpec)


# ---------------------------------------------------------------------- workloads

_IMAGE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class Replicas(Model):
    min: Annotated[int, Field(ge=1, le=1000)] = 1
    max: Annotated[int, Field(ge=1, le=1000)] = 3


class Resources(Model):
    cpu: Annotated[str, Field(pattern=r"^\d+(\.\d+)?m?$")] = "100m"
    memory: Annotated[str, Field(pattern=r"^\d+(Ki|Mi|Gi)$")] = "128Mi"
    cpu_limit: Annotated[str, Field(pattern=r"^\d+(\.\d+)?m?$")] | None = None
    memory_limit: Annotated[str, Field(pattern=r"^\d+(Ki|Mi|Gi)$")] | None = None


class Expose(Model):
    host: Annotated[str, Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")] | None = None
    path: Annotated[str, Field(pattern=r"^/")] = "/"


class WorkloadSpec(Model):
    name: Name
    image: str
    run_as_user: Annotated[int, Field(ge=1, le=2**31 - 1)] = 65532
    """Numeric, so the kubelet can prove the container is not root even when the image names its user."""
    clusters: list[Name] = Field(min_length=1)
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    health_path: Annotated[str, Field(pattern=r"^/")] = "/healthz"
    replicas: Replicas = Replicas()
    resources: Resources = Resources()
    cpu_target: Annotated[int, Field(ge=10, le=100)] = 70
    memory_target: Annotated[int, Field(ge=10, le=100)] = 80
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = {}
    expose: Expose | None = None
    cloud_identity: bool = False

    env_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dev": {"replicas": {"min": 1, "max": 3}},
        "staging": {"replicas": {"min": 2, "max": 6}},
        "prod": {"replicas": {"min": 3, "max": 12}},
    }

    @field_validator("image")
    @classmethod
    def _pinned(cls, v: str) -> str:
        match = _IMAGE.match(v)
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


_WORKLOAD = TypeAdapter(WorkloadSpec)


# --------------------------------------------------------------------------- stack


@dataclass(frozen=True)
class StackSpec:
    environment: Environment
    clusters: tuple[ClusterBase, ...]
    workloads: tuple[WorkloadSpec, ...]

    def cluster(self, name: str) -> ClusterBase:
        return next(c for c in self.clusters if c.name == name)

    def workloads_on(self, cluster: str) -> tuple[WorkloadSpec, ...]:
        return tuple(w for w in self.workloads if cluster in w.clusters)


def _show(value: Any, path: str) -> str:
    last = re.split(r"[.\[]", path)[-1]
    if last in SECRET_KEYS:
        return "[secret]"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return json.dumps(value) if len(json.dumps(value)) <= 60 else "a list"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line(path: str, value: Any, allowed: str, *, present: bool = True) -> str:
    shown = _show(value, path) if present else "missing"
    return f"{NAMESPACE}:{path}: {shown}; allowed: {allowed}"


def _key(part: Any) -> str:
    """One step of a key path; keys that are not plain words are quoted so a path stays one line."""
    if isinstance(part, int) and not isinstance(part, bool):
        return f"[{part}]"
    text = str(part)
    return f".{text}" if re.fullmatch(r"[A-Za-z0-9_-]+", text) else f"[{json.dumps(text)}]"


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
        path, value, present, trail = _path(prefix, data, loc)
        if err["type"] == "extra_forbidden":
            model = _model_at(root, trail[:-1])
            allowed = model.keys() if model else []
            near = difflib.get_close_matches(str(trail[-1]), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            lines.append(f"{NAMESPACE}:{path}: unknown key{hint}; allowed: {', '.join(allowed) or 'no keys here'}")
        else:
            lines.append(_line(path, value, _allowed(err), present=present))
    return lines


def parse(config: Mapping[str, Any]) -> StackSpec:
    """Validate a stack's `orquestra:` config (keys without the namespace, values as YAML gives them).

    Raises SpecError listing every problem found. Clusters and workloads are
    validated one by one so that a type error in one does not hide a rule broken
    by another.
    """
    problems: list[str] = []
    allowed_keys = {"environment", "clusters", "workloads"}
    for key in config:
        if key not in allowed_keys:
            near = difflib.get_close_matches(str(key), sorted(allowed_keys), n=1)
            hint = f" (did you mean '{NAMESPACE}:{near[0]}'?)" if near else ""
            shown = _key(key).removeprefix(".")
            problems.append(f"{NAMESPACE}:{shown}: unknown key{hint}; allowed: {', '.join(sorted(allowed_keys))}")

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
    clusters: list[ClusterBase] = []
    for i, raw in enumerate(raw_clusters):
        prefix = f"clusters[{i}]"
        try:
            cluster: ClusterBase = _CLUSTER.validate_python(raw, context=context)
        except ValidationError as exc:
            problems.extend(_validation_lines(prefix, ClusterSpec, raw, exc))
            continue
        problems.extend(_line(f"{prefix}.{p.path}", p.value, p.allowed) for p in cluster.problems())
        clusters.append(cluster)

    raw_workloads = config.get("workloads", [])
    if not isinstance(raw_workloads, list):
        problems.append(_line("workloads", raw_workloads, "a list of workloads"))
        raw_workloads = []
    workloads: list[WorkloadSpec] = []
    for i, raw in enumerate(raw_workloads):
        prefix = f"workloads[{i}]"
        try:
            workload = _WORKLOAD.validate_python(raw, context=context)
        except ValidationError as exc:
            problems.extend(_validation_lines(prefix, WorkloadSpec, raw, exc))
            continue
        problems.extend(_line(f"{prefix}.{p.path}", p.value, p.allowed) for p in workload.problems())
        workloads.append(workload)

    problems.extend(_stack_rules(raw_clusters, clusters, raw_workloads, workloads))
    if problems:
        raise SpecError(problems)
    return StackSpec(environment=env, clusters=tuple(clusters), workloads=tuple(workloads))


def in_zone(host: str, zone: str) -> bool:
    """The zone's apex or a name below it, label by label: `a.notexample.com` is not in `example.com`."""
    return host == zone or host.endswith(f".{zone}")


def _index(raw: list[Any], key: str, value: Any) -> int:
    return next(i for i, r in enumerate(raw) if isinstance(r, Mapping) and r.get(key) == value)


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

    owned: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for cluster in clusters:
        i = _index(raw_clusters, "name", cluster.name)
        for key, cidr in cluster.networks.items():
            net = ipaddress.ip_network(cidr)
            for other_path, other in owned:
                if net.overlaps(other):
                    yield _line(f"clusters[{i}].{key}", cidr, f"a range that does not overlap {other_path} ({other})")
            owned.append((f"clusters[{i}].{key}", net))

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
        for j, cluster_name in enumerate(workload.clusters):
            target = by_name[cluster_name].target if cluster_name in by_name else None
            if workload.cloud_identity and target is not None and target not in IDENTITY_TARGETS:
                yield _line(
                    f"workloads[{i}].cloudIdentity",
                    True,
                    f"false: cluster '{cluster_name}' ({target}) gives pods no cloud identity "
                    f"(targets that do: {', '.join(sorted(IDENTITY_TARGETS))})",
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
            if cluster_name not in names:
                known = ", ".join(names) or "none defined"
                yield _line(
                    f"workloads[{i}].clusters[{j}]", cluster_name, f"the name of a cluster in this stack ({known})"
                )


def load(config: Mapping[str, Any] | None = None) -> StackSpec:
    """Read the live `orquestra:` namespace from the Pulumi runtime and parse it."""
    if config is None:
        config = read_config()
    return parse(config)


def read_config() -> dict[str, Any]:
    """The namespace's keys as plain values.

    Read below `pulumi.Config` on purpose: a stack that set one nested secret with
    `--path` marks the whole key secret, and the spec knows which leaves are
    secret (they are SecretStr and leave here only as `Output.secret`).
    """
    from pulumi.runtime.config import CONFIG, get_config_env

    prefix = f"{NAMESPACE}:"
    out: dict[str, Any] = {}
    for full_key, value in {**get_config_env(), **CONFIG.get()}.items():
        if not full_key.startswith(prefix):
            continue
        with contextlib.suppress(TypeError, json.JSONDecodeError):
            value = json.loads(value) if full_key != f"{prefix}environment" else value
        out[full_key.removeprefix(prefix)] = value
    return out
