"""The OKE control plane: the Vault key that encrypts Secrets in etcd, the policies OKE needs, the cluster."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_oci.containerengine as containerengine
import pulumi_oci.identity as identity
import pulumi_oci.kms as kms

if TYPE_CHECKING:
    from components.targets.oci import OciCluster
    from components.targets.oci.network import Network

CLUSTER_TYPE = "ENHANCED_CLUSTER"
"""Workload identity, add-ons and the financially backed SLA exist on enhanced clusters only
(https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengcomparingenhancedwithbasicclusters_topic.htm)."""
CNI = "FLANNEL_OVERLAY"
"""Pods take addresses from `network.podCidr`, outside the VCN, as the spec's address plan says."""


def version(c: OciCluster) -> str:
    """The newest patch OKE offers of the spec's minor (`v1.34.1`); the minor is the spec's, the patch OKE's."""
    offered = containerengine.get_cluster_option(
        cluster_option_id="all", compartment_id=c.spec.compartment_id, opts=pulumi.InvokeOptions(parent=c)
    ).kubernetes_versions
    prefix = f"v{c.spec.kubernetes_version}."
    patches = [v for v in offered if v.startswith(prefix) and re.fullmatch(r"v\d+\.\d+\.\d+", v)]
    if not patches:
        raise ValueError(f"OKE offers no {prefix}x in {c.spec.region} (it offers {', '.join(offered)})")
    return max(patches, key=lambda v: tuple(int(p) for p in v[1:].split(".")))


def secrets_key(c: OciCluster) -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
    """The Vault key for Kubernetes Secrets, and what grants OKE its use.

    A key of the stack's own (`kmsKeyId`) or a vault and AES-256 key of the cluster's own. The
    policy is the one "Encrypting Kubernetes Secrets at Rest in Etcd" asks for: clusters of the
    compartment may use that one key and no other
    (https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengencryptingdata.htm).
    """
    spec, name, tags = c.spec, c.spec.name, c.tags()
    made: list[pulumi.Resource] = []
    key_id: pulumi.Input[str]
    if spec.kms_key_id:
        key_id = spec.kms_key_id
    else:
        # A DEFAULT vault is a partition of a shared HSM: no hourly charge, unlike a virtual private vault.
        vault = kms.Vault(
            f"{name}-vault",
            compartment_id=spec.compartment_id,
            display_name=f"{name}-secrets",
            vault_type="DEFAULT",
            freeform_tags=tags,
            opts=c.child_opts(stateful=True),
        )
        key = kms.Key(
            f"{name}-secrets-key",
            compartment_id=spec.compartment_id,
            display_name=f"{name}-secrets",
            management_endpoint=vault.management_endpoint,
            key_shape=kms.KeyKeyShapeArgs(algorithm="AES", length=32),
            protection_mode="HSM",
            freeform_tags=tags,
            opts=c.child_opts(stateful=True),
        )
        made += [vault, key]
        key_id = key.id
    keys = [key_id, *spec.image_signing_key_ids]
    statements = [
        pulumi.Output.concat(
            "Allow any-user to use keys in compartment id ",
            spec.compartment_id,
            " where ALL {request.principal.type = 'cluster', target.key.id = '",
            k,
            "'}",
        )
        for k in keys
    ]
    policy = identity.Policy(
        f"{name}-oke-keys",
        compartment_id=spec.compartment_id,
        name=f"{name}-oke-keys",
        description=f"OKE cluster {name} may use its secrets encryption and image signing keys, and no other",
        statements=statements,
        freeform_tags=tags,
        opts=c.child_opts(),
    )
    return key_id, [*made, policy]


def build(
    c: OciCluster,
    net: Network,
    kubernetes_version: str,
    key_id: pulumi.Input[str],
    grants: Sequence[pulumi.Resource],
) -> containerengine.Cluster:
    spec, name, tags = c.spec, c.spec.name, c.tags()
    signing = spec.image_signing_key_ids
    return containerengine.Cluster(
        f"{name}-oke",
        compartment_id=spec.compartment_id,
        name=name,
        type=CLUSTER_TYPE,
        kubernetes_version=kubernetes_version,
        vcn_id=net.vcn_id,
        cluster_pod_network_options=[containerengine.ClusterClusterPodNetworkOptionArgs(cni_type=CNI)],
        endpoint_config=containerengine.ClusterEndpointConfigArgs(
            subnet_id=net.api_subnet_id,
            is_public_ip_enabled=not spec.api_access.private,
            nsg_ids=net.api_nsg_ids,
        ),
        kms_key_id=key_id,
        # Only images signed by one of these keys may run; off when the stack names none.
        # https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengenforcingsignedimagesfromocir.htm
        image_policy_config=containerengine.ClusterImagePolicyConfigArgs(
            is_policy_enabled=bool(signing),
            key_details=[containerengine.ClusterImagePolicyConfigKeyDetailArgs(kms_key_id=k) for k in signing],
        ),
        options=containerengine.ClusterOptionsArgs(
            kubernetes_network_config=containerengine.ClusterOptionsKubernetesNetworkConfigArgs(
                pods_cidr=spec.network.pod_cidr, services_cidr=spec.network.service_cidr
            ),
            service_lb_subnet_ids=[net.lb_subnet_id],
            add_ons=containerengine.ClusterOptionsAddOnsArgs(
                is_kubernetes_dashboard_enabled=False, is_tiller_enabled=False
            ),
            admission_controller_options=containerengine.ClusterOptionsAdmissionControllerOptionsArgs(
                is_pod_security_policy_enabled=False
            ),
            persistent_volume_config=containerengine.ClusterOptionsPersistentVolumeConfigArgs(freeform_tags=tags),
            service_lb_config=containerengine.ClusterOptionsServiceLbConfigArgs(freeform_tags=tags),
        ),
        freeform_tags=tags,
        opts=c.child_opts(stateful=True, depends_on=[*grants, *net.ready]),
    )
