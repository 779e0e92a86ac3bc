"""pulumi-gcp: what Google Cloud computes on create, and what its data sources return.

Formats follow the real APIs: relative resource names (`projects/p/regions/r/...`)
as ids, `https://www.googleapis.com/compute/v1/...` self links, 12-digit project
numbers, `<id>@<project>.iam.gserviceaccount.com` emails, GKE endpoints as bare IPs
(private ones inside the control plane's /28) and a base64 PEM cluster CA.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from typing import Any

# Zones of a few regions as Compute Engine lists them; other regions get a, b, c.
ZONES: dict[str, list[str]] = {
    "us-central1": ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"],
    "us-east1": ["us-east1-b", "us-east1-c", "us-east1-d"],
    "us-east4": ["us-east4-a", "us-east4-b", "us-east4-c"],
    "europe-west1": ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
    "europe-west3": ["europe-west3-a", "europe-west3-b", "europe-west3-c"],
    "europe-west4": ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
    "asia-northeast1": ["asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"],
}
DEFAULT_PROJECT = "acme-platform-dev"
COMPUTE = "https://www.googleapis.com/compute/v1"
CONTAINER = "https://container.googleapis.com/v1"
GKE_PATCH = "1.35.0-gke.1795000"


def _digits(seed: str, n: int) -> str:
    """A stable n-digit number with no leading zero (project numbers, unique ids)."""
    value = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return f"{1 + value % 9}{value // 9 % 10 ** (n - 1):0{n - 1}d}"


def project_number(project: str) -> str:
    return _digits(f"project/{project}", 12)


def _project(inputs: dict[str, Any]) -> str:
    return str(inputs.get("project") or DEFAULT_PROJECT)


# ------------------------------------------------------------------ invokes


def _get_zones(args: dict[str, Any]) -> dict[str, Any]:
    project = str(args.get("project") or DEFAULT_PROJECT)
    region = str(args.get("region") or "us-central1")
    names = ZONES.get(region, [f"{region}-{z}" for z in "abc"])
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project, "region": region}


def _get_project(args: dict[str, Any]) -> dict[str, Any]:
    project = str(args.get("projectId") or DEFAULT_PROJECT)
    return {
        "id": f"projects/{project}",
        "projectId": project,
        "name": project,
        "number": project_number(project),
        "orgId": _digits("org", 12),
        "billingAccount": "01A2B3-C4D5E6-F7A8B9",
        "labels": {},
        "effectiveLabels": {},
        "pulumiLabels": {},
        "autoCreateNetwork": True,
        "folderId": "",
        "deletionPolicy": "PREVENT",
        "tags": {},
    }


def _get_managed_zones(args: dict[str, Any]) -> dict[str, Any]:
    """A project's Cloud DNS zones as `managedZones.list` gives them: a public zone for example.com and a private
    one, each with its resource name, its DNS name with the trailing dot, and Google's name servers."""
    project = str(args.get("project") or DEFAULT_PROJECT)
    zones = []
    for zone, dns_name, visibility in (
        ("example-com", "example.com.", "public"),
        ("corp", "corp.internal.", "private"),
    ):
        shard = int(_digits(f"ns/{project}/{zone}", 2)) % 6 + 1
        zones.append(
            {
                "id": f"projects/{project}/managedZones/{zone}",
                "name": zone,
                "dnsName": dns_name,
                "description": "",
                "managedZoneId": _digits(f"zone/{project}/{zone}", 19),
                "nameServers": [f"ns-cloud-{c}{shard}.googledomains.com." for c in "abcd"]
                if visibility == "public"
                else [],
                "project": project,
                "visibility": visibility,
            }
        )
    return {"id": f"projects/{project}", "project": project, "managedZones": zones}


INVOKES = {
    "gcp:compute/getZones:getZones": _get_zones,
    "gcp:dns/getManagedZones:getManagedZones": _get_managed_zones,
    "gcp:organizations/getProject:getProject": _get_project,
}


# ---------------------------------------------------------------- resources


def _network(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, net = _project(inputs), inputs.get("name") or name
    path = f"projects/{project}/global/networks/{net}"
    return {
        "id": path,
        "selfLink": f"{COMPUTE}/{path}",
        "networkId": _digits(f"net/{project}/{net}", 19),
        "gatewayIpv4": "",
    }


_SUBNET_RANGES: dict[str, str] = {}
"""Subnetwork id -> its primary range, as registered: a PSC cluster's private endpoint is an address in it."""


def _subnetwork(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, region, sub = _project(inputs), inputs.get("region") or "us-central1", inputs.get("name") or name
    path = f"projects/{project}/regions/{region}/subnetworks/{sub}"
    cidr = ipaddress.ip_network(inputs.get("ipCidrRange") or "10.0.0.0/16")
    _SUBNET_RANGES[path] = str(cidr)
    return {
        "id": path,
        "selfLink": f"{COMPUTE}/{path}",
        "gatewayAddress": str(cidr.network_address + 1),
        "subnetworkId": _digits(f"subnet/{path}", 19),
        "fingerprint": hashlib.sha256(path.encode()).hexdigest()[:16],
    }


def _router(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, region, router = _project(inputs), inputs.get("region") or "us-central1", inputs.get("name") or name
    path = f"projects/{project}/regions/{region}/routers/{router}"
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", "creationTimestamp": "2026-11-29T00:00:00.000-08:00"}


def _router_nat(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, region = _project(inputs), inputs.get("region") or "us-central1"
    return {"id": f"{project}/{region}/{inputs.get('router')}/{inputs.get('name') or name}"}


def _labelled(inputs: dict[str, Any], seed: str) -> dict[str, Any]:
    """What GCP computes for a labelled resource: the effective labels and their fingerprint."""
    labels = dict(inputs.get("labels") or {})
    return {
        "effectiveLabels": labels,
        "pulumiLabels": labels,
        "labelFingerprint": base64.b64encode(hashlib.sha256(seed.encode()).digest()[:8]).decode(),
    }


def _ha_vpn_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """Two interfaces, each with an external address Google picks from its own ranges (35.242.0.0/15 here)."""
    project, region, gateway = _project(inputs), inputs.get("region") or "us-central1", inputs.get("name") or name
    path = f"projects/{project}/regions/{region}/vpnGateways/{gateway}"
    digest = hashlib.sha256(f"{stack}/{path}".encode()).digest()
    interfaces = [
        {"id": i, "ipAddress": f"35.{242 + i}.{digest[2 * i]}.{digest[2 * i + 1] or 1}", "interconnectAttachment": ""}
        for i in range(2)
    ]
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", "vpnInterfaces": interfaces, **_labelled(inputs, path)}


def _external_vpn_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    path = f"projects/{_project(inputs)}/global/externalVpnGateways/{inputs.get('name') or name}"
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", **_labelled(inputs, path)}


def _vpn_tunnel(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """The key itself is never echoed: GCP returns only a hash of it (`sharedSecretHash`)."""
    project, region, tunnel = _project(inputs), inputs.get("region") or "us-central1", inputs.get("name") or name
    path = f"projects/{project}/regions/{region}/vpnTunnels/{tunnel}"
    return {
        "id": path,
        "selfLink": f"{COMPUTE}/{path}",
        "tunnelId": _digits(f"tunnel/{path}", 19),
        "sharedSecretHash": base64.b64encode(hashlib.sha256(f"hash/{path}".encode()).digest()[:21]).decode(),
        # Until the site's device answers, which it cannot in a plan.
        "detailedStatus": "Waiting for full config from peer.",
        "creationTimestamp": "2026-11-29T00:00:00.000-08:00",
        **_labelled(inputs, path),
    }


def _router_interface(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """Ids as pulumi-gcp imports them: `{project}/{region}/{router}/{name}` (RouterInterface, Import)."""
    project, region = _project(inputs), inputs.get("region") or "us-central1"
    return {"id": f"{project}/{region}/{inputs.get('router')}/{inputs.get('name') or name}"}


def _router_peer(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """`projects/{project}/regions/{region}/routers/{router}/{name}` (RouterPeer, Import); CUSTOM advertisement
    is not set per peer here, so the router's applies."""
    project, region = _project(inputs), inputs.get("region") or "us-central1"
    return {
        "id": f"projects/{project}/regions/{region}/routers/{inputs.get('router')}/{inputs.get('name') or name}",
        "managementType": "MANAGED_BY_USER",
        "isAdvertisedRoutePrioritySet": False,
        "isCustomLearnedPrioritySet": False,
    }


def _firewall(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    path = f"projects/{_project(inputs)}/global/firewalls/{inputs.get('name') or name}"
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", "creationTimestamp": "2026-11-29T00:00:00.000-08:00"}


def _autoname(name: str, stack: str) -> str:
    """What the provider names a resource given no name: its logical name, `-`, seven random hex digits."""
    return f"{name}-{hashlib.sha256(f'{stack}/{name}'.encode()).hexdigest()[:7]}"


def _key_ring(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, ring = _project(inputs), inputs.get("name") or _autoname(name, stack)
    return {"id": f"projects/{project}/locations/{inputs.get('location')}/keyRings/{ring}", "name": ring}


def _crypto_key(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    key = f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name') or name}"
    return {
        "id": key,
        "primaries": [{"name": f"{key}/cryptoKeyVersions/1", "state": "ENABLED"}],
        "effectiveLabels": dict(inputs.get("labels") or {}),
    }


def _etag(seed: str) -> str:
    return "BwY" + base64.b64encode(hashlib.sha256(seed.encode()).digest()[:6]).decode()


def _iam_member(parent_key: str) -> Any:
    def answer(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
        parent = inputs.get(parent_key) or _project(inputs)
        seed = f"{parent}/{inputs.get('role')}/{inputs.get('member')}"
        return {"id": seed, "etag": _etag(seed)}

    return answer


def _account(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project = _project(inputs)
    email = f"{inputs.get('accountId')}@{project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{project}/serviceAccounts/{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": _digits(f"sa/{email}", 21),
    }


def _custom_role(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    role = f"projects/{_project(inputs)}/roles/{inputs.get('roleId')}"
    return {"id": role, "name": role, "deleted": False, "stage": "GA"}


def _service(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    return {"id": f"{_project(inputs)}/{inputs.get('service')}"}


def _ca_certificate(seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 8).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem = f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _cluster(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, location, cluster = _project(inputs), inputs.get("location") or "us-central1", inputs.get("name") or name
    path = f"projects/{project}/locations/{location}/clusters/{cluster}"
    private = dict(inputs.get("privateClusterConfig") or {})
    psc_subnet = _SUBNET_RANGES.get(str(private.get("privateEndpointSubnetwork")))
    if psc_subnet:
        # A Private Service Connect control plane takes its internal endpoint from the subnetwork named
        # (https://cloud.google.com/kubernetes-engine/docs/concepts/private-service-connect); GKE picks the address.
        subnet = ipaddress.ip_network(psc_subnet)
        private_ip = str(subnet.network_address + subnet.num_addresses - 3)
    else:
        master = ipaddress.ip_network(private.get("masterIpv4CidrBlock") or "172.16.0.0/28")
        private_ip = str(master.network_address + 2)
    digest = hashlib.sha256(f"{stack}/{path}".encode()).digest()
    public_ip = f"34.{digest[0]}.{digest[1]}.{digest[2] or 1}"
    endpoint = private_ip if private.get("enablePrivateEndpoint") else public_ip
    private.update(
        {
            "privateEndpoint": private_ip,
            "publicEndpoint": public_ip,
            # A PSC control plane is reached through an endpoint in the cluster's network, with no peering.
            "peeringName": "" if psc_subnet else f"gke-n{digest.hex()[:16]}-peer",
        }
    )
    master_auth = dict(inputs.get("masterAuth") or {})
    master_auth.update({"clusterCaCertificate": _ca_certificate(f"{stack}/{path}"), "clientCertificate": ""})
    return {
        "id": path,
        "endpoint": endpoint,
        "masterAuth": master_auth,
        "privateClusterConfig": private,
        "selfLink": f"{CONTAINER}/{path}",
        "masterVersion": GKE_PATCH,
        "operation": "",
        "labelFingerprint": hashlib.sha256(path.encode()).hexdigest()[:8],
        "servicesIpv4Cidr": (inputs.get("ipAllocationPolicy") or {}).get("servicesIpv4CidrBlock", ""),
        "tpuIpv4CidrBlock": "",
        "effectiveLabels": dict(inputs.get("resourceLabels") or {}),
    }


def _node_pool(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, location = _project(inputs), inputs.get("location") or "us-central1"
    pool = inputs.get("name") or name
    path = f"projects/{project}/locations/{location}/clusters/{inputs.get('cluster')}/nodePools/{pool}"
    zones = inputs.get("nodeLocations") or [location]
    suffix = hashlib.sha256(path.encode()).hexdigest()[:8]
    groups = [
        f"{COMPUTE}/projects/{project}/zones/{zone}/instanceGroupManagers/gke-{inputs.get('cluster')}-{pool}-{suffix}-grp"
        for zone in zones
    ]
    return {
        "id": path,
        "instanceGroupUrls": groups,
        "managedInstanceGroupUrls": [g.replace("instanceGroupManagers", "instanceGroups") for g in groups],
        "version": GKE_PATCH,
        "operation": "",
    }


def _health_check(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    project, check = _project(inputs), inputs.get("name") or _autoname(name, stack)
    return {
        "id": f"projects/{project}/global/healthChecks/{check}",
        "name": check,
        "selfLink": f"{COMPUTE}/projects/{project}/global/healthChecks/{check}",
        "type": "HTTPS" if inputs.get("httpsHealthCheck") else "HTTP",
        "creationTimestamp": "2026-11-30T09:12:44.108-08:00",
    }


def _record_set(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    zone, dns_name, kind = inputs.get("managedZone"), inputs.get("name"), inputs.get("type")
    return {"id": f"projects/{_project(inputs)}/managedZones/{zone}/rrsets/{dns_name}/{kind}"}


RESOURCES = {
    "gcp:compute/healthCheck:HealthCheck": _health_check,
    "gcp:dns/recordSet:RecordSet": _record_set,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/networkPeering:NetworkPeering": lambda name, inputs, stack: {
        "id": f"{inputs.get('network')}/{inputs.get('name') or name}",
        "state": "ACTIVE",
        "stateDetails": "[2026-01-01T00:00:00Z]: Connected.",
    },
    "gcp:compute/router:Router": _router,
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:compute/haVpnGateway:HaVpnGateway": _ha_vpn_gateway,
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": _external_vpn_gateway,
    "gcp:compute/vPNTunnel:VPNTunnel": _vpn_tunnel,
    "gcp:compute/routerInterface:RouterInterface": _router_interface,
    "gcp:compute/routerPeer:RouterPeer": _router_peer,
    "gcp:compute/firewall:Firewall": _firewall,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _iam_member("cryptoKeyId"),
    "gcp:serviceaccount/account:Account": _account,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member("serviceAccountId"),
    "gcp:projects/iAMMember:IAMMember": _iam_member("project"),
    "gcp:projects/iAMCustomRole:IAMCustomRole": _custom_role,
    "gcp:projects/service:Service": _service,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:binaryauthorization/policy:Policy": lambda name, inputs, stack: {"id": f"projects/{_project(inputs)}"},
}
