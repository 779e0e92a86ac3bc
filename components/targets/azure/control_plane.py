"""The AKS control plane: its resource group, the Key Vault key that encrypts etcd, logs, the cluster, upgrades."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi_azure_native import containerservice, keyvault, managedidentity, monitor, operationalinsights, resources

from components.ignores import ignored
from components.spec import AzureSpec
from components.targets.azure import nodes

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster
    from components.targets.azure.deployer import Zone
    from components.targets.azure.identity import Grants
    from components.targets.azure.network import Network

CLUSTER_IGNORE = ignored("azure-native:containerservice:ManagedCluster")
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


def vault_name(cluster: str, principal_id: str) -> str:
    """`<cluster, 11 chars>-kms-<8 hex of the control-plane identity's principal id>`: 24 at most.

    A destroyed vault stays soft-deleted for 90 days under purge protection and keeps its (global)
    name, so a fixed name makes the redeploy fail with 409. Entra ID gives the identity a new
    principal id on every create, so every deployment gets a vault name of its own.
    Name rule (3-24 letters, digits, hyphens; a letter first; no `--`):
    https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault
    """
    prefix = re.sub(r"-+", "-", cluster[:11]).rstrip("-")
    return f"{prefix}-kms-{principal_id.replace('-', '')[:8]}"


def secrets_key(c: AzureCluster, plane_identity: managedidentity.UserAssignedIdentity) -> Kms:
    """A private Key Vault (purge-protected, RBAC) and the key that encrypts etcd secrets (KMS v2); HSM in prod."""
    name, location, environment, rg = c.spec.name, c.spec.region, c.environment, c.resource_group.name
    tags = c.tags()
    vault = keyvault.Vault(
        f"{name}-kms",
        vault_name=plane_identity.principal_id.apply(lambda principal: vault_name(name, principal)),
        resource_group_name=rg,
        location=location,
        properties={
            "tenant_id": c.client.tenant_id,
            "sku": {"family": "A", "name": "premium" if environment == "prod" else "standard"},
            "enable_rbac_authorization": True,
            "enable_soft_delete": True,
            "soft_delete_retention_in_days": 90,
            "enable_purge_protection": True,
            # No public network path (CIS Azure Foundations v2.1.0 8.7, private endpoints for Key Vault): AKS reaches
            # the vault over the private link it creates itself (`key_vault_network_access: Private`);
            # Pulumi manages the key through ARM, which network rules do not gate. A firewall admitting
            # selected public networks is no option: the KMS plugin cannot pass it.
            # https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption (limitations, private key vault)
            "public_network_access": "Disabled",
            "network_acls": {"default_action": "Deny", "bypass": "AzureServices"},
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
    dns_zone: Zone | None = None,
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
        # The stack's own zone when a hub must resolve the name (deployer.py), else one AKS makes and keeps.
        api_access.update(
            enable_private_cluster=True,
            enable_private_cluster_public_fqdn=False,
            private_dns_zone=dns_zone.id if dns_zone is not None else "system",
        )
    else:
        api_access["authorized_ip_ranges"] = list(spec.api_access.public_cidrs)

    service_net = ipaddress.ip_network(spec.network.service_cidr)
    # Microsoft Defender for Containers' sensor (CIS AKS Benchmark v1.7.0 5.1.1 image scanning, runtime threat
    # detection); the subscription's Defender plan itself is outside this program (docs/targets/azure.md).
    defender: dict[str, Any] = (
        {"defender": {"log_analytics_workspace_resource_id": workspace.id, "security_monitoring": {"enabled": True}}}
        if environment == "prod"
        else {}
    )
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
                # A private vault needs API server VNet integration (on above) and its resource id.
                "key_vault_network_access": "Private",
                "key_vault_resource_id": kms.vault.id,
            },
            "image_cleaner": {"enabled": True, "interval_hours": 48},
            **defender,
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
        opts=c.child_opts(
            stateful=True,
            ignore_changes=CLUSTER_IGNORE,
            depends_on=[grants.kms, grants.kms_link, grants.network, *(dns_zone.ready if dns_zone else [])],
        ),
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


CONTAINER_INSIGHTS_STREAMS: tuple[str, ...] = (
    "Microsoft-ContainerLog",
    "Microsoft-ContainerLogV2",
    "Microsoft-KubeEvents",
    "Microsoft-KubePodInventory",
    "Microsoft-KubeNodeInventory",
    "Microsoft-KubePVInventory",
    "Microsoft-KubeServices",
    "Microsoft-KubeMonAgentEvents",
    "Microsoft-InsightsMetrics",
    "Microsoft-ContainerInventory",
    "Microsoft-ContainerNodeInventory",
    "Microsoft-Perf",
)
"""What Microsoft's own managed-identity onboarding collects (microsoft/Docker-Provider, ci_prod,
scripts/onboarding/aks/onboarding-msi-terraform/variables.tf)."""


def container_insights(
    c: AzureCluster, cluster: containerservice.ManagedCluster, workspace: operationalinsights.Workspace
) -> monitor.DataCollectionRuleAssociation:
    """The data collection rule the Container Insights agent reads, associated with the cluster.

    With managed-identity auth (`useAADAuth`) the agent sends only what a DCR associated with
    the cluster names; the add-on alone collects nothing. Shape and names as in
    https://learn.microsoft.com/azure/azure-monitor/containers/kubernetes-monitoring-enable and
    Docker-Provider's onboarding-msi-terraform/main.tf (`MSCI-<region>-<cluster>`, association
    `ContainerInsightsExtension`).
    """
    spec, name, rg = c.spec, c.spec.name, c.resource_group.name
    streams = list(CONTAINER_INSIGHTS_STREAMS)
    rule = monitor.DataCollectionRule(
        f"{name}-container-insights",
        data_collection_rule_name=f"MSCI-{spec.region}-{name}",
        resource_group_name=rg,
        location=spec.region,
        kind="Linux",
        description="Container Insights of the cluster",
        data_sources={
            "extensions": [
                {
                    "name": "ContainerInsightsExtension",
                    "extension_name": "ContainerInsights",
                    "streams": streams,
                    "extension_settings": {
                        "dataCollectionSettings": {
                            "interval": "1m",
                            "namespaceFilteringMode": "Off",
                            "enableContainerLogV2": True,
                        }
                    },
                }
            ]
        },
        destinations={"log_analytics": [{"name": "ciworkspace", "workspace_resource_id": workspace.id}]},
        data_flows=[{"streams": streams, "destinations": ["ciworkspace"]}],
        tags=c.tags(),
        opts=c.child_opts(),
    )
    return monitor.DataCollectionRuleAssociation(
        f"{name}-container-insights-association",
        association_name="ContainerInsightsExtension",
        resource_uri=cluster.id,
        data_collection_rule_id=rule.id,
        description="Container Insights of the cluster; without it the agent collects nothing.",
        opts=c.child_opts(),
    )


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
