"""Google GKE: `gcp:container/cluster:Cluster` and `gcp:container/nodePool:NodePool`; a site's HA VPN."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import Severity
from pulumi_policy.secret import Secret

from policies.rules.base import (
    Case,
    Context,
    Finding,
    Node,
    Resource,
    Rule,
    StackCase,
    per_resource,
    supported_version,
    versions_config,
    world_open,
)

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
DNS_RECORD_SET = "gcp:dns/recordSet:RecordSet"
TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
HA_GATEWAY = "gcp:compute/haVpnGateway:HaVpnGateway"


def _private(r: Resource) -> bool:
    """No public IP endpoint: the classic private endpoint, or IP endpoints off with an internal-only DNS endpoint."""
    if r.get("privateClusterConfig.enablePrivateEndpoint") is True:
        return True
    return (
        r.get("controlPlaneEndpointsConfig.ipEndpointsConfig.enabled") is False
        and r.get("controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic") is not True
    )


def _api_not_world_open(r: Resource, ctx: Context) -> Iterator[str]:
    if _private(r):
        return
    blocks = [b.get("cidrBlock") for b in r.props.each("masterAuthorizedNetworksConfig.cidrBlocks")]
    if not blocks:
        yield "masterAuthorizedNetworksConfig.cidrBlocks is empty, so the public endpoint accepts any address"
    for cidr in world_open(b for b in blocks if b):
        yield f"masterAuthorizedNetworksConfig.cidrBlocks contains {cidr}: the API would be open to the internet"
    if r.get("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled") is True:
        yield "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled lets every Google Cloud address in"


def _private_endpoint(r: Resource, ctx: Context) -> Iterator[str]:
    if not _private(r):
        yield (
            "the API needs no public endpoint: privateClusterConfig.enablePrivateEndpoint: true, or "
            "controlPlaneEndpointsConfig with IP endpoints disabled and no external DNS traffic"
        )


def _private_nodes(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("privateClusterConfig.enablePrivateNodes") is not True:
        yield "privateClusterConfig.enablePrivateNodes must be true: nodes get no public IP"


def _secrets_encryption(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("databaseEncryption.state") != "ENCRYPTED" or not r.props.present("databaseEncryption.keyName"):
        yield "databaseEncryption must be state ENCRYPTED with a Cloud KMS keyName"


def _logging(r: Resource, ctx: Context) -> Iterator[str]:
    components = set(r.get("loggingConfig.enableComponents") or [])
    missing = [c for c in ("SYSTEM_COMPONENTS", "APISERVER") if c not in components]
    if missing:
        yield f"loggingConfig.enableComponents lacks {', '.join(missing)}"


def _deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    # The provider defaults deletionProtection to true; only an explicit false is a problem.
    if ctx.prod and r.get("deletionProtection") is False and not r.protect:
        yield "a prod cluster needs deletionProtection left on"


def _network_policy(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("datapathProvider") == "ADVANCED_DATAPATH":
        return
    if r.get("networkPolicy.enabled") is not True:
        yield "enforce NetworkPolicy: networkPolicy.enabled: true or datapathProvider ADVANCED_DATAPATH (Dataplane V2)"


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    version = r.get("minMasterVersion")
    channel = r.get("releaseChannel.channel")
    if version is None and channel not in (None, "UNSPECIFIED"):
        return  # the release channel keeps the control plane on a supported version
    yield from supported_version(version, "minMasterVersion", ctx)


def _default_sa(node_config: Node, where: str) -> Iterator[str]:
    account = node_config.get("serviceAccount")
    if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
        yield f"{where}.serviceAccount must be a dedicated least-privilege account, not the Compute default"


def _no_default_sa(r: Resource, ctx: Context) -> Iterator[str]:
    if r.type == NODE_POOL or (r.get("removeDefaultNodePool") is not True and r.get("enableAutopilot") is not True):
        yield from _default_sa(r.props.node("nodeConfig"), "nodeConfig")


def _workload_identity(r: Resource, ctx: Context) -> Iterator[str]:
    if r.type == CLUSTER:
        if not r.props.present("workloadIdentityConfig.workloadPool"):
            yield "workloadIdentityConfig.workloadPool must be set (PROJECT.svc.id.goog)"
    elif r.get("nodeConfig.workloadMetadataConfig.mode") != "GKE_METADATA":
        yield "nodeConfig.workloadMetadataConfig.mode must be GKE_METADATA: pods never see the node's identity"


def _autoscaling(r: Resource, ctx: Context) -> Iterator[str]:
    auto = r.props.node("autoscaling")
    if not auto:
        yield "autoscaling must be set so the cluster autoscaler owns the node count"
        return
    lo, hi = auto.get("totalMinNodeCount"), auto.get("totalMaxNodeCount")
    if lo is None and hi is None:
        lo, hi = auto.get("minNodeCount", 0), auto.get("maxNodeCount")
    if hi is None or not (lo or 0) < hi:
        yield f"autoscaling min ({lo}) must be below max ({hi})"
    if r.props.present("nodeCount"):
        yield "nodeCount fights the autoscaler; set initialNodeCount instead"


def _legacy_auth(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("enableLegacyAbac") is True:
        yield "enableLegacyAbac bypasses RBAC"
    if r.get("masterAuth.clientCertificateConfig.issueClientCertificate") is True:
        yield "masterAuth.clientCertificateConfig.issueClientCertificate issues a never-expiring admin credential"


BINARY_AUTHORIZATION_ENFORCED = frozenset({"PROJECT_SINGLETON_POLICY_ENFORCE"})
"""The evaluation modes that enforce a policy (pulumi_gcp container ClusterBinaryAuthorizationArgs: `DISABLED` or
`PROJECT_SINGLETON_POLICY_ENFORCE`)."""


def _binary_authorization(r: Resource, ctx: Context) -> Iterator[str]:
    """CIS GKE Benchmark v1.6.0 5.10.4 "Ensure use of Binary Authorization", by `evaluationMode` (the provider
    deprecates the older `enabled` flag in its favour, and the program never sets it).

    A prod cluster without it is a deliberate exception only when this rule is turned off in the stack's policy
    config, with the reason in docs/targets/gcp.md.
    """
    mode = r.get("binaryAuthorization.evaluationMode")
    if mode in BINARY_AUTHORIZATION_ENFORCED:
        return
    yield (
        f"binaryAuthorization.evaluationMode is {mode or 'unset'}: set PROJECT_SINGLETON_POLICY_ENFORCE so only "
        "allowlisted images run"
    )


def _routed_items(r: Resource) -> list[tuple[str, Node]]:
    """Each answer of a routed Cloud DNS record set with its key: wrr, geo, a failover's primary and backups."""
    items = [(f"wrrs[{i}]", n) for i, n in enumerate(r.props.each("routingPolicy.wrrs"))]
    items += [(f"geos[{i}]", n) for i, n in enumerate(r.props.each("routingPolicy.geos"))]
    items += [
        (f"primaryBackup.backupGeos[{i}]", n)
        for i, n in enumerate(r.props.each("routingPolicy.primaryBackup.backupGeos"))
    ]
    return items


def _cloud_dns_health_checked(r: Resource, ctx: Context) -> Iterator[str]:
    # An item answered from plain rrdatas is never checked: Cloud DNS keeps answering with it when its target is
    # down. External endpoints (public IPs) are probed only through the policy's `healthCheck`; internal load
    # balancers carry their own health. Source: https://cloud.google.com/dns/docs/routing-policies-overview
    # (health checks) and pulumi_gcp dns/record_set.py (RecordSetRoutingPolicy.health_check).
    if not r.props.present("routingPolicy"):
        return
    name = r.get("name")
    external = False
    for key, item in _routed_items(r):
        targets = item.node("healthCheckedTargets")
        if not targets:
            yield f"{name}: routingPolicy.{key} answers {item.get('location') or ''} without healthCheckedTargets"
        external = external or bool(targets and targets.get("externalEndpoints"))
    primary = r.props.node("routingPolicy.primaryBackup.primary")
    if r.props.present("routingPolicy.primaryBackup") and not (
        primary and (primary.get("externalEndpoints") or primary.get("internalLoadBalancers"))
    ):
        yield f"{name}: routingPolicy.primaryBackup.primary has no health-checked targets"
    external = external or bool(primary and primary.get("externalEndpoints"))
    if external and not r.get("routingPolicy.healthCheck"):
        yield f"{name}: external endpoints without routingPolicy.healthCheck are never probed"


def _vpn_key_secret(r: Resource, ctx: Context) -> Iterator[str]:
    """The tunnel's pre-shared key opens the site's network to whoever holds it: never plain in state or a plan."""
    if r.props.present("sharedSecret") and not r.secret("sharedSecret"):
        yield (
            "sharedSecret is plain in the plan: pass it as pulumi.Output.secret or name it in "
            "additionalSecretOutputs, so state and previews never show the key"
        )


def _ha_vpn_redundant(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    """Google's 99.99% SLA for HA VPN needs "two VPN tunnels from the HA VPN gateway", one on each of its two
    interfaces (https://cloud.google.com/network-connectivity/docs/vpn/concepts/topologies). A tunnel names its
    gateway by id, unknown before the gateway exists, so tunnels are matched by their dependency on it."""
    tunnels = [t for t in resources if t.type == TUNNEL]

    def check(gateway: Resource) -> Iterator[str]:
        used = sorted({t.get("vpnGatewayInterface", 0) for t in tunnels if gateway.urn in t.dependencies})
        if used != [0, 1]:
            yield (
                f"HA VPN gateway {gateway.name} has tunnels on interfaces {used or 'none'}: the 99.99% SLA needs a "
                "tunnel on each of interfaces 0 and 1"
            )

    yield from per_resource((g for g in resources if g.type == HA_GATEWAY), check)


RULES = [
    Rule(
        "clouddns-routed-record-health-check",
        "A Cloud DNS record set with a routing policy health-checks every target it answers with.",
        "baseline",
        (DNS_RECORD_SET,),
        _cloud_dns_health_checked,
        severity=Severity.HIGH,
        remediation="Give the global name's gateways as healthCheckedTargets under a routingPolicy.healthCheck "
        "(expose.global with dns: clouddns builds both).",
    ),
    Rule(
        "gke-api-not-world-open",
        "The GKE API endpoint is never open to 0.0.0.0/0.",
        "baseline",
        (CLUSTER,),
        _api_not_world_open,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "gke-private-endpoint",
        "The GKE API endpoint is private.",
        "lockdown",
        (CLUSTER,),
        _private_endpoint,
        severity=Severity.HIGH,
    ),
    Rule("gke-private-nodes", "GKE nodes have no public IPs.", "hardening", (CLUSTER,), _private_nodes),
    Rule(
        "gke-secrets-encryption",
        "GKE encrypts secrets at the application layer with Cloud KMS.",
        "hardening",
        (CLUSTER,),
        _secrets_encryption,
        severity=Severity.HIGH,
    ),
    Rule(
        "gke-control-plane-logging", "GKE logs system components and the API server.", "hardening", (CLUSTER,), _logging
    ),
    Rule(
        "gke-deletion-protection",
        "A prod GKE cluster keeps deletion protection.",
        "lockdown",
        (CLUSTER,),
        _deletion_protection,
        severity=Severity.HIGH,
    ),
    Rule("gke-network-policy", "GKE enforces NetworkPolicy.", "hardening", (CLUSTER,), _network_policy),
    Rule(
        "gke-supported-version",
        "GKE follows a release channel or pins a supported version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("gcp"),
    ),
    Rule(
        "gke-no-default-service-account",
        "GKE nodes do not run as the Compute Engine default service account.",
        "hardening",
        (CLUSTER, NODE_POOL),
        _no_default_sa,
        severity=Severity.HIGH,
    ),
    Rule(
        "gke-workload-identity",
        "GKE uses Workload Identity and hides node credentials from pods.",
        "hardening",
        (CLUSTER, NODE_POOL),
        _workload_identity,
    ),
    Rule(
        "gke-node-autoscaling",
        "GKE node pools leave their size to the autoscaler (min < max, no fixed nodeCount).",
        "hardening",
        (NODE_POOL,),
        _autoscaling,
    ),
    Rule(
        "gke-binary-authorization",
        "A prod GKE cluster enforces a Binary Authorization policy.",
        "lockdown",
        (CLUSTER,),
        _binary_authorization,
        severity=Severity.HIGH,
    ),
    Rule(
        "gcp-vpn-key-secret",
        "The pre-shared key of a Cloud VPN tunnel is secret in the plan.",
        "baseline",
        (TUNNEL,),
        _vpn_key_secret,
        severity=Severity.HIGH,
    ),
    Rule(
        "gcp-ha-vpn-redundant",
        "Each HA VPN gateway has a tunnel on both of its interfaces (the 99.99% SLA).",
        "lockdown",
        stack_check=_ha_vpn_redundant,
    ),
    Rule(
        "gke-no-legacy-auth",
        "GKE has no legacy ABAC and issues no client certificates.",
        "baseline",
        (CLUSTER,),
        _legacy_auth,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

_KEY = Secret("the-pre-shared-key")
"""A key as the engine hands a still-marked secret to a pack (a remediation; these cases)."""

CASES: dict[str, Case] = {
    "clouddns-routed-record-health-check": Case(
        DNS_RECORD_SET,
        {
            "name": "app.example.com.",
            "routingPolicy": {
                "healthCheck": "projects/p/global/healthChecks/app",
                "wrrs": [{"weight": 1, "healthCheckedTargets": {"externalEndpoints": ["198.51.99.7"]}}],
            },
        },
        {
            "name": "app.example.com.",
            "routingPolicy": {"wrrs": [{"weight": 1, "healthCheckedTargets": {"externalEndpoints": ["198.51.99.7"]}}]},
        },
        "never probed",
    ),
    "gke-api-not-world-open": Case(
        CLUSTER,
        {"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]}},
        {"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]}},
        "0.0.0.0/0",
    ),
    "gke-private-endpoint": Case(
        CLUSTER,
        {"privateClusterConfig": {"enablePrivateEndpoint": True, "enablePrivateNodes": True}},
        {"privateClusterConfig": {"enablePrivateNodes": True}},
        "public endpoint",
    ),
    "gke-private-nodes": Case(
        CLUSTER,
        {"privateClusterConfig": {"enablePrivateNodes": True}},
        {"privateClusterConfig": {"enablePrivateNodes": False}},
        "enablePrivateNodes",
    ),
    "gke-secrets-encryption": Case(
        CLUSTER,
        {"databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}},
        {"databaseEncryption": {"state": "DECRYPTED"}},
        "ENCRYPTED",
    ),
    "gke-control-plane-logging": Case(
        CLUSTER,
        {"loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]}},
        {"loggingConfig": {"enableComponents": ["WORKLOADS"]}},
        "APISERVER",
    ),
    "gke-deletion-protection": Case(CLUSTER, {"deletionProtection": True}, {"deletionProtection": False}, "deletion"),
    "gke-network-policy": Case(
        CLUSTER, {"datapathProvider": "ADVANCED_DATAPATH"}, {"datapathProvider": "LEGACY_DATAPATH"}, "NetworkPolicy"
    ),
    "gke-supported-version": Case(
        CLUSTER,
        {"minMasterVersion": "1.35.2-gke.1000", "releaseChannel": {"channel": "STABLE"}},
        {"minMasterVersion": "1.28"},
        "1.28",
    ),
    "gke-no-default-service-account": Case(
        NODE_POOL,
        {"nodeConfig": {"serviceAccount": "nodes@p.iam.gserviceaccount.com"}},
        {"nodeConfig": {"serviceAccount": "123-compute@developer.gserviceaccount.com"}},
        "Compute default",
    ),
    "gke-workload-identity": Case(
        NODE_POOL,
        {"nodeConfig": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}}},
        {"nodeConfig": {"workloadMetadataConfig": {"mode": "GCE_METADATA"}}},
        "GKE_METADATA",
    ),
    "gke-node-autoscaling": Case(
        NODE_POOL,
        {"autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 8}, "initialNodeCount": 1},
        {"autoscaling": {"minNodeCount": 1, "maxNodeCount": 5}, "nodeCount": 3},
        "nodeCount",
    ),
    "gke-no-legacy-auth": Case(CLUSTER, {"enableLegacyAbac": False}, {"enableLegacyAbac": True}, "enableLegacyAbac"),
    "gke-binary-authorization": Case(
        CLUSTER,
        {"binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}},
        {"binaryAuthorization": {"evaluationMode": "DISABLED"}},
        "PROJECT_SINGLETON_POLICY_ENFORCE",
    ),
    "gcp-vpn-key-secret": Case(
        TUNNEL,
        {"sharedSecret": _KEY, "vpnGatewayInterface": 0},
        {"sharedSecret": "a-plain-key", "vpnGatewayInterface": 0},
        "plain",
    ),
}

STACK_CASES: dict[str, StackCase] = {
    "gcp-ha-vpn-redundant": StackCase(
        [
            (HA_GATEWAY, "gw", {"name": "gke-dc1-vpn"}),
            (TUNNEL, "t0", {"vpnGatewayInterface": 0, "sharedSecret": _KEY}, ["gw"]),
            (TUNNEL, "t1", {"vpnGatewayInterface": 1, "sharedSecret": _KEY}, ["gw"]),
        ],
        [
            (HA_GATEWAY, "gw", {"name": "gke-dc1-vpn"}),
            (TUNNEL, "t0", {"vpnGatewayInterface": 0, "sharedSecret": _KEY}, ["gw"]),
            (TUNNEL, "t1", {"vpnGatewayInterface": 0, "sharedSecret": _KEY}, ["gw"]),
        ],
        "interfaces [0]",
    ),
}
