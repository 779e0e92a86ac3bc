"""The AKS target on the mock engine: what a dev and a prod cluster register, property by property."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import pytest
import yaml

from preflight import engine, stackconfig
from preflight.answers import azure as answers
from preflight.engine import Plan, Registration, Secret
from tests.harness import Built, build_spec, build_stack, plan_spec, plan_stack

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
MAINTENANCE = "azure-native:containerservice:MaintenanceConfiguration"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
ARM_ID = r"^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourceGroups/"

DEV: dict[str, Any] = {
    "environment": "dev",
    "clusters": [
        {
            "name": "weu-dev",
            "target": "azure",
            "region": "westeurope",
            "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
            "nodePools": [
                {"name": "system", "role": "system", "min": 1, "max": 2},
                {"name": "general", "min": 1, "max": 4, "labels": {"tier": "apps"}},
                {
                    "name": "spot",
                    "min": 0,
                    "max": 5,
                    "spot": True,
                    "taints": [{"key": "spot", "value": "true", "effect": "NoSchedule"}],
                },
            ],
        }
    ],
}


MINIMAL: dict[str, Any] = {
    "name": "weu",
    "target": "azure",
    "region": "westeurope",
    "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
}
"""The smallest valid azure cluster: what the contract test builds (tests/test_contract.py)."""


@cache
def dev() -> Plan:
    plan = plan_spec(DEV, stack="dev-azure")
    assert plan.ok, plan.errors
    return plan


@cache
def prod() -> Plan:
    plan = plan_stack("prod-azure")
    assert plan.ok, plan.errors
    return plan


def cluster(plan: Plan) -> Registration:
    return plan.one(AKS)


def pools(plan: Plan) -> dict[str, Registration]:
    return {r.name.split("-", 2)[-1]: r for r in plan.resources(POOL)}


# ----------------------------------------------------------------- structure


def test_resource_group_vnet_and_subnets_follow_the_spec() -> None:
    plan = prod()
    assert plan.one("azure-native:resources:ResourceGroup").plain["resourceGroupName"] == "rg-orquestra-weu-prod"
    vnet = plan.one("azure-native:network:VirtualNetwork").plain
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.40.0.0/16"]
    nodes = plan.one("azure-native:network:Subnet", "weu-prod-nodes").plain
    api = plan.one("azure-native:network:Subnet", "weu-prod-apiserver").plain
    assert nodes["addressPrefix"] == "10.40.0.0/18"
    assert api["addressPrefix"] == "10.40.255.240/28"
    assert api["delegations"][0]["serviceName"] == "Microsoft.ContainerService/managedClusters"
    assert plan_spec(DEV).one("azure-native:resources:ResourceGroup").plain["resourceGroupName"] == "weu-dev-rg"


# ------------------------------------------------------------------- network


@pytest.mark.parametrize("get", [dev, prod])
def test_azure_cni_overlay_with_cilium(get: Any) -> None:
    net = cluster(get()).plain["networkProfile"]
    assert net["networkPlugin"] == "azure"
    assert net["networkPluginMode"] == "overlay"
    assert net["networkDataplane"] == "cilium"
    assert net["networkPolicy"] == "cilium"


def test_overlay_ranges_come_from_the_spec() -> None:
    net = cluster(prod()).plain["networkProfile"]
    assert (net["podCidr"], net["serviceCidr"], net["dnsServiceIP"]) == ("10.244.0.0/16", "10.41.0.0/20", "10.41.0.10")


# ---------------------------------------------------------------- API access


def test_prod_api_server_is_private_and_vnet_integrated() -> None:
    api = cluster(prod()).plain["apiServerAccessProfile"]
    assert api["enablePrivateCluster"] is True
    assert api["enablePrivateClusterPublicFQDN"] is False
    assert api["enableVnetIntegration"] is True
    assert api["subnetId"].endswith("/subnets/apiserver")
    assert "authorizedIPRanges" not in api


def test_dev_api_server_is_public_only_to_listed_cidrs() -> None:
    api = cluster(dev()).plain["apiServerAccessProfile"]
    assert api.get("enablePrivateCluster") is None
    assert api["authorizedIPRanges"] == ["203.0.113.0/24"]


def test_the_world_may_not_reach_the_api() -> None:
    spec = copy.deepcopy(DEV)
    spec["clusters"][0]["apiAccess"] = {"publicCidrs": ["0.0.0.0/0"]}
    plan = plan_spec(spec)
    assert not plan.resources(AKS)
    assert any("apiAccess.publicCidrs[0]" in e for e in plan.errors)


# ------------------------------------------------------------ identity / RBAC


def test_prod_is_entra_id_only_with_azure_rbac() -> None:
    mc = cluster(prod()).plain
    assert mc["aadProfile"]["managed"] is True
    assert mc["aadProfile"]["enableAzureRBAC"] is True
    assert mc["aadProfile"]["adminGroupObjectIDs"] == ["00000000-0000-0000-0000-000000000000"]
    assert mc["disableLocalAccounts"] is True


def test_dev_keeps_local_accounts() -> None:
    assert cluster(dev()).plain["disableLocalAccounts"] is False


def test_admin_groups_get_the_aks_rbac_cluster_admin_role_on_the_cluster_only() -> None:
    plan = prod()
    mc = cluster(plan)
    admin = plan.one(ROLE, "weu-prod-admin-00000000-0000-0000-0000-000000000000").plain
    assert admin["principalId"] == "00000000-0000-0000-0000-000000000000"
    assert admin["principalType"] == "Group"
    assert admin["roleDefinitionId"].endswith("/roleDefinitions/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
    assert re.match(ARM_ID, admin["scope"]) and admin["scope"].endswith("/managedClusters/weu-prod")
    assert mc.plain["resourceName"] == "weu-prod"


def test_local_accounts_off_without_admin_groups_fails_before_any_resource() -> None:
    spec = copy.deepcopy(DEV)
    spec["clusters"][0]["localAccounts"] = False
    plan = plan_spec(spec)
    assert not plan.resources(AKS)
    assert any(e.startswith("orquestra:clusters[0].adminGroupObjectIds:") for e in plan.errors)


@pytest.mark.parametrize("get", [dev, prod])
def test_oidc_issuer_and_workload_identity_are_on(get: Any) -> None:
    mc = cluster(get()).plain
    assert mc["oidcIssuerProfile"]["enabled"] is True
    assert mc["securityProfile"]["workloadIdentity"]["enabled"] is True


# ---------------------------------------------------------------------- KMS


def test_etcd_secrets_are_encrypted_with_a_key_vault_key_through_a_user_assigned_identity() -> None:
    plan = prod()
    mc = cluster(plan).plain
    key = plan.one("azure-native:keyvault:Key")
    vault = plan.one("azure-native:keyvault:Vault")
    identity = plan.one(IDENTITY, "weu-prod-control-plane")
    kms = mc["securityProfile"]["azureKeyVaultKms"]
    assert kms["enabled"] is True
    vault_name = vault.plain["vaultName"]
    assert re.fullmatch(
        rf"https://{vault_name}\.vault\.azure\.net/keys/{key.plain['keyName']}/[0-9a-f]{{32}}", kms["keyId"]
    )
    assert mc["identity"]["type"] == "UserAssigned"
    (identity_id,) = mc["identity"]["userAssignedIdentities"]
    assert re.match(ARM_ID, identity_id)
    assert identity_id.endswith(f"/userAssignedIdentities/{identity.plain['resourceName']}")
    assert vault.plain["properties"]["enablePurgeProtection"] is True
    assert vault.plain["properties"]["enableRbacAuthorization"] is True
    assert key.plain["properties"]["kty"] == "RSA-HSM"
    crypto = plan.one(ROLE, "weu-prod-kms-crypto-user").plain
    assert re.match(ARM_ID, crypto["scope"]) and crypto["scope"].endswith(f"/vaults/{vault_name}")
    assert crypto["principalId"] == answers.identity_principal("prod-azure", "weu-prod-control-plane")
    assert crypto["roleDefinitionId"].endswith("/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424")
    assert cluster(plan).dependencies and any(
        u.endswith("weu-prod-kms-crypto-user") for u in cluster(plan).dependencies
    )


def test_role_assignment_names_are_stable_guids() -> None:
    again = engine.run(stackconfig.load(engine.PROJECT_DIR, "prod-azure"))
    assert again is not prod()
    names = sorted(r.plain["roleAssignmentName"] for r in prod().resources(ROLE))
    assert names == sorted(r.plain["roleAssignmentName"] for r in again.resources(ROLE))
    assert all(len(n) == 36 and n.count("-") == 4 for n in names)


# ---------------------------------------------------------------- node pools


@pytest.mark.parametrize("get", [dev, prod])
def test_system_pool_is_inline_critical_addons_only_and_autoscaled(get: Any) -> None:
    mc = cluster(get())
    (system,) = mc.plain["agentPoolProfiles"]
    assert system["mode"] == "System"
    assert "CriticalAddonsOnly=true:NoSchedule" in system["nodeTaints"]
    assert system["enableAutoScaling"] is True
    assert system["minCount"] >= 1 and system["maxCount"] >= system["minCount"]
    assert "agentPoolProfiles[0].count" in mc.ignore_changes


@pytest.mark.parametrize("get", [dev, prod])
def test_user_pools_are_autoscaled_and_own_no_count(get: Any) -> None:
    found = pools(get())
    assert found
    for pool in found.values():
        assert pool.plain["mode"] == "User"
        assert pool.plain["enableAutoScaling"] is True
        assert pool.ignore_changes == ["count"]
        assert pool.delete_before_replace is False


def test_user_pool_min_max_labels_and_taints_follow_the_spec() -> None:
    found = pools(dev())
    general = found["general"].plain
    assert (general["minCount"], general["maxCount"]) == (1, 4)
    assert general["nodeLabels"] == {"tier": "apps"}
    assert general["vmSize"] == "Standard_D2s_v5"
    spot = found["spot"].plain
    assert "spot=true:NoSchedule" in spot["nodeTaints"]


def test_spot_pool_pays_at_most_on_demand_and_deletes_evicted_nodes() -> None:
    spot = pools(prod())["batch"].plain
    assert spot["scaleSetPriority"] == "Spot"
    assert spot["scaleSetEvictionPolicy"] == "Delete"
    assert spot["spotMaxPrice"] == -1
    assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in spot["nodeTaints"]
    assert "scaleSetPriority" not in pools(prod())["general"].plain


def test_autoscaler_profile_is_tuned() -> None:
    profile = cluster(prod()).plain["autoScalerProfile"]
    assert profile["balanceSimilarNodeGroups"] == "true"
    assert profile["expander"] == "least-waste"
    assert profile["scaleDownDelayAfterAdd"] == "10m"
    assert profile["scaleDownUnneededTime"] == "10m"


def test_prod_pools_span_three_zones() -> None:
    plan = prod()
    assert cluster(plan).plain["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"]
    assert all(p.plain["availabilityZones"] == ["1", "2", "3"] for p in plan.resources(POOL))


def _pool_name_after(change: dict[str, Any]) -> tuple[str, str]:
    spec = copy.deepcopy(DEV)
    spec["clusters"][0]["nodePools"][1].update(change)
    plan = plan_spec(spec)
    general = pools(plan)["general"]
    return general.name, general.plain["agentPoolName"]


def test_an_immutable_change_renames_the_pool_so_the_new_one_is_created_first() -> None:
    before_urn, before = _pool_name_after({})
    after_urn, after = _pool_name_after({"instanceTypes": ["Standard_D8s_v5"]})
    assert before_urn == after_urn  # same Pulumi resource: a replacement, not a new resource
    assert before != after and before.startswith("general") and after.startswith("general")
    assert len(after) <= 12 and after.isalnum() and after.islower()
    assert _pool_name_after({"diskSizeGb": 128})[1] != before
    assert _pool_name_after({"spot": True})[1] != before


def test_a_mutable_change_keeps_the_pool_name() -> None:
    _, before = _pool_name_after({})
    assert _pool_name_after({"max": 9, "labels": {"tier": "web"}})[1] == before


def test_one_vm_size_per_pool() -> None:
    spec = copy.deepcopy(DEV)
    spec["clusters"][0]["nodePools"][1]["instanceTypes"] = ["Standard_D2s_v5", "Standard_D4s_v5"]
    plan = plan_spec(spec)
    assert not plan.resources(AKS)
    assert any(e.startswith("orquestra:clusters[0].nodePools[1].instanceTypes:") for e in plan.errors)


# ------------------------------------------------------- upgrades, tier, logs


@pytest.mark.parametrize("get", [dev, prod])
def test_version_is_the_pinned_minor_and_auto_upgrade_stays_within_it(get: Any) -> None:
    plan = get()
    mc = cluster(plan).plain
    assert mc["kubernetesVersion"] == "1.35"
    assert mc["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert all(p.plain["orchestratorVersion"] == "1.35" for p in plan.resources(POOL))
    assert "kubernetesVersion" not in cluster(plan).ignore_changes


def test_maintenance_windows_follow_the_spec() -> None:
    configs = {r.plain["configName"]: r.plain["maintenanceWindow"] for r in prod().resources(MAINTENANCE)}
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for window in configs.values():
        assert window["schedule"]["weekly"]["dayOfWeek"] == "Sunday"
        assert (window["startTime"], window["durationHours"], window["utcOffset"]) == ("02:00", 6, "+00:00")


def test_sku_tier_standard_in_prod_free_in_dev() -> None:
    assert cluster(prod()).plain["sku"]["tier"] == "Standard"
    assert cluster(dev()).plain["sku"]["tier"] == "Free"


@pytest.mark.parametrize("get", [dev, prod])
def test_container_insights_sends_to_the_clusters_workspace(get: Any) -> None:
    plan = get()
    workspace = plan.one("azure-native:operationalinsights:Workspace")
    oms = cluster(plan).plain["addonProfiles"]["omsagent"]
    assert oms["enabled"] is True
    ws_id = oms["config"]["logAnalyticsWorkspaceResourceID"]
    assert re.match(ARM_ID, ws_id) and ws_id.endswith(f"/workspaces/{workspace.plain['workspaceName']}")


@pytest.mark.parametrize("get", [dev, prod])
def test_control_plane_audit_logs_go_to_the_workspace(get: Any) -> None:
    plan = get()
    setting = plan.one("azure-native:monitor:DiagnosticSetting")
    assert cluster(plan).urn in setting.dependencies
    workspace = plan.one("azure-native:operationalinsights:Workspace")
    assert setting.property_dependencies["workspaceId"] == [workspace.urn]
    categories = {log["category"] for log in setting.plain["logs"] if log["enabled"]}
    assert {"kube-audit-admin", "kube-apiserver"} <= categories


def test_prod_cluster_and_key_are_protected() -> None:
    plan = prod()
    assert cluster(plan).protect and plan.one("azure-native:keyvault:Key").protect
    assert not cluster(dev()).protect


def test_cluster_references_arm_ids_of_its_own_resource_group() -> None:
    mc = cluster(prod()).plain
    ids = [
        mc["apiServerAccessProfile"]["subnetId"],
        mc["agentPoolProfiles"][0]["vnetSubnetID"],
        *mc["identity"]["userAssignedIdentities"],
        mc["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"],
    ]
    for arm_id in ids:
        assert re.match(ARM_ID + "rg-orquestra-weu-prod/providers/", arm_id), arm_id


# --------------------------------------------------------- kubeconfig, outputs


@pytest.mark.parametrize("get", [dev, prod])
def test_kubeconfig_is_secret_and_uses_kubelogin_with_the_azure_cli(get: Any) -> None:
    plan = get()
    component = plan.one("orquestra:targets:AzureCluster")
    kubeconfig = component.outputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    doc = yaml.safe_load(kubeconfig.value)
    (user,) = doc["users"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    assert "devicecode" not in kubeconfig.value
    provider = plan.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    tokens = [t for t, _ in plan.invokes]
    assert "azure-native:containerservice:listManagedClusterUserCredentials" in tokens


def test_endpoint_is_the_private_fqdn_in_prod_and_public_in_dev() -> None:
    prod_endpoint = prod().one("orquestra:targets:AzureCluster").outputs["endpoint"]
    dev_endpoint = dev().one("orquestra:targets:AzureCluster").outputs["endpoint"]
    assert ".privatelink.westeurope.azmk8s.io:443" in prod_endpoint
    assert dev_endpoint.startswith("https://") and ".hcp.westeurope.azmk8s.io:443" in dev_endpoint


def test_provider_waits_for_the_api_and_the_deployers_access_only() -> None:
    """CRDs and namespaces go in as soon as the deployer may reach the API; charts with pods wait for the pools."""
    plan = prod()
    provider = plan.one("pulumi:providers:kubernetes")
    assert {plan.by_urn(u).name for u in provider.dependencies} == {
        "weu-prod-rg",
        "weu-prod-aks",
        "weu-prod-deployer-admin",
        # The path from the hub, where the deployer runs (docs/private-deploy.md).
        "weu-prod-to-hub",
        "weu-prod-from-hub",
    }
    manager = next(r for r in plan.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "cert-manager")
    waited = {plan.by_urn(u).name for u in manager.dependencies}
    assert {"weu-prod-aks", "weu-prod-general", "weu-prod-batch"} <= waited
    gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    waited = {plan.by_urn(u).name for u in gateway.dependencies}
    assert {"weu-prod-aksManagedAutoUpgradeSchedule", "weu-prod-admin-00000000-0000-0000-0000-000000000000"} <= waited


# ------------------------------------------- capabilities and workload identity


WITH_IDENTITY = "identity-azure"


@cache
def with_identity() -> Built:
    """prod-azure plus a workload that asks for a cloud identity, as the workloads layer asks the cluster for it."""
    config = stackconfig.load(engine.PROJECT_DIR, "prod-azure").namespace("orquestra")
    workload = {"name": "api", "namespace": "payments", "image": "ghcr.io/acme/api:1.0.0", "cloudIdentity": True}
    config["workloads"] = [{**workload, "clusters": ["weu-prod"]}]
    built = build_spec(config, stack=WITH_IDENTITY)
    assert built.plan.ok, built.plan.errors
    return built


def test_capabilities_tell_the_workloads_layer_how_aks_does_things() -> None:
    caps = build_stack("prod-azure").clusters["weu-prod"].capabilities()
    assert caps.load_balancer == "cloud"
    assert caps.node_autoscaler == "cloud"
    assert caps.default_storage_class == "managed-csi"
    assert caps.pod_identity == "azure-workload-identity"
    assert caps.zones == ("1", "2", "3")
    assert caps.region == "westeurope"
    assert caps.lb_annotations_internal == {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}


def test_dev_capabilities_follow_its_zones() -> None:
    caps = build_spec(DEV).clusters["weu-dev"].capabilities()
    assert caps.zones == ("1", "2") and caps.pod_identity == "azure-workload-identity"


def test_workload_identity_trusts_exactly_one_service_account_through_the_oidc_issuer() -> None:
    plan = with_identity().plan
    identity = plan.one(IDENTITY, "weu-prod-payments-api-identity")
    (federated,) = [f for f in plan.resources(FEDERATED) if f.plain["resourceName"] == "weu-prod-payments-api"]
    mc = plan.one(AKS)
    assert federated.plain["issuer"] == answers.oidc_issuer(WITH_IDENTITY, mc.plain["resourceName"], "westeurope")
    assert federated.plain["subject"] == "system:serviceaccount:payments:api"
    assert federated.plain["audiences"] == ["api://AzureADTokenExchange"]
    assert federated.plain["resourceName"] == identity.plain["resourceName"] == "weu-prod-payments-api"
    account = plan.one("kubernetes:core/v1:ServiceAccount", "weu-prod-api-sa").plain
    assert account["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": answers.identity_client(WITH_IDENTITY, "weu-prod-payments-api")
    }
    workload = plan.one("orquestra:workloads:Service", "weu-prod-api")
    assert identity.parent == federated.parent == workload.urn
    assert (
        identity.plain["resourceGroupName"]
        == plan.one("azure-native:resources:ResourceGroup").plain["resourceGroupName"]
    )


def test_a_cluster_without_a_usable_system_pool_fails_before_any_resource() -> None:
    spec = copy.deepcopy(DEV)
    spec["clusters"][0]["nodePools"] = [{"name": "general", "min": 1, "max": 3}]
    plan = plan_spec(spec)
    assert not plan.resources(AKS)
    assert any(e.startswith("orquestra:clusters[0].nodePools:") for e in plan.errors)
    spec["clusters"][0]["nodePools"] = [{"name": "system", "role": "system", "min": 1, "max": 3, "spot": True}]
    assert any(e.startswith("orquestra:clusters[0].nodePools[0].spot:") for e in plan_spec(spec).errors)


# ------------------------------------------------- issue 22: defects and CIS

CI_STREAMS = [
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
]
"""The streams Microsoft's own managed-identity onboarding sends (microsoft/Docker-Provider,
scripts/onboarding/aks/onboarding-msi-terraform/variables.tf)."""


@pytest.mark.parametrize("get", [dev, prod])
def test_container_insights_agent_has_a_data_collection_rule_on_the_cluster(get: Any) -> None:
    """With managed-identity auth the agent collects only what a DCR associated with the cluster names."""
    plan = get()
    workspace = plan.one("azure-native:operationalinsights:Workspace")
    assert cluster(plan).plain["addonProfiles"]["omsagent"]["config"]["useAADAuth"] == "true"
    rule = plan.one("azure-native:monitor:DataCollectionRule")
    dcr = rule.plain
    mc = cluster(plan).plain
    assert dcr["dataCollectionRuleName"] == f"MSCI-{mc['location']}-{mc['resourceName']}"
    assert dcr["kind"] == "Linux" and dcr["location"] == mc["location"]
    (extension,) = dcr["dataSources"]["extensions"]
    assert extension["name"] == "ContainerInsightsExtension"
    assert extension["extensionName"] == "ContainerInsights"
    assert extension["streams"] == CI_STREAMS
    assert extension["extensionSettings"]["dataCollectionSettings"]["enableContainerLogV2"] is True
    (destination,) = dcr["destinations"]["logAnalytics"]
    assert rule.property_dependencies["destinations"] == [workspace.urn]
    assert destination["workspaceResourceId"].endswith(f"/workspaces/{workspace.plain['workspaceName']}")
    assert dcr["dataFlows"] == [{"streams": CI_STREAMS, "destinations": [destination["name"]]}]

    association = plan.one("azure-native:monitor:DataCollectionRuleAssociation")
    assert association.plain["associationName"] == "ContainerInsightsExtension"
    assert association.property_dependencies["resourceUri"] == [cluster(plan).urn]
    assert association.plain["resourceUri"].endswith(f"/managedClusters/{mc['resourceName']}")
    assert association.plain["dataCollectionRuleId"].endswith(f"/dataCollectionRules/{dcr['dataCollectionRuleName']}")


@pytest.mark.parametrize("get", [dev, prod])
def test_a_redeploy_after_destroy_gets_a_vault_name_no_soft_deleted_vault_holds(get: Any) -> None:
    """A destroyed vault stays soft-deleted (purge-protected: 90 days) and keeps its name; Azure refuses a
    new vault of that name (409 "A vault with the same name already exists in deleted state").
    The name carries the control-plane identity's principal id, which Entra ID assigns afresh on each create."""
    plan = get()
    vault = plan.one("azure-native:keyvault:Vault")
    identity = next(r for r in plan.resources(IDENTITY) if r.name.endswith("-control-plane"))
    name = vault.plain["vaultName"]
    principal = answers.identity_principal(plan.one(AKS).urn.split("::")[0].split(":")[-1], identity.name)
    assert name.endswith(f"-kms-{principal[:8]}")
    assert vault.property_dependencies["vaultName"] == [identity.urn]
    # Azure's rule for vault names: 3-24 letters, digits and hyphens, a letter first, no "--", no trailing "-".
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", name) and "--" not in name
    props = vault.plain["properties"]
    assert props["enablePurgeProtection"] is True and props.get("createMode", "default") == "default"


@pytest.mark.parametrize("get", [dev, prod])
def test_the_etcd_key_vault_is_private_and_aks_reaches_it_privately(get: Any) -> None:
    plan = get()
    vault = plan.one("azure-native:keyvault:Vault")
    props = vault.plain["properties"]
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    kms = cluster(plan).plain["securityProfile"]["azureKeyVaultKms"]
    assert kms["keyVaultNetworkAccess"] == "Private"
    assert kms["keyVaultResourceId"].endswith(f"/vaults/{vault.plain['vaultName']}")
    assert cluster(plan).plain["apiServerAccessProfile"]["enableVnetIntegration"] is True
    # AKS links the private vault itself, as the control-plane identity.
    contributor = plan.one(ROLE, f"{cluster(plan).plain['resourceName']}-kms-vault-contributor")
    assert contributor.plain["roleDefinitionId"].endswith("/roleDefinitions/f25e0fa2-a7c8-4377-a976-54943a77a395")
    assert contributor.plain["scope"].endswith(f"/vaults/{vault.plain['vaultName']}")
    assert any(u == contributor.urn for u in cluster(plan).dependencies)


@pytest.mark.parametrize("get", [dev, prod])
def test_every_pool_encrypts_at_host(get: Any) -> None:
    plan = get()
    profiles = [cluster(plan).plain["agentPoolProfiles"][0], *(p.plain for p in plan.resources(POOL))]
    assert len(profiles) >= 2
    assert all(p["enableEncryptionAtHost"] is True for p in profiles)


def test_prod_runs_defender_and_azure_policy() -> None:
    mc = cluster(prod()).plain
    defender = mc["securityProfile"]["defender"]
    assert defender["securityMonitoring"] == {"enabled": True}
    workspace = prod().one("azure-native:operationalinsights:Workspace").plain["workspaceName"]
    assert defender["logAnalyticsWorkspaceResourceId"].endswith(f"/workspaces/{workspace}")
    assert mc["addonProfiles"]["azurepolicy"]["enabled"] is True
    assert "defender" not in cluster(dev()).plain["securityProfile"]
