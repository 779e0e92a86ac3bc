"""Every pinned chart rendered by Helm from the mirror, and every object validated as the API server would."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from components.workloads import charts, platform
from preflight import admission, engine, mirror, render, stackconfig, validate
from preflight.engine import Plan
from tests.conftest import plan_spec, plan_stack

CA_VALUES = {"autoDiscovery": {"clusterName": "lab"}, "awsRegion": "eu-west-1"}


def existing(**over: Any) -> dict[str, Any]:
    return {"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig", **over}


def lab(env: str = "dev", **over: Any) -> Plan:
    plan = plan_spec({"environment": env, "clusters": [existing(**over)], "workloads": []}, stack=f"charts-{env}")
    assert plan.ok, plan.errors
    return plan


def aws_with_cluster_autoscaler() -> Plan:
    cluster = {
        "name": "eks",
        "target": "aws",
        "region": "eu-west-1",
        "apiAccess": {"private": True},
        "nodeAutoscaler": "cluster-autoscaler",
        # A private endpoint is reached from a hub the stack peers with (tests/test_deployer.py).
        "deployer": {
            "runner": "deploy-eu",
            "hub": {
                "vpcId": "vpc-0a1b2c3d4e5f60718",
                "routeTableIds": ["rtb-0a1b2c3d4e5f60718"],
                "cidrs": ["10.250.0.0/20"],
            },
        },
    }
    plan = plan_spec({"environment": "prod", "clusters": [cluster]}, stack="charts-aws-ca")
    assert plan.ok, plan.errors
    return plan


def cluster_of(plan: Plan, name: str) -> render.Cluster:
    return next(c for c in admission.review(plan).clusters if c.name == name)


def crds(plan: Plan, name: str) -> dict[tuple[str, str, str], validate.Crd]:
    return validate.crds_of([(r.subject, crd) for r, crd in cluster_of(plan, name).crds()])


def lines(plan: Plan) -> list[str]:
    return [r.line() for r in admission.review(plan).rejections]


# ---------------------------------------------------------------- lock table and mirror


def test_every_pinned_chart_is_in_the_mirror_with_the_source_the_table_records() -> None:
    index = json.loads((mirror.mirror_dir() / "index.json").read_text())["charts"]
    for chart in charts.ALL.values():
        assert mirror.archive(chart).is_file(), chart.key
        entry = index[chart.key]
        assert (entry["version"], entry["commit"], entry["pathInRepo"]) == (
            chart.version,
            chart.source.commit,
            chart.source.path,
        )
        assert entry["upstreamRepo"] == chart.source.repo
        assert chart.source.ref in (entry["tag"], entry["commit"])
        ref = entry["programChartRef"]
        assert (ref["chart"], ref["version"]) == (chart.chart, chart.version)


def test_the_mirror_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(mirror.MIRROR_ENV, str(tmp_path))
    assert mirror.mirror_dir() == tmp_path
    with pytest.raises(mirror.ChartMissing, match=f"cert-manager v1.19.1 is not in the chart mirror {tmp_path}"):
        mirror.archive(charts.CERT_MANAGER)
    monkeypatch.delenv(mirror.MIRROR_ENV)
    monkeypatch.setattr(mirror, "PROJECT_DIR", tmp_path / "nowhere" / "project")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert mirror.mirror_dir() == tmp_path / "cache" / "orquestra" / "charts"


def test_a_chart_bump_without_its_archive_in_the_mirror_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    bumped = dataclasses.replace(charts.CERT_MANAGER, version="v1.99.0")
    monkeypatch.setattr(charts, "CERT_MANAGER", bumped)
    monkeypatch.setitem(charts.ALL, "cert-manager", bumped)  # type: ignore[index]
    found = lines(lab())
    assert [line for line in found if "cert-manager" in line] == [
        "release lab-cert-manager: chart: chart cert-manager v1.99.0 is not in the chart mirror "
        f"{mirror.mirror_dir()} (no cert-manager-v1.99.0.tgz); add it there, or run `make charts` on a machine "
        f"with network (source: {admission.MIRROR_SOURCE})"
    ]


def test_a_release_of_a_chart_outside_the_lock_table_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        charts, "METRICS_SERVER", dataclasses.replace(charts.METRICS_SERVER, repo="https://example.com")
    )
    assert any(
        line.startswith("release lab-metrics-server: chart: metrics-server 3.13.0 is not in the chart lock table")
        for line in lines(lab())
    )


# ----------------------------------------------------------------------- rendering


def test_rendering_is_helms_own_for_the_clusters_minor_and_cached() -> None:
    values = {"replicaCount": 2}
    first = render.render(charts.CERT_MANAGER, values, name="cm", namespace="cert-manager", minor="1.33")
    assert first.error is None and first.objects
    assert render.render(charts.CERT_MANAGER, values, name="cm", namespace="cert-manager", minor="1.33") is first
    deployments = [o for o in first.objects if o["kind"] == "Deployment"]
    assert {o["metadata"]["namespace"] for o in deployments} == {"cert-manager"}
    assert all(o["metadata"]["name"].startswith("cm-") for o in deployments)
    # metrics-server renders a PodSecurityPolicy only for Kubernetes before 1.25 (templates/psp.yaml).
    psp = {"rbac": {"pspEnabled": True}}
    kinds = {
        minor: {
            o["kind"]
            for o in render.render(charts.METRICS_SERVER, psp, name="m", namespace="kube-system", minor=minor).objects
        }
        for minor in ("1.24", "1.35")
    }
    assert "PodSecurityPolicy" in kinds["1.24"] and "PodSecurityPolicy" not in kinds["1.35"]


def test_releases_see_the_api_versions_the_clusters_other_releases_install() -> None:
    plan = plan_stack("prod-aws")
    cluster = cluster_of(plan, "eks-prod")
    served = render._api_versions([crd for _, crd in cluster.crds()])
    assert "karpenter.sh/v1/NodePool" in served and "gateway.networking.k8s.io/v1" in served
    karpenter = next(r for r in cluster.releases if r.name == "karpenter")
    assert karpenter.chart is not None and render.reads_capabilities(karpenter.chart)
    again = render.render(
        karpenter.chart,
        karpenter.values,
        name="karpenter",
        namespace="kube-system",
        minor=cluster.minor,
        api_versions=served,
    )
    assert karpenter.rendered is again


def test_release_values_are_what_the_program_registers() -> None:
    plan = plan_stack("prod-aws")
    cluster = cluster_of(plan, "eks-prod")
    lbc = next(r for r in cluster.releases if r.name == "aws-load-balancer-controller")
    deployment = next(o for o in lbc.installed if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {"memory": "256Mi"}
    assert "--cluster-name=eks-prod" in container["args"]


# ------------------------------------------------------------- shipped stacks clean


@pytest.mark.parametrize("stack", stackconfig.stacks(engine.PROJECT_DIR))
def test_every_shipped_stack_renders_and_validates_clean(stack: str) -> None:
    result = admission.review(plan_stack(stack))
    assert [r.line() for r in result.rejections] == []
    assert [f.line() for f in result.findings] == [], "no unread values keys and no rule left unevaluated"
    assert result.clusters
    for cluster in result.clusters:
        for release in cluster.releases:
            assert release.rendered is not None and release.installed, release.subject
    assert all(i.pinned for i in result.images)


# -------------------------------------------------------------- the two defects


def test_cluster_autoscaler_pdb_with_min_available_is_refused_by_the_chart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chart's default `maxUnavailable: 1` merges with a `minAvailable`, and its pdb.yaml calls `fail`."""
    monkeypatch.setattr(
        platform,
        "cluster_autoscaler_values",
        lambda env, minor, target: {**CA_VALUES, "replicaCount": 2, "podDisruptionBudget": {"minAvailable": 1}},
    )
    found = lines(aws_with_cluster_autoscaler())
    assert any(
        line.startswith("release eks-cluster-autoscaler: ")
        and "Only one of podDisruptionBudget.minAvailable or podDisruptionBudget.maxUnavailable should be set" in line
        and "chart cluster-autoscaler 9.50.1 rendered by Helm" in line
        for line in found
    ), found


def test_a_null_cannot_unset_a_chart_default_through_a_release() -> None:
    """The Python SDK drops null map values before they reach the provider (pulumi/pulumi#12178)."""
    assert render.wire({"podDisruptionBudget": {"minAvailable": 1.0, "maxUnavailable": None}}) == {
        "podDisruptionBudget": {"minAvailable": 1}
    }


def test_the_cluster_autoscaler_pdb_renders_in_every_environment() -> None:
    for env in ("dev", "staging", "prod"):
        values = platform.cluster_autoscaler_values(env, "1.35", CA_VALUES)
        out = render.render(
            charts.CLUSTER_AUTOSCALER, values, name="cluster-autoscaler", namespace="kube-system", minor="1.35"
        )
        assert out.error is None, (env, out.error)
        (pdb,) = [o for o in out.objects if o["kind"] == "PodDisruptionBudget"]
        assert "minAvailable" not in pdb["spec"] or "maxUnavailable" not in pdb["spec"]
        assert pdb["spec"].get("maxUnavailable") == 1


def test_an_ec2nodeclass_tagged_kubernetes_io_cluster_is_refused_by_its_cel_rule() -> None:
    plan = plan_stack("prod-aws")
    node_class = render.manifest(
        plan.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "eks-prod-karpenter-nodeclass-general")
    )
    assert not any(k.startswith("kubernetes.io/cluster") for k in node_class["spec"]["tags"])
    bad = copy.deepcopy(node_class)
    bad["spec"]["tags"]["kubernetes.io/cluster/eks-prod"] = "owned"
    crd = crds(plan, "eks-prod")[("karpenter.k8s.aws", "v1", "EC2NodeClass")]
    problems, unevaluable = validate.custom(bad, crd)
    assert unevaluable == []
    assert [(p.field, p.message) for p in problems] == [
        ("spec.tags", "tag contains a restricted tag matching kubernetes.io/cluster/")
    ]
    assert problems[0].source == "CRD ec2nodeclasses.karpenter.k8s.aws v1 from release eks-prod-karpenter-crd"
    assert validate.custom(node_class, crd) == ([], [])


# ----------------------------------------------------- each validator fails when it should


def test_builtin_schema_refuses_a_mutated_object_and_names_the_field() -> None:
    plan = plan_stack("prod-aws")
    lbc = next(r for r in cluster_of(plan, "eks-prod").releases if r.name == "aws-load-balancer-controller")
    deployment = copy.deepcopy(next(o for o in lbc.installed if o["kind"] == "Deployment"))
    assert validate.builtin(deployment, "1.35") == []
    deployment["spec"]["strategy"] = {"rollingUpdate": {"maxUnavailble": 1}}
    deployment["spec"]["replicas"] = "two"
    problems = validate.builtin(deployment, "1.35")
    assert problems is not None
    assert {p.field for p in problems} == {"spec.strategy.rollingUpdate", "spec.replicas"}
    assert all("two" not in p.message for p in problems), "messages never echo a value"
    assert validate.builtin({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"}, "1.35") is None
    removed = admission.Review([])
    cluster = render.Cluster("eks-prod", "1.35")
    admission._validate("pdb", {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"}, cluster, {}, removed)
    assert [r.message for r in removed.rejections] == [
        "policy/v1beta1 PodDisruptionBudget is neither a built-in kind of Kubernetes 1.35 nor served by a CRD that a "
        "release on cluster eks-prod installs"
    ]


def test_crd_schema_refuses_a_mutated_custom_resource() -> None:
    plan = plan_stack("prod-aws")
    gateway = render.manifest(plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway"))
    crd = crds(plan, "eks-prod")[("gateway.networking.k8s.io", "v1", "Gateway")]
    assert validate.custom(gateway, crd) == ([], [])
    bad = copy.deepcopy(gateway)
    bad["spec"]["listeners"][0]["port"] = "eighty"
    bad["spec"]["listeners"][0]["protocl"] = "HTTP"
    problems, _ = validate.custom(bad, crd)
    assert {(p.field, p.message.split(":")[0]) for p in problems} == {
        ("spec.listeners[0].protocl", "unknown field"),
        ("spec.listeners[0].port", "must satisfy type"),
    }


def test_crd_defaults_apply_before_cel_rules() -> None:
    """Rules read defaulted fields (a Gateway listener's `allowedRoutes`), as on a real API server."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"mode": {"type": "string", "default": "Exact"}, "path": {"type": "string"}},
                "x-kubernetes-validations": [
                    {"rule": "self.mode == 'Exact' ? !self.path.contains('*') : true", "message": "no wildcard"}
                ],
            }
        },
    }
    crd = validate.Crd("things.example.com", "v1", schema, "CRD things.example.com v1 (test)")
    problems, _ = validate.custom({"spec": {"path": "/a*"}}, crd)
    assert [(p.field, p.message) for p in problems] == [("spec", "no wildcard")]


def test_a_cel_rule_that_cannot_be_evaluated_is_reported_never_passed() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"url": {"type": "string", "x-kubernetes-validations": [{"rule": "isURL(self)"}]}},
            }
        },
    }
    crd = validate.Crd("things.example.com", "v1", schema, "test CRD")
    problems, unevaluable = validate.custom({"spec": {"url": "https://example.com"}}, crd)
    assert problems == []
    assert [(u.field, u.rule) for u in unevaluable] == [("spec.url", "isURL(self)")]


def test_transition_rules_do_not_run_on_create() -> None:
    """Rules that read `oldSelf` run only on update (Kubernetes: CRD transition rules)."""
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}},
    }
    assert validate.custom({"spec": "x"}, validate.Crd("t", "v1", schema, "test")) == ([], [])


def counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """The arguments of every call of `validate.<name>` from now on, with nothing remembered from earlier tests."""
    monkeypatch.setattr(validate, "_SEEN", {})
    calls: list[Any] = []
    real = getattr(validate, name)

    def spy(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(validate, name, spy)
    return calls


def test_an_object_is_validated_once_per_distinct_content_and_minor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fleet sends the same objects to every cluster: each distinct one costs one schema validation."""
    calls = counted(monkeypatch, "_builtin")
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    assert validate.builtin(ns, "1.35") == []
    assert validate.builtin(copy.deepcopy(ns), "1.35") == []
    assert len(calls) == 1, "the same content is not validated again"
    assert validate.builtin(ns, "1.34") == []
    assert len(calls) == 2, "another minor is another schema"
    bad = copy.deepcopy(ns)
    bad["spec"] = {"finalizers": "kubernetes"}
    found = validate.builtin(bad, "1.35")
    assert found is not None and [p.field for p in found] == ["spec.finalizers"]
    found.clear()
    assert [p.field for p in validate.builtin(bad, "1.35") or []] == ["spec.finalizers"], "the caller's copy"
    # What JSON text cannot tell apart still decides: the schema takes 1, never True, for an integer.
    flag = {**ns, "metadata": {"name": "web", "generation": True}}
    assert [p.field for p in validate.builtin(flag, "1.35") or []] == ["metadata.generation"]
    assert validate.builtin({**ns, "metadata": {"name": "web", "generation": 1}}, "1.35") == []
    assert len(calls) == 5


def test_a_custom_resource_is_validated_once_per_content_and_crd(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counted(monkeypatch, "_custom")
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"size": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.size < 10", "message": "too big"}],
            }
        },
    }
    crd = validate.Crd("things.example.com", "v1", schema, "CRD things.example.com v1 (test)")
    again = validate.Crd("things.example.com", "v1", copy.deepcopy(schema), crd.source)
    assert validate.custom({"spec": {"size": 3}}, crd) == ([], [])
    assert validate.custom({"spec": {"size": 3}}, again) == ([], [])
    assert len(calls) == 1, "an equal schema from another cluster's render shares the verdict"
    problems, _ = validate.custom({"spec": {"size": 30}}, crd)
    assert [(p.field, p.message) for p in problems] == [("spec", "too big")]
    other = validate.Crd("things.example.com", "v1", schema, "CRD things.example.com v1 (another chart)")
    assert [p.source for p in validate.custom({"spec": {"size": 30}}, other)[0]] == [other.source]
    stricter = copy.deepcopy(schema)
    stricter["properties"]["spec"]["x-kubernetes-validations"][0]["rule"] = "self.size < 2"
    assert validate.custom({"spec": {"size": 3}}, dataclasses.replace(crd, schema=stricter))[0]
    assert len(calls) == 4


def test_values_the_chart_schema_refuses_are_rejected_with_their_path(monkeypatch: pytest.MonkeyPatch) -> None:
    real = platform.cert_manager_values
    monkeypatch.setattr(platform, "cert_manager_values", lambda env: {**real(env), "replicaCount": "one"})
    found = [line for line in lines(lab()) if line.startswith("release lab-cert-manager")]
    assert found == [
        "release lab-cert-manager: values.replicaCount: got string, want number "
        "(source: chart cert-manager v1.19.1 rendered by Helm: values.schema.json)"
    ]


def test_a_values_key_the_chart_never_reads_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    real = platform.metrics_server_values
    monkeypatch.setattr(platform, "metrics_server_values", lambda env, args: {**real(env, args), "replicaCuont": 2})
    plan = lab()
    assert [f.line() for f in admission.review(plan).findings] == [
        "release lab-metrics-server: values.replicaCuont: chart metrics-server 3.13.0 never reads this key; "
        "Helm ignores it"
    ]
    assert lines(plan) == [], "Helm and the API server accept it: a finding, not a rejection"


def test_a_custom_resource_whose_crd_no_release_installs_is_rejected() -> None:
    plan = lab()
    cluster = cluster_of(plan, "lab")
    gateway = next(r for r in cluster.objects if r.type.endswith(":Gateway"))
    subject, obj = f"{gateway.type} {gateway.name}", render.manifest(gateway)
    served = admission.Review([])
    admission._validate(subject, obj, cluster, crds(plan, "lab"), served)
    assert served.rejections == []
    unserved = admission.Review([])
    admission._validate(subject, obj, cluster, {}, unserved)
    assert [r.line() for r in unserved.rejections] == [
        "kubernetes:gateway.networking.k8s.io/v1:Gateway lab-gateway: apiVersion: gateway.networking.k8s.io/v1 Gateway "
        "is neither a built-in kind of Kubernetes 1.35 nor served by a CRD that a release on cluster lab installs "
        f"(source: Kubernetes 1.35 OpenAPI schema; {admission.MIRROR_SOURCE})"
    ]


# ------------------------------------------------------------------- what the plan shows


def test_images_and_host_access_of_every_pod_are_listed() -> None:
    result = admission.review(plan_stack("onprem"))
    images = {i.image: i for i in result.images}
    assert "quay.io/metallb/speaker:v0.15.2" in images and images["quay.io/metallb/speaker:v0.15.2"].pinned
    assert any(i.startswith("ghcr.io/") for i in images), "the program's own workloads too"
    assert "release dc1-metallb: DaemonSet/metallb-system/metallb-speaker: hostNetwork" in result.host_access
    bad = {
        "kind": "Pod",
        "spec": {
            "containers": [{"name": "x", "image": "nginx:latest", "securityContext": {"privileged": True}}],
            "volumes": [{"name": "h", "hostPath": {"path": "/var"}}],
        },
    }
    mutated = admission.Review([])
    admission._images([("pod x", bad)], mutated)
    assert mutated.host_access == ["pod x: privileged containers x; hostPath /var"]
    assert [(i.image, i.pinned) for i in mutated.images] == [("nginx:latest", False)]


# ----------------------------------------------------------------- preflight's output


def test_preflight_exits_4_with_one_line_per_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from preflight.__main__ import main

    real = platform.cert_manager_values
    monkeypatch.setattr(platform, "cert_manager_values", lambda env: {**real(env), "replicaCount": "one"})
    assert main(["dev", "--no-policies"]) == 4
    out, err = capsys.readouterr()
    assert "1 thing(s) a cloud or a cluster would reject:" in err
    assert "  release local-cert-manager: values.replicaCount: got string, want number" in err
    assert "kubernetes:helm.sh/v3:Release  local-metrics-server [renders " in out


def test_preflight_lists_every_image_a_stack_pulls(capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.__main__ import main

    assert main(["onprem", "--no-policies", "--images"]) == 0
    out = capsys.readouterr().out.splitlines()
    by_image = {line.split("\t")[0]: line.split("\t")[1:] for line in out}
    assert by_image["quay.io/metallb/speaker:v0.15.2"][0] == "pinned"
    assert (
        "release dc1-metallb: DaemonSet/metallb-system/metallb-speaker"
        in by_image["quay.io/metallb/speaker:v0.15.2"][1]
    )
    assert all(fields[0] == "pinned" for fields in by_image.values())
    assert not any(line.startswith("Plan for stack") for line in out)


def test_load_balancers_a_chart_renders_are_priced(monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.estimates import LOAD_BALANCER_MONTHLY, estimate

    real = platform.metrics_server_values
    exposed = {"service": {"type": "LoadBalancer"}}
    unread = {"extraService": {"type": "LoadBalancer"}}  # a key the chart never reads: no Service, no charge

    def cost(extra: dict[str, Any]) -> float:
        monkeypatch.setattr(platform, "metrics_server_values", lambda env, args: {**real(env, args), **extra})
        plan = aws_with_cluster_autoscaler()
        return sum(i.cost.monthly for i in estimate(plan).items if i.name == "eks-metrics-server")

    assert cost(exposed) == pytest.approx(LOAD_BALANCER_MONTHLY["aws"])
    assert cost(unread) == 0


def test_make_charts_fetches_a_missing_chart_and_checks_the_published_digest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make charts` on a machine with network, with the repository and its index played from the mirror."""
    import io
    import shutil
    import urllib.request

    import helm_python as helm

    source = mirror.archive(charts.METRICS_SERVER)
    published = {"digest": helm.digest(source).removeprefix("sha256:")}
    asked: list[tuple[str, str | None, str | None]] = []

    def pull(ref: str, *, destination: str, version: str, repo_url: str | None) -> dict[str, str]:
        asked.append((ref, version, repo_url))
        shutil.copy(source, Path(destination) / "metrics-server-3.13.0.tgz")
        return {"output": ""}

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        assert url == "https://kubernetes-sigs.github.io/metrics-server/index.yaml"
        entry = {"version": "3.13.0", **published}
        return io.BytesIO(json.dumps({"entries": {"metrics-server": [entry]}}).encode())

    monkeypatch.setattr(helm, "pull", pull)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    got = mirror.fetch(charts.METRICS_SERVER, tmp_path / "cache")
    assert got == tmp_path / "cache" / "metrics-server-3.13.0.tgz" and got.read_bytes() == source.read_bytes()
    assert asked == [("metrics-server", "3.13.0", "https://kubernetes-sigs.github.io/metrics-server/")]

    published["digest"] = "0" * 64
    with pytest.raises(mirror.ChartMissing, match=r"metrics-server 3\.13\.0: digest sha256:\w+ is not the published"):
        mirror.fetch(charts.METRICS_SERVER, tmp_path / "other")
    assert not (tmp_path / "other" / "metrics-server-3.13.0.tgz").exists()
