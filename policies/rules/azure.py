"""Azure AKS: `azure-native:containerservice:ManagedCluster`, its agent pools and diagnostic settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import Secret, Severity

from policies.rules.base import (
    Case,
    Context,
    Finding,
    Node,
    Resource,
    Rule,
    StackCase,
    Unknown,
    autoscaled,
    per_resource,
    supported_version,
    versions_config,
    world_open,
)

CLUSTER = "azure-native:containerservice:ManagedCluster"
TRAFFIC_MANAGER_PROFILE = "azure-native:trafficmanager:Profile"
AGENT_POOL = "azure-native:containerservice:AgentPool"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
VPN_GATEWAY = "azure-native:network:VirtualNetworkGateway"
VPN_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"


def _api_not_world_open(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("apiServerAccessProfile.enablePrivateCluster") is True:
        return
    ranges = r.get("apiServerAccessProfile.authorizedIPRanges") or []
    if not ranges:
        yield "apiServerAccessProfile.authorizedIPRanges is empty, so the public API accepts any address"
    for cidr in world_open(ranges):
        yield f"apiServerAccessProfile.authorizedIPRanges contains {cidr}: the API would be open to the internet"


def _private_cluster(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("apiServerAccessProfile.enablePrivateCluster") is not True:
        yield "apiServerAccessProfile.enablePrivateCluster must be true"


def _kms(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("securityProfile.azureKeyVaultKms.enabled") is not True or not r.props.present(
        "securityProfile.azureKeyVaultKms.keyId"
    ):
        yield "securityProfile.azureKeyVaultKms must be enabled with a Key Vault keyId"


_AUDIT = {"kube-audit", "kube-audit-admin"}
_GROUPS = {"audit", "allLogs"}


def _logging(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    # (dependencies, sends audit logs) per diagnostic setting; a setting with unknown logs may or may not.
    settings: list[tuple[tuple[str, ...], bool | Unknown]] = []
    for s in (r for r in resources if r.type == DIAGNOSTIC_SETTING):
        try:
            audit: bool | Unknown = any(
                log.get("enabled") is True and (log.get("category") in _AUDIT or log.get("categoryGroup") in _GROUPS)
                for log in s.props.each("logs")
            )
        except Unknown as exc:
            audit = exc.about(s)
        settings.append((s.dependencies, audit))

    def check(cluster: Resource) -> Iterator[str]:
        mine = [audit for deps, audit in settings if cluster.urn in deps]
        if any(a is True for a in mine):
            return
        unknown = next((a for a in mine if isinstance(a, Unknown)), None)
        if unknown is not None:
            raise unknown
        yield "no diagnostic setting sends kube-audit logs from this cluster"

    yield from per_resource((r for r in resources if r.type == CLUSTER), check)


def _deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    if ctx.prod and not r.protect:
        yield "a prod cluster needs the protect resource option (AKS has no deletion-protection flag)"


def _network_policy(r: Resource, ctx: Context) -> Iterator[str]:
    policy = r.get("networkProfile.networkPolicy")
    if policy not in ("azure", "calico", "cilium"):
        yield f"networkProfile.networkPolicy is {policy!r}; one of azure, calico or cilium enforces NetworkPolicy"


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    yield from supported_version(r.get("kubernetesVersion"), "kubernetesVersion", ctx)


def _pool_scaling(pool: Node, where: str) -> Iterator[str]:
    return autoscaled(pool, where, "enableAutoScaling", "minCount", "maxCount")


def _autoscaling(r: Resource, ctx: Context) -> Iterator[str]:
    if r.type == AGENT_POOL:
        yield from _pool_scaling(r.props, "agent pool")
        return
    for i, pool in enumerate(r.props.each("agentPoolProfiles")):
        yield from _pool_scaling(pool, f"agentPoolProfiles[{i}] ({pool.get('name')})")


def _encryption_at_host(r: Resource, ctx: Context) -> Iterator[str]:
    """Temp disks, caches and the OS disk's data encrypted on the VM host too (`enableEncryptionAtHost`).

    Source: https://learn.microsoft.com/azure/aks/enable-host-encryption
    """
    pools = (
        [("agent pool", r.props)]
        if r.type == AGENT_POOL
        else [
            (f"agentPoolProfiles[{i}] ({pool.get('name')})", pool)
            for i, pool in enumerate(r.props.each("agentPoolProfiles"))
        ]
    )
    for where, pool in pools:
        if pool.get("enableEncryptionAtHost") is not True:
            yield f"{where}: enableEncryptionAtHost must be true (temp disks and disk caches encrypted on the host)"


def _local_accounts(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("disableLocalAccounts") is not True:
        yield "disableLocalAccounts must be true: every user signs in through Entra ID"
    if r.get("aadProfile.managed") is not True or r.get("aadProfile.enableAzureRBAC") is not True:
        yield "aadProfile must be managed with enableAzureRBAC: true"


def _workload_identity(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("oidcIssuerProfile.enabled") is not True or r.get("securityProfile.workloadIdentity.enabled") is not True:
        yield "enable oidcIssuerProfile and securityProfile.workloadIdentity so pods get identities without secrets"


def _managed_identity(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("identity.type") not in ("SystemAssigned", "UserAssigned"):
        yield "identity.type must be SystemAssigned or UserAssigned: no service principal with a client secret"
    if r.props.present("servicePrincipalProfile.secret"):
        yield "servicePrincipalProfile.secret is a long-lived credential; use a managed identity"


def _traffic_manager_monitor(r: Resource, ctx: Context) -> Iterator[str]:
    # Traffic Manager drops an endpoint from its answers only when its monitor says so: an HTTPS probe of a health
    # path tests the service behind the gateway, where TCP tests only that a port is open; `alwaysServe` turns the
    # probing of an endpoint off. Source: https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring
    protocol, path = r.get("monitorConfig.protocol"), r.get("monitorConfig.path")
    if protocol != "HTTPS":
        yield f"monitorConfig.protocol is {protocol or 'unset'}: probe the endpoints over HTTPS"
    if not isinstance(path, str) or not path.startswith("/"):
        yield "monitorConfig.path is unset: probe a health path such as /healthz"
    for endpoint in r.props.each("endpoints"):
        if endpoint.get("alwaysServe") == "Enabled":
            yield f"endpoint {endpoint.get('name')} has alwaysServe Enabled, so it is never probed"


def _vpn_key_secret(r: Resource, ctx: Context) -> Iterator[str]:
    """A site-to-site connection's IKE key is a secret in the plan and the state, never a plain value.

    azure-native does not mark `sharedKey` secret itself, so the program lists it in `additionalSecretOutputs`
    (which the engine hands every policy) besides passing it as a secret Output.
    """
    if r.props.present("sharedKey") and not r.secret("sharedKey"):
        yield (
            "sharedKey is a plain value in the plan: pass the VPN's pre-shared key as a secret and list sharedKey "
            "in additionalSecretOutputs (the SDK does not mark it)"
        )


def _vpn_redundant(r: Resource, ctx: Context) -> Iterator[str]:
    """Two tunnels from instances in different zones: the site keeps one through an instance's or a zone's loss.

    Sources: https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-highlyavailable,
    https://learn.microsoft.com/azure/vpn-gateway/about-zone-redundant-vnet-gateways
    """
    if r.get("gatewayType", "Vpn") != "Vpn":
        return
    sku = r.get("sku.name")
    if not str(sku or "").endswith("AZ"):
        yield f"sku.name is {sku!r}: an AZ SKU (VpnGw1AZ-VpnGw5AZ) spreads the gateway's instances over zones"
    if r.get("activeActive") is not True:
        yield "activeActive must be true: each instance ends a tunnel of its own, so the site keeps one through a loss"


RULES = [
    Rule(
        "traffic-manager-https-monitor",
        "A Traffic Manager profile probes its endpoints over HTTPS on a health path.",
        "baseline",
        (TRAFFIC_MANAGER_PROFILE,),
        _traffic_manager_monitor,
        severity=Severity.HIGH,
        remediation="Set monitorConfig protocol HTTPS and a path (expose.global with dns: azure builds both).",
    ),
    Rule(
        "aks-api-not-world-open",
        "The AKS API server is never open to 0.0.0.0/0.",
        "baseline",
        (CLUSTER,),
        _api_not_world_open,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "aks-private-cluster",
        "The AKS API server is private.",
        "lockdown",
        (CLUSTER,),
        _private_cluster,
        severity=Severity.HIGH,
    ),
    Rule(
        "aks-secrets-encryption",
        "AKS encrypts secrets with a Key Vault key (KMS).",
        "hardening",
        (CLUSTER,),
        _kms,
        severity=Severity.HIGH,
    ),
    Rule(
        "aks-control-plane-logging",
        "Every AKS cluster has a diagnostic setting sending kube-audit logs.",
        "hardening",
        stack_check=_logging,
    ),
    Rule(
        "aks-deletion-protection",
        "A prod AKS cluster is protected from deletion.",
        "lockdown",
        (CLUSTER,),
        _deletion_protection,
        severity=Severity.HIGH,
    ),
    Rule("aks-network-policy", "AKS enforces NetworkPolicy.", "hardening", (CLUSTER,), _network_policy),
    Rule(
        "aks-supported-version",
        "AKS runs a pinned, supported Kubernetes version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("azure"),
    ),
    Rule(
        "aks-node-autoscaling",
        "AKS node pools leave their size to the cluster autoscaler (minCount < maxCount).",
        "hardening",
        (CLUSTER, AGENT_POOL),
        _autoscaling,
    ),
    Rule(
        "aks-encryption-at-host",
        "AKS node pools encrypt temp disks and disk caches on the host.",
        "hardening",
        (CLUSTER, AGENT_POOL),
        _encryption_at_host,
    ),
    Rule(
        "aks-no-local-accounts",
        "AKS has no local accounts and uses Entra ID with Azure RBAC.",
        "lockdown",
        (CLUSTER,),
        _local_accounts,
    ),
    Rule(
        "aks-managed-identity",
        "AKS runs as a managed identity, not a service principal with a secret.",
        "hardening",
        (CLUSTER,),
        _managed_identity,
        severity=Severity.HIGH,
    ),
    Rule("aks-workload-identity", "AKS offers Workload Identity to pods.", "hardening", (CLUSTER,), _workload_identity),
    Rule(
        "azure-vpn-key-secret",
        "The pre-shared key of an Azure site-to-site VPN connection is a secret in the plan.",
        "baseline",
        (VPN_CONNECTION,),
        _vpn_key_secret,
        severity=Severity.CRITICAL,
    ),
    Rule(
        "azure-vpn-redundant",
        "An Azure VPN gateway is zone-redundant (an AZ SKU) and active-active: two tunnels to every site.",
        "lockdown",
        (VPN_GATEWAY,),
        _vpn_redundant,
        severity=Severity.HIGH,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

CASES: dict[str, Case] = {
    "traffic-manager-https-monitor": Case(
        TRAFFIC_MANAGER_PROFILE,
        {"monitorConfig": {"protocol": "HTTPS", "port": 443, "path": "/healthz"}, "endpoints": [{"name": "a"}]},
        {"monitorConfig": {"protocol": "TCP", "port": 443}, "endpoints": [{"name": "a"}]},
        "HTTPS",
    ),
    "aks-encryption-at-host": Case(
        AGENT_POOL, {"enableEncryptionAtHost": True}, {"enableEncryptionAtHost": False}, "enableEncryptionAtHost"
    ),
    "aks-api-not-world-open": Case(
        CLUSTER,
        {"apiServerAccessProfile": {"authorizedIPRanges": ["198.51.100.0/24"]}},
        {"apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
    ),
    "aks-private-cluster": Case(
        CLUSTER,
        {"apiServerAccessProfile": {"enablePrivateCluster": True}},
        {"apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["1.2.3.4/32"]}},
        "enablePrivateCluster",
    ),
    "aks-secrets-encryption": Case(
        CLUSTER,
        {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": "https://kv.vault.azure.net/keys/k/1"}}},
        {"securityProfile": {}},
        "azureKeyVaultKms",
    ),
    "aks-deletion-protection": Case(CLUSTER, {}, {}, "protect", options={"protect": True}),
    "aks-network-policy": Case(
        CLUSTER,
        {"networkProfile": {"networkPolicy": "cilium"}},
        {"networkProfile": {"networkPolicy": "none"}},
        "networkPolicy",
    ),
    "aks-supported-version": Case(CLUSTER, {"kubernetesVersion": "1.36"}, {}, "not set"),
    "aks-node-autoscaling": Case(
        CLUSTER,
        {"agentPoolProfiles": [{"name": "system", "enableAutoScaling": True, "minCount": 2, "maxCount": 3}]},
        {"agentPoolProfiles": [{"name": "system", "count": 3}]},
        "enableAutoScaling",
    ),
    "aks-no-local-accounts": Case(
        CLUSTER,
        {"disableLocalAccounts": True, "aadProfile": {"managed": True, "enableAzureRBAC": True}},
        {"disableLocalAccounts": False, "aadProfile": {"managed": True, "enableAzureRBAC": True}},
        "disableLocalAccounts",
    ),
    "aks-workload-identity": Case(
        CLUSTER,
        {"oidcIssuerProfile": {"enabled": True}, "securityProfile": {"workloadIdentity": {"enabled": True}}},
        {"oidcIssuerProfile": {"enabled": True}},
        "workloadIdentity",
    ),
    "azure-vpn-key-secret": Case(
        VPN_CONNECTION,
        {"connectionType": "IPsec", "sharedKey": Secret("mJqTwZbLxRcVnHs")},
        {"connectionType": "IPsec", "sharedKey": "mJqTwZbLxRcVnHs"},
        "sharedKey is a plain value",
    ),
    "azure-vpn-redundant": Case(
        VPN_GATEWAY,
        {"gatewayType": "Vpn", "sku": {"name": "VpnGw1AZ", "tier": "VpnGw1AZ"}, "activeActive": True},
        {"gatewayType": "Vpn", "sku": {"name": "VpnGw1AZ", "tier": "VpnGw1AZ"}, "activeActive": False},
        "activeActive",
    ),
    "aks-managed-identity": Case(
        CLUSTER,
        {"identity": {"type": "SystemAssigned"}},
        {"servicePrincipalProfile": {"clientId": "x", "secret": "s3cr3t"}},
        "identity.type",
    ),
}

STACK_CASES: dict[str, StackCase] = {
    "aks-control-plane-logging": StackCase(
        [
            (CLUSTER, "aks", {}),
            (DIAGNOSTIC_SETTING, "audit", {"logs": [{"category": "kube-audit-admin", "enabled": True}]}, ["aks"]),
        ],
        [
            (CLUSTER, "aks", {}),
            (DIAGNOSTIC_SETTING, "metrics", {"logs": [{"category": "kube-apiserver", "enabled": True}]}, ["aks"]),
        ],
        "kube-audit",
    ),
}
