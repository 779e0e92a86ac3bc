"""Oracle OKE: `oci:ContainerEngine/cluster:Cluster`, its node pools, the NSG rules in front of them; a site's VPN."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import Secret, Severity

from policies.rules.base import (
    Case,
    Context,
    Finding,
    Resource,
    Rule,
    StackCase,
    per_resource,
    supported_version,
    versions_config,
    world_open,
)

CLUSTER = "oci:ContainerEngine/cluster:Cluster"
NODE_POOL = "oci:ContainerEngine/nodePool:NodePool"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
IPSEC = "oci:Core/ipsec:Ipsec"
TUNNEL = "oci:Core/ipsecConnectionTunnelManagement:IpsecConnectionTunnelManagement"
ADMIN_PORTS = (22, 6443)
"""SSH to a node and the Kubernetes API: never from the whole internet."""


def _api_not_world_open(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("direction") != "INGRESS" or r.get("sourceType", "CIDR_BLOCK") != "CIDR_BLOCK":
        return
    if not world_open([str(r.get("source") or "")]):
        return
    protocol = str(r.get("protocol"))
    if protocol == "all":
        yield f"admits every protocol from {r.get('source')}: open to the internet"
        return
    if protocol != "6":
        return
    low = r.get("tcpOptions.destinationPortRange.min", 1)
    high = r.get("tcpOptions.destinationPortRange.max", 65535)
    for port in ADMIN_PORTS:
        if low <= port <= high:
            yield f"admits TCP {port} from {r.get('source')}: the API or SSH would be open to the internet"


def _private_endpoint(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("endpointConfig.isPublicIpEnabled") is not False:
        yield "endpointConfig.isPublicIpEnabled must be false: the API endpoint gets no public IP"


def _secrets_encryption(r: Resource, ctx: Context) -> Iterator[str]:
    if not r.props.present("kmsKeyId"):
        yield "kmsKeyId must name a Vault key: Kubernetes Secrets are encrypted in etcd with a key you control"


def _enhanced(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("type") != "ENHANCED_CLUSTER":
        yield "type must be ENHANCED_CLUSTER: workload identity, add-ons and the control plane SLA need it"


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    yield from supported_version(r.get("kubernetesVersion"), "kubernetesVersion", ctx)


def _legacy_add_ons(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("options.addOns.isKubernetesDashboardEnabled") is True:
        yield "options.addOns.isKubernetesDashboardEnabled installs the Kubernetes Dashboard with broad rights"
    if r.get("options.addOns.isTillerEnabled") is True:
        yield "options.addOns.isTillerEnabled installs Tiller, cluster-admin without authentication"


def _in_transit(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("nodeConfigDetails.isPvEncryptionInTransitEnabled") is not True:
        yield "nodeConfigDetails.isPvEncryptionInTransitEnabled must be true: volumes travel encrypted"


def _deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    if ctx.prod and not r.protect:
        yield "a prod cluster needs the protect resource option (OKE has no deletion-protection flag)"


def _vpn_key_secret(r: Resource, ctx: Context) -> Iterator[str]:
    """A tunnel's shared secret opens the VCN to whoever holds it: never a plain value in the plan or the state."""
    if r.props.present("sharedSecret") and not r.secret("sharedSecret"):
        yield (
            "sharedSecret is a plain value in the plan: pass the VPN's pre-shared key as a secret Output or list "
            "sharedSecret in additionalSecretOutputs"
        )


def _vpn_both_tunnels(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    """Oracle gives every IPSec connection two tunnels on two headends; a link that configures one leaves the
    other on Oracle's defaults (static routing, IKEv1, Oracle's own key), so the site cannot keep both up and
    loses the connection with that one headend. A tunnel names its connection by id, unknown before the
    connection exists, so tunnels are matched by their dependency on it."""
    tunnels = [t for t in resources if t.type == TUNNEL]

    def check(ipsec: Resource) -> Iterator[str]:
        mine = [t for t in tunnels if ipsec.urn in t.dependencies]
        if len(mine) != 2:
            yield f"IPSec connection {ipsec.name} has {len(mine)} configured tunnel(s): configure both of Oracle's two"
            return
        if len({t.get("routing", "STATIC") for t in mine}) != 1 or len({t.get("ikeVersion", "V1") for t in mine}) != 1:
            yield f"IPSec connection {ipsec.name}'s tunnels differ in routing or IKE version: a failover changes both"

    yield from per_resource((r for r in resources if r.type == IPSEC), check)


RULES = [
    Rule(
        "oke-admin-ports-not-world-open",
        "No NSG rule admits the Kubernetes API or SSH from 0.0.0.0/0.",
        "baseline",
        (NSG_RULE,),
        _api_not_world_open,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "oke-private-endpoint",
        "The OKE API endpoint has no public IP.",
        "lockdown",
        (CLUSTER,),
        _private_endpoint,
        severity=Severity.HIGH,
    ),
    Rule(
        "oke-secrets-encryption",
        "OKE encrypts Kubernetes Secrets with a Vault key.",
        "hardening",
        (CLUSTER,),
        _secrets_encryption,
    ),
    Rule("oke-enhanced-cluster", "OKE clusters are enhanced clusters.", "hardening", (CLUSTER,), _enhanced),
    Rule(
        "oke-supported-version",
        "OKE runs a pinned, supported Kubernetes version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("oci"),
    ),
    Rule(
        "oke-no-legacy-add-ons",
        "OKE installs neither the Kubernetes Dashboard nor Tiller.",
        "baseline",
        (CLUSTER,),
        _legacy_add_ons,
        severity=Severity.HIGH,
    ),
    Rule(
        "oke-volume-encryption-in-transit",
        "OKE node pools encrypt volume traffic in transit.",
        "hardening",
        (NODE_POOL,),
        _in_transit,
    ),
    Rule(
        "oke-deletion-protection",
        "A prod OKE cluster is protected from deletion.",
        "lockdown",
        (CLUSTER,),
        _deletion_protection,
        severity=Severity.HIGH,
    ),
    Rule(
        "oci-vpn-key-secret",
        "The shared secret of an OCI Site-to-Site VPN tunnel is a secret in the plan.",
        "baseline",
        (TUNNEL,),
        _vpn_key_secret,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "oci-vpn-both-tunnels",
        "Both tunnels of an OCI IPSec connection are configured, the same way.",
        "lockdown",
        stack_check=_vpn_both_tunnels,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

_TCP_6443 = {"destinationPortRange": {"min": 6443, "max": 6443}}
CASES: dict[str, Case] = {
    "oke-admin-ports-not-world-open": Case(
        NSG_RULE,
        {"direction": "INGRESS", "protocol": "6", "source": "203.0.113.0/24", "tcpOptions": _TCP_6443},
        {"direction": "INGRESS", "protocol": "6", "source": "0.0.0.0/0", "tcpOptions": _TCP_6443},
        "TCP 6443",
    ),
    "oke-private-endpoint": Case(
        CLUSTER,
        {"endpointConfig": {"isPublicIpEnabled": False}},
        {"endpointConfig": {"isPublicIpEnabled": True}},
        "no public IP",
    ),
    "oke-secrets-encryption": Case(CLUSTER, {"kmsKeyId": "ocid1.key.oc1.eu-frankfurt-1.b5q.aaaaaaaa"}, {}, "kmsKeyId"),
    "oke-enhanced-cluster": Case(CLUSTER, {"type": "ENHANCED_CLUSTER"}, {"type": "BASIC_CLUSTER"}, "ENHANCED_CLUSTER"),
    "oke-supported-version": Case(
        CLUSTER, {"kubernetesVersion": "v1.34.1"}, {"kubernetesVersion": "v1.29.1"}, "v1.29.1"
    ),
    "oke-no-legacy-add-ons": Case(
        CLUSTER,
        {"options": {"addOns": {"isKubernetesDashboardEnabled": False, "isTillerEnabled": False}}},
        {"options": {"addOns": {"isTillerEnabled": True}}},
        "Tiller",
    ),
    "oke-volume-encryption-in-transit": Case(
        NODE_POOL,
        {"nodeConfigDetails": {"isPvEncryptionInTransitEnabled": True}},
        {"nodeConfigDetails": {"isPvEncryptionInTransitEnabled": False}},
        "isPvEncryptionInTransitEnabled",
    ),
    "oke-deletion-protection": Case(CLUSTER, {}, {}, "protect", options={"protect": True}),
    "oci-vpn-key-secret": Case(
        TUNNEL,
        {"routing": "BGP", "ikeVersion": "V2", "sharedSecret": Secret("mJqTwZbLxRcVnHsKpWfGdTyUe")},
        {"routing": "BGP", "ikeVersion": "V2", "sharedSecret": "mJqTwZbLxRcVnHsKpWfGdTyUe"},
        "sharedSecret is a plain value",
    ),
}

_TUNNEL = {"routing": "BGP", "ikeVersion": "V2"}
STACK_CASES: dict[str, StackCase] = {
    "oci-vpn-both-tunnels": StackCase(
        [
            (IPSEC, "dc1-oke-ipsec", {}),
            (TUNNEL, "t1", _TUNNEL, ["dc1-oke-ipsec"]),
            (TUNNEL, "t2", _TUNNEL, ["dc1-oke-ipsec"]),
        ],
        [(IPSEC, "dc1-oke-ipsec", {}), (TUNNEL, "t1", _TUNNEL, ["dc1-oke-ipsec"])],
        "1 configured tunnel(s)",
    ),
}
