"""pulumi-oci: what Oracle Cloud computes on create, and what its data sources return.

Formats follow the real APIs: OCIDs `ocid1.<type>.oc1.<region>.<60 lowercase base32 characters>`
(regionless for IAM objects: `ocid1.policy.oc1..aaaa...`), availability domains with a
tenancy prefix (`Uocm:EU-FRANKFURT-1-AD-1`), the Vault's management endpoint under
`kms.<region>.oraclecloud.com`, OKE versions `v1.34.1`, node images named
`Oracle-Linux-8.10-<date>-0-OKE-<version>-<build>`, API endpoints `<ip>:6443` and the
kubeconfig OKE generates (token version 2.0.0, an `oci ce cluster generate-token` user).
An invoke does not carry the provider's region, so answers use `DEFAULT_REGION` as the AWS
answers do.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from typing import Any

DEFAULT_REGION = "eu-frankfurt-1"
AD_PREFIX = "Uocm"
SERVICES_LABEL = "all-fra-services-in-oracle-services-network"
"""The service CIDR label of Frankfurt's "All FRA Services In Oracle Services Network"."""
KUBERNETES_VERSIONS = ["v1.32.1", "v1.32.10", "v1.33.1", "v1.33.5", "v1.34.1", "v1.34.2", "v1.35.0"]
"""What `oci ce cluster-options get --cluster-option-id all` lists (oldest first)."""
IMAGE_DATES = ("2025.11.20", "2026.10.29")


def _unique(seed: str) -> str:
    """60 characters of OCI's lowercase base32 alphabet, stable for a seed."""
    digest = hashlib.sha512(seed.encode()).digest()
    return "aaaaaaaa" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def ocid(kind: str, seed: str, region: str = DEFAULT_REGION) -> str:
    return f"ocid1.{kind}.oc1.{region}.{_unique(f'{kind}/{seed}')}"


def _compartment(inputs: dict[str, Any]) -> str:
    return str(inputs.get("compartmentId") or "")


# ------------------------------------------------------------------ invokes


def availability_domains(region: str = DEFAULT_REGION) -> list[str]:
    return [f"{AD_PREFIX}:{region.upper()}-AD-{n}" for n in (1, 2, 3)]


def _get_availability_domains(args: dict[str, Any]) -> dict[str, Any]:
    compartment = str(args.get("compartmentId") or "")
    return {
        "id": f"IdentityGetAvailabilityDomainsDataSource-{hashlib.sha256(compartment.encode()).hexdigest()[:10]}",
        "compartmentId": compartment,
        "availabilityDomains": [
            {"compartmentId": compartment, "id": ocid("availabilitydomain", name), "name": name}
            for name in availability_domains()
        ],
    }


def _get_services(args: dict[str, Any]) -> dict[str, Any]:
    services = [
        {
            "cidrBlock": SERVICES_LABEL,
            "description": "All FRA Services In Oracle Services Network",
            "id": ocid("service", SERVICES_LABEL),
            "name": "All FRA Services In Oracle Services Network",
        },
        {
            "cidrBlock": "oci-fra-objectstorage",
            "description": "OCI FRA Object Storage",
            "id": ocid("service", "oci-fra-objectstorage"),
            "name": "OCI FRA Object Storage",
        },
    ]
    for f in args.get("filters") or []:
        if f.get("name") == "name" and f.get("regex"):
            # The only filter orquestra uses: "All .* Services In Oracle Services Network".
            services = [s for s in services if s["name"].startswith("All ")]
    return {"id": "CoreServicesDataSource-0", "filters": args.get("filters") or [], "services": services}


def _get_cluster_option(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(args.get("clusterOptionId") or "all"),
        "clusterOptionId": str(args.get("clusterOptionId") or "all"),
        "compartmentId": args.get("compartmentId"),
        "kubernetesVersions": KUBERNETES_VERSIONS,
        "clusterPodNetworkOptions": [{"cniType": "OCI_VCN_IP_NATIVE"}, {"cniType": "FLANNEL_OVERLAY"}],
    }


def _images() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for version in KUBERNETES_VERSIONS:
        bare = version.removeprefix("v")
        for date in IMAGE_DATES:
            for flavour in ("", "aarch64-", "Gen2-GPU-"):
                name = f"Oracle-Linux-8.10-{flavour}{date}-0-OKE-{bare}-{1100 + len(out)}"
                out.append({"imageId": ocid("image", name), "sourceName": name, "sourceType": "IMAGE"})
    return out


def _get_node_pool_option(args: dict[str, Any]) -> dict[str, Any]:
    sources = _images()
    return {
        "id": str(args.get("nodePoolOptionId") or "all"),
        "nodePoolOptionId": str(args.get("nodePoolOptionId") or "all"),
        "compartmentId": args.get("compartmentId"),
        "kubernetesVersions": KUBERNETES_VERSIONS,
        "images": [s["sourceName"] for s in sources],
        "shapes": [
            "VM.Standard.E4.Flex",
            "VM.Standard.E5.Flex",
            "VM.Standard3.Flex",
            "VM.Standard.A1.Flex",
            "VM.Optimized3.Flex",
            "VM.GPU.A10.1",
        ],
        "sources": sources,
    }


def _ca_certificate(seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 8).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n".encode()).decode()


def _get_cluster_kube_config(args: dict[str, Any]) -> dict[str, Any]:
    cluster = str(args.get("clusterId") or "")
    server = "https://10.0.255.242:6443" if args.get("endpoint") == "PRIVATE_ENDPOINT" else "https://141.147.0.10:6443"
    content = f"""---
apiVersion: v1
kind: ""
clusters:
- name: cluster-{cluster[-11:]}
  cluster:
    server: {server}
    certificate-authority-data: {_ca_certificate(cluster)}
users:
- name: user-{cluster[-11:]}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: oci
      args:
      - ce
      - cluster
      - generate-token
      - --cluster-id
      - {cluster}
      - --region
      - {DEFAULT_REGION}
      env: []
contexts:
- name: context-{cluster[-11:]}
  context:
    cluster: cluster-{cluster[-11:]}
    user: user-{cluster[-11:]}
current-context: context-{cluster[-11:]}
"""
    return {
        "id": f"ContainerengineClusterKubeConfigDataSource-{cluster[-10:]}",
        "clusterId": cluster,
        "content": content,
        "endpoint": args.get("endpoint"),
        "tokenVersion": args.get("tokenVersion"),
    }


ORACLE_BGP_ASN = "31898"
"""Oracle's AS (AS31898, the one its public prefixes are announced from), as a tunnel's `oracleBgpAsn` gives it."""


def _vpn_headend(tunnel: str) -> str:
    """Oracle's public VPN headend of a tunnel, in Frankfurt's 130.61.0.0/16 (the region's NAT answers use it too)."""
    digest = hashlib.sha256(tunnel.encode()).digest()
    return f"130.61.{digest[0]}.{digest[1] or 1}"


def _ipsec_compartment(ipsec: str) -> str:
    return f"ocid1.compartment.oc1..{_unique(f'ipsec-compartment/{ipsec}')}"


def _tunnel_ids(ipsec: str) -> list[str]:
    return [ocid("ipsectunnel", f"{ipsec}/{n}") for n in (1, 2)]


def _get_ipsec_connection_tunnels(args: dict[str, Any]) -> dict[str, Any]:
    """The two tunnels Oracle creates with every IPSec connection, as they are before anyone configures them:
    static routing, IKEv1, DOWN until the CPE answers, an Oracle-generated shared secret."""
    ipsec = str(args.get("ipsecId") or "")
    tunnels = [
        {
            "id": tunnel,
            "tunnelId": tunnel,
            "ipsecId": ipsec,
            "compartmentId": _ipsec_compartment(ipsec),
            "displayName": f"ipsectunnel{n}",
            "vpnIp": _vpn_headend(tunnel),
            "cpeIp": "",
            "routing": "STATIC",
            "ikeVersion": "V1",
            "sharedSecret": base64.b32encode(hashlib.sha256(tunnel.encode()).digest()).decode()[:48],
            "status": "DOWN",
            "state": "AVAILABLE",
            "timeCreated": CREATED,
        }
        for n, tunnel in enumerate(_tunnel_ids(ipsec), start=1)
    ]
    return {
        "id": f"CoreIpsecConnectionTunnelsDataSource-{ipsec[-10:]}",
        "ipsecId": ipsec,
        "ipSecConnectionTunnels": tunnels,
    }


INVOKES = {
    "oci:Identity/getAvailabilityDomains:getAvailabilityDomains": _get_availability_domains,
    "oci:Core/getServices:getServices": _get_services,
    "oci:ContainerEngine/getClusterOption:getClusterOption": _get_cluster_option,
    "oci:ContainerEngine/getNodePoolOption:getNodePoolOption": _get_node_pool_option,
    "oci:ContainerEngine/getClusterKubeConfig:getClusterKubeConfig": _get_cluster_kube_config,
    "oci:Core/getIpsecConnectionTunnels:getIpsecConnectionTunnels": _get_ipsec_connection_tunnels,
}


# ---------------------------------------------------------------- resources

CREATED = "2026-11-29T00:00:00.000Z"


def _plain(kind: str, regional: bool = True) -> Any:
    def answer(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
        seed = f"{stack}/{name}"
        return {
            "id": ocid(kind, seed) if regional else f"ocid1.{kind}.oc1..{_unique(f'{kind}/{seed}')}",
            "state": "AVAILABLE",
            "timeCreated": CREATED,
        }

    return answer


def _vcn(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    seed = f"{stack}/{name}"
    label = inputs.get("dnsLabel") or "vcn"
    return {
        "id": ocid("vcn", seed),
        "defaultRouteTableId": ocid("routetable", f"{seed}/default"),
        "defaultSecurityListId": ocid("securitylist", f"{seed}/default"),
        "defaultDhcpOptionsId": ocid("dhcpoptions", f"{seed}/default"),
        "vcnDomainName": f"{label}.oraclevcn.com",
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


def _subnet(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cidr = ipaddress.ip_network(inputs.get("cidrBlock") or "10.0.0.0/24")
    return {
        "id": ocid("subnet", f"{stack}/{name}"),
        "virtualRouterIp": str(cidr.network_address + 1),
        "virtualRouterMac": "00:00:17:" + ":".join(f"{b:02X}" for b in hashlib.sha256(name.encode()).digest()[:3]),
        "subnetDomainName": f"{inputs.get('dnsLabel') or 'sub'}.vcn.oraclevcn.com",
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


def _nat_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"{stack}/{name}".encode()).digest()
    return {
        "id": ocid("natgateway", f"{stack}/{name}"),
        "natIp": f"130.61.{digest[0]}.{digest[1] or 1}",
        "publicIpId": ocid("publicip", f"{stack}/{name}"),
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


def _vault(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    short = _unique(f"vault/{stack}/{name}")[8:22]
    return {
        "id": f"ocid1.vault.oc1.{DEFAULT_REGION}.{short}.{_unique(f'vault/{stack}/{name}')}",
        "managementEndpoint": f"https://{short}-management.kms.{DEFAULT_REGION}.oraclecloud.com",
        "cryptoEndpoint": f"https://{short}-crypto.kms.{DEFAULT_REGION}.oraclecloud.com",
        "state": "ACTIVE",
        "timeCreated": CREATED,
    }


def _key(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    endpoint = str(inputs.get("managementEndpoint") or "")
    short = endpoint.removeprefix("https://").split("-management")[0] or "vault"
    key = f"ocid1.key.oc1.{DEFAULT_REGION}.{short}.{_unique(f'key/{stack}/{name}')}"
    return {
        "id": key,
        "currentKeyVersion": f"ocid1.keyversion.oc1.{DEFAULT_REGION}.{short}.{_unique(f'keyversion/{key}')}",
        "vaultId": f"ocid1.vault.oc1.{DEFAULT_REGION}.{short}.{_unique(short)}",
        "state": "ENABLED",
        "timeCreated": CREATED,
    }


def _cluster(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cluster = ocid("cluster", f"{stack}/{name}")
    digest = hashlib.sha256(cluster.encode()).digest()
    public = (inputs.get("endpointConfig") or {}).get("isPublicIpEnabled") is not False
    private_ip = "10.0.255.242"
    return {
        "id": cluster,
        "endpoints": [
            {
                "kubernetes": "",
                "privateEndpoint": f"{private_ip}:6443",
                "publicEndpoint": f"141.147.{digest[0]}.{digest[1] or 1}:6443" if public else "",
                "vcnHostnameEndpoint": f"c{cluster[-10:]}.api.vcn.oraclevcn.com:6443",
                "ipv6endpoint": "",
            }
        ],
        "availableKubernetesUpgrades": [],
        "lifecycleDetails": "",
        "state": "ACTIVE",
        "openIdConnectDiscoveryEndpoint": "",
        "metadatas": [{"createdByUserId": f"ocid1.user.oc1..{_unique('user')}", "timeCreated": CREATED}],
    }


def _node_pool(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    return {
        "id": ocid("nodepool", f"{stack}/{name}"),
        "nodeImageId": (inputs.get("nodeSourceDetails") or {}).get("imageId", ""),
        "nodes": [],
        "state": "ACTIVE",
        "lifecycleDetails": "",
    }


def _addon(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    return {
        "id": f"{inputs.get('clusterId')}/{inputs.get('addonName')}",
        "currentInstalledVersion": "v1.34.0-1",
        "state": "ACTIVE",
        "timeCreated": CREATED,
    }


def _drg_attachment(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """A VCN attachment as the Core API reports it: the DRG's compartment, its default table for VCN
    attachments (none given), ATTACHED (states ATTACHING, ATTACHED, DETACHING, DETACHED)."""
    drg = str(inputs.get("drgId") or "")
    return {
        "id": ocid("drgattachment", f"{stack}/{name}"),
        "compartmentId": f"ocid1.compartment.oc1..{_unique(f'drg-compartment/{drg}')}",
        "drgRouteTableId": inputs.get("drgRouteTableId") or ocid("drgroutetable", f"{drg}/vcn-default"),
        "vcnId": (inputs.get("networkDetails") or {}).get("id", ""),
        "isCrossTenancy": False,
        "state": "ATTACHED",
        "timeCreated": CREATED,
    }


def _drg(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """A DRG with its two autogenerated route tables (one for VCN attachments, one for the other kinds) and the
    export distribution every new DRG gets."""
    seed = f"{stack}/{name}"
    vcn_table, other_table = ocid("drgroutetable", f"{seed}/vcn"), ocid("drgroutetable", f"{seed}/other")
    return {
        "id": ocid("drg", seed),
        "defaultDrgRouteTables": [
            {
                "vcn": vcn_table,
                "ipsecTunnel": other_table,
                "virtualCircuit": other_table,
                "remotePeeringConnection": other_table,
            }
        ],
        "defaultExportDrgRouteDistributionId": ocid("drgroutedistribution", f"{seed}/export"),
        "redundancyStatus": "NOT_AVAILABLE",
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


def _cpe(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    return {
        "id": ocid("cpe", f"{stack}/{name}"),
        "cpeDeviceShapeId": inputs.get("cpeDeviceShapeId") or "",
        "isPrivate": bool(inputs.get("isPrivate")),
        "timeCreated": CREATED,
    }


def _ipsec(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """An IPSec connection over the internet; with no local identifier given, the CPE's IP address is used."""
    return {
        "id": ocid("ipsecconnection", f"{stack}/{name}"),
        "cpeLocalIdentifier": inputs.get("cpeLocalIdentifier") or "",
        "cpeLocalIdentifierType": inputs.get("cpeLocalIdentifierType") or "IP_ADDRESS",
        "transportType": "INTERNET",
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


def _tunnel_management(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """A configured tunnel: its id is the tunnel's, Oracle's headend and ASN filled in, DOWN until the CPE is up."""
    tunnel = str(inputs.get("tunnelId") or ocid("ipsectunnel", f"{stack}/{name}"))
    bgp = inputs.get("bgpSessionInfo")
    return {
        "id": tunnel,
        "vpnIp": _vpn_headend(tunnel),
        "cpeIp": "",
        "compartmentId": _ipsec_compartment(str(inputs.get("ipsecId") or "")),
        "bgpSessionInfo": {**bgp, "oracleBgpAsn": ORACLE_BGP_ASN, "bgpState": "DOWN"} if bgp else None,
        "dpdMode": "INITIATE_AND_RESPOND",
        "dpdTimeoutInSec": 20,
        "status": "DOWN",
        "state": "AVAILABLE",
        "timeCreated": CREATED,
    }


RESOURCES = {
    "oci:Core/vcn:Vcn": _vcn,
    "oci:Core/subnet:Subnet": _subnet,
    "oci:Core/natGateway:NatGateway": _nat_gateway,
    "oci:Core/serviceGateway:ServiceGateway": _plain("servicegateway"),
    "oci:Core/internetGateway:InternetGateway": _plain("internetgateway"),
    "oci:Core/routeTable:RouteTable": _plain("routetable"),
    "oci:Core/drgAttachment:DrgAttachment": _drg_attachment,
    "oci:Core/drg:Drg": _drg,
    "oci:Core/cpe:Cpe": _cpe,
    "oci:Core/ipsec:Ipsec": _ipsec,
    "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement": _tunnel_management,
    "oci:Core/securityList:SecurityList": _plain("securitylist"),
    "oci:Core/networkSecurityGroup:NetworkSecurityGroup": _plain("networksecuritygroup"),
    "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule": lambda name, inputs, stack: {
        "id": hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()[:6].upper(),
        "isValid": True,
        "timeCreated": CREATED,
    },
    "oci:Kms/vault:Vault": _vault,
    "oci:Kms/key:Key": _key,
    "oci:Identity/policy:Policy": _plain("policy", regional=False),
    "oci:ContainerEngine/cluster:Cluster": _cluster,
    "oci:ContainerEngine/nodePool:NodePool": _node_pool,
    "oci:ContainerEngine/addon:Addon": _addon,
}
