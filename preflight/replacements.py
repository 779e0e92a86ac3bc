"""Which input properties of the stateful and slow resources force their replacement.

A change review (`preflight.review`) flags an update that touches one of these:
the provider would delete the resource and create a new one (a new cluster, a
new node pool draining every node, a new network under everything), not update
it in place. The table covers the types the targets register that hold state or
take minutes to create: clusters, node pools, networks and subnets, keys, VMs.

Property paths are the Pulumi input names (camelCase of the Terraform names for
bridged providers); a path names a property and everything under it. Each entry
says where the fact was read. The provider's own `replaceOnChanges` on a
registration (a resource option the plan records) counts as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TF_AWS = "hashicorp/terraform-provider-aws"
_MMV1 = "GoogleCloudPlatform/magic-modules d57784406a440397f4edea072ae4f606a57e172d"
_DO = "digitalocean/terraform-provider-digitalocean 401992a1e493a0e3cfc833197820867991fc011f"
# azure-native replaces a resource when a property of its ARM URL path changes
# (https://github.com/pulumi/pulumi-azure-native/issues/77), and ARM refuses to move a
# resource to another location under the same name ("InvalidResourceLocation",
# https://github.com/pulumi/pulumi-azure-native/issues/3053): both mean a new resource.
_AZURE = "ARM URL path parameters and location (pulumi/pulumi-azure-native issues #77, #3053)"


@dataclass(frozen=True)
class Replacing:
    kind: str
    """What a reader calls it: cluster, node pool, network, subnet, key, VM."""
    paths: tuple[str, ...]
    source: str


TABLE: Mapping[str, Replacing] = {
    "aws:eks/cluster:Cluster": Replacing(
        "cluster",
        (
            "name",
            "roleArn",
            "bootstrapSelfManagedAddons",
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            "kubernetesNetworkConfig.ipFamily",
            "kubernetesNetworkConfig.serviceIpv4Cidr",
            "outpostConfig",
            "remoteNetworkConfig",
        ),
        f"{_TF_AWS} internal/service/eks/cluster.go @ 00555dc5 (ForceNew)",
    ),
    "aws:eks/nodeGroup:NodeGroup": Replacing(
        "node pool",
        (
            "amiType",
            "capacityType",
            "clusterName",
            "diskSize",
            "instanceTypes",
            "launchTemplate.id",
            "launchTemplate.name",
            "nodeGroupName",
            "nodeGroupNamePrefix",
            "nodeRoleArn",
            "remoteAccess",
            "subnetIds",
        ),
        f"{_TF_AWS} internal/service/eks/node_group.go @ 012e0a32 (ForceNew)",
    ),
    "aws:ec2/vpc:Vpc": Replacing(
        "network",
        ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
        f"{_TF_AWS} internal/service/ec2/vpc_.go @ 00081ce4 (ForceNew; cidr_block in resourceVPCCustomizeDiff)",
    ),
    "aws:ec2/subnet:Subnet": Replacing(
        "subnet",
        (
            "vpcId",
            "cidrBlock",
            "availabilityZone",
            "availabilityZoneId",
            "ipv4IpamPoolId",
            "ipv4NetmaskLength",
            "ipv6Native",
            "outpostArn",
        ),
        f"{_TF_AWS} internal/service/ec2/vpc_subnet.go @ 00cda125 (ForceNew)",
    ),
    "gcp:container/cluster:Cluster": Replacing(
        "cluster",
        (
            "name",
            "location",
            "project",
            "network",
            "subnetwork",
            "description",
            "initialNodeCount",
            "enableAutopilot",
            "enableKubernetesAlpha",
            "enableTpu",
            "networkingMode",
            "defaultMaxPodsPerNode",
            "datapathProvider",
            "confidentialNodes",
            "ipAllocationPolicy.clusterSecondaryRangeName",
            "ipAllocationPolicy.servicesSecondaryRangeName",
            "privateClusterConfig.privateEndpointSubnetwork",
        ),
        f"{_MMV1} mmv1/third_party/terraform/services/container/resource_container_cluster.go.tmpl (ForceNew)",
    ),
    "gcp:container/nodePool:NodePool": Replacing(
        "node pool",
        (
            "name",
            "namePrefix",
            "cluster",
            "location",
            "project",
            "initialNodeCount",
            "maxPodsPerNode",
            "placementPolicy",
            "queuedProvisioning",
            "networkConfig.createPodRange",
            "networkConfig.podRange",
            "networkConfig.additionalPodNetworkConfigs",
            "nodeConfig.spot",
            "nodeConfig.preemptible",
            "nodeConfig.serviceAccount",
            "nodeConfig.oauthScopes",
            "nodeConfig.metadata",
            "nodeConfig.minCpuPlatform",
            "nodeConfig.localSsdCount",
            "nodeConfig.guestAccelerators",
            "nodeConfig.shieldedInstanceConfig",
            "nodeConfig.bootDiskKmsKey",
            "nodeConfig.reservationAffinity",
            "nodeConfig.sandboxConfig",
        ),
        f"{_MMV1} mmv1/third_party/terraform/services/container/resource_container_node_pool.go.tmpl and "
        "node_config.go.tmpl (ForceNew; machine type and disk size change in place)",
    ),
    "gcp:compute/network:Network": Replacing(
        "network",
        ("name", "project", "autoCreateSubnetworks", "description", "internalIpv6Range", "networkProfile"),
        f"{_MMV1} mmv1/products/compute/Network.yaml (immutable)",
    ),
    "gcp:compute/subnetwork:Subnetwork": Replacing(
        "subnet",
        ("name", "project", "network", "region"),
        f"{_MMV1} mmv1/products/compute/Subnetwork.yaml (immutable)",
    ),
    "gcp:kms/keyRing:KeyRing": Replacing(
        "key",
        ("name", "location", "project"),
        f"{_MMV1} mmv1/products/kms/KeyRing.yaml (the whole resource is immutable; a key ring is never deleted)",
    ),
    "gcp:kms/cryptoKey:CryptoKey": Replacing(
        "key",
        (
            "name",
            "keyRing",
            "purpose",
            "importOnly",
            "destroyScheduledDuration",
            "cryptoKeyBackend",
            "versionTemplate.protectionLevel",
        ),
        f"{_MMV1} mmv1/products/kms/CryptoKey.yaml (immutable)",
    ),
    "digitalocean:index/kubernetesCluster:KubernetesCluster": Replacing(
        "cluster",
        ("region", "vpcUuid", "clusterSubnet", "serviceSubnet", "nodePool.size"),
        f"{_DO} digitalocean/kubernetes/resource_kubernetes_cluster.go and kubernetes.go (ForceNew)",
    ),
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool": Replacing(
        "node pool",
        ("clusterId", "size"),
        f"{_DO} digitalocean/kubernetes/kubernetes.go nodePoolSchema (ForceNew)",
    ),
    "digitalocean:index/vpc:Vpc": Replacing(
        "network",
        ("region", "ipRange"),
        f"{_DO} digitalocean/vpc/resource_vpc.go (ForceNew)",
    ),
    "azure-native:containerservice:ManagedCluster": Replacing(
        "cluster", ("resourceGroupName", "resourceName", "location"), _AZURE
    ),
    "azure-native:containerservice:AgentPool": Replacing(
        "node pool", ("resourceGroupName", "resourceName", "agentPoolName"), _AZURE
    ),
    "azure-native:network:VirtualNetwork": Replacing(
        "network", ("resourceGroupName", "virtualNetworkName", "location"), _AZURE
    ),
    "azure-native:network:Subnet": Replacing(
        "subnet", ("resourceGroupName", "virtualNetworkName", "subnetName"), _AZURE
    ),
    "azure-native:keyvault:Vault": Replacing("key", ("resourceGroupName", "vaultName", "location"), _AZURE),
    "azure-native:keyvault:Key": Replacing("key", ("resourceGroupName", "vaultName", "keyName"), _AZURE),
    "azure-native:resources:ResourceGroup": Replacing("resource group", ("resourceGroupName", "location"), _AZURE),
}


def under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or inside it: `nodeConfig.spot` is under `nodeConfig`, `subnetIds[0]` too."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def forcing(type_: str, paths: Sequence[str], replace_on_changes: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(changed path, source) for each changed path that forces a new resource of `type_`."""
    entry = TABLE.get(type_)
    out: list[tuple[str, str]] = []
    for path in paths:
        if entry is not None and any(under(path, p) or under(p, path) for p in entry.paths):
            out.append((path, entry.source))
        elif any(p == "*" or under(path, p) for p in replace_on_changes):
            out.append((path, "the program's replaceOnChanges"))
    return out
