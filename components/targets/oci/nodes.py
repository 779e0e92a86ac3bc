"""Where pods run: one OKE node pool per spec pool, over the availability and fault domains, autoscaled."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_oci.containerengine as containerengine
import pulumi_oci.identity as identity

from components.ignores import ignored
from components.spec import NodePool as NodePoolSpec
from components.targets.oci.identity import principal

if TYPE_CHECKING:
    from components.targets.oci import OciCluster
    from components.targets.oci.network import Network

FAULT_DOMAINS = ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")
"""Every availability domain has three (https://docs.oracle.com/en-us/iaas/Content/General/Concepts/regions.htm,
"Fault Domains"); a pool spread over all of them survives the loss of one rack's hardware."""
MIN_BOOT_VOLUME_GB = 50
"""The smallest boot volume a node may have (https://docs.oracle.com/en-us/iaas/Content/Block/Concepts/bootvolumes.htm)."""
OKE_INIT = """#!/bin/bash
curl --fail -H "Authorization: Bearer Oracle" -L0 http://169.254.169.254/opc/v2/instance/metadata/oke_init_script \\
  | base64 --decode >/var/run/oke-init.sh
bash /var/run/oke-init.sh --kubelet-extra-args "--register-with-taints={taints}"
"""
"""A node's cloud-init when its pool has taints: OKE's own init script, with the taints given to the kubelet.

OKE node pools take labels but no taints; a custom cloud-init that runs `oke-init.sh` with kubelet
arguments is Oracle's way ("Using Custom Cloud-init Initialization Scripts to Set Up Managed Nodes",
https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengusingcustomcloudinitscripts.htm)."""


AMPERE = re.compile(r"\.Standard\.A\d+\.")
"""Ampere (Arm) shapes: VM.Standard.A1.Flex, BM.Standard.A1.160, and the A-series after them; not VM.GPU.A10.1."""
_IMAGE = re.compile(r"Oracle-Linux-(\d+)\.(\d+)-(?:[A-Za-z0-9]+-)*?(\d{4})\.(\d{2})\.(\d{2})-(\d+)-OKE-")


def image_order(name: str) -> tuple[int, ...]:
    """How new an OKE image is: Oracle Linux release, then date and build, as numbers (8.10 is newer than 8.9)."""
    found = _IMAGE.match(name)
    return tuple(int(g) for g in found.groups()) if found else ()


def image(c: OciCluster, shape: str, kubernetes_version: str) -> str:
    """The newest OKE image of the cluster's version for the shape's architecture.

    OKE names its images `Oracle-Linux-<os>-[aarch64-|Gen2-GPU-]<date>-<n>-OKE-<version>-<build>`
    (`oci ce node-pool-options get --node-pool-option-id all`).
    """
    options = containerengine.get_node_pool_option(
        node_pool_option_id="all", compartment_id=c.spec.compartment_id, opts=pulumi.InvokeOptions(parent=c)
    )
    arm, gpu = AMPERE.search(shape) is not None, ".GPU" in shape
    wanted = f"-OKE-{kubernetes_version.removeprefix('v')}-"
    candidates = sorted(
        (image_order(s.source_name), s.image_id)
        for s in options.sources
        if s.source_type == "IMAGE"
        and s.source_name.startswith("Oracle-Linux-8")
        and wanted in s.source_name
        and ("aarch64" in s.source_name) == arm
        and ("GPU" in s.source_name) == gpu
    )
    if not candidates:
        raise ValueError(f"OKE offers no Oracle Linux 8 image of {kubernetes_version} for shape {shape}")
    return candidates[-1][1]


def _taints(pool: NodePoolSpec) -> str:
    return ",".join(f"{t.key}={t.value}:{t.effect}" for t in pool.taints)


def node_pool(
    c: OciCluster,
    pool: NodePoolSpec,
    cluster: containerengine.Cluster,
    net: Network,
    kubernetes_version: str,
) -> containerengine.NodePool:
    """One node pool; the autoscaler owns its size between the pool's min and max once it exists."""
    spec, name = c.spec, c.spec.name
    shape = pool.instance_types[0]
    ads = list(pool.zones) or list(c.availability_domains)
    labels = {**pool.labels, "orquestra.io/pool": pool.name, "orquestra.io/role": pool.role}
    preemptible = (
        containerengine.NodePoolNodeConfigDetailsPlacementConfigPreemptibleNodeConfigArgs(
            preemption_action=containerengine.NodePoolNodeConfigDetailsPlacementConfigPreemptibleNodeConfigPreemptionActionArgs(
                type="TERMINATE", is_preserve_boot_volume=False
            )
        )
        if pool.spot
        else None
    )
    flex = spec.shape_of(pool)
    metadata = {}
    if pool.taints:
        metadata["user_data"] = base64.b64encode(OKE_INIT.format(taints=_taints(pool)).encode()).decode()
    return containerengine.NodePool(
        f"{name}-{pool.name}",
        cluster_id=cluster.id,
        compartment_id=spec.compartment_id,
        name=pool.name,
        kubernetes_version=kubernetes_version,
        node_shape=shape,
        node_shape_config=containerengine.NodePoolNodeShapeConfigArgs(ocpus=flex.ocpus, memory_in_gbs=flex.memory_gbs)
        if is_flex(shape)
        else None,
        node_source_details=containerengine.NodePoolNodeSourceDetailsArgs(
            source_type="IMAGE",
            image_id=image(c, shape, kubernetes_version),
            boot_volume_size_in_gbs=str(pool.disk_size_gb),
        ),
        node_config_details=containerengine.NodePoolNodeConfigDetailsArgs(
            # At creation only: afterwards the cluster autoscaler decides (ignore_changes below).
            size=pool.min,
            placement_configs=[
                containerengine.NodePoolNodeConfigDetailsPlacementConfigArgs(
                    availability_domain=ad,
                    subnet_id=net.worker_subnet_id,
                    fault_domains=list(FAULT_DOMAINS),
                    preemptible_node_config=preemptible,
                )
                for ad in ads
            ],
            nsg_ids=net.worker_nsg_ids,
            is_pv_encryption_in_transit_enabled=True,
            node_pool_pod_network_option_details=containerengine.NodePoolNodeConfigDetailsNodePoolPodNetworkOptionDetailsArgs(
                cni_type="FLANNEL_OVERLAY"
            ),
            freeform_tags=c.tags(**{"orquestra-pool": pool.name}),
        ),
        initial_node_labels=[
            containerengine.NodePoolInitialNodeLabelArgs(key=k, value=v) for k, v in sorted(labels.items())
        ],
        node_metadata=metadata,
        node_eviction_node_pool_settings=containerengine.NodePoolNodeEvictionNodePoolSettingsArgs(
            eviction_grace_duration="PT60M", is_force_delete_after_grace_duration=True
        ),
        node_pool_cycling_details=containerengine.NodePoolNodePoolCyclingDetailsArgs(
            is_node_cycling_enabled=True, maximum_surge="1", maximum_unavailable="0"
        ),
        freeform_tags=c.tags(**{"orquestra-pool": pool.name}),
        opts=c.child_opts(ignore_changes=ignored("oci:ContainerEngine/nodePool:NodePool")),
    )


def is_flex(shape: str) -> bool:
    return bool(re.search(r"\.Flex$", shape))


AUTOSCALER_SA = ("kube-system", "cluster-autoscaler")
"""Where the add-on runs its autoscaler: the ServiceAccount its workload identity policy names."""
AUTOSCALER_GRANTS = (
    "manage cluster-node-pools",
    "manage instance-family",
    "use subnets",
    "read virtual-network-family",
    "use vnics",
    "inspect compartments",
)
"""What the autoscaler add-on may do as a workload principal ("Working with the Cluster Autoscaler as a Cluster
Add-on", step 1: https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengusingclusterautoscaler_topic-Working_with_Cluster_Autoscaler_as_Cluster_Add-on.htm)."""


def autoscaler(
    c: OciCluster, cluster: containerengine.Cluster, pools: Sequence[tuple[NodePoolSpec, containerengine.NodePool]]
) -> containerengine.Addon:
    """OKE's cluster-autoscaler add-on for every pool, with its own workload identity and nothing more."""
    spec, name = c.spec, c.spec.name
    who = principal(cluster.id, *AUTOSCALER_SA)
    grants = identity.Policy(
        f"{name}-cluster-autoscaler",
        compartment_id=spec.compartment_id,
        name=f"{name}-cluster-autoscaler",
        description=f"The cluster autoscaler of OKE cluster {name} resizes its node pools",
        statements=[
            pulumi.Output.concat(
                "Allow any-user to ", grant, " in compartment id ", spec.compartment_id, " where ", who
            )
            for grant in AUTOSCALER_GRANTS
        ],
        freeform_tags=c.tags(),
        opts=c.child_opts(),
    )
    # "nodes": min:max:<node pool OCID> per pool, comma-separated; "authType": how it signs its OCI calls
    # (Cluster Autoscaler add-on configuration arguments:
    # https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/configuration-arguments-cluster-autoscaler.htm).
    nodes = pulumi.Output.all(*[p.id for _, p in pools]).apply(
        lambda ids: ",".join(f"{s.min}:{s.max}:{i}" for (s, _), i in zip(pools, ids, strict=True))
    )
    replicas = "2" if c.environment == "prod" else "1"
    return containerengine.Addon(
        f"{name}-cluster-autoscaler",
        addon_name="ClusterAutoscaler",
        cluster_id=cluster.id,
        remove_addon_resources_on_delete=True,
        configurations=[
            containerengine.AddonConfigurationArgs(key="nodes", value=nodes),
            containerengine.AddonConfigurationArgs(key="authType", value="workload"),
            containerengine.AddonConfigurationArgs(key="numOfReplicas", value=replicas),
        ],
        opts=c.child_opts(depends_on=[grants, *[p for _, p in pools]]),
    )
