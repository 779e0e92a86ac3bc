"""Each rule against a resource that passes and one that fails, through the pulumi-policy objects the pack serves."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

from policies.pack import pack_config
from policies.rules import RULES
from policies.rules.base import ENVIRONMENTS, TIERS

BY_NAME = {r.name: r for r in RULES}
CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def check(
    rule: str, type_: str, props: dict[str, Any], *, env: str = "prod", protect: bool = False, provider: str = ""
) -> list[str]:
    """Messages a resource rule reports, called exactly as the analyzer calls it."""
    policy = BY_NAME[rule].policy(env)  # type: ignore[arg-type]
    assert not isinstance(policy, StackValidationPolicy)
    args = ResourceValidationArgs(
        type_,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:test::orquestra::{type_}::subject",
        "subject",
        _opts(protect),
        PolicyProviderResource("pulumi:providers:kubernetes", {}, "urn:p", provider) if provider else None,
        {"environment": env},
    )
    messages: list[str] = []
    policy.validate(args, lambda message, urn=None: messages.append(message))
    return messages


Res = tuple[str, str, dict[str, Any]]  # type, name, props; dependencies by name in a 4th slot


def check_stack(rule: str, resources: list[Any], *, env: str = "prod", messages: list[str] | None = None) -> list[str]:
    policy = BY_NAME[rule].policy(env)  # type: ignore[arg-type]
    assert isinstance(policy, StackValidationPolicy)
    built: dict[str, PolicyResource] = {}
    for type_, name, props, *deps in resources:
        urn = f"urn:pulumi:test::orquestra::{type_}::{name}"
        dependencies = [built[d] for d in (deps[0] if deps else [])]
        built[name] = PolicyResource(
            type_, unknown_checking_proxy(copy.deepcopy(props)), urn, name, _opts(), None, None, dependencies, {}
        )
    found: list[str] = [] if messages is None else messages
    # Each message is recorded with the name of the resource it was reported against.
    policy.validate(
        StackValidationArgs(list(built.values()), {"environment": env}),
        lambda m, urn=None: found.append(f"{(urn or '').rsplit('::', 1)[-1]}: {m}" if messages is not None else m),
    )
    return found


# ------------------------------------------------------------------ fixtures

EKS = "aws:eks/cluster:Cluster"
EKS_NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
GKE = "gcp:container/cluster:Cluster"
GKE_NP = "gcp:container/nodePool:NodePool"
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
AKS_DIAG = "azure-native:monitor:DiagnosticSetting"
DOKS = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DOKS_NP = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
CMD = "command:remote:Command"
PVE = "proxmoxve:index/vm:Vm"
PVE_LEGACY = "proxmoxve:index/vmLegacy:VmLegacy"
DEPLOY = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SVC = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
HELM = "kubernetes:helm.sh/v3:Release"

GOOD_CONTAINER = {
    "name": "app",
    "image": "ghcr.io/stefanprodan/podinfo:6.9.2",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 9898}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 9898}},
    "securityContext": {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
}


def deployment(container: dict[str, Any] | None = None, **pod: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hello", "namespace": "hello"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "hello"}},
            "template": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"containers": [{**GOOD_CONTAINER, **(container or {})}], **pod},
            },
        },
    }


def with_security(**ctx: Any) -> dict[str, Any]:
    return deployment({"securityContext": {**GOOD_CONTAINER["securityContext"], **ctx}})  # type: ignore[dict-item]


def service(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw", "namespace": "gateway", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}], "selector": {"app": "gw"}},
    }


PDB_OBJ = {"metadata": {"namespace": "hello"}, "spec": {"selector": {"matchLabels": {"app": "hello"}}}}

# rule -> (type, passing props, failing props, substring of the failing message, extra kwargs)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], str, dict[str, Any]]] = {
    "eks-api-not-world-open": (
        EKS,
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
        {},
    ),
    "eks-private-endpoint": (
        EKS,
        {"vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}},
        {
            "vpcConfig": {
                "endpointPublicAccess": True,
                "endpointPrivateAccess": True,
                "publicAccessCidrs": ["1.2.3.4/32"],
            }
        },
        "endpointPublicAccess",
        {},
    ),
    "eks-secrets-encryption": (
        EKS,
        {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": UNKNOWN_STRING_VALUE}}},
        {"encryptionConfig": {"resources": ["configmaps"], "provider": {"keyArn": "arn:aws:kms:eu-west-1:1:key/x"}}},
        "secrets",
        {},
    ),
    "eks-control-plane-logging": (
        EKS,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator", "scheduler"]},
        {"enabledClusterLogTypes": ["api"]},
        "audit, authenticator",
        {},
    ),
    "eks-deletion-protection": (
        EKS,
        {"deletionProtection": True},
        {"deletionProtection": False},
        "deletionProtection",
        {},
    ),
    "eks-supported-version": (EKS, {"version": "1.35"}, {"version": "1.29"}, "1.29", {}),
    "eks-node-autoscaling": (
        EKS_NG,
        {"scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 2}},
        {"scalingConfig": {"minSize": 3, "maxSize": 3, "desiredSize": 3}},
        "below maxSize",
        {},
    ),
    "eks-imdsv2": (
        LT,
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        {"metadataOptions": {"httpTokens": "optional"}},
        "httpTokens",
        {},
    ),
    "eks-node-no-ssh": (EKS_NG, {"scalingConfig": {}}, {"remoteAccess": {"ec2SshKey": "ops"}}, "SSH", {}),
    "gke-api-not-world-open": (
        GKE,
        {"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]}},
        {"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]}},
        "0.0.0.0/0",
        {},
    ),
    "gke-private-endpoint": (
        GKE,
        {"privateClusterConfig": {"enablePrivateEndpoint": True, "enablePrivateNodes": True}},
        {"privateClusterConfig": {"enablePrivateNodes": True}},
        "public endpoint",
        {},
    ),
    "gke-private-nodes": (
        GKE,
        {"privateClusterConfig": {"enablePrivateNodes": True}},
        {"privateClusterConfig": {"enablePrivateNodes": False}},
        "enablePrivateNodes",
        {},
    ),
    "gke-secrets-encryption": (
        GKE,
        {"databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}},
        {"databaseEncryption": {"state": "DECRYPTED"}},
        "ENCRYPTED",
        {},
    ),
    "gke-control-plane-logging": (
        GKE,
        {"loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]}},
        {"loggingConfig": {"enableComponents": ["WORKLOADS"]}},
        "APISERVER",
        {},
    ),
    "gke-deletion-protection": (GKE, {"deletionProtection": True}, {"deletionProtection": False}, "deletion", {}),
    "gke-network-policy": (
        GKE,
        {"datapathProvider": "ADVANCED_DATAPATH"},
        {"datapathProvider": "LEGACY_DATAPATH"},
        "NetworkPolicy",
        {},
    ),
    "gke-supported-version": (
        GKE,
        {"minMasterVersion": "1.35.2-gke.1000", "releaseChannel": {"channel": "STABLE"}},
        {"minMasterVersion": "1.28"},
        "1.28",
        {},
    ),
    "gke-no-default-service-account": (
        GKE_NP,
        {"nodeConfig": {"serviceAccount": "nodes@p.iam.gserviceaccount.com"}},
        {"nodeConfig": {"serviceAccount": "123-compute@developer.gserviceaccount.com"}},
        "Compute default",
        {},
    ),
    "gke-workload-identity": (
        GKE_NP,
        {"nodeConfig": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}}},
        {"nodeConfig": {"workloadMetadataConfig": {"mode": "GCE_METADATA"}}},
        "GKE_METADATA",
        {},
    ),
    "gke-node-autoscaling": (
        GKE_NP,
        {"autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 8}, "initialNodeCount": 1},
        {"autoscaling": {"minNodeCount": 1, "maxNodeCount": 5}, "nodeCount": 3},
        "nodeCount",
        {},
    ),
    "gke-no-legacy-auth": (GKE, {"enableLegacyAbac": False}, {"enableLegacyAbac": True}, "enableLegacyAbac", {}),
    "aks-api-not-world-open": (
        AKS,
        {"apiServerAccessProfile": {"authorizedIPRanges": ["198.51.100.0/24"]}},
        {"apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
        {},
    ),
    "aks-private-cluster": (
        AKS,
        {"apiServerAccessProfile": {"enablePrivateCluster": True}},
        {"apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["1.2.3.4/32"]}},
        "enablePrivateCluster",
        {},
    ),
    "aks-secrets-encryption": (
        AKS,
        {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": "https://kv.vault.azure.net/keys/k/1"}}},
        {"securityProfile": {}},
        "azureKeyVaultKms",
        {},
    ),
    "aks-deletion-protection": (AKS, {}, {}, "protect", {"protect": True}),
    "aks-network-policy": (
        AKS,
        {"networkProfile": {"networkPolicy": "cilium"}},
        {"networkProfile": {"networkPolicy": "none"}},
        "networkPolicy",
        {},
    ),
    "aks-supported-version": (AKS, {"kubernetesVersion": "1.36"}, {}, "not set", {}),
    "aks-node-autoscaling": (
        AKS,
        {"agentPoolProfiles": [{"name": "system", "enableAutoScaling": True, "minCount": 2, "maxCount": 3}]},
        {"agentPoolProfiles": [{"name": "system", "count": 3}]},
        "enableAutoScaling",
        {},
    ),
    "aks-no-local-accounts": (
        AKS,
        {"disableLocalAccounts": True, "aadProfile": {"managed": True, "enableAzureRBAC": True}},
        {"disableLocalAccounts": False, "aadProfile": {"managed": True, "enableAzureRBAC": True}},
        "disableLocalAccounts",
        {},
    ),
    "aks-workload-identity": (
        AKS,
        {"oidcIssuerProfile": {"enabled": True}, "securityProfile": {"workloadIdentity": {"enabled": True}}},
        {"oidcIssuerProfile": {"enabled": True}},
        "workloadIdentity",
        {},
    ),
    "doks-api-restricted": (
        DOKS,
        {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": ["203.0.113.7/32"]}},
        {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": ["0.0.0.0/0"]}},
        "0.0.0.0/0",
        {},
    ),
    "doks-ha-control-plane": (DOKS, {"ha": True}, {"ha": False}, "ha", {}),
    "doks-supported-version": (DOKS, {"version": "1.34.1-do.0"}, {"version": "1.31.9-do.2"}, "1.31.9-do.2", {}),
    "doks-node-autoscaling": (
        DOKS_NP,
        {"autoScale": True, "minNodes": 1, "maxNodes": 5},
        {"autoScale": False, "nodeCount": 3},
        "autoScale",
        {},
    ),
    "doks-surge-upgrade": (
        DOKS,
        {"surgeUpgrade": True, "autoUpgrade": True, "maintenancePolicy": {"day": "sunday", "startTime": "03:00"}},
        {"surgeUpgrade": True, "autoUpgrade": True},
        "maintenancePolicy",
        {},
    ),
    "doks-deletion-protection": (DOKS, {}, {}, "protect", {"protect": True}),
    "onprem-k3s-pinned": (
        CMD,
        {"create": "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.35.1+k3s1 sh -s - server"},
        {"create": "curl -sfL https://get.k3s.io | sh -s - server"},
        "INSTALL_K3S_VERSION",
        {},
    ),
    "onprem-vm-deletion-protection": (PVE_LEGACY, {"protection": True}, {"protection": False}, "protect", {}),
    "aks-managed-identity": (
        AKS,
        {"identity": {"type": "SystemAssigned"}},
        {"servicePrincipalProfile": {"clientId": "x", "secret": "s3cr3t"}},
        "identity.type",
        {},
    ),
    "onprem-supported-version": (
        CMD,
        {
            "create": "curl -sfL https://get.k3s.io | sh -s - server",
            "environment": {"INSTALL_K3S_VERSION": "v1.35.1+k3s1"},
        },
        {"create": "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.29.4+k3s1 sh -s - server"},
        "v1.29.4+k3s1",
        {},
    ),
    "onprem-network-policy": (
        CMD,
        {"create": "curl -sfL https://get.k3s.io | sh -s - server --flannel-backend=none --disable-network-policy"},
        {"create": "curl -sfL https://get.k3s.io | sh -s - server --disable-network-policy"},
        "NetworkPolicy",
        {},
    ),
    "k8s-no-default-service-account-token": (
        DEPLOY,
        deployment(automountServiceAccountToken=False),
        deployment(),
        "automountServiceAccountToken",
        {},
    ),
    "k8s-pinned-images": (DEPLOY, deployment(), deployment({"image": "nginx:latest"}), "not pinned", {}),
    "k8s-resource-requests": (
        DEPLOY,
        deployment(),
        deployment({"resources": {"limits": {"memory": "1Gi"}}}),
        "cpu",
        {},
    ),
    "k8s-resource-limits": (
        DEPLOY,
        deployment(),
        deployment({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}),
        "limits.memory",
        {},
    ),
    "k8s-probes": (DEPLOY, deployment(), deployment({"livenessProbe": None}), "livenessProbe", {}),
    "k8s-run-as-non-root": (DEPLOY, deployment(), with_security(runAsNonRoot=False), "root", {}),
    "k8s-read-only-root-filesystem": (
        DEPLOY,
        deployment(),
        with_security(readOnlyRootFilesystem=False),
        "readOnly",
        {},
    ),
    "k8s-no-privilege-escalation": (
        DEPLOY,
        deployment(),
        with_security(allowPrivilegeEscalation=True),
        "allowPrivilegeEscalation",
        {},
    ),
    "k8s-no-privileged": (DEPLOY, deployment(), with_security(privileged=True), "privileged", {}),
    "k8s-no-host-namespaces": (DEPLOY, deployment(), deployment(hostNetwork=True), "hostNetwork", {}),
    "k8s-no-host-path": (
        DEPLOY,
        deployment(volumes=[{"name": "tmp", "emptyDir": {}}]),
        deployment(volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]),
        "docker.sock",
        {},
    ),
    "k8s-public-load-balancer-opt-in": (
        SVC,
        service({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
        service({}),
        "orquestra.io/public",
        {},
    ),
    "k8s-schema-valid": (
        DEPLOY,
        deployment(),
        deployment({"ports": [{"containerPort": "http"}]}),
        "containerPort",
        {},
    ),
    "k8s-helm-chart-pinned": (
        HELM,
        {"chart": "cert-manager", "version": "v1.19.1", "repositoryOpts": {"repo": "https://charts.jetstack.io"}},
        {"chart": "cert-manager", "repositoryOpts": {"repo": "https://charts.jetstack.io"}},
        "no version",
        {},
    ),
}

STACK_CASES: dict[str, tuple[list[Any], list[Any], str]] = {
    "eks-network-policy": (
        [
            (EKS, "eks", {}),
            (
                "aws:eks/addon:Addon",
                "vpc-cni",
                {"addonName": "vpc-cni", "configurationValues": '{"enableNetworkPolicy": "true"}'},
                ["eks"],
            ),
        ],
        [(EKS, "eks", {}), ("aws:eks/addon:Addon", "vpc-cni", {"addonName": "vpc-cni"}, ["eks"])],
        "enableNetworkPolicy",
    ),
    "aks-control-plane-logging": (
        [
            (AKS, "aks", {}),
            (AKS_DIAG, "audit", {"logs": [{"category": "kube-audit-admin", "enabled": True}]}, ["aks"]),
        ],
        [(AKS, "aks", {}), (AKS_DIAG, "metrics", {"logs": [{"category": "kube-apiserver", "enabled": True}]}, ["aks"])],
        "kube-audit",
    ),
    "onprem-secrets-encryption": (
        [(CMD, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server --secrets-encryption"})],
        [(CMD, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"})],
        "secrets-encryption",
    ),
    "onprem-audit-logging": (
        [
            (CMD, "config", {"create": "printf 'kube-apiserver-arg:\\n  - audit-log-path=/var/log/k3s-audit.log\\n'"}),
            (CMD, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"}),
        ],
        [(CMD, "server", {"create": "curl -sfL https://get.k3s.io | sh -s - server"})],
        "audit-log-path",
    ),
    "k8s-pod-disruption-budget": (
        [(DEPLOY, "hello", deployment()), (PDB, "hello", PDB_OBJ)],
        [(DEPLOY, "hello", deployment()), (PDB, "other", {**PDB_OBJ, "metadata": {"namespace": "other"}})],
        "PodDisruptionBudget",
    ),
    "k8s-min-replicas": (
        [
            (DEPLOY, "hello", {**deployment(), "spec": {**deployment()["spec"], "replicas": None}}),
            (
                HPA,
                "hello",
                {
                    "metadata": {"namespace": "hello"},
                    "spec": {"minReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "hello"}},
                },
            ),
        ],
        [(DEPLOY, "hello", {**deployment(), "spec": {**deployment()["spec"], "replicas": 1}})],
        "at least 2",
    ),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) | set(STACK_CASES) == set(BY_NAME)
    assert len(BY_NAME) >= 35


@pytest.mark.parametrize("rule", sorted(CASES))
def test_resource_rule_passes_and_fails(rule: str) -> None:
    type_, good, bad, expected, kwargs = CASES[rule]
    assert check(rule, type_, good, **kwargs) == []
    protect = kwargs.get("protect")
    bad_kwargs = {**kwargs, "protect": False} if protect else kwargs
    messages = check(rule, type_, bad, **bad_kwargs)
    assert messages, f"{rule} accepted {bad}"
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("rule", sorted(STACK_CASES))
def test_stack_rule_passes_and_fails(rule: str) -> None:
    good, bad, expected = STACK_CASES[rule]
    assert check_stack(rule, good) == []
    messages = check_stack(rule, bad)
    assert messages and any(expected in m for m in messages), messages


def test_rules_ignore_other_types() -> None:
    assert check("eks-private-endpoint", GKE, {"vpcConfig": {"endpointPublicAccess": True}}) == []


def test_eks_default_public_endpoint_is_world_open() -> None:
    # Unset endpointPublicAccess means public, and unset publicAccessCidrs means 0.0.0.0/0.
    assert check("eks-api-not-world-open", EKS, {}) != []
    assert check("eks-api-not-world-open", EKS, {"vpcConfig": {"endpointPublicAccess": False}}) == []


def test_prod_only_rules_pass_in_dev() -> None:
    assert check("eks-deletion-protection", EKS, {}, env="dev") == []
    assert check("eks-deletion-protection", EKS, {}, env="prod") != []
    one = [(DEPLOY, "hello", {**deployment(), "spec": {**deployment()["spec"], "replicas": 1}})]
    assert check_stack("k8s-min-replicas", one, env="staging") == []


def test_a_proxmox_vm_is_protected_by_the_resource_option() -> None:
    assert check("onprem-vm-deletion-protection", PVE, {"name": "k3s-server-0"}, protect=True) == []
    assert check("onprem-vm-deletion-protection", PVE, {"name": "k3s-server-0"}) != []


def test_gke_dns_only_control_plane_counts_as_private() -> None:
    dns_only = {
        "controlPlaneEndpointsConfig": {
            "ipEndpointsConfig": {"enabled": False},
            "dnsEndpointConfig": {"allowExternalTraffic": False},
        }
    }
    assert check("gke-private-endpoint", GKE, dns_only) == []
    assert check("gke-api-not-world-open", GKE, dns_only) == []
    dns_only["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] = True
    assert check("gke-private-endpoint", GKE, dns_only) != []


def test_gke_release_channel_stands_in_for_a_pinned_version() -> None:
    assert check("gke-supported-version", GKE, {"releaseChannel": {"channel": "REGULAR"}}) == []
    assert check("gke-supported-version", GKE, {}) != []


def test_job_needs_no_probes() -> None:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox:1.37"}]}}}}
    assert check("k8s-probes", JOB, job) == []
    assert check("k8s-pinned-images", JOB, job) == []


def test_public_load_balancer_with_explicit_opt_in_passes() -> None:
    assert check("k8s-public-load-balancer-opt-in", SVC, service({"orquestra.io/public": "true"})) == []
    cluster_ip = {"spec": {"type": "ClusterIP"}}
    assert check("k8s-public-load-balancer-opt-in", SVC, cluster_ip) == []


def test_schema_messages_never_echo_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app"},
        "type": "Opaque",
        "stringData": {"password": ["hunter2-not-a-string"]},
    }
    messages = check("k8s-schema-valid", "kubernetes:core/v1:Secret", secret)
    assert messages and "stringData.password" in messages[0]
    assert "hunter2" not in " ".join(messages)
    typo = check("k8s-schema-valid", DEPLOY, deployment({"imagePullPolicy": "Always", "imagePolicy": "x"}))
    assert typo and "'imagePolicy' was unexpected" in typo[0]


def test_schema_follows_the_cluster_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # flowcontrol v1beta3 was removed in Kubernetes 1.32: valid on a 1.31 cluster, not on 1.35.
    fs = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "x"},
        "spec": {"priorityLevelConfiguration": {"name": "global-default"}},
    }
    clusters = [
        {"name": "old", "target": "existing", "kubernetesVersion": "1.31"},
        {"name": "new", "target": "aws"},
    ]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"orquestra:clusters": json.dumps(clusters)}))
    old = check(
        "k8s-schema-valid", "kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", fs, provider="old-k8s"
    )
    new = check(
        "k8s-schema-valid", "kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", fs, provider="new-k8s"
    )
    assert old == []
    assert new and "does not exist in Kubernetes 1.35" in new[0]


@pytest.mark.parametrize(
    ("rule", "type_", "props", "path"),
    [
        (
            "eks-private-endpoint",
            EKS,
            {"vpcConfig": {"endpointPublicAccess": UNKNOWN_BOOLEAN_VALUE}},
            "vpcConfig.endpointPublicAccess",
        ),
        (
            "eks-api-not-world-open",
            EKS,
            {"vpcConfig": {"publicAccessCidrs": [UNKNOWN_STRING_VALUE]}},
            "vpcConfig.publicAccessCidrs[0]",
        ),
        ("k8s-pinned-images", DEPLOY, deployment({"image": UNKNOWN_STRING_VALUE}), "image"),
        ("aks-supported-version", AKS, {"kubernetesVersion": UNKNOWN_STRING_VALUE}, "kubernetesVersion"),
    ],
)
def test_unknown_values_are_reported_not_passed(rule: str, type_: str, props: dict[str, Any], path: str) -> None:
    with pytest.raises(UnknownValueError) as info:
        check(rule, type_, props)
    assert "cannot be checked during preview" in info.value.message
    assert info.value.message.endswith(f"{path} is unknown")


def test_stack_rule_reports_what_it_can_and_names_what_it_cannot() -> None:
    pending = deployment()
    pending["spec"]["template"]["metadata"]["labels"] = UNKNOWN_OBJECT_VALUE
    messages: list[str] = []
    with pytest.raises(UnknownValueError) as info:
        check_stack(
            "k8s-pod-disruption-budget",
            [(DEPLOY, "pending", pending), (DEPLOY, "plain", deployment())],
            messages=messages,
        )
    assert messages == ["plain: no PodDisruptionBudget selects its pods"]
    assert info.value.message == (
        "cannot be checked during preview: spec.template.metadata.labels is unknown (Deployment pending)"
    )


def test_an_unknown_hpa_leaves_replicas_undecided() -> None:
    hpa = {"metadata": {"namespace": "hello"}, "spec": {"minReplicas": UNKNOWN_NUMBER_VALUE, "scaleTargetRef": {}}}
    one = {**deployment(), "spec": {**deployment()["spec"], "replicas": None}}
    with pytest.raises(UnknownValueError, match=r"spec.minReplicas is unknown \(HorizontalPodAutoscaler h\)"):
        check_stack("k8s-min-replicas", [(DEPLOY, "hello", one), (HPA, "h", hpa)])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_pack_configs_match_the_rules(env: str) -> None:
    shipped = json.loads((CONFIG_DIR / f"{env}.json").read_text())
    assert shipped == pack_config(env)  # type: ignore[arg-type]


def test_prod_makes_lockdown_mandatory_and_dev_advisory() -> None:
    dev, prod = pack_config("dev"), pack_config("prod")
    for rule in RULES:
        if rule.tier == "lockdown":
            assert dev[rule.name]["enforcementLevel"] == "advisory"
            assert prod[rule.name]["enforcementLevel"] == "mandatory"
    assert prod["eks-private-endpoint"]["enforcementLevel"] == "mandatory"
    assert dev["k8s-no-host-path"]["enforcementLevel"] == "mandatory"
    assert all(TIERS[r.tier][2] != "disabled" for r in RULES)


def test_policies_declare_environment_in_their_config_schema() -> None:
    for rule in RULES:
        schema = rule.policy("dev").config_schema
        assert schema is not None and schema.properties["environment"]["enum"] == list(ENVIRONMENTS)


Checker = Callable[..., list[str]]


@pytest.mark.parametrize(
    ("rule", "type_", "props"),
    [
        ("eks-api-not-world-open", EKS, {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": "{}"}}),
        ("aks-api-not-world-open", AKS, {"apiServerAccessProfile": {"authorizedIPRanges": "{}"}}),
        ("doks-api-restricted", DOKS, {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": "{}"}}),
    ],
)
def test_ranges_that_together_cover_the_internet_are_world_open(rule: str, type_: str, props: dict[str, Any]) -> None:
    def with_ranges(ranges: list[str]) -> dict[str, Any]:
        return json.loads(json.dumps(props).replace('"{}"', json.dumps(ranges)))

    messages = check(rule, type_, with_ranges(["0.0.0.0/1", "128.0.0.0/1"]))
    assert len(messages) == 1 and "0.0.0.0/1 + 128.0.0.0/1" in messages[0], messages
    assert check(rule, type_, with_ranges(["0.0.0.0/1", "128.0.0.0/2"])) == []
    assert check(rule, type_, with_ranges(["203.0.113.0/24", "::/1", "8000::/1"])) != []
