"""pulumi-azure-native: ARM resource IDs, AKS endpoints, identities and credentials as Azure returns them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

SUBSCRIPTION_ID = "8c1f3e2a-5b7d-4a9e-b0c6-2d4f6a8e1b3c"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEPLOYER_OBJECT_ID = "4e1a7c9d-2b3f-4d5e-8a6b-9c0d1e2f3a4b"
DEPLOYER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "azure/" + "/".join(parts)))


def _rg_id(inputs: dict[str, Any]) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('resourceGroupName', 'unknown')}"


def _resource_group(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    rg = inputs.get("resourceGroupName") or name
    return {"id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}", "name": rg, "provisioningState": "Succeeded"}


def _vnet(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vnet = inputs.get("virtualNetworkName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/virtualNetworks/{vnet}",
        "name": vnet,
        "resourceGuid": _guid(stack, vnet),
        "provisioningState": "Succeeded",
    }


def _subnet(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    subnet = inputs.get("subnetName") or name
    vnet = inputs.get("virtualNetworkName")
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}",
        "name": subnet,
        "provisioningState": "Succeeded",
    }


def _identity(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    ident = inputs.get("resourceName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{ident}",
        "name": ident,
        "clientId": identity_client(stack, ident),
        "principalId": identity_principal(stack, ident),
        "tenantId": TENANT_ID,
    }


def identity_client(stack: str, identity: str) -> str:
    """The client ID the mock gives a user-assigned identity (tests compare against it)."""
    return _guid(stack, identity, "client")


def identity_principal(stack: str, identity: str) -> str:
    return _guid(stack, identity, "principal")


def oidc_issuer(stack: str, cluster: str, location: str) -> str:
    """The issuer URL AKS gives a cluster: regional host, tenant, then a per-cluster GUID."""
    return f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{_guid(stack, cluster, 'oidc')}/"


def _federated(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cred = inputs.get("federatedIdentityCredentialResourceName") or name
    ident = inputs.get("resourceName")
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{ident}"
        f"/federatedIdentityCredentials/{cred}",
        "name": cred,
    }


def _vault(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vault = inputs.get("vaultName") or name
    props = dict(inputs.get("properties") or {})
    props.update(vaultUri=f"https://{vault}.vault.azure.net/", provisioningState="Succeeded")
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.KeyVault/vaults/{vault}",
        "name": vault,
        "properties": props,
    }


def _key(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vault, key = inputs.get("vaultName"), inputs.get("keyName") or name
    version = hashlib.sha256(f"{stack}/{vault}/{key}".encode()).hexdigest()[:32]
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}",
        "name": key,
        "keyUri": f"https://{vault}.vault.azure.net/keys/{key}",
        "keyUriWithVersion": f"https://{vault}.vault.azure.net/keys/{key}/{version}",
    }


def _role_assignment(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    assignment = inputs.get("roleAssignmentName") or _guid(stack, name)
    return {
        "id": f"{inputs.get('scope', '')}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
        "name": assignment,
        "type": "Microsoft.Authorization/roleAssignments",
    }


def _workspace(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    ws = inputs.get("workspaceName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.OperationalInsights/workspaces/{ws}",
        "name": ws,
        "customerId": _guid(stack, ws, "customer"),
        "provisioningState": "Succeeded",
    }


def _data_collection_rule(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    rule = inputs.get("dataCollectionRuleName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Insights/dataCollectionRules/{rule}",
        "name": rule,
        "immutableId": "dcr-" + _guid(stack, rule).replace("-", ""),
        "provisioningState": "Succeeded",
    }


def _data_collection_rule_association(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    association = inputs.get("associationName") or name
    return {
        "id": f"{inputs.get('resourceUri', '')}/providers/Microsoft.Insights/dataCollectionRuleAssociations/"
        f"{association}",
        "name": association,
        "provisioningState": "Succeeded",
    }


def _managed_cluster(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cluster = inputs.get("resourceName") or name
    location = inputs.get("location", "westeurope")
    suffix = hashlib.sha256(f"{stack}/{cluster}".encode()).hexdigest()
    prefix = f"{inputs.get('dnsPrefix', cluster)}-{suffix[:8]}"
    idents = (inputs.get("identity") or {}).get("userAssignedIdentities") or []
    version = str(inputs.get("kubernetesVersion") or "1.35")
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.ContainerService/managedClusters/{cluster}",
        "name": cluster,
        "fqdn": f"{prefix}.hcp.{location}.azmk8s.io",
        "privateFQDN": f"{prefix}.{suffix[8:44]}.privatelink.{location}.azmk8s.io",
        "azurePortalFQDN": f"{prefix}.portal.hcp.{location}.azmk8s.io",
        "currentKubernetesVersion": f"{version}.3",
        "provisioningState": "Succeeded",
        "maxAgentPools": 100,
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": oidc_issuer(stack, cluster, location),
        },
        "identity": {
            "type": "UserAssigned",
            "userAssignedIdentities": {i: {"clientId": _guid(i, "client"), "principalId": _guid(i)} for i in idents},
        },
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('nodeResourceGroup')}"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster}-agentpool",
                "clientId": _guid(stack, cluster, "kubelet-client"),
                "objectId": _guid(stack, cluster, "kubelet-object"),
            }
        },
    }


def _child(kind: str, key: str) -> Any:
    def answer(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
        child = inputs.get(key) or name
        return {
            "id": f"{_rg_id(inputs)}/providers/Microsoft.ContainerService/managedClusters/"
            f"{inputs.get('resourceName')}/{kind}/{child}",
            "name": child,
            "provisioningState": "Succeeded",
        }

    return answer


def _client_config(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "clientId": DEPLOYER_CLIENT_ID,
        "objectId": DEPLOYER_OBJECT_ID,
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
    }


def _user_credentials(args: dict[str, Any]) -> dict[str, Any]:
    """What AKS returns for an Entra ID cluster with format=exec: kubelogin with device code."""
    cluster, rg = args.get("resourceName", "cluster"), args.get("resourceGroupName", "rg")
    suffix = hashlib.sha256(f"{rg}/{cluster}".encode()).hexdigest()[:8]
    server = f"https://{cluster}-{suffix}.hcp.westeurope.azmk8s.io:443"
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{suffix}\n-----END CERTIFICATE-----\n".encode()).decode()
    kubeconfig = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: {cluster}
contexts:
- context:
    cluster: {cluster}
    user: clusterUser_{rg}_{cluster}
  name: {cluster}
current-context: {cluster}
kind: Config
preferences: {{}}
users:
- name: clusterUser_{rg}_{cluster}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --environment
      - AzurePublicCloud
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --client-id
      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a
      - --tenant-id
      - {TENANT_ID}
      - --login
      - devicecode
      command: kubelogin
      env: null
"""
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}]}


INVOKES = {
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
}


def _private_zone(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    zone = inputs.get("privateZoneName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/privateDnsZones/{zone}",
        "name": zone,
        "provisioningState": "Succeeded",
        "numberOfVirtualNetworkLinks": 0,
    }


def _zone_link(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    link = inputs.get("virtualNetworkLinkName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/privateDnsZones/{inputs.get('privateZoneName')}"
        f"/virtualNetworkLinks/{link}",
        "name": link,
        "provisioningState": "Succeeded",
        "virtualNetworkLinkState": "Completed",
    }


def _peering(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    peering = inputs.get("virtualNetworkPeeringName") or name
    # The hub's half lives in the hub's resource group, which this answer reads from the inputs as for any other.
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/virtualNetworks/{inputs.get('virtualNetworkName')}"
        f"/virtualNetworkPeerings/{peering}",
        "name": peering,
        "provisioningState": "Succeeded",
        "peeringState": "Connected",
        "peeringSyncLevel": "FullyInSync",
    }


def _traffic_manager_profile(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    profile = inputs.get("profileName") or name
    dns = dict(inputs.get("dnsConfig") or {})
    # The profile's FQDN is its relative name under Traffic Manager's domain.
    dns["fqdn"] = f"{dns.get('relativeName') or profile}.trafficmanager.net"
    monitor = {**(inputs.get("monitorConfig") or {}), "profileMonitorStatus": "CheckingEndpoints"}
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/trafficManagerProfiles/{profile}",
        "name": profile,
        "type": "Microsoft.Network/trafficManagerProfiles",
        "dnsConfig": dns,
        "monitorConfig": monitor,
    }


def _dns_record_set(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    zone, relative = inputs.get("zoneName"), inputs.get("relativeRecordSetName") or name
    kind = inputs.get("recordType")
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/dnszones/{zone}/{kind}/{relative}",
        "name": relative,
        "type": f"Microsoft.Network/dnszones/{kind}",
        "fqdn": f"{relative}.{zone}.",
        "etag": _guid("etag", str(zone), str(relative)),
        "provisioningState": "Succeeded",
    }


def public_ip(stack: str, name: str) -> str:
    """The address the mock gives a Standard public IP: in 20.0.0.0/11, where Azure's public IPs come from."""
    digest = hashlib.sha256(f"{stack}/{name}".encode()).digest()
    return f"20.{digest[0] % 32}.{digest[1]}.{1 + digest[2] % 254}"


def _public_ip(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    ip = inputs.get("publicIpAddressName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/publicIPAddresses/{ip}",
        "name": ip,
        "ipAddress": public_ip(stack, ip),
        "provisioningState": "Succeeded",
        "resourceGuid": _guid(stack, ip),
    }


def _vpn_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """What Azure returns for a VPN gateway: each BGP peering address also lists the public IP of its instance,
    the outside end of that instance's tunnels (`tunnelIpAddresses`)."""
    gateway = inputs.get("virtualNetworkGatewayName") or name
    gateway_id = f"{_rg_id(inputs)}/providers/Microsoft.Network/virtualNetworkGateways/{gateway}"
    tunnel_ips = {
        f"{gateway_id}/ipConfigurations/{config.get('name')}": public_ip(
            stack, str((config.get("publicIPAddress") or {}).get("id", "")).rsplit("/", 1)[-1]
        )
        for config in inputs.get("ipConfigurations") or []
    }
    bgp = dict(inputs.get("bgpSettings") or {})
    bgp["bgpPeeringAddresses"] = [
        {**peering, "tunnelIpAddresses": [tunnel_ips.get(str(peering.get("ipconfigurationId")), "")]}
        for peering in bgp.get("bgpPeeringAddresses") or []
    ]
    return {
        "id": gateway_id,
        "name": gateway,
        "bgpSettings": bgp,
        "provisioningState": "Succeeded",
        "resourceGuid": _guid(stack, gateway),
    }


def _local_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    local = inputs.get("localNetworkGatewayName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/localNetworkGateways/{local}",
        "name": local,
        "provisioningState": "Succeeded",
        "resourceGuid": _guid(stack, local),
    }


def _connection(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    connection = inputs.get("virtualNetworkGatewayConnectionName") or name
    return {
        "id": f"{_rg_id(inputs)}/providers/Microsoft.Network/connections/{connection}",
        "name": connection,
        "provisioningState": "Succeeded",
        # Until the site's device answers IKE, Azure reports the connection as not yet connected.
        "connectionStatus": "Unknown",
        "resourceGuid": _guid(stack, connection),
    }


RESOURCES = {
    "azure-native:trafficmanager:Profile": _traffic_manager_profile,
    "azure-native:dns:RecordSet": _dns_record_set,
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:privatedns:PrivateZone": _private_zone,
    "azure-native:privatedns:VirtualNetworkLink": _zone_link,
    "azure-native:network:VirtualNetworkPeering": _peering,
    "azure-native:network:VirtualNetwork": _vnet,
    "azure-native:network:Subnet": _subnet,
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:managedidentity:FederatedIdentityCredential": _federated,
    "azure-native:keyvault:Vault": _vault,
    "azure-native:keyvault:Key": _key,
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:operationalinsights:Workspace": _workspace,
    "azure-native:monitor:DataCollectionRule": _data_collection_rule,
    "azure-native:monitor:DataCollectionRuleAssociation": _data_collection_rule_association,
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:containerservice:AgentPool": _child("agentPools", "agentPoolName"),
    "azure-native:containerservice:MaintenanceConfiguration": _child("maintenanceConfigurations", "configName"),
    "azure-native:network:PublicIPAddress": _public_ip,
    "azure-native:network:VirtualNetworkGateway": _vpn_gateway,
    "azure-native:network:LocalNetworkGateway": _local_gateway,
    "azure-native:network:VirtualNetworkGatewayConnection": _connection,
}
