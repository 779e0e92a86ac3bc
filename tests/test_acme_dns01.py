"""DNS-01 in Route 53 for clusters with no cloud identity (`platform.certManager.dns01`).

The issuance itself is checked with every other solver in tests/test_certificates.py; here: the spec's one-line
errors, the gateway's own name, the key's secrecy from plan to snapshot, its rotation, the policy rule on the real
plan and CD's credentials.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import acmedns
from components.spec import SpecError, parse
from policies.rules.aws import RULES
from preflight import answers, engine, pipeline, stackconfig
from preflight.engine import PROJECT_DIR, Plan
from tests.harness import Built, build_spec, build_stack
from tests.test_certificates import check_issuance
from tests.test_policies import check_stack
from tests.test_target_existing import MINIMAL as EXISTING
from tests.test_target_onprem import MINIMAL as ONPREM

KEY = "aws:iam/accessKey:AccessKey"
USER = "aws:iam/user:User"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
DNS01 = {"provider": "route53", "zone": "example.com"}


def with_dns01(cluster: dict[str, Any], **platform: Any) -> dict[str, Any]:
    cert_manager = {"dns01": DNS01, **platform.pop("certManager", {})}
    return {**cluster, "platform": {"certManager": cert_manager, **platform}}


def problems(orquestra: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(orquestra)
    return info.value.problems


# --------------------------------------------------------------------- the spec


@pytest.mark.parametrize(
    ("cluster", "line"),
    [
        (
            {"name": "eks", "target": "aws", "region": "eu-west-1", **with_dns01({})},
            "orquestra:clusters[0].platform.certManager.dns01: 'route53'; allowed: unset on aws: its own DNS-01 "
            "solver (route53) proves names in platform.dns.zone",
        ),
        (
            with_dns01(ONPREM, certManager={"issuer": "internal-ca"}),
            "orquestra:clusters[0].platform.certManager.dns01: 'route53'; allowed: unset with "
            "platform.certManager.issuer: internal-ca (DNS-01 serves only ACME)",
        ),
        (
            with_dns01(ONPREM, gateway={"enabled": False}),
            "orquestra:clusters[0].platform.certManager.dns01: 'route53'; allowed: unset with "
            "platform.gateway.enabled: false (its key may prove only the Gateway's names)",
        ),
        (
            {**ONPREM, "platform": {"certManager": {"dns01": {"provider": "clouddns", "zone": "example.com"}}}},
            "orquestra:clusters[0].platform.certManager.dns01.provider: 'clouddns'",
        ),
    ],
)
def test_an_impossible_dns01_is_one_line(cluster: dict[str, Any], line: str) -> None:
    found = problems({"environment": "dev", "clusters": [cluster]})
    assert [p for p in found if p.startswith(line)], found


def test_a_name_outside_the_dns01_zone_is_one_line() -> None:
    workload = {"name": "web", "image": "nginx:1.27", "clusters": ["lab"], "expose": {"host": "web.other.org"}}
    found = problems({"environment": "dev", "clusters": [with_dns01(ONPREM)], "workloads": [workload]})
    assert (
        "orquestra:workloads[0].expose.host: 'web.other.org'; allowed: a name in the zone cluster 'lab' proves by "
        "DNS-01 (platform.certManager.dns01.zone: example.com)"
    ) in found


def test_a_global_name_on_a_dns01_cluster_needs_its_gateway_name_in_the_zone() -> None:
    orquestra = copy.deepcopy(stackconfig.load(PROJECT_DIR, "hybrid").namespace("orquestra"))
    orquestra["clusters"][0]["platform"]["gateway"]["address"] = "dc1-edge.example.net"
    found = problems(orquestra)
    assert [p for p in found if "dc1-edge.example.net) in the zone it proves by DNS-01" in p], found


# ------------------------------------------------------------------- the plan


def hybrid() -> Built:
    return build_stack("hybrid")


def test_dc1_proves_the_global_name_and_its_own_name_by_dns01() -> None:
    built = hybrid()
    assert check_issuance(built, built.clusters["dc1"]) == "dns01"
    gateway = built.plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", "dc1-gateway").plain
    hosts = {ln["hostname"] for ln in gateway["spec"]["listeners"] if "hostname" in ln}
    assert hosts == {"hello.example.com", "dc1-edge.example.com"}
    issuer = built.plan.one("kubernetes:cert-manager.io/v1:ClusterIssuer", "dc1-cluster-issuer").plain
    assert issuer["metadata"]["name"].startswith("letsencrypt-")
    assert gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == issuer["metadata"]["name"]


def test_the_health_check_reaches_the_workload_at_the_gateways_own_name() -> None:
    """Route 53 probes a gateway known by name with that name as SNI and Host: a listener and the route serve it."""
    plan = hybrid().plan
    for cluster in ("dc1", "euw1"):
        check = plan.one("aws:route53/healthCheck:HealthCheck", f"{cluster}-hello-global-health").plain
        gateway = plan.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", f"{cluster}-gateway").plain
        listener = next(ln for ln in gateway["spec"]["listeners"] if ln.get("hostname") == check["fqdn"])
        canary = plan.one("kubernetes:flagger.app/v1beta1:Canary", f"{cluster}-hello-canary").plain
        sections = {ref["sectionName"] for ref in canary["spec"]["service"]["gatewayRefs"]}
        assert listener["name"] in sections, cluster


def test_a_dns01_solver_without_its_users_policy_fails_the_check() -> None:
    built = hybrid()
    kept = [r for r in built.plan.registrations if r.type != USER_POLICY]
    plan = built.plan
    stripped = Plan(plan.stack, kept, plan.stack_outputs, plan.invokes, plan.errors, plan.warnings)
    with pytest.raises(ValueError):
        check_issuance(Built(stripped, built.clusters), built.clusters["dc1"])


def test_the_secret_key_is_secret_in_the_plan_and_the_snapshot() -> None:
    plan = hybrid().plan
    secret = answers.resource_outputs(KEY, "dc1-acme-dns-key", {}, "hybrid")["secret"]
    credentials = plan.one("kubernetes:core/v1:Secret", "dc1-route53-credentials")
    assert isinstance(credentials.inputs["stringData"], engine.Secret)
    assert credentials.plain["stringData"][acmedns.SECRET_ACCESS_KEY] == secret
    assert "secret" in plan.one(KEY).additional_secret_outputs
    as_json = json.dumps([r.to_json() for r in plan.registrations])
    snapshot = (PROJECT_DIR / "tests" / "snapshots" / "hybrid.json").read_text()
    for text in (as_json, snapshot):
        assert secret not in text
    (recorded,) = [r for r in json.loads(snapshot)["resources"] if r["name"] == "dc1-route53-credentials"]
    assert recorded["inputs"]["stringData"] == "[secret]"


def test_a_rotation_label_makes_a_new_key_of_the_same_user() -> None:
    def keys(rotation: str | None) -> list[str]:
        dns01 = {**DNS01, **({"rotation": rotation} if rotation else {})}
        cluster = {**EXISTING, "platform": {"certManager": {"dns01": dns01}}}
        workload = {"name": "web", "image": "nginx:1.27", "clusters": ["lab"], "expose": {"host": "web.example.com"}}
        plan = build_spec({"clusters": [cluster], "workloads": [workload]}).plan
        assert plan.ok, plan.errors
        (user,) = plan.resources(USER)
        (key,) = plan.resources(KEY)
        assert user.urn in key.dependencies and user.name == "lab-acme-dns"
        return [key.name]

    assert keys(None) == ["lab-acme-dns-key"]
    assert keys("2026-12") == ["lab-acme-dns-key-2026-12"]


def test_the_shipped_key_passes_the_access_key_rule_and_a_wider_one_fails() -> None:
    plan = hybrid().plan
    rule = next(r for r in RULES if r.name == "iam-access-key-scoped")
    users = [(USER, r.name, r.plain, []) for r in plan.resources(USER)]
    grants = [(USER_POLICY, r.name + "-policy", r.plain, [u[1] for u in users]) for r in plan.resources(USER_POLICY)]
    key = [(KEY, "key", {}, [u[1] for u in users])]
    assert check_stack(rule.name, [*users, *grants, *key]) == []
    wide = json.loads(grants[0][2]["policy"])
    wide["Statement"][2]["Resource"] = "arn:aws:route53:::hostedzone/*"
    widened = [(USER_POLICY, "wide", {"policy": json.dumps(wide)}, [u[1] for u in users])]
    assert any("not one hosted zone" in m for m in check_stack(rule.name, [*users, *widened, *key]))


def _widened(change: str) -> dict[str, Any]:
    document = json.loads(acmedns.policy("aws", "Z0EXAMPLE", ["app.example.com"]))
    write = document["Statement"][2]
    if change == "negated names":
        write["Condition"] = {"ForAllValues:StringNotEquals": write["Condition"]["ForAllValues:StringEquals"]}
    elif change == "any record type":
        del write["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"]
    elif change == "another zone":
        document["Statement"][1]["Resource"] = "arn:aws:route53:::hostedzone/Z0OTHER"
    elif change == "another action":
        document["Statement"][0]["Action"] = ["route53:GetChange", "route53:DeleteHostedZone"]
    return {"policy": json.dumps(document)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("negated names", "not only _acme-challenge"),
        ("any record type", "on record types of any kind"),
        ("another zone", "2 hosted zones"),
        ("another action", "route53:DeleteHostedZone, which a DNS-01 solver does not need"),
        ("group", "also gets permissions from aws:iam/userGroupMembership:UserGroupMembership"),
    ],
)
def test_the_access_key_rule_refuses_each_widening(change: str, message: str) -> None:
    user = (USER, "acme", {"path": "/orquestra/"})
    key = (KEY, "key", {}, ["acme"])
    grant = (USER_POLICY, "acme-policy", {"policy": acmedns.policy("aws", "Z0EXAMPLE", ["app.example.com"])}, ["acme"])
    assert check_stack("iam-access-key-scoped", [user, grant, key]) == []
    if change == "group":
        extra = [grant, ("aws:iam/userGroupMembership:UserGroupMembership", "admins", {}, ["acme"])]
    else:
        extra = [(USER_POLICY, "acme-policy", _widened(change), ["acme"])]
    found = check_stack("iam-access-key-scoped", [user, *extra, key])
    assert any(message in m for m in found), found


def test_cd_logs_in_to_aws_for_an_onprem_stack_with_a_route53_key(tmp_path: Path) -> None:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    onprem = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.onprem.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.site.yaml").write_text(yaml.safe_dump(onprem))
    (before,) = pipeline.jobs(tmp_path)
    cluster = onprem["config"]["orquestra:clusters"][0]
    cluster.setdefault("platform", {}).setdefault("certManager", {})["dns01"] = DNS01
    (tmp_path / "stacks" / "Pulumi.site.yaml").write_text(yaml.safe_dump(onprem))
    (after,) = pipeline.jobs(tmp_path)
    assert "aws" not in before.clouds and "aws" in after.clouds
