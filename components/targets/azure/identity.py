"""Who may do what: the control plane's identity and its grants, cluster admins in Entra ID, workload identity."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import authorization, containerservice, keyvault, managedidentity, network

if TYPE_CHECKING:
    from components.targets.azure import AzureCluster

# Built-in role definitions (the same GUIDs in every tenant).
ROLE_KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
ROLE_KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
"""Lets AKS create the private link to a private KMS vault (no data access); Source:
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-contributor"""
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
ROLE_DNS_ZONE_CONTRIBUTOR = "befefa01-2a29-4197-83a8-272ff33ce314"
"""Records of a DNS zone, not who may access it; Source:
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/networking#dns-zone-contributor"""
WORKLOAD_IDENTITY_USE = "azure.workload.identity/use"
"""The label that has AKS's workload identity webhook project a token into a pod; Source:
https://learn.microsoft.com/azure/aks/workload-identity-overview#pod-labels"""


def guid(*parts: str) -> str:
    """A stable GUID for resources Azure names by GUID (role assignments), so re-runs are no-ops."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "orquestra/" + "/".join(parts)))


def role_definition(c: AzureCluster, definition: str) -> pulumi.Output[str]:
    """The id of a built-in role definition in the deployer's subscription."""
    return c.client.subscription_id.apply(
        lambda s: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{definition}"
    )


def control_plane(c: AzureCluster) -> managedidentity.UserAssignedIdentity:
    """The identity AKS runs its control plane as (KMS, the VNet), created before the cluster so it can be granted."""
    name = c.spec.name
    return managedidentity.UserAssignedIdentity(
        f"{name}-control-plane",
        resource_name_=f"{name}-control-plane",
        resource_group_name=c.resource_group.name,
        location=c.spec.region,
        tags=c.tags(),
        opts=c.child_opts(),
    )


@dataclass(frozen=True)
class Grants:
    kms: authorization.RoleAssignment
    kms_link: authorization.RoleAssignment
    """AKS links the private vault itself: https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption"""
    network: authorization.RoleAssignment


def control_plane_grants(
    c: AzureCluster, identity: managedidentity.UserAssignedIdentity, vault: keyvault.Vault, vnet: network.VirtualNetwork
) -> Grants:
    """The control plane may use the etcd key, link its private vault and manage the VNet, and nothing else."""
    name, environment = c.spec.name, c.environment

    def grant(suffix: str, scope: pulumi.Input[str], role: str) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            f"{name}-{suffix}",
            role_assignment_name=guid(environment, name, suffix),
            scope=scope,
            role_definition_id=role_definition(c, role),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            opts=c.child_opts(),
        )

    kms_role = grant("kms-crypto-user", vault.id, ROLE_KEY_VAULT_CRYPTO_USER)
    link_role = grant("kms-vault-contributor", vault.id, ROLE_KEY_VAULT_CONTRIBUTOR)
    network_role = grant("network-contributor", vnet.id, ROLE_NETWORK_CONTRIBUTOR)
    return Grants(kms_role, link_role, network_role)


def admins(c: AzureCluster, cluster: containerservice.ManagedCluster) -> list[authorization.RoleAssignment]:
    """Cluster admins through Azure RBAC: the deployer, and each of `adminGroupObjectIds`."""
    spec, name, environment = c.spec, c.spec.name, c.environment
    # The deployer reaches the API through Entra ID like everyone else.
    deployer_admin = authorization.RoleAssignment(
        f"{name}-deployer-admin",
        role_assignment_name=guid(environment, name, "deployer-admin"),
        scope=cluster.id,
        role_definition_id=role_definition(c, ROLE_AKS_RBAC_CLUSTER_ADMIN),
        principal_id=c.client.object_id,
        opts=c.child_opts(),
    )
    group_admins = [
        authorization.RoleAssignment(
            f"{name}-admin-{object_id}",
            role_assignment_name=guid(environment, name, "admin", object_id),
            scope=cluster.id,
            role_definition_id=role_definition(c, ROLE_AKS_RBAC_CLUSTER_ADMIN),
            principal_id=object_id,
            principal_type="Group",
            opts=c.child_opts(),
        )
        for object_id in spec.admin_group_object_ids
    ]

    return [deployer_admin, *group_admins]


def workload_identity(
    c: AzureCluster, namespace: str, service_account: str, opts: pulumi.ResourceOptions
) -> Mapping[str, pulumi.Input[str]]:
    """A user-assigned identity trusted for exactly one ServiceAccount through the cluster's OIDC issuer."""
    return {"azure.workload.identity/client-id": workload_account(c, namespace, service_account, opts).client_id}


def workload_account(
    c: AzureCluster, namespace: str, service_account: str, opts: pulumi.ResourceOptions
) -> managedidentity.UserAssignedIdentity:
    """The identity behind `workload_identity`, for callers that grant it something."""
    name = f"{c.spec.name}-{namespace}-{service_account}"
    child = pulumi.ResourceOptions.merge(c.identity_opts, opts)
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_name_=name[:128],
        resource_group_name=c.resource_group.name,
        location=c.spec.region,
        tags=c.tags(**{"orquestra-service-account": f"{namespace}/{service_account}"}),
        opts=child,
    )
    managedidentity.FederatedIdentityCredential(
        f"{name}-federation",
        federated_identity_credential_resource_name=f"{namespace}-{service_account}"[:120],
        resource_name_=identity.name,
        resource_group_name=c.resource_group.name,
        issuer=c.oidc_issuer_url,
        subject=f"system:serviceaccount:{namespace}:{service_account}",
        audiences=["api://AzureADTokenExchange"],
        # Beside the identity, under the same component: a resource is never parented on a custom resource.
        # The alias keeps credentials created under the identity, so moving them replaces nothing.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=identity)])),
    )
    return identity


def cert_manager(c: AzureCluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """cert-manager's Azure DNS DNS-01 solver for `platform.dns.zone`, and its Helm values; ({}, {}) without a zone.

    cert-manager acts as a user-assigned identity of its own through workload identity (its pod labelled,
    its ServiceAccount annotated with the client id), granted DNS Zone Contributor on that one zone.
    Source: https://cert-manager.io/docs/configuration/acme/dns01/azuredns/#managed-identity-using-aad-workload-identity
    (`azureDNS.subscriptionID`, `resourceGroupName`, `hostedZoneName`, `environment`, `managedIdentity.clientID`).
    """
    spec, name = c.spec, c.spec.name
    zone, group = spec.platform.dns.zone, spec.dns_resource_group
    if not zone or not group:
        return {}, {}
    account = workload_account(c, "cert-manager", "cert-manager", c.child_opts())
    subscription = c.client.subscription_id
    authorization.RoleAssignment(
        f"{name}-cert-manager-dns",
        role_assignment_name=guid(c.environment, name, "cert-manager-dns", zone),
        scope=pulumi.Output.format(
            "/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Network/dnsZones/{2}", subscription, group, zone
        ),
        role_definition_id=role_definition(c, ROLE_DNS_ZONE_CONTRIBUTOR),
        principal_id=account.principal_id,
        principal_type="ServicePrincipal",
        opts=c.child_opts(),
    )
    solver = {
        "azureDNS": {
            "subscriptionID": subscription,
            "resourceGroupName": group,
            "hostedZoneName": zone,
            "environment": "AzurePublicCloud",
            "managedIdentity": {"clientID": account.client_id},
        }
    }
    use = {WORKLOAD_IDENTITY_USE: "true"}
    values = {
        "podLabels": use,
        "serviceAccount": {"labels": use, "annotations": {"azure.workload.identity/client-id": account.client_id}},
    }
    return solver, values
