"""The AKS control plane: its resource group, the Key Vault key that encrypts etcd, logs, the cluster, upgrades."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi_azure_native import containerservice, keyvault, managedidentity, monitor, operationalinsights, resources

from components.spec import AzureSpec
from components.targets.azure import nodes

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster
    from components.targets.azure.identity import Grants
    from components.targets.azure.network import Network

CLUSTER_IGNORE = ["agentPoolProfiles[0].count"]
"""Node counts belong to the cluster autoscaler; Pulumi must never reset them."""

AUTOSCALER_PROFILE: Mapping[str, Any] = {
    "balance_similar_node_groups": "true",
    "expander": "least-waste",
    "scan_interval": "10s",
    "scale_down_delay_after_add": "10m",
    "scale_down_delay_after_delete": "10s",
    "scale_down_delay_after_failure": "3m",
    "scale_down_unneeded_time": "10m",
    "scale_down_unready_time": "20m",
    "scale_down_utilization_threshold": "0.5",
    "max_graceful_termination_sec": "600",
    "max_node_provision_time": "15m",
    "skip_nodes_with_local_storage": "false",
    "skip_nodes_with_system_pods": "true",
}
"""Why these: spread pools across zones evenly, pack by least waste, and scale down
no sooner than ten minutes after a scale-up so bursty load does not thrash nodes."""

# Audit (writes only; `kube-audit` with reads is ten times the volume) and the control loops.
CONTROL_PLANE_LOGS = ("kube-audit-admin", "kube-apiserver", "kube-controller-manager", "cluster-autoscaler", "guard")


def group_name(spec: AzureSpec) -> str:
    return spec.resource_group or f"{spec.name}-rg"


def resource_group(c: AzureCluster) -> resources.ResourceGroup:
    """The group that holds everything of the cluster; AKS puts the nodes in `<group>-nodes`."""
    return resources.ResourceGroup(
        f"{c.spec.name}-rg",
        resource_group_name=group_name(c.spec),
        location=c.spec.region,
        tags=c.tags(),
        opts=c.child_opts(stateful=True),
    )


@dataclass(frozen=True)
class Kms:
    vault: keyvault.Vault
    key: keyvault.Key


def secrets_key(c: AzureCluster) -> Kms:
    """A Key Vault (purge-protected, RBAC) and the key that encrypts etcd secrets (KMS v2); HSM-backed in prod."""
    name, location, environment, rg = c.spec.name, c.spec.region, c.environment, c.resource_group.name
    tags = c.tags()
    digest = hashlib.sha256(f"{environment}/{name}".encode()).hexdigest()[:6]
    vault = keyvault.Vault(
        f"{name}-kms",
        vault_name=f"{name[:13]}-kms-{digest}",
        resource_group_name=rg,
        location=location,
        properties={
            "tenant_id": c.client.tenant_id,
            "sku": {"family": "A", "name": "premium" if environment == "prod" else "standard"},
            "enable_rbac_authorization": True,
            "enable_soft_delete": True,
            "soft_delete_retention_in_days": 90,
            "enable_purge_protection": True,
        },
        tags=tags,
        opts=c.child_opts(stateful=True),
    )
    key = keyvault.Key(
        f"{name}-etcd",
        key_name="etcd-secrets",
        vault_name=vault.name,
        resource_group_name=rg,
        properties={"kty": "RSA-HSM" if environment == "prod" else "RSA", "key_size": 2048},
        opts=c.child_opts(stateful=True),
    )

    return Kms(vault, key)


def workspace(c: AzureCluster) -> operationalinsights.Workspace:
    """The Log Analytics workspace for Container Insights and the control plane's logs."""
    name, location, environment, rg = c.spec.name, c.spec.region, c.environment, c.resource_group.name
    tags = c.tags()
    workspace = operationalinsights.Workspace(
        f"{name}-logs",
        workspace_name=f"{name}-logs",
        resource_group_name=rg,
        location=location,
        sku={"name": "PerGB2018"},
        retention_in_days=90 if environment == "prod" else 30,
        tags=tags,
        opts=c.child_opts(),
    )
    return workspace


def build(
    c: AzureCluster,
    net: Network,
    plane_identity: managedidentity.UserAssignedIdentity,
    kms: Kms,
    workspace: operationalinsights.Workspace,
    grants: Grants,
) -> containerservice.ManagedCluster:
    """The cluster, with its first system pool inline (AKS requires one at creation)."""
    spec, name, location, environment, rg = c.spec, c.spec.name, c.spec.region, c.environment, c.resource_group.name
    tags = c.tags()
    inline = next(p for p in spec.node_pools if p.role == "system")
    api_access: dict[str, Any] = {
        "enable_vnet_integration": True,
        "subnet_id": net.apiserver.id,
        "disable_run_command": environment == "prod",
    }
    if spec.api_access.private:
        api_access.update(
            enable_private_cluster=True, enable_private_cluster_public_fqdn=False, private_dns_zone="system"
        )
    else:
        api_access["authorized_ip_ranges"] = list(spec.api_access.public_cidrs)

    service_net = ipaddress.ip_network(spec.network.service_cidr)
    cluster = containerservice.ManagedCluster(
        f"{name}-aks",
        resource_name_=name,
        resource_group_name=rg,
        location=location,
        dns_prefix=name,
        kubernetes_version=spec.kubernetes_version,
        sku={"name": "Base", "tier": spec.tier},
        identity={"type": "UserAssigned", "user_assigned_identities": [plane_identity.id]},
        node_resource_group=f"{group_name(spec)}-nodes",
        enable_rbac=True,
        disable_local_accounts=not spec.local_accounts,
        aad_profile={
            "managed": True,
            "enable_azure_rbac": True,
            "admin_group_object_ids": list(spec.admin_group_object_ids),
            "tenant_id": c.client.tenant_id,
        },
        agent_pool_profiles=[nodes.pool_args(c, inline, net.nodes.id, inline=True)],
        auto_scaler_profile=dict(AUTOSCALER_PROFILE),
        network_profile={
            "network_plugin": "azure",
            "network_plugin_mode": "overlay",
            "network_dataplane": "cilium",
            "network_policy": "cilium",
            "pod_cidr": spec.network.pod_cidr,
            "service_cidr": spec.network.service_cidr,
            "dns_service_ip": str(service_net.network_address + 10),
            "load_balancer_sku": "standard",
            "outbound_type": "loadBalancer",
        },
        api_server_access_profile=api_access,
        public_network_access="Enabled",
        oidc_issuer_profile={"enabled": True},
        security_profile={
            "workload_identity": {"enabled": True},
            "azure_key_vault_kms": {
                "enabled": True,
                "key_id": kms.key.key_uri_with_version,
                "key_vault_network_access": "Public",
            },
            "image_cleaner": {"enabled": True, "interval_hours": 48},
        },
        auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
        addon_profiles={
            "omsagent": {
                "enabled": True,
                "config": {"logAnalyticsWorkspaceResourceID": workspace.id, "useAADAuth": "true"},
            },
            "azurepolicy": {"enabled": environment == "prod"},
        },
        storage_profile={
            "disk_csi_driver": {"enabled": True},
            "file_csi_driver": {"enabled": True},
            "snapshot_controller": {"enabled": True},
        },
        tags=tags,
        opts=c.child_opts(stateful=True, ignore_changes=CLUSTER_IGNORE, depends_on=[grants.kms, grants.network]),
    )
    return cluster


def maintenance(
    c: AzureCluster, cluster: containerservice.ManagedCluster
) -> list[containerservice.MaintenanceConfiguration]:
    """Patch and node-image upgrades, each in the spec's weekly window."""
    spec, name, rg = c.spec, c.spec.name, c.resource_group.name
    windows = {
        "aksManagedAutoUpgradeSchedule": spec.maintenance,
        "aksManagedNodeOSUpgradeSchedule": spec.maintenance,
    }
    maintenance = [
        containerservice.MaintenanceConfiguration(
            f"{name}-{config_name}",
            config_name=config_name,
            resource_name_=cluster.name,
            resource_group_name=rg,
            maintenance_window={
                "schedule": {"weekly": {"day_of_week": window.day.capitalize(), "interval_weeks": 1}},
                "duration_hours": window.hours,
                "start_time": window.start,
                "utc_offset": "+00:00",
            },
            opts=c.child_opts(),
        )
        for config_name, window in windows.items()
    ]

    return maintenance


def diagnostics(
    c: AzureCluster, cluster: containerservice.ManagedCluster, workspace: operationalinsights.Workspace
) -> monitor.DiagnosticSetting:
    """Control-plane logs (audit first) to the same workspace; AKS sends none unless asked."""
    name = c.spec.name
    return monitor.DiagnosticSetting(
        f"{name}-control-plane-logs",
        name="control-plane",
        resource_uri=cluster.id,
        workspace_id=workspace.id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in CONTROL_PLANE_LOGS],
        opts=c.child_opts(),
    )
