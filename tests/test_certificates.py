"""Every shipped stack's setup can issue the Gateway's certificates, on every cloud.

A certificate is issued only if the ClusterIssuer the Gateway names can prove the names: HTTP-01 needs a public
Gateway whose HTTP listener admits the solver's route; DNS-01 needs the target's solver for a zone that holds every
listener's host, and an identity (or a token) that cert-manager actually runs with; without ACME, the cluster's own
CA chain must be complete. Solver fields: https://cert-manager.io/docs/configuration/acme/dns01/
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components import spec
from components.cluster import KubernetesCluster
from components.spec import in_zone
from components.targets import REGISTRY
from components.workloads import charts
from components.workloads.platform import GATEWAY_ACCESS_LABEL, GATEWAY_NAME, PUBLIC_OPT_IN
from preflight import answers, engine, stackconfig
from preflight.engine import Plan, Registration
from tests.harness import Built, build_stack

ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
STACKS = stackconfig.stacks(engine.PROJECT_DIR)


def named(plan: Plan, type_: str, name: str) -> Registration:
    (reg,) = [r for r in plan.resources(type_) if r.name == name]
    return reg


def cert_manager_values(plan: Plan, cluster: str) -> dict[str, Any]:
    values: dict[str, Any] = named(plan, "kubernetes:helm.sh/v3:Release", f"{cluster}-cert-manager").plain["values"]
    return values


def check_http01(plan: Plan, cluster: str, solver: dict[str, Any]) -> None:
    (parent,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    gateway = named(plan, GATEWAY, f"{cluster}-gateway").plain
    assert (parent["name"], parent["namespace"]) == (GATEWAY_NAME, gateway["metadata"]["namespace"])
    listener = next(ln for ln in gateway["spec"]["listeners"] if ln["name"] == parent["sectionName"])
    assert (listener["protocol"], listener["port"]) == ("HTTP", 80)
    namespace = named(plan, "kubernetes:core/v1:Namespace", f"{cluster}-gateway-namespace").plain["metadata"]
    assert listener["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == {GATEWAY_ACCESS_LABEL: GATEWAY_NAME}
    assert namespace["labels"][GATEWAY_ACCESS_LABEL] == GATEWAY_NAME
    # Let's Encrypt must reach it: the proxies' Service is public.
    proxy = named(plan, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", f"{cluster}-envoy-proxy").plain
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"][PUBLIC_OPT_IN] == "true"


def check_route53(plan: Plan, cluster: str, dns01: dict[str, Any], zone: str) -> None:
    zone_id = dns01["route53"]["hostedZoneID"]
    (policy,) = [
        json.loads(p.plain["policy"])
        for p in plan.resources("aws:iam/rolePolicy:RolePolicy")
        if p.name == f"{cluster}-cert-manager-policy"
    ]
    writes = [st for st in policy["Statement"] if "route53:ChangeResourceRecordSets" in st["Action"]]
    assert [st["Resource"] for st in writes] == [f"arn:aws:route53:::hostedzone/{zone_id}"]
    associations = {
        a.plain["serviceAccount"] for a in plan.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    annotations = cert_manager_values(plan, cluster)["serviceAccount"]["annotations"]
    assert "cert-manager" in associations or "eks.amazonaws.com/role-arn" in annotations


def check_route53_key(plan: Plan, cluster: str, dns01: dict[str, Any], zone: str) -> None:
    """A cluster with no cloud identity: an access key in a Secret, of a user that may only write challenges."""
    route53 = dns01["route53"]
    refs = (route53["accessKeyIDSecretRef"], route53["secretAccessKeySecretRef"])
    (name,) = {ref["name"] for ref in refs}
    secret = named(plan, "kubernetes:core/v1:Secret", f"{cluster}-{name}")
    assert secret.plain["metadata"] == {"name": name, "namespace": charts.CERT_MANAGER.namespace}
    assert isinstance(secret.inputs["stringData"], engine.Secret)
    assert {ref["key"] for ref in refs} == set(secret.plain["stringData"])
    assert secret.urn in named(plan, ISSUER, f"{cluster}-cluster-issuer").dependencies
    key = named(plan, "aws:iam/accessKey:AccessKey", f"{cluster}-acme-dns-key")
    user = named(plan, "aws:iam/user:User", f"{cluster}-acme-dns")
    grant = named(plan, "aws:iam/userPolicy:UserPolicy", f"{cluster}-acme-dns")
    assert user.urn in key.dependencies and user.urn in grant.dependencies
    # The key reaches cert-manager's Secret, and only after the user's policy exists.
    assert key.urn in secret.dependencies and grant.urn in key.dependencies
    policy = json.loads(grant.plain["policy"])
    writes = [st for st in policy["Statement"] if "route53:ChangeResourceRecordSets" in st["Action"]]
    assert [st["Resource"] for st in writes] == [f"arn:aws:route53:::hostedzone/{route53['hostedZoneID']}"]
    (condition,) = [st["Condition"]["ForAllValues:StringEquals"] for st in writes]
    hosts = [
        ln["hostname"]
        for ln in named(plan, GATEWAY, f"{cluster}-gateway").plain["spec"]["listeners"]
        if "hostname" in ln
    ]
    names = condition["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert sorted(names) == sorted(f"_acme-challenge.{h}" for h in hosts)
    assert condition["route53:ChangeResourceRecordSetsRecordTypes"] == ["TXT"]


def check_cloud_dns(plan: Plan, cluster: str, dns01: dict[str, Any], zone: str) -> None:
    values = cert_manager_values(plan, cluster)
    email = values["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"]
    project = dns01["cloudDNS"]["project"]
    (binding,) = [
        r.plain
        for r in plan.resources("gcp:serviceaccount/iAMMember:IAMMember")
        if r.plain["serviceAccountId"].endswith(f"/{email}")
    ]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == f"serviceAccount:{project}.svc.id.goog[cert-manager/cert-manager]"
    roles = {r.id: r.plain for r in plan.resources("gcp:projects/iAMCustomRole:IAMCustomRole")}
    (grant,) = [
        r.plain
        for r in plan.resources("gcp:projects/iAMMember:IAMMember")
        if r.plain["member"] == f"serviceAccount:{email}"
    ]
    assert grant["project"] == project
    # Letters, digits, "_" and "." only: https://cloud.google.com/iam/docs/creating-custom-roles#naming_the_role
    assert re.fullmatch(r"[A-Za-z0-9_.]{3,64}", grant["role"].rsplit("/", 1)[1])
    permissions = set(roles[grant["role"]]["permissions"])
    assert {"dns.resourceRecordSets.create", "dns.resourceRecordSets.delete", "dns.changes.get"} <= permissions
    assert not {p for p in permissions if p.startswith("dns.managedZones.") and p != "dns.managedZones.list"}


def check_azure_dns(plan: Plan, cluster: str, dns01: dict[str, Any], zone: str) -> None:
    azure = dns01["azureDNS"]
    assert azure["hostedZoneName"] == zone and azure["environment"] == "AzurePublicCloud"
    values = cert_manager_values(plan, cluster)
    client_id = values["serviceAccount"]["annotations"]["azure.workload.identity/client-id"]
    assert azure["managedIdentity"] == {"clientID": client_id}
    # AKS's webhook projects the token only into pods that carry this label.
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}
    computed = {
        r.urn: answers.resource_outputs(r.type, r.name, r.plain, plan.stack)
        for r in plan.resources("azure-native:managedidentity:UserAssignedIdentity")
    }
    (identity,) = [
        r
        for r in plan.resources("azure-native:managedidentity:UserAssignedIdentity")
        if computed[r.urn]["clientId"] == client_id
    ]
    (federation,) = [
        r.plain
        for r in plan.resources("azure-native:managedidentity:FederatedIdentityCredential")
        if r.plain["resourceName"] == identity.plain["resourceName"]
    ]
    assert federation["subject"] == "system:serviceaccount:cert-manager:cert-manager"
    (grant,) = [
        r.plain
        for r in plan.resources("azure-native:authorization:RoleAssignment")
        if r.plain["principalId"] == computed[identity.urn]["principalId"]
    ]
    assert grant["roleDefinitionId"].endswith("/befefa01-2a29-4197-83a8-272ff33ce314")  # DNS Zone Contributor
    assert grant["scope"] == (
        f"/subscriptions/{azure['subscriptionID']}/resourceGroups/{azure['resourceGroupName']}"
        f"/providers/Microsoft.Network/dnsZones/{zone}"
    )


def check_digitalocean(plan: Plan, cluster: str, dns01: dict[str, Any], zone: str) -> None:
    ref = dns01["digitalocean"]["tokenSecretRef"]
    secret = named(plan, "kubernetes:core/v1:Secret", f"{cluster}-{ref['name']}")
    assert secret.plain["metadata"] == {"name": ref["name"], "namespace": charts.CERT_MANAGER.namespace}
    assert isinstance(secret.inputs["stringData"], engine.Secret)
    assert secret.urn in named(plan, ISSUER, f"{cluster}-cluster-issuer").dependencies


DNS01_CHECKS = {
    "route53": check_route53,
    "cloudDNS": check_cloud_dns,
    "azureDNS": check_azure_dns,
    "digitalocean": check_digitalocean,
}


def check_issuance(built: Built, cluster: KubernetesCluster[Any]) -> str:
    """How this cluster's Gateway gets certificates ('http01', 'dns01' or 'internal-ca'), failing if it cannot."""
    plan, name, platform = built.plan, cluster.spec.name, cluster.spec.platform
    gateway = named(plan, GATEWAY, f"{name}-gateway").plain
    hosts = [ln["hostname"] for ln in gateway["spec"]["listeners"] if "hostname" in ln]
    issuer_name = gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    issuer = named(plan, ISSUER, f"{name}-cluster-issuer").plain
    assert issuer["metadata"]["name"] == issuer_name
    if "ca" in issuer["spec"]:
        root = named(plan, "kubernetes:cert-manager.io/v1:Certificate", f"{name}-internal-ca").plain
        assert root["spec"]["isCA"] and root["spec"]["secretName"] == issuer["spec"]["ca"]["secretName"]
        assert root["metadata"]["namespace"] == charts.CERT_MANAGER.namespace
        self_signed = named(plan, ISSUER, f"{name}-self-signed-issuer").plain
        assert self_signed["metadata"]["name"] == root["spec"]["issuerRef"]["name"]
        return "internal-ca"
    (solver,) = issuer["spec"]["acme"]["solvers"]
    if "http01" in solver:
        assert platform.gateway.public, "HTTP-01 only where Let's Encrypt can reach the Gateway"
        check_http01(plan, name, solver)
        return "http01"
    (zone,) = solver["selector"]["dnsZones"]
    assert all(in_zone(h, zone) for h in hosts), hosts
    (kind,) = solver["dns01"]
    if platform.cert_manager.dns01 is not None:
        assert (zone, kind) == (platform.cert_manager.dns01.zone, platform.cert_manager.dns01.provider)
        check_route53_key(plan, name, solver["dns01"], zone)
        return "dns01"
    assert zone == platform.dns.zone
    assert kind == REGISTRY[cluster.spec.target].acme_dns01
    DNS01_CHECKS[kind](plan, name, solver["dns01"], zone)
    return "dns01"


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_can_issue_the_gateways_certificates(stack: str) -> None:
    built = build_stack(stack)
    assert built.plan.ok, built.plan.errors
    for cluster in built.clusters.values():
        platform = cluster.spec.platform
        if platform.gateway.enabled and platform.cert_manager.enabled:
            check_issuance(built, cluster)


@pytest.mark.parametrize(
    ("stack", "cluster"),
    [
        ("prod-aws", "eks-prod"),
        ("staging-aws", None),
        ("prod-gcp", "gke-prod"),
        ("prod-azure", "weu-prod"),
        ("prod-do", "shop-fra"),
        ("hybrid", "dc1"),
    ],
)
def test_an_internal_gateway_on_each_cloud_proves_names_by_dns01(stack: str, cluster: str | None) -> None:
    built = build_stack(stack)
    (only,) = [c for name, c in built.clusters.items() if cluster in (None, name)]
    assert not only.spec.platform.gateway.public
    assert check_issuance(built, only) == "dns01"


def test_every_dns01_solver_of_the_registry_is_checked() -> None:
    assert {t.acme_dns01 for t in REGISTRY.values() if t.acme_dns01} == set(DNS01_CHECKS)


def test_a_solver_without_its_identity_fails_the_check() -> None:
    """The check above is not vacuous: drop cert-manager's identity and it fails."""
    built = build_stack("prod-gcp")
    plan = built.plan
    kept = [r for r in plan.registrations if r.name != "gke-prod-cert-manager-dns"]
    stripped = engine.Plan(plan.stack, kept, plan.stack_outputs, plan.invokes, plan.errors, plan.warnings)
    with pytest.raises(ValueError):
        check_issuance(Built(stripped, built.clusters), built.clusters["gke-prod"])


@pytest.mark.parametrize(
    ("cluster", "line"),
    [
        (
            {"target": "azure", "region": "westeurope"},
            "orquestra:clusters[0].dnsResourceGroup: null; allowed: the resource group of the Azure DNS zone",
        ),
        (
            {"target": "digitalocean", "region": "fra1"},
            "orquestra:clusters[0].dnsToken: null; allowed: a DigitalOcean API token that may edit the domain",
        ),
    ],
)
def test_a_zone_without_what_its_solver_needs_is_a_spec_error(cluster: dict[str, Any], line: str) -> None:
    zone = {"platform": {"dns": {"zone": "example.com"}}, "apiAccess": {"publicCidrs": ["203.0.113.0/24"]}}
    with pytest.raises(spec.SpecError) as info:
        spec.parse({"clusters": [{"name": "c1", **cluster, **zone}]})
    assert [p for p in info.value.problems if p.startswith(line)], info.value.problems
