"""The GKE target on the mock engine: what a dev and a prod cluster register, property by property."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from components import spec as spec_module
from components.targets.gcp.control_plane import labels, maintenance_window
from components.targets.gcp.identity import NODE_ROLES, account_id
from preflight import engine
from preflight.answers.gcp import ZONES, project_number
from preflight.engine import Plan, Registration, Secret
from tests.harness import Built, build_spec, plan_spec, plan_stack

CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
COMPONENT = "orquestra:targets:GcpCluster"

DEV_CLUSTER: dict[str, Any] = {
    "name": "gke-dev",
    "target": "gcp",
    "project": "acme-platform-dev",
    "region": "us-central1",
    "apiAccess": {"publicCidrs": ["203.0.113.0/24", "198.51.100.7/32"]},
}
PROD_CLUSTER: dict[str, Any] = {
    "name": "gke-prod",
    "target": "gcp",
    "project": "acme-platform-prod",
    "region": "europe-west1",
    "network": {"cidr": "10.20.0.0/20", "podCidr": "10.64.0.0/14", "serviceCidr": "10.68.0.0/20"},
    "maintenance": {"day": "wednesday", "start": "22:30", "hours": 12},
    "deployer": {"runner": "deploy-eu",
                 "hub": {"network": "projects/acme-hub/global/networks/hub", "cidrs": ["10.250.0.0/20"]}},
    "nodePools": [
        {"name": "system", "role": "system", "min": 3, "max": 6,
         "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]},
        {"name": "spot", "spot": True, "min": 0, "max": 20, "zones": ["europe-west1-c", "europe-west1-d"],
         "instanceTypes": ["n2-standard-8"], "labels": {"workload-class": "batch"},
         "taints": [{"key": "workload-class", "value": "batch", "effect": "NoExecute"}]},
    ],
}  # fmt: skip


MINIMAL: dict[str, Any] = {k: DEV_CLUSTER[k] for k in ("name", "target", "project", "region", "apiAccess")}
"""The smallest valid gcp cluster: what the contract test builds (tests/test_contract.py)."""


@cache
def built(environment: str) -> Built:
    raw, project, region = (
        (DEV_CLUSTER, "acme-platform-dev", "us-central1")
        if environment == "dev"
        else (PROD_CLUSTER, "acme-platform-prod", "europe-west1")
    )
    result = build_spec(
        {"environment": environment, "clusters": [raw]}, extra={"gcp:project": project, "gcp:region": region}
    )
    assert result.plan.errors == []
    return result


def dev() -> Plan:
    return built("dev").plan


def prod() -> Plan:
    return built("prod").plan


@cache
def shipped() -> Plan:
    plan = plan_stack("prod-gcp")
    assert plan.errors == []
    return plan


PLANS = {"dev": dev, "prod": prod, "shipped": shipped}


@pytest.fixture(params=sorted(PLANS))
def any_plan(request: pytest.FixtureRequest) -> Plan:
    return PLANS[request.param]()


def cluster(plan: Plan) -> dict[str, Any]:
    return plan.one(CLUSTER).plain


def pools(plan: Plan) -> dict[str, Registration]:
    return {r.plain["name"]: r for r in plan.resources(POOL)}


# ----------------------------------------------------------------- network


def shipped_cluster() -> dict[str, Any]:
    config = yaml.safe_load((engine.PROJECT_DIR / "stacks/Pulumi.prod-gcp.yaml").read_text())["config"]
    return dict(config["orquestra:clusters"][0])


@pytest.mark.parametrize("which", sorted(PLANS))
def test_vpc_native_network_with_pod_and_service_ranges(which: str) -> None:
    any_plan = PLANS[which]()
    wanted = {"dev": DEV_CLUSTER, "prod": PROD_CLUSTER, "shipped": shipped_cluster()}[which]
    net = {**spec_module.Network().model_dump(by_alias=True), **wanted.get("network", {})}

    vpc = any_plan.one("gcp:compute/network:Network").plain
    assert vpc["autoCreateSubnetworks"] is False
    subnet = any_plan.one(SUBNET)
    assert subnet.plain["network"] == f"projects/{vpc['project']}/global/networks/{vpc['name']}"
    assert subnet.plain["ipCidrRange"] == net["cidr"]
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet.plain["secondaryIpRanges"]}
    assert ranges == {"pods": net["podCidr"], "services": net["serviceCidr"]}
    assert subnet.plain["privateIpGoogleAccess"] is True
    assert subnet.plain["logConfig"]["aggregationInterval"] == "INTERVAL_5_SEC"
    assert 0 < subnet.plain["logConfig"]["flowSampling"] <= 1

    c = cluster(any_plan)
    assert c["networkingMode"] == "VPC_NATIVE"
    assert c["ipAllocationPolicy"]["clusterSecondaryRangeName"] == "pods"
    assert c["ipAllocationPolicy"]["servicesSecondaryRangeName"] == "services"
    assert c["network"] == subnet.plain["network"]
    assert c["subnetwork"].endswith(f"/subnetworks/{subnet.plain['name']}")


def test_cloud_nat_serves_the_node_subnet(any_plan: Plan) -> None:
    router = any_plan.one("gcp:compute/router:Router").plain
    nat = any_plan.one("gcp:compute/routerNat:RouterNat").plain
    subnet = any_plan.one(SUBNET).plain
    assert router["network"].endswith(f"/networks/{any_plan.one('gcp:compute/network:Network').plain['name']}")
    assert nat["router"] == router["name"]
    assert nat["region"] == router["region"] == subnet["region"]
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert [s["name"] for s in nat["subnetworks"]] == [
        f"projects/{subnet['project']}/regions/{subnet['region']}/subnetworks/{subnet['name']}"
    ]
    assert nat["subnetworks"][0]["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]
    assert nat["logConfig"]["enable"] is True


# ----------------------------------------------------------------- cluster


def test_prod_is_regional_across_three_zones() -> None:
    c = cluster(prod())
    assert c["location"] == "europe-west1"
    assert c["nodeLocations"] == ZONES["europe-west1"][:3]


def test_dev_is_zonal_in_the_first_zone() -> None:
    c = cluster(dev())
    assert c["location"] == "us-central1-a"
    assert "nodeLocations" not in c
    assert {p.plain["location"] for p in dev().resources(POOL)} == {"us-central1-a"}


def test_default_node_pool_is_removed(any_plan: Plan) -> None:
    c = cluster(any_plan)
    assert c["removeDefaultNodePool"] is True
    assert c["initialNodeCount"] == 1
    # The short-lived default pool still never runs as the Compute Engine default SA.
    assert c["nodeConfig"]["serviceAccount"] == node_sa_email(any_plan)
    assert set(any_plan.one(CLUSTER).ignore_changes) >= {"nodeConfig", "initialNodeCount"}


def test_prod_api_endpoint_is_private() -> None:
    for plan in (prod(), shipped()):
        c = cluster(plan)
        assert c["privateClusterConfig"]["enablePrivateNodes"] is True
        assert c["privateClusterConfig"]["enablePrivateEndpoint"] is True
        blocks = [b["cidrBlock"] for b in c["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
        assert blocks and all(ipaddress.ip_network(b).is_private for b in blocks)


def test_dev_api_is_public_only_to_the_given_cidrs() -> None:
    c = cluster(dev())
    assert c["privateClusterConfig"]["enablePrivateNodes"] is True
    assert c["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert c["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.0/28"
    mans = c["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in mans["cidrBlocks"]] == DEV_CLUSTER["apiAccess"]["publicCidrs"]
    assert mans["gcpPublicCidrsAccessEnabled"] is False


def test_api_never_open_to_the_world(any_plan: Plan) -> None:
    blocks = cluster(any_plan)["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert all(ipaddress.ip_network(b["cidrBlock"]).prefixlen > 0 for b in blocks)


def test_release_channel_follows_environment() -> None:
    assert cluster(dev())["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster(prod())["releaseChannel"] == {"channel": "STABLE"}
    assert cluster(prod())["minMasterVersion"] == "1.35"


def test_maintenance_window_is_weekly_from_the_spec() -> None:
    window = cluster(prod())["maintenancePolicy"]["recurringWindow"]
    assert window["recurrence"] == "FREQ=WEEKLY;BYDAY=WE"
    start = dt.datetime.fromisoformat(window["startTime"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(window["endTime"].replace("Z", "+00:00"))
    assert start.strftime("%A %H:%M") == "Wednesday 22:30"
    assert end - start == dt.timedelta(hours=12)
    # dev takes the gcp default: Sunday 03:00 for 12 h, enough for GKE's 48 h in 32 days.
    dev_window = cluster(dev())["maintenancePolicy"]["recurringWindow"]
    assert dev_window == {
        "startTime": "2024-01-07T03:00:00Z",
        "endTime": "2024-01-07T15:00:00Z",
        "recurrence": "FREQ=WEEKLY;BYDAY=SU",
    }
    assert maintenance_window("monday", "23:00", 24)["end_time"] == "2024-01-02T23:00:00Z"


def test_workload_identity_pool(any_plan: Plan) -> None:
    c = cluster(any_plan)
    assert c["workloadIdentityConfig"] == {"workloadPool": f"{c['project']}.svc.id.goog"}


def test_dataplane_v2_enforces_network_policy(any_plan: Plan) -> None:
    c = cluster(any_plan)
    assert c["datapathProvider"] == "ADVANCED_DATAPATH"
    # No Calico alongside Dataplane V2: the legacy add-on is off and no provider is set.
    assert c["addonsConfig"]["networkPolicyConfig"] == {"disabled": True}
    assert c.get("networkPolicy", {}).get("provider") != "CALICO"


def test_shielded_nodes_with_secure_boot(any_plan: Plan) -> None:
    c = cluster(any_plan)
    assert c["enableShieldedNodes"] is True
    shielded = {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert c["nodeConfig"]["shieldedInstanceConfig"] == shielded
    assert any_plan.resources(POOL)
    for pool in any_plan.resources(POOL):
        assert pool.plain["nodeConfig"]["shieldedInstanceConfig"] == shielded


def test_secrets_encrypted_with_rotated_kms_key(any_plan: Plan) -> None:
    c = cluster(any_plan)
    key = any_plan.one(KEY)
    ring = any_plan.one(KEY_RING)
    region = any_plan.one(SUBNET).plain["region"]
    assert ring.plain["location"] == region
    assert key.plain["keyRing"] == ring.id
    assert ring.id.startswith(f"projects/{c['project']}/locations/{region}/keyRings/")
    assert key.plain["purpose"] == "ENCRYPT_DECRYPT"
    assert key.plain["rotationPeriod"] == "7776000s"
    key_id = f"{key.plain['keyRing']}/cryptoKeys/{key.plain['name']}"
    assert c["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key_id}


def test_destroy_then_up_gets_a_key_ring_name_never_used_before(any_plan: Plan) -> None:
    """GCP never deletes a KeyRing or CryptoKey; a fixed ring name makes the `up` after a destroy fail with 409.

    The ring is named by the provider at create (`<logical name>-<7 random hex>`, kept in state), so a
    redeploy creates a new ring and key, and the old ones stay behind harmlessly (keyrings cost nothing;
    the old key's versions are scheduled for destruction).
    Source: pulumi_gcp/kms/key_ring.py ("KeyRings cannot be deleted from Google Cloud Platform"), the bridge's
    `prov.SetAutonaming(255, "-")` in pulumi-gcp provider/resources.go (ed6078aa; no override for
    google_kms_key_ring) and https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming.
    """
    ring = any_plan.one(KEY_RING)
    assert "name" not in ring.plain
    component = any_plan.one(COMPONENT)
    assert re.fullmatch(rf"{re.escape(ring.name)}-[0-9a-f]{{7}}", ring.id.rsplit("/", 1)[1])
    assert ring.name.startswith(f"{component.name}-") and len(ring.name) + 8 <= 63
    # Deleting the key would only destroy its versions: Pulumi forgets it and it goes with its ring.
    assert any_plan.one(KEY).plain["keyRing"] == ring.id


def test_gke_service_agent_may_use_the_key(any_plan: Plan) -> None:
    c = cluster(any_plan)
    grant = any_plan.one(KEY_MEMBER)
    key = any_plan.one(KEY).plain
    assert grant.plain["cryptoKeyId"] == f"{key['keyRing']}/cryptoKeys/{key['name']}"
    assert grant.plain["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    number = project_number(c["project"])
    assert grant.plain["member"] == f"serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com"
    assert ("gcp:organizations/getProject:getProject", {"projectId": c["project"]}) in any_plan.invokes
    # The grant must exist before GKE first encrypts a Secret.
    assert grant.urn in any_plan.one(CLUSTER).dependencies


def test_logging_and_monitoring_components() -> None:
    for plan in (dev(), prod()):
        c = cluster(plan)
        assert {"SYSTEM_COMPONENTS", "WORKLOADS"} <= set(c["loggingConfig"]["enableComponents"])
        assert "SYSTEM_COMPONENTS" in c["monitoringConfig"]["enableComponents"]
    p = cluster(prod())
    assert {"APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"} <= set(p["loggingConfig"]["enableComponents"])
    assert {"APISERVER", "POD", "DEPLOYMENT"} <= set(p["monitoringConfig"]["enableComponents"])
    assert p["monitoringConfig"]["managedPrometheus"] == {"enabled": True}


def test_no_legacy_abac_and_no_client_certificate(any_plan: Plan) -> None:
    c = cluster(any_plan)
    assert c["enableLegacyAbac"] is False
    assert c["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}


def test_prod_deletion_protection_in_gke_and_pulumi() -> None:
    for plan in (prod(), shipped()):
        gke = plan.one(CLUSTER)
        assert gke.plain["deletionProtection"] is True
        assert gke.protect and plan.one(KEY).protect and plan.one(KEY_RING).protect
        assert not any(p.protect for p in plan.resources(POOL))


def test_dev_can_be_torn_down() -> None:
    gke = dev().one(CLUSTER)
    # The SDK defaults deletion_protection to true; dev says false explicitly.
    assert gke.plain["deletionProtection"] is False
    assert not gke.protect and not dev().one(KEY).protect


# -------------------------------------------------------------- node pools


def test_one_node_pool_per_spec_pool() -> None:
    assert set(pools(dev())) == {"general"}
    assert set(pools(prod())) == {"system", "spot"}
    assert set(pools(shipped())) == {"system", "general", "batch-spot"}
    c = cluster(prod())
    for pool in prod().resources(POOL):
        assert pool.plain["cluster"] == c["name"]
        assert pool.plain["location"] == c["location"]


def test_autoscaler_owns_the_node_count(any_plan: Plan) -> None:
    for pool in any_plan.resources(POOL):
        assert {"nodeCount", "initialNodeCount"} <= set(pool.ignore_changes)
        assert pool.plain["ignoreNodeCountChanges"] is True
        assert "nodeCount" not in pool.plain
    p = pools(prod())
    assert p["system"].plain["autoscaling"] == {
        "totalMinNodeCount": 3,
        "totalMaxNodeCount": 6,
        "locationPolicy": "BALANCED",
    }
    assert p["spot"].plain["autoscaling"]["totalMinNodeCount"] == 0
    assert p["spot"].plain["autoscaling"]["totalMaxNodeCount"] == 20
    # Per zone at creation: 3 nodes over 3 zones.
    assert p["system"].plain["initialNodeCount"] == 1


def test_pools_repair_upgrade_and_surge(any_plan: Plan) -> None:
    for pool in any_plan.resources(POOL):
        assert pool.plain["management"] == {"autoRepair": True, "autoUpgrade": True}
        assert pool.plain["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


def test_prod_pools_span_zones_and_carry_spot_labels_taints() -> None:
    p = pools(prod())
    system, spot = p["system"].plain, p["spot"].plain
    assert system["nodeLocations"] == ZONES["europe-west1"][:3]
    assert system["nodeConfig"]["spot"] is False
    assert system["nodeConfig"]["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert system["nodeConfig"]["machineType"] == "n2-standard-4"
    assert spot["nodeLocations"] == ["europe-west1-c", "europe-west1-d"]
    assert spot["nodeConfig"]["spot"] is True
    assert spot["autoscaling"]["locationPolicy"] == "ANY"
    assert spot["nodeConfig"]["machineType"] == "n2-standard-8"
    assert spot["nodeConfig"]["labels"]["workload-class"] == "batch"
    assert spot["nodeConfig"]["taints"] == [{"key": "workload-class", "value": "batch", "effect": "NO_EXECUTE"}]


def node_sa_email(plan: Plan) -> str:
    accounts = [a for a in plan.resources(ACCOUNT) if a.name.endswith("-nodes-sa")]
    assert len(accounts) == 1
    return f"{accounts[0].plain['accountId']}@{accounts[0].plain['project']}.iam.gserviceaccount.com"


def test_nodes_run_as_a_least_privilege_service_account(any_plan: Plan) -> None:
    email = node_sa_email(any_plan)
    assert not email.endswith("-compute@developer.gserviceaccount.com")
    grants = [g for g in any_plan.resources(PROJECT_MEMBER) if g.plain["member"] == f"serviceAccount:{email}"]
    assert sorted(g.plain["role"] for g in grants) == sorted(NODE_ROLES)
    # Nothing in the project is granted editor or owner, to the nodes or to anything else.
    assert not any(g.plain["role"] in {"roles/editor", "roles/owner"} for g in any_plan.resources(PROJECT_MEMBER))
    for pool in any_plan.resources(POOL):
        node = pool.plain["nodeConfig"]
        assert node["serviceAccount"] == email
        assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


# -------------------------------------------------------------- kubeconfig


def test_kubeconfig_is_secret_and_uses_the_auth_plugin(any_plan: Plan) -> None:
    component = any_plan.one(COMPONENT)
    secret = component.outputs["kubeconfig"]
    assert isinstance(secret, Secret)
    doc = yaml.safe_load(secret.value)
    user = doc["users"][0]["user"]
    assert set(user) == {"exec"}
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    # ADC covers gcloud logins, service-account keys and workload identity federation (CI) alike.
    assert user["exec"]["args"] == ["--use_application_default_credentials"]
    server = doc["clusters"][0]["cluster"]
    assert server["server"] == component.outputs["endpoint"]
    assert base64.b64decode(server["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----\n")
    c = cluster(any_plan)
    assert doc["current-context"] == f"gke_{c['project']}_{c['location']}_{c['name']}"
    # Nothing secret leaves in the JSON plan.
    assert "gke-gcloud-auth-plugin" not in json.dumps(any_plan.to_json())


def endpoint_ip(plan: Plan) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    doc = yaml.safe_load(plan.one(COMPONENT).outputs["kubeconfig"].value)
    return ipaddress.ip_address(doc["clusters"][0]["cluster"]["server"].removeprefix("https://"))


def test_prod_kubeconfig_points_at_the_private_endpoint() -> None:
    # With a hub, a Private Service Connect control plane: its endpoint is in the nodes' subnetwork.
    assert "masterIpv4CidrBlock" not in cluster(prod())["privateClusterConfig"]
    assert endpoint_ip(prod()) in ipaddress.ip_network(PROD_CLUSTER["network"]["cidr"])
    assert endpoint_ip(dev()).is_global


def test_kubernetes_provider_waits_for_the_control_plane_and_charts_for_the_node_pools(any_plan: Plan) -> None:
    provider = any_plan.one("pulumi:providers:kubernetes")
    pools = {p.urn for p in any_plan.resources(POOL)}
    assert not pools & set(provider.dependencies)
    assert any_plan.one("gcp:container/cluster:Cluster").urn in provider.property_dependencies["kubeconfig"]
    manager = next(r for r in any_plan.resources("kubernetes:helm.sh/v3:Release") if r.plain["name"] == "cert-manager")
    assert pools <= set(manager.dependencies)


def test_every_resource_is_parented_and_named_from_the_spec(any_plan: Plan) -> None:
    component = any_plan.one(COMPONENT)
    children = [r for r in any_plan.resources() if r.type.startswith("gcp:")]
    assert children
    for child in children:
        assert child.parent == component.urn
        assert child.name.startswith(f"{component.name}-")


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"maintenance": {"hours": 4}},
            "orquestra:clusters[0].maintenance.hours: 4; allowed: an integer >= 12 on gcp",
        ),
        (
            {"nodePools": [{"name": "general", "zones": ["europe-west1-b"]}]},
            "orquestra:clusters[0].nodePools[0].zones[0]: 'europe-west1-b'; allowed: a zone of us-central1",
        ),
        (
            {"masterCidr": "10.0.0.0/28"},
            "orquestra:clusters[0].masterCidr: '10.0.0.0/28'; allowed: a range that does not overlap network.cidr",
        ),
        ({"masterCidr": "172.16.0.0/24"}, "orquestra:clusters[0].masterCidr: '172.16.0.0/24'; allowed: an IPv4 /28"),
    ],
)
def test_bad_input_fails_before_any_resource(change: dict[str, Any], line: str) -> None:
    plan = plan_spec({"environment": "dev", "clusters": [{**DEV_CLUSTER, **change}]})
    assert any(e.startswith(line) for e in plan.errors), plan.errors
    assert not [r for r in plan.resources() if r.type.startswith(("gcp:", "orquestra:"))]


# ------------------------------------------- capabilities and pod identity


@cache
def with_identity() -> Plan:
    """The prod cluster and a workload that asks for a cloud identity (the workloads layer asks the cluster)."""
    workload = {"name": "api", "namespace": "payments", "image": "ghcr.io/acme/api:1.0.0", "cloudIdentity": True}
    plan = plan_spec(
        {"environment": "prod", "clusters": [PROD_CLUSTER], "workloads": [{**workload, "clusters": ["gke-prod"]}]},
        extra={"gcp:project": "acme-platform-prod", "gcp:region": "europe-west1"},
    )
    assert plan.errors == []
    return plan


def test_capabilities() -> None:
    caps = built("prod").clusters["gke-prod"].capabilities()
    assert caps.load_balancer == "cloud"
    assert caps.node_autoscaler == "cloud"
    assert caps.default_storage_class == "standard-rwo"
    assert caps.pod_identity == "gke-workload-identity"
    assert caps.zones == tuple(ZONES["europe-west1"][:3])
    assert caps.region == "europe-west1"
    assert caps.lb_annotations_internal == {"networking.gke.io/load-balancer-type": "Internal"}
    assert built("dev").clusters["gke-dev"].capabilities().zones == ("us-central1-a",)


def test_workload_identity_binds_a_google_service_account() -> None:
    plan = with_identity()
    gsa = plan.one(ACCOUNT, "gke-prod-payments-api-gsa")
    binding = plan.one("gcp:serviceaccount/iAMMember:IAMMember")
    email = f"{gsa.plain['accountId']}@acme-platform-prod.iam.gserviceaccount.com"
    account = plan.one("kubernetes:core/v1:ServiceAccount", "gke-prod-api-sa").plain
    assert account["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
    assert binding.plain["role"] == "roles/iam.workloadIdentityUser"
    assert binding.plain["member"] == "serviceAccount:acme-platform-prod.svc.id.goog[payments/api]"
    assert binding.plain["serviceAccountId"] == f"projects/acme-platform-prod/serviceAccounts/{email}"
    assert plan.one(CLUSTER).urn in binding.dependencies, "the identity pool exists once the cluster does"
    workload = plan.one("orquestra:workloads:Service", "gke-prod-api")
    assert gsa.parent == binding.parent == workload.urn


def test_identifiers_fit_gcp_limits() -> None:
    assert account_id("gke-prod", "nodes") == "gke-prod-nodes"
    long_id = account_id("a-very-long-cluster-nam", "observability", "opentelemetry-collector")
    assert 6 <= len(long_id) <= 30 and long_id[0].isalpha() and not long_id.endswith("-")
    assert long_id != account_id("a-very-long-cluster-nam", "observability", "opentelemetry-collectors")
    assert labels({"Cost:Center": "CC/42", "9lives": "x"}) == {"cost_center": "cc_42", "k9lives": "x"}


def test_prod_defaults_spread_a_system_pool_over_three_zones() -> None:
    plan = plan_spec(
        {
            "environment": "prod",
            "clusters": [
                {
                    "name": "gke",
                    "target": "gcp",
                    "project": "acme-platform-prod",
                    "region": "us-east1",
                    "deployer": PROD_CLUSTER["deployer"],
                }
            ],
        }
    )
    assert plan.errors == []
    c = cluster(plan)
    assert c["location"] == "us-east1"
    assert c["nodeLocations"] == ZONES["us-east1"]
    assert c["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert c["deletionProtection"] is True
    p = pools(plan)
    assert set(p) == {"system", "general"}
    assert p["system"].plain["nodeLocations"] == ZONES["us-east1"]
    assert p["system"].plain["nodeConfig"]["machineType"] == "n2-standard-4"
    assert p["system"].plain["nodeConfig"]["taints"][0]["key"] == "CriticalAddonsOnly"


# ------------------------------------------------ Binary Authorization (CIS GKE 5.10.5)

POLICY = "gcp:binaryauthorization/policy:Policy"


def test_prod_enforces_binary_authorization_with_an_allowlist_policy() -> None:
    for plan in (prod(), shipped()):
        c = cluster(plan)
        assert c["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
        policy = plan.one(POLICY)
        assert policy.urn in plan.one(CLUSTER).dependencies
        p = policy.plain
        assert p["project"] == c["project"]
        # Everything not admitted below is refused, and the refusal is audited.
        assert p["defaultAdmissionRule"] == {
            "evaluationMode": "ALWAYS_DENY",
            "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
        }
        # Google-maintained system images (GKE's own add-ons) pass.
        assert p["globalPolicyEvaluationMode"] == "ENABLE"
        patterns = [w["namePattern"] for w in p["admissionWhitelistPatterns"]]
        region = plan.one(SUBNET).plain["region"]
        assert f"{region}-docker.pkg.dev/{c['project']}/**" in patterns
        assert {"quay.io/jetstack/*", "docker.io/envoyproxy/*", "registry.k8s.io/external-dns/*"} <= set(patterns)
        assert not any(
            pattern.split("/")[0] in {"*", "**", "docker.io"} and len(pattern.split("/")) < 3 for pattern in patterns
        )


def _admits(patterns: list[str], image: str) -> bool:
    """Binary Authorization's matching: an exact name, a trailing `*` that matches no `/`, a trailing `**` that does
    (AdmissionWhitelistPattern, https://cloud.google.com/binary-authorization/docs/policy-yaml-reference)."""
    for pattern in patterns:
        if pattern.endswith("**"):
            found = image.startswith(pattern[:-2])
        elif pattern.endswith("*"):
            found = image.startswith(pattern[:-1]) and "/" not in image[len(pattern) - 1 :]
        else:
            found = image == pattern
        if found:
            return True
    return False


def _patterns(plan: Plan) -> list[str]:
    return [w["namePattern"] for w in plan.one(POLICY).plain["admissionWhitelistPatterns"]]


@cache
def canary_plan() -> Plan:
    """A prod GKE cluster whose exposed workloads roll out by canary (Flagger and its Prometheus), one from Docker
    Hub, one from the project's own registry."""
    cluster = {**PROD_CLUSTER, "platform": {"dns": {"zone": "gcp.example.com"}}}
    workloads = [
        {"name": "web", "image": "ghcr.io/stefanprodan/podinfo:6.9.2", "clusters": ["gke-prod"], "port": 9898,
         "expose": {"host": "web.gcp.example.com"}},
        {"name": "cache", "image": "docker.io/library/redis:7.4.2", "clusters": ["gke-prod"], "port": 6379},
        {"name": "api", "image": "europe-west1-docker.pkg.dev/acme-platform-prod/apps/api:1.0.0",
         "clusters": ["gke-prod"], "port": 8080},
    ]  # fmt: skip
    result = build_spec(
        {"environment": "prod", "clusters": [cluster], "workloads": workloads},
        extra={"gcp:project": "acme-platform-prod", "gcp:region": "europe-west1"},
    )
    assert result.plan.errors == []
    return result.plan


@pytest.mark.parametrize("plan", [shipped, canary_plan], ids=["prod-gcp", "canary"])
def test_the_prod_policy_admits_every_image_the_cluster_runs(plan: Any) -> None:
    """Every container image of the plan, the charts' rendered objects included, passes the project's policy:
    anything it blocked would fail `pulumi up` at a Deployment's wait or a release's atomic rollback."""
    found = plan()
    images = images_of(found)
    assert images and [i for i in images if not _admits(_patterns(found), i)] == []


def test_the_policy_names_each_workload_repository_and_no_wider() -> None:
    patterns = _patterns(canary_plan())
    assert {"ghcr.io/stefanprodan/podinfo*", "docker.io/library/redis*"} <= set(patterns)
    assert "ghcr.io/fluxcd/flagger*" in patterns and "docker.io/prom/prometheus*" in patterns
    # The project's own registry already admits its images: no pattern of their own.
    assert not any(p.startswith("europe-west1-docker.pkg.dev/acme-platform-prod/apps") for p in patterns)
    assert not _admits(patterns, "ghcr.io/stefanprodan/other:1.0") and not _admits(patterns, "docker.io/evil/redis:1")
    assert images_of(canary_plan()) >= {"ghcr.io/fluxcd/flagger:1.44.0", "docker.io/prom/prometheus:v2.41.0"}


def images_of(plan: Plan) -> set[str]:
    from preflight import admission

    return {i.image for i in admission.review(plan).images}


@pytest.mark.parametrize(
    ("image", "written"),
    [("redis:7.4.2", "docker.io/library/redis:7.4.2"), ("bitnami/redis:7.4", "docker.io/bitnami/redis:7.4")],
)
def test_a_prod_workload_names_its_images_registry_in_one_line(image: str, written: str) -> None:
    raw = {"name": "cache", "image": image, "clusters": ["gke-prod"], "port": 6379}
    with pytest.raises(spec_module.SpecError) as caught:
        spec_module.parse({"environment": "prod", "clusters": [PROD_CLUSTER], "workloads": [raw]})
    assert caught.value.problems == [
        f"orquestra:workloads[0].image: '{image}'; allowed: an image named with its registry ({written}) on gcp "
        "cluster 'gke-prod' in prod: its Binary Authorization policy admits images by the name written"
    ]
    # Elsewhere the runtime's own expansion is fine: no policy reads the name.
    spec_module.parse(
        {"environment": "dev", "clusters": [DEV_CLUSTER], "workloads": [{**raw, "clusters": ["gke-dev"]}]}
    )


def test_dev_leaves_binary_authorization_off() -> None:
    assert cluster(dev())["binaryAuthorization"] == {"evaluationMode": "DISABLED"}
    assert dev().resources(POLICY) == []
