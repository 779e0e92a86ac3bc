"""Amazon EKS: `aws:eks/cluster:Cluster`, its managed node groups and their launch templates."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from pulumi_policy import Severity
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE
from pulumi_policy.secret import Secret

from policies.rules.base import (
    Case,
    Context,
    Finding,
    Resource,
    Rule,
    StackCase,
    Unknown,
    per_resource,
    supported_version,
    versions_config,
    world_open,
)

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
_TUNNEL_KEYS = ("tunnel1PresharedKey", "tunnel2PresharedKey")
_ROUTING_POLICIES = ("failoverRoutingPolicies", "weightedRoutingPolicies", "latencyRoutingPolicies")
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
USER = "aws:iam/user:User"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
_USER_GRANTS = (
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userGroupMembership:UserGroupMembership",
    "aws:iam/groupMembership:GroupMembership",
)
"""Ways a user gets permissions besides its inline policies: managed policies and groups."""
_POLICY_CNIS = ("cilium", "calico", "tigera-operator")


def _api_not_world_open(r: Resource, ctx: Context) -> Iterator[str]:
    # EKS turns the public endpoint on, open to 0.0.0.0/0, unless told otherwise.
    if r.get("vpcConfig.endpointPublicAccess", True) is False:
        return
    cidrs = r.get("vpcConfig.publicAccessCidrs") or []
    if not cidrs:
        yield "vpcConfig.publicAccessCidrs is empty, so the public endpoint is open to 0.0.0.0/0"
    for cidr in world_open(cidrs):
        yield f"vpcConfig.publicAccessCidrs contains {cidr}: the API would be open to the internet"


def _private_endpoint(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("vpcConfig.endpointPublicAccess", True) is not False:
        yield "vpcConfig.endpointPublicAccess must be false: the API is reachable only from the VPC"
    if r.get("vpcConfig.endpointPrivateAccess", False) is not True:
        yield "vpcConfig.endpointPrivateAccess must be true, or nodes and operators cannot reach the API"


def _secrets_encryption(r: Resource, ctx: Context) -> Iterator[str]:
    configs = r.props.each("encryptionConfig")
    if not any("secrets" in (c.get("resources") or []) and c.present("provider.keyArn") for c in configs):
        yield "encryptionConfig must encrypt resources ['secrets'] with a KMS key (provider.keyArn)"


_LOG_TYPES = ("api", "audit", "authenticator")


def _logging(r: Resource, ctx: Context) -> Iterator[str]:
    enabled = set(r.get("enabledClusterLogTypes") or [])
    missing = [t for t in _LOG_TYPES if t not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}: control-plane logs are needed for audits"


def _deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    if ctx.prod and r.get("deletionProtection") is not True and not r.protect:
        yield "a prod cluster needs deletionProtection: true (or the protect resource option)"


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    yield from supported_version(r.get("version"), "version", ctx)


def _node_group_scaling(r: Resource, ctx: Context) -> Iterator[str]:
    lo, hi = r.get("scalingConfig.minSize"), r.get("scalingConfig.maxSize")
    if lo is None or hi is None:
        yield "scalingConfig.minSize and maxSize must be set so the node autoscaler owns the size"
    elif not lo < hi:
        yield f"scalingConfig.minSize ({lo}) must be below maxSize ({hi}), or the autoscaler cannot scale"


def _imdsv2(r: Resource, ctx: Context) -> Iterator[str]:
    if r.get("metadataOptions.httpTokens") != "required":
        yield "metadataOptions.httpTokens must be 'required' (IMDSv2 only)"
    hops = r.get("metadataOptions.httpPutResponseHopLimit")
    if hops is not None and hops > 2:
        yield f"metadataOptions.httpPutResponseHopLimit is {hops}; at most 2 keeps IMDS off the pod network"


def _no_ssh(r: Resource, ctx: Context) -> Iterator[str]:
    if r.props.present("remoteAccess"):
        yield "remoteAccess opens SSH to the nodes; use SSM Session Manager instead"


def _vpc_cni_enforces(addon_config: object) -> bool:
    try:
        values = json.loads(str(addon_config)) if addon_config else {}
    except json.JSONDecodeError:
        return False
    return isinstance(values, dict) and str(values.get("enableNetworkPolicy", "")).lower() == "true"


def _network_policy(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    clusters = [r for r in resources if r.type == CLUSTER]
    if not clusters:
        return
    unknown: Unknown | None = None
    enforcing: list[Resource] = []
    for r in resources:
        try:
            # A policy-enforcing CNI installed by chart covers the stack's clusters.
            if r.type == HELM_RELEASE and str(r.get("chart") or "").endswith(_POLICY_CNIS):
                return
            if r.type == ADDON and r.get("addonName") == "vpc-cni" and _vpc_cni_enforces(r.get("configurationValues")):
                enforcing.append(r)
        except Unknown as exc:
            unknown = unknown or exc.about(r)

    def check(cluster: Resource) -> Iterator[str]:
        if any(cluster.urn in a.dependencies for a in enforcing):
            return
        if unknown is not None:
            raise unknown
        yield (
            'no vpc-cni add-on with configurationValues enableNetworkPolicy: "true" '
            "(nor a Cilium/Calico release), so NetworkPolicy objects are not enforced"
        )

    yield from per_resource(clusters, check)


def _routing(r: Resource) -> str | None:
    """The routing policy of a Route 53 record (`failover`, `weighted`, `latency`), None for a simple one."""
    return next((key.removesuffix("RoutingPolicies") for key in _ROUTING_POLICIES if r.get(key)), None)


def _routed_record_health_check(r: Resource, ctx: Context) -> Iterator[str]:
    # Without a health check Route 53 counts the record healthy forever: a failover never fails over, a weighted or
    # latency set keeps answering with a dead cluster.
    # Source: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-complex-configs.html
    policy = _routing(r)
    if policy and not r.get("healthCheckId"):
        yield f"a {policy} record of {r.get('name')} without healthCheckId: Route 53 would answer with it when down"


def _global_names(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    """Each routed record's health check probes the record's own target, and a failover name has one primary."""
    checks = {c.urn: c for c in resources if c.type == HEALTH_CHECK}
    records = [r for r in resources if r.type == RECORD and _routing(r)]

    def check(r: Resource) -> Iterator[str]:
        target = (r.get("records") or [None])[0]
        probes = [checks[urn] for urn in r.dependencies if urn in checks]
        if probes and not any(target in (c.get("ipAddress"), c.get("fqdn")) for c in probes):
            yield f"the health check of {r.get('name')} ({r.get('setIdentifier')}) does not probe its target {target}"
        if _routing(r) == "failover":
            roles = [
                str(o.get("failoverRoutingPolicies")[0].get("type"))
                for o in records
                if o.get("name") == r.get("name") and _routing(o) == "failover"
            ]
            if roles.count("PRIMARY") != 1 or roles.count("SECONDARY") != 1:
                yield f"failover name {r.get('name')} has {sorted(roles)}: it needs one PRIMARY and one SECONDARY"

    yield from per_resource(records, check)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


_RECORD_CONDITION = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
_TYPE_CONDITION = "route53:ChangeResourceRecordSetsRecordTypes"
_NARROWING = ("ForAllValues:StringEquals", "ForAllValues:StringLike")


def _challenge_statement(st: dict[str, object], zones: set[str]) -> Iterator[str]:
    """What is wrong with one Allow statement of a DNS-01 key's policy; `zones` collects the hosted zones it names.

    Allowed: `route53:GetChange` on `change/*`; `route53:ListResourceRecordSets` on one hosted zone; and
    `route53:ChangeResourceRecordSets` on that zone, only for TXT records named `_acme-challenge.<name>`.
    Sources: https://cert-manager.io/docs/configuration/acme/dns01/route53/ (what the solver calls) and
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html (condition keys).
    """
    if "NotAction" in st or "NotResource" in st:
        yield "grants by NotAction/NotResource, which allows everything not listed"
        return
    actions = [str(a) for a in _list(st.get("Action"))]
    resources = [str(r) for r in _list(st.get("Resource"))]
    for action in actions:
        if action == "route53:GetChange":
            if any(not r.endswith(":route53:::change/*") for r in resources):
                yield f"route53:GetChange on {resources}, not change/*"
        elif action in ("route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"):
            bad = [r for r in resources if ":route53:::hostedzone/" not in r or r.endswith("/*")]
            if bad:
                yield f"{action} on {bad}, not one hosted zone"
            zones.update(r for r in resources if r not in bad)
        else:
            yield f"{action}, which a DNS-01 solver does not need"
    if "route53:ChangeResourceRecordSets" in actions:
        condition = st.get("Condition")
        blocks = condition.items() if isinstance(condition, dict) else ()
        # Only operators that narrow the request to the listed values: every name, every type among them.
        scoped = {
            key: [str(v) for v in _list(values)]
            for operator, block in blocks
            if operator in _NARROWING and isinstance(block, dict)
            for key, values in block.items()
        }
        names = scoped.get(_RECORD_CONDITION, [])
        if not names or any(not n.startswith("_acme-challenge.") for n in names):
            yield f"route53:ChangeResourceRecordSets on names {names or 'of any kind'}, not only _acme-challenge.*"
        if scoped.get(_TYPE_CONDITION) != ["TXT"]:
            yield f"route53:ChangeResourceRecordSets on record types {scoped.get(_TYPE_CONDITION, 'of any kind')}"


def _access_key_scoped(resources: Sequence[Resource], ctx: Context) -> Iterator[Finding]:
    """A long-lived access key is allowed only as a DNS-01 solver's: one zone, its challenge TXT records."""
    users = {r.urn: r for r in resources if r.type == USER}
    keys = [r for r in resources if r.type == ACCESS_KEY]

    def check(key: Resource) -> Iterator[str]:
        owners = [users[urn] for urn in key.dependencies if urn in users]
        if not owners:
            yield "an access key for a user outside this stack, whose permissions cannot be checked"
            return
        owner = owners[0].urn
        grants = [r for r in resources if owner in r.dependencies and r.type in _USER_GRANTS]
        if grants:
            yield f"its user also gets permissions from {', '.join(sorted({g.type for g in grants}))}"
        zones: set[str] = set()
        inline = [r for r in resources if r.type == USER_POLICY and owner in r.dependencies]
        if not inline:
            yield "its user has no inline policy scoping it to one zone's challenge records"
        for grant in inline:
            try:
                document = json.loads(str(grant.get("policy")))
            except json.JSONDecodeError:
                yield f"the policy of {grant.name} is not JSON"
                continue
            for st in _list(document.get("Statement") if isinstance(document, dict) else None):
                if isinstance(st, dict) and st.get("Effect") == "Allow":
                    yield from (f"{grant.name} allows {problem}" for problem in _challenge_statement(st, zones))
        if len(zones) > 1:
            yield f"it may write to {len(zones)} hosted zones ({', '.join(sorted(zones))}): one zone per key"

    yield from per_resource(keys, check)


def _vpn_keys_secret(r: Resource, ctx: Context) -> Iterator[str]:
    # A tunnel's pre-shared key authenticates the site's device: a plain one lands readable in the plan, the
    # state and every preview's output. A key counts as secret when its input carries the secret marker (tests,
    # analyzers that keep markers) or the resource names it in additionalSecretOutputs, the marker a pack still
    # gets under a preview; pulumi-aws names both keys there, and wraps them as secrets on input too.
    for key in _TUNNEL_KEYS:
        if r.props.present(key) and not r.secret(key):
            yield f"{key} is a plain value: mark it secret (pulumi.Output.secret, or additionalSecretOutputs)"


# Per-tunnel settings that may differ between the two tunnels: each has its own inside range, and may have its own
# key and log group.
_PER_TUNNEL = ("InsideCidr", "InsideIpv6Cidr", "PresharedKey", "LogOptions")


def _vpn_both_tunnels(r: Resource, ctx: Context) -> Iterator[str]:
    # Every connection has two tunnels, to two AWS endpoints, for redundancy: when one is unavailable (for
    # maintenance, say) traffic takes the other. A setting given to one tunnel only leaves the other on AWS's
    # defaults (AES-128, SHA-1, DH group 2, IKEv1 among them), so the link fails, or weakens, whenever traffic moves.
    # Source: https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html (tunnel options are set per tunnel).
    inputs = r.props.value if isinstance(r.props.value, dict) else {}
    settings = {k[len("tunnel1") :] for k in inputs if k.startswith("tunnel1")}
    settings |= {k[len("tunnel2") :] for k in inputs if k.startswith("tunnel2")}
    for setting in sorted(settings):
        one, two = r.props.present(f"tunnel1{setting}"), r.props.present(f"tunnel2{setting}")
        if one != two:
            given, missing = ("tunnel1", "tunnel2") if one else ("tunnel2", "tunnel1")
            yield f"{given}{setting} is set and {missing}{setting} is not: that tunnel negotiates AWS's defaults"
        elif one and setting not in _PER_TUNNEL and r.get(f"tunnel1{setting}") != r.get(f"tunnel2{setting}"):
            yield f"tunnel1{setting} and tunnel2{setting} differ: the two tunnels must accept the same proposals"


RULES = [
    Rule(
        "iam-access-key-scoped",
        "A long-lived IAM access key only changes _acme-challenge TXT records in one Route 53 zone.",
        "baseline",
        stack_check=_access_key_scoped,
        severity=Severity.HIGH,
        remediation="Give pods a cloud identity instead; a key is for a DNS-01 solver only "
        "(platform.certManager.dns01 builds one), rotated with its `rotation` label.",
    ),
    Rule(
        "aws-vpn-preshared-keys-secret",
        "The pre-shared keys of a Site-to-Site VPN connection are secret in the plan and the state.",
        "baseline",
        (VPN_CONNECTION,),
        _vpn_keys_secret,
        severity=Severity.CRITICAL,
        remediation="Pass the keys as secrets (a declared site's links generate or take them as secrets).",
    ),
    Rule(
        "aws-vpn-both-tunnels",
        "A Site-to-Site VPN connection configures both of its tunnels alike.",
        "hardening",
        (VPN_CONNECTION,),
        _vpn_both_tunnels,
        severity=Severity.HIGH,
    ),
    Rule(
        "route53-routed-record-health-check",
        "A Route 53 record with a failover, weighted or latency policy has a health check.",
        "baseline",
        (RECORD,),
        _routed_record_health_check,
        severity=Severity.HIGH,
        remediation="Give the global name's records health checks (expose.global builds one per cluster).",
    ),
    Rule(
        "route53-global-name-targets",
        "Each routed record's health check probes its own target; a failover name has one primary, one secondary.",
        "baseline",
        stack_check=_global_names,
        severity=Severity.HIGH,
    ),
    Rule(
        "eks-api-not-world-open",
        "The EKS API endpoint is never open to 0.0.0.0/0.",
        "baseline",
        (CLUSTER,),
        _api_not_world_open,
        severity=Severity.CRITICAL,
        remediation="Set apiAccess.private: true or list apiAccess.publicCidrs.",
    ),
    Rule(
        "eks-private-endpoint",
        "The EKS API endpoint is private.",
        "lockdown",
        (CLUSTER,),
        _private_endpoint,
        severity=Severity.HIGH,
    ),
    Rule(
        "eks-secrets-encryption",
        "EKS encrypts Kubernetes secrets with a KMS key.",
        "hardening",
        (CLUSTER,),
        _secrets_encryption,
        severity=Severity.HIGH,
    ),
    Rule(
        "eks-control-plane-logging", "EKS sends api, audit and authenticator logs.", "hardening", (CLUSTER,), _logging
    ),
    Rule(
        "eks-deletion-protection",
        "A prod EKS cluster is protected from deletion.",
        "lockdown",
        (CLUSTER,),
        _deletion_protection,
        severity=Severity.HIGH,
    ),
    Rule(
        "eks-supported-version",
        "EKS runs a pinned, supported Kubernetes version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("aws"),
    ),
    Rule(
        "eks-node-autoscaling",
        "EKS node groups leave their size to the autoscaler (minSize < maxSize).",
        "hardening",
        (NODE_GROUP,),
        _node_group_scaling,
    ),
    Rule(
        "eks-imdsv2",
        "EKS node launch templates require IMDSv2 with a hop limit of at most 2.",
        "hardening",
        (LAUNCH_TEMPLATE,),
        _imdsv2,
        severity=Severity.HIGH,
    ),
    Rule(
        "eks-network-policy",
        "EKS enforces NetworkPolicy (vpc-cni network policy agent, or Cilium/Calico).",
        "hardening",
        stack_check=_network_policy,
    ),
    Rule("eks-node-no-ssh", "EKS node groups do not open SSH.", "hardening", (NODE_GROUP,), _no_ssh),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.

_STRONG = {"Phase1EncryptionAlgorithms": ["AES256"], "IkeVersions": ["ikev2"]}

CASES: dict[str, Case] = {
    "aws-vpn-preshared-keys-secret": Case(
        VPN_CONNECTION,
        {"tunnel1PresharedKey": Secret("k3yOfTunnelOne"), "tunnel2PresharedKey": Secret("k3yOfTunnelTwo")},
        {"tunnel1PresharedKey": "k3yOfTunnelOne", "tunnel2PresharedKey": Secret("k3yOfTunnelTwo")},
        "tunnel1PresharedKey is a plain value",
    ),
    "aws-vpn-both-tunnels": Case(
        VPN_CONNECTION,
        {
            **{f"tunnel1{k}": v for k, v in _STRONG.items()},
            **{f"tunnel2{k}": v for k, v in _STRONG.items()},
            "tunnel1InsideCidr": "169.254.10.0/30",
            "tunnel2InsideCidr": "169.254.11.0/30",
        },
        {f"tunnel1{k}": v for k, v in _STRONG.items()},
        "tunnel2IkeVersions is not",
    ),
    "eks-api-not-world-open": Case(
        CLUSTER,
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
    ),
    "eks-private-endpoint": Case(
        CLUSTER,
        {"vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}},
        {
            "vpcConfig": {
                "endpointPublicAccess": True,
                "endpointPrivateAccess": True,
                "publicAccessCidrs": ["1.2.3.4/32"],
            }
        },
        "endpointPublicAccess",
    ),
    "eks-secrets-encryption": Case(
        CLUSTER,
        {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": UNKNOWN_STRING_VALUE}}},
        {"encryptionConfig": {"resources": ["configmaps"], "provider": {"keyArn": "arn:aws:kms:eu-west-1:1:key/x"}}},
        "secrets",
    ),
    "eks-control-plane-logging": Case(
        CLUSTER,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator", "scheduler"]},
        {"enabledClusterLogTypes": ["api"]},
        "audit, authenticator",
    ),
    "eks-deletion-protection": Case(
        CLUSTER, {"deletionProtection": True}, {"deletionProtection": False}, "deletionProtection"
    ),
    "eks-supported-version": Case(CLUSTER, {"version": "1.35"}, {"version": "1.29"}, "1.29"),
    "eks-node-autoscaling": Case(
        NODE_GROUP,
        {"scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 2}},
        {"scalingConfig": {"minSize": 3, "maxSize": 3, "desiredSize": 3}},
        "below maxSize",
    ),
    "eks-imdsv2": Case(
        LAUNCH_TEMPLATE,
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        {"metadataOptions": {"httpTokens": "optional"}},
        "httpTokens",
    ),
    "eks-node-no-ssh": Case(NODE_GROUP, {"scalingConfig": {}}, {"remoteAccess": {"ec2SshKey": "ops"}}, "SSH"),
    "route53-routed-record-health-check": Case(
        RECORD,
        {"name": "app.example.com", "weightedRoutingPolicies": [{"weight": 10}], "healthCheckId": "abc"},
        {"name": "app.example.com", "failoverRoutingPolicies": [{"type": "PRIMARY"}]},
        "without healthCheckId",
    ),
}


def _record(role: str, target: str) -> dict[str, object]:
    return {
        "name": "app.example.com",
        "records": [target],
        "setIdentifier": role.lower(),
        "failoverRoutingPolicies": [{"type": role}],
        "healthCheckId": f"{role}-check",
    }


_ZONE = "arn:aws:route53:::hostedzone/Z0EXAMPLE"


def _dns01_policy(names: list[str], zone: str = _ZONE) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "route53:GetChange", "Resource": "arn:aws:route53:::change/*"},
                {"Effect": "Allow", "Action": ["route53:ListResourceRecordSets"], "Resource": zone},
                {
                    "Effect": "Allow",
                    "Action": ["route53:ChangeResourceRecordSets"],
                    "Resource": zone,
                    "Condition": {"ForAllValues:StringEquals": {_RECORD_CONDITION: names, _TYPE_CONDITION: ["TXT"]}},
                },
            ],
        }
    )


STACK_CASES: dict[str, StackCase] = {
    "iam-access-key-scoped": StackCase(
        [
            (USER, "acme", {"path": "/orquestra/"}),
            (USER_POLICY, "acme-policy", {"policy": _dns01_policy(["_acme-challenge.app.example.com"])}, ["acme"]),
            (ACCESS_KEY, "key", {}, ["acme"]),
        ],
        [
            (USER, "acme", {"path": "/orquestra/"}),
            (USER_POLICY, "acme-policy", {"policy": _dns01_policy(["app.example.com"], "*")}, ["acme"]),
            (ACCESS_KEY, "key", {}, ["acme"]),
        ],
        "not only _acme-challenge",
    ),
    "route53-global-name-targets": StackCase(
        [
            (HEALTH_CHECK, "p", {"fqdn": "p.example.com"}),
            (HEALTH_CHECK, "s", {"fqdn": "s.example.com"}),
            (RECORD, "rp", _record("PRIMARY", "p.example.com"), ["p"]),
            (RECORD, "rs", _record("SECONDARY", "s.example.com"), ["s"]),
        ],
        [
            (HEALTH_CHECK, "p", {"fqdn": "p.example.com"}),
            (HEALTH_CHECK, "s", {"fqdn": "elsewhere.example.com"}),
            (RECORD, "rp", _record("PRIMARY", "p.example.com"), ["p"]),
            (RECORD, "rs", _record("PRIMARY", "s.example.com"), ["s"]),
        ],
        "does not probe its target",
    ),
    "eks-network-policy": StackCase(
        [
            (CLUSTER, "eks", {}),
            (
                ADDON,
                "vpc-cni",
                {"addonName": "vpc-cni", "configurationValues": '{"enableNetworkPolicy": "true"}'},
                ["eks"],
            ),
        ],
        [(CLUSTER, "eks", {}), (ADDON, "vpc-cni", {"addonName": "vpc-cni"}, ["eks"])],
        "enableNetworkPolicy",
    ),
}
