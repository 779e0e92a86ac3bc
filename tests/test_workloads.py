"""The platform services and service workloads, on `existing` and through any target's capabilities."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest

from components import pins, spec
from components.targets import REGISTRY
from components.workloads import charts
from preflight import admission, engine, render, stackconfig, validate
from preflight.engine import Plan, Registration
from tests.harness import plan_spec, plan_stack

PODINFO = "ghcr.io/stefanprodan/podinfo:6.9.2"


def existing(**over: Any) -> dict[str, Any]:
    return {"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig", **over}


def workload(**over: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "image": PODINFO,
        "clusters": ["lab"],
        "port": 9898,
        "expose": {"host": "web.example.com"},
        **over,
    }


def plan_env(env: str, cluster: dict[str, Any] | None = None, workloads: list[dict[str, Any]] | None = None) -> Plan:
    plan = plan_spec(
        {
            "environment": env,
            "clusters": [cluster or existing()],
            "workloads": [workload()] if workloads is None else workloads,
        },
        stack=f"workloads-{env}",
    )
    assert plan.ok, plan.errors
    return plan


def releases(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.plain["name"]: r.plain for r in plan.resources("kubernetes:helm.sh/v3:Release")}


def kube_objects(plan: Plan) -> list[Registration]:
    return [
        r for r in plan.registrations if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release"
    ]


# -------------------------------------------------------------------- schemas


def _validate_plan(plan: Plan) -> int:
    """Every Kubernetes object the program registers, validated as its cluster's API server would."""
    result = admission.review(plan)
    program = [r for r in result.rejections if not r.subject.startswith("release ")]
    assert [r.line() for r in program] == []
    return sum(len(c.objects) for c in result.clusters)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_rendered_object_is_valid_for_the_cluster_version(env: str) -> None:
    plan = plan_env(
        env, existing(kubernetesVersion="1.33", loadBalancer="metallb", loadBalancerPool=["10.9.0.10-10.9.0.20"])
    )
    assert {c.minor for c in admission.review(plan).clusters} == {"1.33"}
    assert _validate_plan(plan) >= 12


@pytest.mark.parametrize("stack", stackconfig.stacks(engine.PROJECT_DIR))
def test_every_object_of_every_shipped_stack_is_valid(stack: str) -> None:
    plan = plan_stack(stack)
    versions = {
        c["name"]: str(c.get("kubernetesVersion") or REGISTRY[c["target"]].default_version)
        for c in stackconfig.load(engine.PROJECT_DIR, stack).values["orquestra:clusters"]
    }
    # A tanzu cluster's objects also reach its Supervisor (the Cluster API objects), a cluster of its own here.
    management = {
        f"{c['name']}-supervisor": versions[c["name"]]
        for c in stackconfig.load(engine.PROJECT_DIR, stack).values["orquestra:clusters"]
        if c["target"] == "tanzu"
    }
    clusters = admission.review(plan).clusters
    assert {c.name: c.minor for c in clusters} == {**versions, **management}
    assert all(c.objects for c in clusters)
    assert _validate_plan(plan) == len(kube_objects(plan))


def test_validation_catches_a_broken_object() -> None:
    plan = plan_env("dev")
    deployment = render.manifest(plan.one("kubernetes:apps/v1:Deployment"))
    assert validate.builtin(deployment, "1.35") == []
    deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailble"] = 0
    problems = validate.builtin(deployment, "1.35")
    assert problems and problems[0].field == "spec.strategy.rollingUpdate"


# ----------------------------------------------------------- service workload


@pytest.mark.parametrize(("env", "min_replicas", "max_replicas"), [("dev", 1, 3), ("prod", 3, 12)])
def test_deployment_rolls_out_without_downtime_and_runs_locked_down(
    env: str, min_replicas: int, max_replicas: int
) -> None:
    plan = plan_env(env)
    d = plan.one("kubernetes:apps/v1:Deployment", "lab-web-deployment")
    spec = d.plain["spec"]
    assert d.ignore_changes == ["spec.replicas"], "the HPA owns the replica count"
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == PODINFO
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert c["resources"]["limits"]["memory"] == "128Mi"
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False
    assert [t["topologyKey"] for t in pod["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    # A tainted system pool's nodes do not count as empty domains the pods would have to even out with.
    assert all(t["nodeTaintsPolicy"] == "Honor" for t in pod["topologySpreadConstraints"])
    hpa = plan.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").plain["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (min_replicas, max_replicas)
    assert {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]} == {
        "cpu": 70,
        "memory": 80,
    }
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget").plain["spec"]
    # Prod's exposed workload is a canary: its budget covers the primary's pods too (tests/test_rollout.py).
    pods = {"orquestra.io/workload": "web"} if env == "prod" else {"app.kubernetes.io/name": "web"}
    assert pdb == (
        {"selector": {"matchLabels": pods}, "minAvailable": 1}
        if min_replicas > 1
        else {"selector": {"matchLabels": pods}, "maxUnavailable": 1}
    )


def test_namespace_enforces_the_restricted_pod_security_standard() -> None:
    ns = plan_env("dev").one("kubernetes:core/v1:Namespace", "lab-web").plain
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["metadata"]["labels"]["orquestra.io/gateway"] == "shared"


def test_exposed_workload_gets_a_route_on_the_shared_gateway_and_a_certificate_listener() -> None:
    # A rolling workload's own route; a canary's is Flagger's (tests/test_rollout.py).
    accepted = [{"rule": "unanalysed-rollout", "reason": "the route's own objects are what this test reads"}]
    plan = plan_env("prod", workloads=[workload(rollout={"strategy": "rolling"}, acceptedRisks=accepted)])
    route = plan.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "lab-web-route")
    gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", "lab-gateway")
    assert gateway.urn in route.dependencies
    spec = route.plain["spec"]
    assert spec["hostnames"] == ["web.example.com"]
    assert spec["rules"][0]["backendRefs"] == [{"name": "web", "port": 80}]
    assert {p["sectionName"] for p in spec["parentRefs"]} == {"http", "https-web"}
    listeners = {lst["name"]: lst for lst in gateway.plain["spec"]["listeners"]}
    assert listeners["https-web"]["hostname"] == "web.example.com"
    assert listeners["https-web"]["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "web-tls"}]
    assert gateway.plain["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "orquestra-internal-ca"}
    netpol = plan.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain["spec"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}} in netpol[
        "ingress"
    ][0]["from"]


def test_workloads_sharing_a_namespace_share_one_namespace_object() -> None:
    plan = plan_env(
        "dev",
        workloads=[workload(namespace="shop"), workload(name="worker", namespace="shop", expose=None)],
    )
    (ns,) = [n for n in plan.resources("kubernetes:core/v1:Namespace") if n.name != "lab-gateway-namespace"]
    assert ns.plain["metadata"]["name"] == "shop"
    assert ns.plain["metadata"]["labels"]["orquestra.io/gateway"] == "shared", "one of them is exposed"
    for d in plan.resources("kubernetes:apps/v1:Deployment"):
        assert d.plain["metadata"]["namespace"] == "shop" and ns.urn in d.dependencies


def test_unexposed_workload_has_no_route_and_admits_only_its_namespace() -> None:
    plan = plan_env("dev", workloads=[workload(expose=None)])
    assert plan.resources("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == []
    assert plan.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain["spec"]["ingress"][0]["from"] == [
        {"podSelector": {}}
    ]
    assert "orquestra.io/gateway" not in plan.one("kubernetes:core/v1:Namespace", "lab-web").plain["metadata"]["labels"]


def test_every_workload_object_goes_through_the_cluster_provider_after_its_namespace() -> None:
    plan = plan_env("dev")
    ns = plan.one("kubernetes:core/v1:Namespace", "lab-web")
    component = plan.one("orquestra:workloads:Service", "lab-web")
    for reg in plan.children(component):
        assert reg.provider.split("::")[3] == "lab-k8s" or reg.provider.split("::")[-2] == "lab-k8s"
        if reg.urn != ns.urn:
            assert ns.urn in reg.dependencies, reg.name


def test_cloud_identity_on_a_target_without_one_fails_in_one_line() -> None:
    plan = plan_spec({"clusters": [existing()], "workloads": [workload(cloudIdentity=True)]})
    assert not plan.ok
    assert plan.errors[0] == (
        "orquestra:workloads[0].cloudIdentity: true; allowed: false: cluster 'lab' (existing) gives pods "
        "no cloud identity (targets that do: aws, azure, gcp, oci)"
    )
    assert [r.type for r in plan.registrations] == ["pulumi:pulumi:Stack"]


# ------------------------------------------------------------------ platform


def test_charts_are_pinned_to_a_repository_and_a_version() -> None:
    for chart in charts.ALL.values():
        assert chart.version and chart.version != "latest"
        assert chart.repo or chart.chart.startswith("oci://")
    plan = plan_env("dev")
    for r in releases(plan).values():
        assert r["version"] and (r.get("repositoryOpts", {}).get("repo") or r["chart"].startswith("oci://"))
        assert r["atomic"] is True


def test_dev_platform_is_single_replica_and_prod_is_highly_available() -> None:
    dev, prod = releases(plan_env("dev")), releases(plan_env("prod"))
    assert set(dev) == {"gateway-crds", "envoy-gateway", "cert-manager", "metrics-server"}
    assert dev["envoy-gateway"]["values"]["deployment"]["replicas"] == 1
    assert prod["envoy-gateway"]["values"]["deployment"]["replicas"] == 2
    assert prod["envoy-gateway"]["values"]["podDisruptionBudget"] == {"minAvailable": 1}
    assert dev["cert-manager"]["values"]["replicaCount"] == 1
    assert prod["cert-manager"]["values"]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert prod["metrics-server"]["values"]["replicas"] == 2
    for values in (prod["cert-manager"]["values"], prod["metrics-server"]["values"]):
        assert values["resources"]["requests"] and values["resources"]["limits"]["memory"]


def test_gateway_api_is_the_standard_channel_and_ingress_nginx_is_not_installed() -> None:
    rel = releases(plan_env("dev"))
    assert rel["gateway-crds"]["values"]["crds"]["gatewayAPI"] == {"enabled": True, "channel": "standard"}
    assert rel["envoy-gateway"]["skipCrds"] is True
    assert not any("ingress-nginx" in r["chart"] for r in rel.values())


def test_local_clusters_trust_self_signed_kubelets_only_when_told() -> None:
    assert releases(plan_env("dev"))["metrics-server"]["values"]["args"] == ["--kubelet-insecure-tls"]
    strict = releases(plan_env("dev", existing(selfSignedKubelet=False)))
    assert strict["metrics-server"]["values"]["args"] == []


def test_gateway_is_internal_by_default_and_public_only_by_opt_in() -> None:
    def service(cluster: dict[str, Any]) -> dict[str, Any]:
        proxy = plan_env("prod", cluster).one("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
        return proxy.plain["spec"]["provider"]["kubernetes"]["envoyService"]

    pool = {"loadBalancer": "metallb", "loadBalancerPool": ["10.9.0.10-10.9.0.20"]}
    internal = service(existing(**pool))
    assert internal["type"] == "LoadBalancer"
    assert internal["annotations"] == {"metallb.io/address-pool": "lab-pool"}
    public = service(existing(**pool, platform={"gateway": {"public": True}}))
    assert public["annotations"]["orquestra.io/public"] == "true"
    assert service(existing())["type"] == "NodePort", "no load balancer on this cluster: a NodePort"


def test_metallb_is_installed_with_the_pool_only_where_no_cloud_lb_exists() -> None:
    plan = plan_env("dev", existing(loadBalancer="metallb", loadBalancerPool=["10.9.0.10-10.9.0.20"]))
    assert "metallb" in releases(plan)
    pool = plan.one("kubernetes:metallb.io/v1beta1:IPAddressPool")
    assert pool.plain["spec"] == {"addresses": ["10.9.0.10-10.9.0.20"], "autoAssign": False}
    assert plan.one("kubernetes:metallb.io/v1beta1:L2Advertisement").plain["spec"]["ipAddressPools"] == ["lab-pool"]
    assert "metallb" not in releases(plan_env("dev"))


def test_components_switch_off_from_the_spec() -> None:
    off = {"gateway": {"enabled": False}, "certManager": {"enabled": False}, "metricsServer": False}
    plan = plan_env("dev", existing(platform=off))
    assert releases(plan) == {}
    assert plan.resources("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == []


PUBLIC = {"loadBalancer": "metallb", "loadBalancerPool": ["10.9.0.10-10.9.0.20"]}


ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


@pytest.mark.parametrize(
    ("environment", "cert_manager", "name", "server"),
    [
        ("dev", {}, "letsencrypt-staging", STAGING),
        ("staging", {}, "letsencrypt-staging", STAGING),
        ("prod", {}, "letsencrypt-production", PRODUCTION),
        ("prod", {"acmeServer": "staging"}, "letsencrypt-staging", STAGING),
        ("dev", {"acmeServer": "production"}, "letsencrypt-production", PRODUCTION),
    ],
)
def test_the_acme_issuer_is_production_in_prod_and_staging_elsewhere_unless_the_stack_says(
    environment: str, cert_manager: dict[str, str], name: str, server: str
) -> None:
    platform = {"gateway": {"public": True}, "certManager": cert_manager}
    plan = plan_env(environment, existing(**PUBLIC, platform=platform))
    issuer = plan.one(ISSUER).plain
    assert issuer["metadata"]["name"] == name and issuer["spec"]["acme"]["server"] == server
    assert "email" not in issuer["spec"]["acme"], "no contact unless the stack gives one"
    gateways = [r for r in plan.resources("kubernetes:gateway.networking.k8s.io/v1:Gateway")]
    assert gateways and all(
        g.plain["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == name for g in gateways
    )


def test_a_given_acme_contact_reaches_the_issuer() -> None:
    platform = {"gateway": {"public": True}, "certManager": {"acmeEmail": "ops@platform.acme-corp.dev"}}
    issuer = plan_env("prod", existing(**PUBLIC, platform=platform)).one(ISSUER).plain
    assert issuer["spec"]["acme"]["email"] == "ops@platform.acme-corp.dev"


@pytest.mark.parametrize(
    ("stack", "installed"),
    [("prod-gcp", False), ("prod-azure", False), ("prod-aws", True), ("prod-do", True), ("onprem", True)],
)
def test_metrics_server_is_installed_only_where_the_cloud_runs_none(stack: str, installed: bool) -> None:
    """GKE and AKS reconcile their own metrics-server in kube-system; a second release would collide with it."""
    assert ("metrics-server" in releases(plan_stack(stack))) is installed


def test_a_public_gateway_proves_names_by_http01_on_a_listener_that_admits_the_solver() -> None:
    plan = plan_env("prod", existing(**PUBLIC, platform={"gateway": {"public": True}}))
    solver = plan.one("kubernetes:cert-manager.io/v1:ClusterIssuer").plain["spec"]["acme"]["solvers"][0]
    (parent,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").plain
    assert (parent["name"], parent["namespace"]) == (gateway["metadata"]["name"], gateway["metadata"]["namespace"])
    listener = next(ln for ln in gateway["spec"]["listeners"] if ln["name"] == parent["sectionName"])
    assert listener["protocol"] == "HTTP" and listener["port"] == 80
    # gateway-shim puts the Certificate, so the solver's HTTPRoute, in the Gateway's namespace: it must be admitted.
    selector = listener["allowedRoutes"]["namespaces"]["selector"]["matchLabels"]
    namespace = plan.one("kubernetes:core/v1:Namespace", "lab-gateway-namespace")
    assert namespace.plain["metadata"]["name"] == gateway["metadata"]["namespace"]
    assert selector.items() <= namespace.plain["metadata"]["labels"].items()
    crds = plan.one("kubernetes:helm.sh/v3:Release", "lab-gateway-crds")
    assert namespace.urn in crds.dependencies


def test_without_a_way_for_acme_the_gateway_gets_the_clusters_own_ca() -> None:
    plan = plan_env("prod")
    issuers = {
        r.plain["metadata"]["name"]: r.plain["spec"]
        for r in plan.resources("kubernetes:cert-manager.io/v1:ClusterIssuer")
    }
    assert issuers == {
        "orquestra-self-signed": {"selfSigned": {}},
        "orquestra-internal-ca": {"ca": {"secretName": "orquestra-internal-ca"}},
    }
    root = plan.one("kubernetes:cert-manager.io/v1:Certificate").plain
    assert root["spec"]["isCA"] is True and root["spec"]["secretName"] == "orquestra-internal-ca"
    assert root["metadata"]["namespace"] == charts.CERT_MANAGER.namespace
    assert root["spec"]["issuerRef"]["name"] == "orquestra-self-signed"
    gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").plain
    assert gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "orquestra-internal-ca"


def test_acme_asked_for_where_it_cannot_prove_a_name_is_a_spec_error() -> None:
    with pytest.raises(spec.SpecError) as info:
        spec.parse({"clusters": [existing(platform={"certManager": {"issuer": "acme"}})]})
    (line,) = info.value.problems
    assert line.startswith("orquestra:clusters[0].platform.certManager.issuer: 'acme'; allowed: internal-ca")
    assert "platform.gateway.public: true" in line


@pytest.mark.parametrize("stack", ["prod-aws", "staging-aws"])
def test_an_internal_eks_gateway_proves_names_by_dns01_in_its_zone_only(stack: str) -> None:
    plan = plan_stack(stack)
    zone = plan.one("kubernetes:cert-manager.io/v1:ClusterIssuer").plain["spec"]["acme"]["solvers"][0]
    (name,) = zone["selector"]["dnsZones"]
    hosts = [
        ln["hostname"]
        for ln in plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").plain["spec"]["listeners"]
        if "hostname" in ln
    ]
    assert hosts and all(h.endswith(f".{name}") for h in hosts)
    route53 = zone["dns01"]["route53"]
    zone_id = route53["hostedZoneID"]
    assert zone_id.startswith("Z") and route53["region"] == "eu-west-1"
    policies = [
        json.loads(p.plain["policy"])
        for p in plan.resources("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith("-cert-manager-policy")
    ]
    (policy,) = policies
    writes = [st for st in policy["Statement"] if "route53:ChangeResourceRecordSets" in st["Action"]]
    assert [st["Resource"] for st in writes] == [f"arn:aws:route53:::hostedzone/{zone_id}"]
    # TXT records named _acme-challenge.*, upserted or deleted: nothing else of the zone.
    assert writes[0]["Condition"] == {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
            "route53:ChangeResourceRecordSetsActions": ["DELETE", "UPSERT"],
        },
        "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]},
    }
    assert all(st["Resource"] != "*" for st in policy["Statement"])
    assert "cert-manager" in {
        a.plain["serviceAccount"] for a in plan.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }


def test_platform_charts_with_pods_wait_for_the_nodes_and_crd_charts_only_for_the_api() -> None:
    plan = plan_stack("prod-gcp")
    pools = {r.urn for r in plan.resources("gcp:container/nodePool:NodePool")}
    releases = plan.resources("kubernetes:helm.sh/v3:Release")
    crds = [r for r in releases if r.plain["chart"].endswith(("crds-helm", "-crd"))]
    assert [r.name for r in crds] == ["gke-prod-gateway-crds"]
    for reg in releases:
        if reg in crds:
            assert not pools & set(reg.dependencies), reg.name
        else:
            assert pools <= set(reg.dependencies), reg.name


# ---------------------------------------------- capabilities from any target

PROGRAM = """
import pulumi
from components.cluster import Capabilities, KubernetesCluster
from components.spec import parse
from components.workloads import place

stack = parse({"environment": "prod", "clusters": [{"name": "fake", "target": "existing", "kubeconfig": "x"}],
               "workloads": [{"name": "web", "image": "ghcr.io/acme/web:1.0.0", "clusters": ["fake"]}],})

class FakeCluster(KubernetesCluster):
    def __init__(self) -> None:
        super().__init__(stack.clusters[0], "prod")
        self._publish(kubeconfig="x", endpoint="https://fake", cluster_name="fake", kubernetes_version="1.35")

    def capabilities(self) -> Capabilities:
        return Capabilities(%s)

place(FakeCluster(), stack.workloads)
"""


def plan_program(capabilities: str, tmp_path: Path) -> Plan:
    (tmp_path / "__main__.py").write_text(textwrap.dedent(PROGRAM % capabilities))
    (tmp_path / "Pulumi.yaml").write_text("name: orquestra\nruntime: python\n")
    plan = engine.run(stackconfig.StackConfig("orquestra", "fake", {}, []), tmp_path)
    assert plan.ok, plan.errors
    return plan


def test_cluster_autoscaler_is_installed_only_when_the_target_leaves_it_to_us(tmp_path: Path) -> None:
    wanted = plan_program(
        'load_balancer="cloud", node_autoscaler="cluster-autoscaler", default_storage_class="gp3", '
        'pod_identity="irsa", node_autoscaler_installed=False, '
        'node_autoscaler_values={"autoDiscovery": {"clusterName": "fake"}, "awsRegion": "eu-west-1"}',
        tmp_path,
    )
    values = releases(wanted)["cluster-autoscaler"]["values"]
    assert values["autoDiscovery"] == {"clusterName": "fake"} and values["awsRegion"] == "eu-west-1"
    assert values["extraArgs"]["balance-similar-node-groups"] is True
    assert values["replicaCount"] == 2
    managed = plan_program(
        'load_balancer="cloud", node_autoscaler="cloud", default_storage_class="standard-rwo", pod_identity="none"',
        tmp_path,
    )
    assert "cluster-autoscaler" not in releases(managed)


def test_every_minor_a_cluster_autoscaler_target_creates_has_its_autoscaler_image() -> None:
    for target in REGISTRY.values():
        model = getattr(spec, target.spec)
        field = model.model_fields.get("node_autoscaler")
        if field is not None and "cluster-autoscaler" in get_args(field.annotation):
            assert set(target.versions) <= set(pins.CLUSTER_AUTOSCALER_TAGS), target.key
    for minor, tag in pins.CLUSTER_AUTOSCALER_TAGS.items():
        assert tag.startswith(f"v{minor}."), "an autoscaler runs on the minor it was built for"


@pytest.mark.parametrize("version", REGISTRY["aws"].versions)
def test_cluster_autoscaler_runs_the_image_of_the_clusters_minor(version: str) -> None:
    cluster = {
        "name": "eks",
        "target": "aws",
        "region": "eu-west-1",
        "kubernetesVersion": version,
        "nodeAutoscaler": "cluster-autoscaler",
        "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
    }
    plan = plan_spec({"environment": "dev", "clusters": [cluster]}, stack=f"ca-{version}")
    assert plan.ok, plan.errors
    image = releases(plan)["cluster-autoscaler"]["values"]["image"]
    assert image["repository"] == "registry.k8s.io/autoscaling/cluster-autoscaler"
    assert image["tag"].startswith(f"v{version}.")


def test_cloud_gateway_uses_the_targets_internal_annotations(tmp_path: Path) -> None:
    plan = plan_program(
        'load_balancer="cloud", node_autoscaler="cloud", default_storage_class="x", pod_identity="none", '
        'lb_annotations_internal={"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, '
        'lb_annotations_public={"service.beta.kubernetes.io/azure-pip-name": "web"}',
        tmp_path,
    )
    service = plan.one("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy").plain["spec"]["provider"]["kubernetes"][
        "envoyService"
    ]
    assert service["annotations"] == {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    assert service["externalTrafficPolicy"] == "Local"


def test_external_dns_follows_the_zone_and_the_targets_provider(tmp_path: Path) -> None:
    config = stackconfig.load(engine.PROJECT_DIR, "prod-gcp")
    clusters = config.values["orquestra:clusters"]
    clusters[0] = {**clusters[0], "platform": {}}
    without_zone = engine.run(
        stackconfig.StackConfig("orquestra", "prod-gcp-nodns", {**config.values, "orquestra:clusters": clusters}, [])
    )
    assert "external-dns" not in releases(without_zone)
    clusters[0] = {**clusters[0], "platform": {"dns": {"zone": "prod.example.com"}}}
    with_zone = engine.run(
        stackconfig.StackConfig("orquestra", "prod-gcp-dns", {**config.values, "orquestra:clusters": clusters}, [])
    )
    assert with_zone.ok, with_zone.errors
    values = releases(with_zone)["external-dns"]["values"]
    assert values["provider"] == {"name": "google"}
    assert values["domainFilters"] == ["prod.example.com"]
    assert values["policy"] == "sync"
    assert "iam.gke.io/gcp-service-account" in values["serviceAccount"]["annotations"]
    # Records only: a custom role without roles/dns.admin's zone, key and policy permissions.
    member = with_zone.one("gcp:projects/iAMMember:IAMMember", f"{clusters[0]['name']}-external-dns-dns")
    role = next(
        r for r in with_zone.resources("gcp:projects/iAMCustomRole:IAMCustomRole") if r.id == member.plain["role"]
    )
    permissions = set(role.plain["permissions"])
    assert {"dns.resourceRecordSets.create", "dns.changes.create", "dns.managedZones.list"} <= permissions
    assert not permissions & {"dns.managedZones.create", "dns.managedZones.delete", "dns.managedZones.update"}
    on_existing = plan_env(
        "dev",
        existing(platform={"dns": {"zone": "lab.example.com"}}),
        [workload(expose={"host": "web.lab.example.com"})],
    )
    assert "external-dns" not in releases(on_existing)
    assert any("names no external-dns provider" in w for w in on_existing.warnings)
