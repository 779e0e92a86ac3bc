"""Azure rules of preflight's reject layer: each AKS constraint refuses a hand-built plan that breaks it."""

from __future__ import annotations

from typing import Any

from tests.conftest import plan_spec
from tests.rejecting import fields, plan_of, reg, rejected

POOL = "azure-native:containerservice:AgentPool"
AKS = "azure-native:containerservice:ManagedCluster"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
KEY = "https://weu-kms-abc123.vault.azure.net/keys/etcd-secrets/" + "0" * 32


def pool(**over: Any) -> dict[str, Any]:
    return {"agentPoolName": "batch1a2b", "mode": "User", "osType": "Linux", "count": 0, **over}


def spot(**over: Any) -> dict[str, Any]:
    rules = {
        "scaleSetPriority": "Spot",
        "scaleSetEvictionPolicy": "Delete",
        "spotMaxPrice": -1,
        "nodeTaints": [SPOT_TAINT],
    }
    return pool(**{**rules, **over})


def test_a_spot_pool_with_max_surge_is_refused() -> None:
    """AKS: 400 "Spot pools can't set max surge"."""
    bad = reg(POOL, "batch", spot(upgradeSettings={"maxSurge": "33%"}))
    (rejection,) = rejected(plan_of(bad))
    assert (rejection.field, "max surge" in rejection.message or "maxSurge" in rejection.message) == (
        "upgradeSettings.maxSurge",
        True,
    )
    assert rejected(plan_of(reg(POOL, "batch", spot()))) == []


def test_spot_pools_keep_the_spot_rules() -> None:
    bad = spot(scaleSetEvictionPolicy="Stop", spotMaxPrice=0.123456, nodeTaints=[], mode="System")
    assert fields(plan_of(reg(POOL, "b", bad))) == {
        ("b", "scaleSetEvictionPolicy"),
        ("b", "spotMaxPrice"),
        ("b", "nodeTaints"),
        ("b", "mode"),
        ("b", "count"),
    }
    assert fields(plan_of(reg(POOL, "r", pool(scaleSetEvictionPolicy="Delete")))) == {("r", "scaleSetEvictionPolicy")}


def test_pool_names_follow_aks_naming() -> None:
    for name in ("Batch", "1batch", "general-pool", "averyveryverylongname"):
        assert fields(plan_of(reg(POOL, "p", pool(agentPoolName=name)))) == {("p", "agentPoolName")}, name
    assert fields(plan_of(reg(POOL, "w", pool(agentPoolName="windows1", osType="Windows")))) == {("w", "agentPoolName")}


def cluster(profiles: list[dict[str, Any]], vnet_integration: bool = True, **kms: Any) -> Any:
    security = {"azureKeyVaultKms": {"enabled": True, "keyId": KEY, "keyVaultNetworkAccess": "Public", **kms}}
    api = {"enableVnetIntegration": vnet_integration}
    return reg(AKS, "aks", {"agentPoolProfiles": profiles, "securityProfile": security, "apiServerAccessProfile": api})


def test_system_pools_and_the_inline_profiles() -> None:
    system = {"name": "system", "mode": "System", "osType": "Linux", "enableAutoScaling": True, "minCount": 1}
    assert rejected(plan_of(cluster([system]))) == []
    assert fields(plan_of(cluster([{**system, "mode": "User"}]))) == {("aks", "agentPoolProfiles")}
    assert fields(plan_of(cluster([{**system, "minCount": 0}]))) == {("aks", "agentPoolProfiles[0].minCount")}


def test_kms_wants_a_versioned_key_and_network_access_paired_with_the_vault() -> None:
    system = {"name": "system", "mode": "System", "osType": "Linux", "count": 1}
    unversioned = cluster([system], keyId="https://weu-kms-abc123.vault.azure.net/keys/etcd-secrets")
    assert fields(plan_of(unversioned)) == {("aks", "securityProfile.azureKeyVaultKms.keyId")}
    private = cluster([system], keyVaultNetworkAccess="Private")
    assert fields(plan_of(private)) == {("aks", "securityProfile.azureKeyVaultKms.keyVaultResourceId")}
    public_with_vault = cluster([system], keyVaultResourceId="/subscriptions/x/vaults/v")
    assert fields(plan_of(public_with_vault)) == {("aks", "securityProfile.azureKeyVaultKms.keyVaultResourceId")}


def test_a_private_kms_vault_needs_api_server_vnet_integration() -> None:
    system = {"name": "system", "mode": "System", "osType": "Linux", "count": 1}
    vault = "/subscriptions/x/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"
    private = {"keyVaultNetworkAccess": "Private", "keyVaultResourceId": vault}
    assert rejected(plan_of(cluster([system], **private))) == []
    refused = cluster([system], vnet_integration=False, **private)
    assert fields(plan_of(refused)) == {("aks", "apiServerAccessProfile.enableVnetIntegration")}
    # A public vault works over Konnectivity as well.
    assert rejected(plan_of(cluster([system], vnet_integration=False))) == []


def test_the_program_plans_spot_pools_aks_accepts() -> None:
    plan = plan_spec(
        {
            "environment": "dev",
            "clusters": [
                {
                    "name": "aks",
                    "target": "azure",
                    "region": "westeurope",
                    "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
                    "nodePools": [
                        {"name": "system", "role": "system", "min": 1, "max": 3},
                        {"name": "batch", "spot": True, "min": 0, "max": 5},
                    ],
                }
            ],
        },
        stack="azure-spot",
    )
    assert plan.ok, plan.errors
    spot_pool = next(p for p in plan.resources(POOL) if p.plain.get("scaleSetPriority") == "Spot")
    assert "upgradeSettings" not in spot_pool.plain and SPOT_TAINT in spot_pool.plain["nodeTaints"]
    assert rejected(plan) == []
