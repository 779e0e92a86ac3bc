"""Azure Kubernetes Service: a private, Entra ID-only, KMS-encrypted AKS cluster in its own VNet.

Layout: one resource group holds a VNet (a nodes subnet and a delegated API server
subnet for API server VNet integration), a Log Analytics workspace for Container
Insights, a Key Vault whose key encrypts etcd secrets (KMS v2), the control-plane
user-assigned identity, the cluster and its node pools.

Versions and upgrades. The spec pins a minor version ("1.35"). AKS accepts the
minor alias as `kubernetesVersion` and runs its latest patch; the upgrade
channel is `patch`, so AKS moves patches inside that minor during the
maintenance window while the input Pulumi holds stays "1.35": no drift, and a
minor upgrade is still a deliberate spec change. The node OS channel is
`NodeImage`, in its own window.

Node pools. AKS only accepts pool changes through the agent pool API once the
cluster exists, and refuses in-place changes to a pool's VM size, disk, zones or
spot setting. So the first system pool is created inline (AKS requires one at
creation) and every other pool is a standalone `AgentPool` whose AKS name embeds
a short hash of those immutable properties (`general7f3a`). Changing one of
them changes the name, which Pulumi turns into a replacement that creates the
new pool before deleting the old one: the autoscaler brings the new pool up,
then AKS cordons and drains the old one as it deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import yaml
from pulumi_azure_native import (
    authorization,
    containerservice,
    keyvault,
    managedidentity,
    monitor,
    network,
    operationalinsights,
    resources,
)

from components.cluster import Capabilities, KubernetesCluster
from components.spec import AzureCluster, Environment, NodePool, Problem

AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The Entra ID application of the AKS API server (the same in every tenant)."""

# Built-in role definitions (the same GUIDs in every tenant).
ROLE_KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly=true:NoSchedule"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
"""AKS puts this taint on every spot node; declaring it too keeps the pool's inputs in line with Azure."""

# Node counts belong to the cluster autoscaler; Pulumi must never reset them.
POOL_IGNORE = ["count"]
CLUSTER_IGNORE = ["agentPoolProfiles[0].count"]

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


def pool_hash(pool: NodePool, zones: Sequence[str]) -> str:
    """Four hex digits over what AKS cannot change in place on an existing pool."""
    immutable = "|".join(
        [pool.instance_types[0] if pool.instance_types else "", str(pool.disk_size_gb), ",".join(zones), str(pool.spot)]
    )
    return hashlib.sha256(immutable.encode()).hexdigest()[:4]


def pool_name(pool: NodePool, zones: Sequence[str]) -> str:
    """AKS pool names are 1-12 lowercase letters and digits; eight from the spec, four from the hash."""
    return re.sub(r"[^a-z0-9]", "", pool.name)[:8] + pool_hash(pool, zones)


def _guid(*parts: str) -> str:
    """A stable GUID for resources Azure names by GUID (role assignments), so re-runs are no-ops."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "orquestra/" + "/".join(parts)))


def kubelogin_kubeconfig(encoded: str) -> str:
    """The AKS user kubeconfig with every user switched to kubelogin using the Azure CLI login.

    Entra ID clusters hand out a kubeconfig without credentials; kubelogin turns
    the caller's `az login` (a workstation, or CI with a federated identity)
    into a token for the AKS server application.
    """
    doc: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded).decode()) or {}
    for user in doc.get("users") or []:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "kubelogin",
                "args": ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID],
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": False,
            }
        }
    return yaml.safe_dump(doc, sort_keys=False)


# Audit (writes only; `kube-audit` with reads is ten times the volume) and the control loops.
CONTROL_PLANE_LOGS = ("kube-audit-admin", "kube-apiserver", "kube-controller-manager", "cluster-autoscaler", "guard")


class AzureTarget(KubernetesCluster):
    @staticmethod
    def check(spec: AzureCluster) -> list[Problem]:
        """AKS rules the generic spec cannot know, found before any resource is registered."""
        problems: list[Problem] = []
        names: dict[str, int] = {}
        for i, pool in enumerate(spec.node_pools):
            if len(pool.instance_types) > 1:
                problems.append(Problem(f"nodePools[{i}].instanceTypes", pool.instance_types, "one VM size per pool"))
            short = re.sub(r"[^a-z0-9]", "", pool.name)[:8]
            if short in names:
                problems.append(
                    Problem(
                        f"nodePools[{i}].name",
                        pool.name,
                        f"a name whose first 8 letters and digits differ from nodePools[{names[short]}]",
                    )
                )
            names.setdefault(short, i)
            if pool.role == "system" and pool.min < 1:
                problems.append(Problem(f"nodePools[{i}].min", pool.min, "at least 1 for a system pool"))
            if pool.role == "system" and pool.spot:
                problems.append(Problem(f"nodePools[{i}].spot", pool.spot, "false for a system pool"))
        if not any(p.role == "system" for p in spec.node_pools):
            problems.append(
                Problem("nodePools", [p.name for p in spec.node_pools], "at least one pool with role: system")
            )
        if not spec.local_accounts and not spec.admin_group_object_ids:
            problems.append(
                Problem("adminGroupObjectIds", [], "at least one Entra ID group when localAccounts is false")
            )
        return problems

    def __init__(self, spec: AzureCluster, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__("orquestra:targets:AzureCluster", spec, environment, opts)
        self.spec: AzureCluster = spec
        name = spec.name
        location = spec.region
        tags = self.tags()
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.zones = tuple(str(z) for z in range(1, spec.network.zones + 1)) if spec.network.zones > 1 else ()

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=group_name(spec),
            location=location,
            tags=tags,
            opts=self.child_opts(stateful=True),
        )
        rg = group.name

        # ------------------------------------------------------------- network
        cidr = ipaddress.ip_network(spec.network.cidr)
        nodes_cidr = str(next(cidr.subnets(new_prefix=min(cidr.prefixlen + 2, 28))))
        apiserver_cidr = str(list(cidr.subnets(new_prefix=28))[-1])
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=f"{name}-vnet",
            resource_group_name=rg,
            location=location,
            address_space={"address_prefixes": [spec.network.cidr]},
            tags=tags,
            opts=self.child_opts(),
        )
        nodes_subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=rg,
            virtual_network_name=vnet.name,
            address_prefix=nodes_cidr,
            default_outbound_access=False,
            opts=self.child_opts(),
        )
        apiserver_subnet = network.Subnet(
            f"{name}-apiserver",
            subnet_name="apiserver",
            resource_group_name=rg,
            virtual_network_name=vnet.name,
            address_prefix=apiserver_cidr,
            default_outbound_access=False,
            delegations=[{"name": "aks", "service_name": "Microsoft.ContainerService/managedClusters"}],
            opts=self.child_opts(depends_on=[nodes_subnet]),
        )

        # ---------------------------------------------------- identity and KMS
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_name_=f"{name}-control-plane",
            resource_group_name=rg,
            location=location,
            tags=tags,
            opts=self.child_opts(),
        )
        digest = hashlib.sha256(f"{environment}/{name}".encode()).hexdigest()[:6]
        vault = keyvault.Vault(
            f"{name}-kms",
            vault_name=f"{name[:13]}-kms-{digest}",
            resource_group_name=rg,
            location=location,
            properties={
                "tenant_id": client.tenant_id,
                "sku": {"family": "A", "name": "premium" if environment == "prod" else "standard"},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": 90,
                "enable_purge_protection": True,
            },
            tags=tags,
            opts=self.child_opts(stateful=True),
        )
        key = keyvault.Key(
            f"{name}-etcd",
            key_name="etcd-secrets",
            vault_name=vault.name,
            resource_group_name=rg,
            properties={"kty": "RSA-HSM" if environment == "prod" else "RSA", "key_size": 2048},
            opts=self.child_opts(stateful=True),
        )

        def role(definition: str) -> pulumi.Output[str]:
            return client.subscription_id.apply(
                lambda s: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{definition}"
            )

        kms_role = authorization.RoleAssignment(
            f"{name}-kms-crypto-user",
            role_assignment_name=_guid(environment, name, "kms-crypto-user"),
            scope=vault.id,
            role_definition_id=role(ROLE_KEY_VAULT_CRYPTO_USER),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            opts=self.child_opts(),
        )
        network_role = authorization.RoleAssignment(
            f"{name}-network-contributor",
            role_assignment_name=_guid(environment, name, "network-contributor"),
            scope=vnet.id,
            role_definition_id=role(ROLE_NETWORK_CONTRIBUTOR),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            opts=self.child_opts(),
        )

        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=f"{name}-logs",
            resource_group_name=rg,
            location=location,
            sku={"name": "PerGB2018"},
            retention_in_days=90 if environment == "prod" else 30,
            tags=tags,
            opts=self.child_opts(),
        )

        # ------------------------------------------------------------- cluster
        system_pools = [p for p in spec.node_pools if p.role == "system"]
        inline = system_pools[0]
        standalone = [p for p in spec.node_pools if p is not inline]
        api_access: dict[str, Any] = {
            "enable_vnet_integration": True,
            "subnet_id": apiserver_subnet.id,
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
            identity={"type": "UserAssigned", "user_assigned_identities": [identity.id]},
            node_resource_group=f"{group_name(spec)}-nodes",
            enable_rbac=True,
            disable_local_accounts=not spec.local_accounts,
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "admin_group_object_ids": list(spec.admin_group_object_ids),
                "tenant_id": client.tenant_id,
            },
            agent_pool_profiles=[self._pool_args(inline, nodes_subnet.id, inline=True)],
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
                    "key_id": key.key_uri_with_version,
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
            opts=self.child_opts(stateful=True, ignore_changes=CLUSTER_IGNORE, depends_on=[kms_role, network_role]),
        )
        self.cluster = cluster
        self.resource_group = group

        pools = [
            containerservice.AgentPool(
                f"{name}-{pool.name}",
                agent_pool_name=pool_name(pool, self._zones(pool)),
                resource_name_=cluster.name,
                resource_group_name=rg,
                **self._pool_args(pool, nodes_subnet.id, inline=False),
                opts=self.child_opts(ignore_changes=POOL_IGNORE, delete_before_replace=False),
            )
            for pool in standalone
        ]
        self.pools = pools

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
                opts=self.child_opts(),
            )
            for config_name, window in windows.items()
        ]

        # Control-plane logs (audit first) to the same workspace; AKS sends none unless asked.
        monitor.DiagnosticSetting(
            f"{name}-control-plane-logs",
            name="control-plane",
            resource_uri=cluster.id,
            workspace_id=workspace.id,
            log_analytics_destination_type="Dedicated",
            logs=[
                monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in CONTROL_PLANE_LOGS
            ],
            opts=self.child_opts(),
        )

        # The deployer reaches the API through Entra ID like everyone else.
        deployer_admin = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            role_assignment_name=_guid(environment, name, "deployer-admin"),
            scope=cluster.id,
            role_definition_id=role(ROLE_AKS_RBAC_CLUSTER_ADMIN),
            principal_id=client.object_id,
            opts=self.child_opts(),
        )
        group_admins = [
            authorization.RoleAssignment(
                f"{name}-admin-{object_id}",
                role_assignment_name=_guid(environment, name, "admin", object_id),
                scope=cluster.id,
                role_definition_id=role(ROLE_AKS_RBAC_CLUSTER_ADMIN),
                principal_id=object_id,
                principal_type="Group",
                opts=self.child_opts(),
            )
            for object_id in spec.admin_group_object_ids
        ]

        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=rg,
            resource_name=cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[cluster]),
        )
        kubeconfig = pulumi.Output.secret(creds.kubeconfigs[0].value.apply(kubelogin_kubeconfig))
        fqdn = cluster.private_fqdn if spec.api_access.private else cluster.fqdn
        self.oidc_issuer_url: pulumi.Output[str] = cluster.oidc_issuer_profile.apply(
            lambda p: p.issuer_url if p else ""
        )
        self._identity_opts = self.child_opts()

        self._publish(
            kubeconfig=kubeconfig,
            endpoint=fqdn.apply(lambda f: f"https://{f}:443"),
            cluster_name=cluster.name,
            kubernetes_version=spec.kubernetes_version,
            capabilities=Capabilities(
                load_balancer="cloud",
                node_autoscaler="cloud",
                default_storage_class="managed-csi",
                pod_identity="azure-workload-identity",
                zones=self.zones,
                region=location,
                lb_annotations_public={},
                lb_annotations_internal={"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
            ),
            ready=[cluster, *pools, *maintenance, deployer_admin, *group_admins],
        )

    def _zones(self, pool: NodePool) -> list[str]:
        return list(pool.zones) or list(self.zones)

    def _pool_args(self, pool: NodePool, subnet_id: pulumi.Input[str], *, inline: bool) -> dict[str, Any]:
        """Arguments shared by the inline profile and standalone pools; autoscaler on, count left to it."""
        taints = [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in pool.taints]
        if pool.role == "system" and CRITICAL_ADDONS_TAINT not in taints:
            taints.insert(0, CRITICAL_ADDONS_TAINT)
        args: dict[str, Any] = {
            "mode": "System" if pool.role == "system" else "User",
            "vm_size": pool.instance_types[0],
            "os_type": "Linux",
            "os_sku": "AzureLinux",
            "os_disk_size_gb": pool.disk_size_gb,
            "os_disk_type": "Managed",
            "type": "VirtualMachineScaleSets",
            "vnet_subnet_id": subnet_id,
            "orchestrator_version": self.spec.kubernetes_version,
            "enable_auto_scaling": True,
            "min_count": pool.min,
            "max_count": pool.max,
            "count": max(pool.min, 1) if pool.role == "system" else pool.min,
            "node_labels": dict(pool.labels),
            "node_taints": taints,
            "max_pods": 110,
            "tags": self.tags(**{"orquestra-pool": pool.name}),
        }
        zones = self._zones(pool)
        if zones:
            args["availability_zones"] = zones
        if pool.spot:
            if SPOT_TAINT not in taints:
                taints.append(SPOT_TAINT)
            # No upgrade settings: AKS refuses max surge on spot pools (400 "Spot pools can't set max surge").
            args.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
        else:
            args["upgrade_settings"] = {"max_surge": "33%"}
        if inline:
            # Creation-only in AKS: a changed name here would be refused, so this one stays stable.
            args["name"] = re.sub(r"[^a-z0-9]", "", pool.name)[:12]
        return args

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """A user-assigned identity trusted for exactly one ServiceAccount through the cluster's OIDC issuer."""
        name = f"{self.spec.name}-{namespace}-{service_account}"
        child = pulumi.ResourceOptions.merge(self._identity_opts, opts)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=name[:128],
            resource_group_name=self.resource_group.name,
            location=self.spec.region,
            tags=self.tags(**{"orquestra-service-account": f"{namespace}/{service_account}"}),
            opts=child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"{namespace}-{service_account}"[:120],
            resource_name_=identity.name,
            resource_group_name=self.resource_group.name,
            issuer=self.oidc_issuer_url,
            subject=f"system:serviceaccount:{namespace}:{service_account}",
            audiences=["api://AzureADTokenExchange"],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(parent=identity)),
        )
        return {"azure.workload.identity/client-id": identity.client_id}


def group_name(spec: AzureCluster) -> str:
    return spec.resource_group or f"{spec.name}-rg"
