"""The mapping table `--compare` re-targets a cluster with: machine shapes, regions and what each target needs.

Every registered target has a row in `ROWS` (`tests/test_compare.py` fails when
one lacks it), so a new target joins the comparison with its registry entry and
its row. Prices are not kept here: a shape's monthly price is read from the
target's own cost model (`preflight/estimates/<key>.py`), the table the plan is
priced with, so the mapping and the bill never disagree.

Machine shapes (vCPU, GiB of memory, CPU architecture), as each provider lists
them, read 2026-11:
- AWS: https://aws.amazon.com/ec2/instance-types/ (t3, m6i, m7i, m7g, c6i, r6i)
- GCP: https://cloud.google.com/compute/docs/general-purpose-machines (e2, n2, n2d;
  e2-medium is 2 shared-core vCPUs)
- Azure: https://learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/dsv5-series,
  .../dasv5-series, .../bv1-series (B2s)
- DigitalOcean: https://docs.digitalocean.com/products/droplets/concepts/choosing-a-plan/
  (Basic `s-` and General Purpose `g-` Droplets; the slug states the shape)
- OCI: flexible shapes are sized to order, OCPUs and memory per pool
  (https://docs.oracle.com/en-us/iaas/Content/Compute/References/computeshapes.htm: one OCPU is one
  physical core, two vCPUs on x86 (AMD, Intel), one vCPU on Ampere A1; 1 to 64 GB of memory per OCPU)
- vSphere with Tanzu: the default VM classes every Supervisor ships, `best-effort-*` (overcommitted)
  and `guaranteed-*` (fully reserved), xsmall 2 vCPU/2 GB to 8xlarge 32 vCPU/128 GB
  (https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-5AC24EB3-30B2-4C9B-8AA5-9918665AD451.html,
  "Default VM Classes"); a Supervisor's administrator may bind others to the namespace

Regions: one row per geography, the nearest region of each cloud, from each
provider's region list (read 2026-11):
https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html,
https://cloud.google.com/compute/docs/regions-zones,
https://learn.microsoft.com/azure/reliability/regions-list,
https://docs.digitalocean.com/platform/regional-availability/,
https://docs.oracle.com/en-us/iaas/Content/General/Concepts/regions.htm (identifiers as in oci-go-sdk
common/regions.go). OCI has no region in Ireland: Europe North maps to Amsterdam, which keeps the data in the EU.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.runtime import UNKNOWN_SECRET
from components.spec import Environment, NodePool, OnpremSpec
from preflight.estimates import aws, azure, digitalocean, gcp
from preflight.estimates.base import HOURS_PER_MONTH
from preflight.rejects import oci as oci_rejects

Arch = Literal["x86_64", "arm64"]

TOLERANCE = 2.0
"""A mapped machine has at least the source's vCPU and memory and at most this many times each: workloads that
fit still fit, and the bill is not padded past one size step of any catalogue."""


@dataclass(frozen=True)
class Shape:
    vcpu: int
    memory_gib: float
    arch: Arch = "x86_64"
    burstable: bool = False
    """CPU credits or a shared core (t3, e2-medium, B-series): matched only to its kind when the shapes tie."""

    def __str__(self) -> str:
        return f"{self.vcpu} vCPU, {self.memory_gib:g} GiB, {self.arch}" + (", burstable" if self.burstable else "")

    def ratios(self, other: Shape) -> tuple[float, float]:
        """How many times `other`'s vCPU and memory this shape has."""
        return self.vcpu / other.vcpu, self.memory_gib / other.memory_gib


@dataclass(frozen=True)
class Flex:
    """A flexible shape family: each pool gets the OCPUs and memory it needs, so there is no size step to round to.

    An OCPU is a physical core: two vCPUs (threads) on x86, one on Ampere A1
    (https://docs.oracle.com/en-us/iaas/Content/Compute/References/computeshapes.htm, "provisioning units").
    """

    arch: Arch
    vcpus_per_ocpu: int

    def size(self, name: str, shape: Shape) -> tuple[int, int]:
        """The fewest OCPUs with at least `shape`'s vCPUs and memory in whole GB, within what OCI accepts of the
        shape (its OCPU and memory limits, 1 to 64 GB per OCPU: `preflight.rejects.oci`)."""
        max_ocpus, max_memory = oci_rejects.FLEX_LIMITS[name]
        low, high = oci_rejects.GB_PER_OCPU
        ocpus = max(1, math.ceil(shape.vcpu / self.vcpus_per_ocpu), math.ceil(shape.memory_gib / high))
        ocpus = min(ocpus, max_ocpus)
        memory = min(max(math.ceil(shape.memory_gib), low * ocpus), high * ocpus, max_memory)
        return ocpus, memory

    def shape(self, ocpus: int, memory_gb: float) -> Shape:
        return Shape(ocpus * self.vcpus_per_ocpu, memory_gb, self.arch)


def _hourly(table: Mapping[str, float]) -> Mapping[str, float]:
    return {name: rate * HOURS_PER_MONTH for name, rate in table.items()}


@dataclass(frozen=True)
class Site:
    """What an on-prem variant is planned with: a reference site, whose addresses are placeholders to replace.

    192.0.2.0/24 and 198.51.100.0/24 are TEST-NET-1 and -2 (RFC 5737), reserved for documentation.
    """

    prefix: str = "192.0.2"
    vip: str = "192.0.2.10"
    load_balancer_pool: str = "192.0.2.200-192.0.2.239"
    load_balancer_addresses: int = 40
    first_server: int = 11
    first_agent: str = "198.51.100.1"


SITE = Site()
PUBLIC_CIDR_PLACEHOLDER = "192.0.2.0/24"
"""TEST-NET-1 (RFC 5737): stands in for your office and CI ranges where a target needs a public API endpoint."""
HUB_CIDR_PLACEHOLDER = "198.18.0.0/24"
"""Part of 198.18.0.0/15, reserved for benchmarking (RFC 2544): stands in for your hub's range and overlaps no
cluster range a stack uses."""
GCP_PROJECT_PLACEHOLDER = "orquestra-compare"
AZURE_GROUP_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
AZURE_SUBSCRIPTION_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
AZURE_DNS_GROUP_PLACEHOLDER = "dns"
OCI_COMPARTMENT_PLACEHOLDER = "ocid1.compartment.oc1..orquestracompareplaceholder"
TANZU_NAMESPACE_PLACEHOLDER = "orquestra-compare"
TANZU_STORAGE_CLASS_PLACEHOLDER = "vsan-default-storage-policy"
"""The storage policy vSAN creates by default; the namespace's own is assigned by its administrator."""


def _gcp_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    cluster.setdefault("project", GCP_PROJECT_PLACEHOLDER)


def _azure_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    # Prod turns local accounts off, and AKS then needs an Entra ID admin group; the all-zero object ID stands in.
    cluster.setdefault("adminGroupObjectIds", [AZURE_GROUP_PLACEHOLDER])
    if cluster.get("platform", {}).get("dns", {}).get("zone"):
        # cert-manager's and external-dns's role is scoped to the zone, named by its resource group.
        cluster.setdefault("dnsResourceGroup", AZURE_DNS_GROUP_PLACEHOLDER)


def _digitalocean_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    if cluster.get("platform", {}).get("dns", {}).get("zone"):
        # DOKS has no pod identity: DNS-01 reads an API token the stack holds as a secret.
        cluster.setdefault("dnsToken", UNKNOWN_SECRET)


def _onprem_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    """Bare hosts you already have (`source: inventory`): the comparison prices no hardware, it counts it."""
    if "machines" in cluster:
        return
    servers = int(OnpremSpec.env_defaults[env].get("servers", 1))
    agents = [(pool, i) for pool, count, _ in pools for i in range(count)]
    first_agent = ipaddress.ip_address(SITE.first_agent)
    cluster.update(
        servers=servers,
        apiVip=SITE.vip,
        loadBalancerPool=[SITE.load_balancer_pool],
        machines={
            "source": "inventory",
            "servers": [
                {"name": f"{cluster['name']}-server-{i}", "address": f"{SITE.prefix}.{SITE.first_server + i}"}
                for i in range(servers)
            ],
            "agents": [
                {"name": f"{cluster['name']}-{pool}-{i}", "address": str(first_agent + n), "pool": pool}
                for n, (pool, i) in enumerate(agents)
            ],
        },
        ssh={"privateKey": UNKNOWN_SECRET},
    )


def _oci_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    """The compartment, and each pool's OCPUs and memory sized from its source shape (`nearest` names the shape)."""
    cluster.setdefault("compartmentId", OCI_COMPARTMENT_PLACEHOLDER)
    sizes: dict[str, dict[str, int]] = {}
    for pool, _, shape in pools:
        found = _flex_size(shape, "oci") if shape is not None else None
        if found is not None:
            sizes[pool] = {"ocpus": found[1], "memoryGbs": found[2]}
    if sizes:
        cluster["poolShapes"] = sizes


def _oci_shape(spec: Any, pool: NodePool) -> Shape | None:
    """A pool on a flexible shape is the OCPUs and memory the spec gives it; a fixed shape is not in the table."""
    family = ROWS["oci"].flex.get(pool.instance_types[0]) if pool.instance_types else None
    if family is None:
        return None
    flex = spec.shape_of(pool)
    return family.shape(flex.ocpus, flex.memory_gbs)


def _tanzu_fields(cluster: dict[str, Any], env: Environment, pools: list[tuple[str, int, Shape | None]]) -> None:
    cluster.setdefault("namespace", TANZU_NAMESPACE_PLACEHOLDER)
    cluster.setdefault("storageClass", TANZU_STORAGE_CLASS_PLACEHOLDER)
    cluster.setdefault("managementKubeconfig", UNKNOWN_SECRET)


def _onprem_needs(spec: Any, mapped: Mapping[str, str]) -> dict[str, Any]:
    """The machines by pool, their addresses and the API VIP."""
    counts: dict[str, int] = spec.agent_counts
    servers = int(spec.servers)
    machines = [f"{servers} server(s)"] + [f"{n} × pool {name}: {mapped.get(name, '?')}" for name, n in counts.items()]
    return {
        "machines": machines,
        "addresses": servers + sum(counts.values()),
        "apiVip": spec.api_vip,
        "loadBalancerPool": list(spec.load_balancer_pool),
    }


def _tanzu_needs(spec: Any, mapped: Mapping[str, str]) -> dict[str, Any]:
    """The VMs by class the namespace's quota and VM class bindings must allow, and where they go."""
    machines = [f"{spec.control_plane_replicas} × control plane: {spec.control_plane_vm_class}"] + [
        f"{pool.min}-{pool.max} × pool {pool.name}: {mapped.get(pool.name, pool.instance_types[0])}"
        for pool in spec.node_pools
    ]
    return {
        "machines": machines,
        "vmClasses": sorted({spec.control_plane_vm_class, *(p.instance_types[0] for p in spec.node_pools)}),
        "namespace": spec.namespace,
        "storageClass": spec.storage_class,
        "managementKubeconfig": "a Supervisor kubeconfig for the namespace (secret config)",
    }


def _onprem_shape(spec: Any, pool: NodePool) -> Shape | None:
    machines = getattr(spec, "machines", None)
    cores, memory = getattr(machines, "cores", None), getattr(machines, "memory_mb", None)
    return Shape(cores, memory / 1024) if cores and memory else None


@dataclass(frozen=True)
class Row:
    """One target in the comparison."""

    shapes: Mapping[str, Shape]
    """Machine types this target's pools may be mapped to; empty: machines are sized to order (on-prem, `flex`)."""
    monthly: Mapping[str, float]
    """Each shape's list price a month, from the target's cost model; empty where hardware has no list price or a
    flexible shape is priced by its size."""
    reference_region: str | None
    """The region the cost model's prices are for, and where a cluster with no region to map from is placed."""
    spot: bool
    """Whether the target offers spot (preemptible) capacity."""
    regions_key: str | None = None
    """The target's column in `GEOGRAPHIES`; None when it has no regions."""
    fields: Callable[[dict[str, Any], Environment, list[tuple[str, int, Shape | None]]], None] | None = None
    """Adds what only this target's spec requires (a GCP project, on-prem hosts), given each pool's
    (name, nodes, shape)."""
    pool_shape: Callable[[Any, NodePool], Shape | None] | None = None
    """The shape of a pool whose machine type is not in `shapes` (on-prem VM size, an OCI flexible shape's size)."""
    flex: Mapping[str, Flex] = field(default_factory=dict)
    """Flexible shapes, sized to each pool (`fields` writes the size); used instead of `shapes`."""
    needs: Callable[[Any, Mapping[str, str]], dict[str, Any]] | None = None
    """What the site provides for a target without list prices, given its spec and each pool's mapped machine."""
    endpoint: str = ""
    """Where the API of a target without `apiAccess` is reached, when that cannot be promised private."""
    hub: Mapping[str, Any] | None = None
    """A placeholder `deployer.hub` for a private API endpoint on this target (docs/private-deploy.md): the variant
    plans the path from a hub as a real stack would, to a hub that stands for yours."""
    comparable: bool = True
    why_not: str = ""
    """Why the target is left out of comparisons, when it is."""
    notes: tuple[str, ...] = ()


ROWS: Mapping[str, Row] = {
    "aws": Row(
        shapes={
            "t3.medium": Shape(2, 4, burstable=True),
            "t3.large": Shape(2, 8, burstable=True),
            "t3.xlarge": Shape(4, 16, burstable=True),
            "m6i.large": Shape(2, 8),
            "m6i.xlarge": Shape(4, 16),
            "m6i.2xlarge": Shape(8, 32),
            "m7i.large": Shape(2, 8),
            "m7g.large": Shape(2, 8, "arm64"),
            "c6i.large": Shape(2, 4),
            "c6i.xlarge": Shape(4, 8),
            "r6i.large": Shape(2, 16),
        },
        monthly=_hourly(aws.AWS_INSTANCE_HOURLY),
        reference_region="us-east-1",
        spot=True,
        regions_key="aws",
        hub={"transitGatewayId": "tgw-00000000000000000", "cidrs": [HUB_CIDR_PLACEHOLDER]},
    ),
    "gcp": Row(
        shapes={
            "e2-medium": Shape(2, 4, burstable=True),
            "e2-standard-2": Shape(2, 8),
            "e2-standard-4": Shape(4, 16),
            "n2-standard-2": Shape(2, 8),
            "n2-standard-4": Shape(4, 16),
            "n2-standard-8": Shape(8, 32),
            "n2d-standard-2": Shape(2, 8),
        },
        monthly=_hourly(gcp.GCP_MACHINE_HOURLY),
        reference_region="us-central1",
        spot=True,
        regions_key="gcp",
        fields=_gcp_fields,
        hub={"network": f"projects/{GCP_PROJECT_PLACEHOLDER}/global/networks/hub", "cidrs": [HUB_CIDR_PLACEHOLDER]},
        notes=(f"project '{GCP_PROJECT_PLACEHOLDER}' is a placeholder: the plan does not depend on it",),
    ),
    "azure": Row(
        shapes={
            "Standard_B2s": Shape(2, 4, burstable=True),
            "Standard_D2s_v5": Shape(2, 8),
            "Standard_D4s_v5": Shape(4, 16),
            "Standard_D8s_v5": Shape(8, 32),
            "Standard_D2as_v5": Shape(2, 8),
            "Standard_D4as_v5": Shape(4, 16),
        },
        monthly=_hourly(azure.AZURE_VM_HOURLY),
        reference_region="eastus",
        spot=True,
        regions_key="azure",
        fields=_azure_fields,
        hub={
            "vnetId": f"/subscriptions/{AZURE_SUBSCRIPTION_PLACEHOLDER}/resourceGroups/hub/providers/Microsoft.Network"
            "/virtualNetworks/hub",
            "cidrs": [HUB_CIDR_PLACEHOLDER],
        },
        notes=(f"admin group {AZURE_GROUP_PLACEHOLDER} is a placeholder for your platform admins' Entra ID group",),
    ),
    "digitalocean": Row(
        shapes={
            "s-1vcpu-2gb": Shape(1, 2),
            "s-2vcpu-2gb": Shape(2, 2),
            "s-2vcpu-4gb": Shape(2, 4),
            "s-4vcpu-8gb": Shape(4, 8),
            "s-8vcpu-16gb": Shape(8, 16),
            "g-4vcpu-16gb": Shape(4, 16),
            "g-8vcpu-32gb": Shape(8, 32),
        },
        monthly=digitalocean.DO_DROPLET_MONTHLY,
        reference_region="nyc3",
        spot=False,
        regions_key="digitalocean",
        fields=_digitalocean_fields,
    ),
    "oci": Row(
        shapes={},
        monthly={},
        # The price list is one for the commercial realm (`preflight/estimates/oci.py`); Ashburn as AWS's us-east-1.
        reference_region="us-ashburn-1",
        spot=True,
        regions_key="oci",
        fields=_oci_fields,
        hub={"drgId": f"ocid1.drg.oc1..{'a' * 60}", "cidrs": [HUB_CIDR_PLACEHOLDER]},
        pool_shape=_oci_shape,
        flex={
            # The general-purpose AMD shape the target defaults to, and Ampere A1 for arm64 pools.
            "VM.Standard.E5.Flex": Flex("x86_64", 2),
            "VM.Standard.A1.Flex": Flex("arm64", 1),
        },
        notes=(f"compartment {OCI_COMPARTMENT_PLACEHOLDER} is a placeholder: the plan does not depend on it",),
    ),
    "tanzu": Row(
        # The default VM classes; `best-effort-*` overcommits the host (no reservation), matched as a burstable
        # type is, so a t3 or e2-medium pool gets one and a dedicated-core pool a `guaranteed-*` class.
        shapes={
            f"{kind}-{size}": Shape(vcpu, memory, burstable=kind == "best-effort")
            for kind in ("best-effort", "guaranteed")
            for size, (vcpu, memory) in {
                "xsmall": (2, 2),
                "small": (2, 4),
                "medium": (2, 8),
                "large": (4, 16),
                "xlarge": (4, 32),
                "2xlarge": (8, 64),
                "4xlarge": (16, 128),
                "8xlarge": (32, 128),
            }.items()
        },
        monthly={},
        reference_region=None,
        spot=False,
        fields=_tanzu_fields,
        needs=_tanzu_needs,
        endpoint="the control plane's address comes from the Supervisor's load balancer (NSX or Avi) "
        "and is reached wherever the site routes it",
        notes=(
            f"namespace '{TANZU_NAMESPACE_PLACEHOLDER}', storage class '{TANZU_STORAGE_CLASS_PLACEHOLDER}' and the "
            "Supervisor kubeconfig are placeholders for the vSphere Namespace your administrator sets up",
        ),
    ),
    "onprem": Row(
        shapes={},
        monthly={},
        reference_region=None,
        spot=False,
        fields=_onprem_fields,
        pool_shape=_onprem_shape,
        needs=_onprem_needs,
        notes=(
            "hosts, VIP and load balancer pool are documentation addresses (RFC 5737): "
            "the plan counts what your site must provide",
        ),
    ),
    "existing": Row(
        shapes={},
        monthly={},
        reference_region=None,
        spot=False,
        comparable=False,
        why_not="an existing cluster is one you already run: orquestra creates, prices and times none of it",
    ),
}

GEOGRAPHIES: Mapping[str, Mapping[str, str]] = {
    "US East (Virginia, New York)": {
        "aws": "us-east-1",
        "gcp": "us-east4",
        "azure": "eastus",
        "digitalocean": "nyc3",
        "oci": "us-ashburn-1",
    },
    "US Central (Iowa, Ohio)": {
        "aws": "us-east-2",
        "gcp": "us-central1",
        "azure": "centralus",
        "digitalocean": "nyc3",
        "oci": "us-chicago-1",
    },
    "US West (Oregon, California)": {
        "aws": "us-west-2",
        "gcp": "us-west1",
        "azure": "westus2",
        "digitalocean": "sfo3",
        "oci": "us-sanjose-1",
    },
    "Canada (Toronto, Montreal)": {
        "aws": "ca-central-1",
        "gcp": "northamerica-northeast2",
        "azure": "canadacentral",
        "digitalocean": "tor1",
        "oci": "ca-toronto-1",
    },
    "Europe West (Ireland, Belgium, Netherlands)": {
        "aws": "eu-west-1",
        "gcp": "europe-west1",
        "azure": "westeurope",
        "digitalocean": "ams3",
        "oci": "eu-amsterdam-1",
    },
    "Europe North (Ireland)": {
        "aws": "eu-west-1",
        "gcp": "europe-west1",
        "azure": "northeurope",
        "digitalocean": "ams3",
        "oci": "eu-amsterdam-1",
    },
    "UK (London)": {
        "aws": "eu-west-2",
        "gcp": "europe-west2",
        "azure": "uksouth",
        "digitalocean": "lon1",
        "oci": "uk-london-1",
    },
    "Germany (Frankfurt)": {
        "aws": "eu-central-1",
        "gcp": "europe-west3",
        "azure": "germanywestcentral",
        "digitalocean": "fra1",
        "oci": "eu-frankfurt-1",
    },
    "India (Mumbai, Pune, Bangalore)": {
        "aws": "ap-south-1",
        "gcp": "asia-south1",
        "azure": "centralindia",
        "digitalocean": "blr1",
        "oci": "ap-mumbai-1",
    },
    "Singapore": {
        "aws": "ap-southeast-1",
        "gcp": "asia-southeast1",
        "azure": "southeastasia",
        "digitalocean": "sgp1",
        "oci": "ap-singapore-1",
    },
    "Australia (Sydney)": {
        "aws": "ap-southeast-2",
        "gcp": "australia-southeast1",
        "azure": "australiaeast",
        "digitalocean": "syd1",
        "oci": "ap-sydney-1",
    },
}
"""Geography -> the nearest region of each cloud. The first row that lists a region places it."""


def geography(target: str, region: str) -> str | None:
    key = ROWS[target].regions_key
    return next((name for name, row in GEOGRAPHIES.items() if key and row.get(key) == region), None)


def region_for(source: str, region: str | None, target: str) -> tuple[str | None, str]:
    """The region a cluster in `region` of `source` gets on `target`, and how it was chosen."""
    key = ROWS[target].regions_key
    if key is None:
        return None, "no regions"
    if region is not None and source == target:
        return region, "the cluster's own"
    where = geography(source, region) if region is not None else None
    if where is not None:
        return GEOGRAPHIES[where][key], where
    why = f"{region} is not in the region table" if region else "the cluster has no region"
    return ROWS[target].reference_region, f"{why}: the reference region"


def shape_of(target: str, instance_type: str) -> Shape | None:
    return ROWS[target].shapes.get(instance_type)


def _flex_size(shape: Shape, target: str) -> tuple[str, int, int] | None:
    """The flexible shape of `target` for `shape` (its architecture's, else the first), with OCPUs and memory GB."""
    flex = ROWS[target].flex
    if not flex:
        return None
    name = next((n for n, f in flex.items() if f.arch == shape.arch), next(iter(flex)))
    return name, *flex[name].size(name, shape)


def nearest(shape: Shape, target: str) -> tuple[str, Shape] | None:
    """The machine type of `target` nearest `shape`: the same architecture when it has one, at least its vCPU and
    memory, the least excess (summed log ratios, so twice the vCPU weighs as twice the memory), then the same CPU
    kind (burstable or not), then the cheapest. A flexible shape is sized to `shape` instead."""
    row = ROWS[target]
    if (sized := _flex_size(shape, target)) is not None:
        name, ocpus, memory = sized
        return name, row.flex[name].shape(ocpus, memory)
    if not row.shapes:
        return None
    same_arch = {n: s for n, s in row.shapes.items() if s.arch == shape.arch} or dict(row.shapes)
    fits = {n: s for n, s in same_arch.items() if s.vcpu >= shape.vcpu and s.memory_gib >= shape.memory_gib}
    pool = fits or same_arch

    def excess(item: tuple[str, Shape]) -> tuple[float, float, bool, float]:
        name, s = item
        v, m = s.ratios(shape)
        spread = abs(math.log(v)) + abs(math.log(m))
        return (0.0 if fits else -min(v, m), spread, s.burstable != shape.burstable, row.monthly.get(name, math.inf))

    name, found = min(pool.items(), key=excess)
    return name, found


def within_tolerance(mapped: Shape, source: Shape) -> bool:
    v, m = mapped.ratios(source)
    return 1.0 <= v <= TOLERANCE and 1.0 <= m <= TOLERANCE
