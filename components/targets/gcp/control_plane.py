"""The GKE control plane: project APIs, the KMS key that encrypts secrets in etcd, and the cluster itself."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from components import syntax
from components.ignores import ignored
from components.targets.gcp.nodes import CLOUD_PLATFORM_SCOPE

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster
    from components.targets.gcp.identity import NodeIdentity
    from components.targets.gcp.network import Network

APIS: tuple[str, ...] = ("compute.googleapis.com", "container.googleapis.com", "cloudkms.googleapis.com")

KEY_ROTATION = "7776000s"
"""90 days: the secrets-encryption key gets a new primary version four times a year."""

MIN_MAINTENANCE_HOURS = 12
"""GKE rejects a policy with less than 48 h of maintenance availability in any 32 days (4 weekly windows)."""

LOGGING_COMPONENTS: Mapping[bool, tuple[str, ...]] = {
    False: ("SYSTEM_COMPONENTS", "WORKLOADS"),
    True: ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"),
}
MONITORING_COMPONENTS: Mapping[bool, tuple[str, ...]] = {
    False: ("SYSTEM_COMPONENTS",),
    True: (
        "SYSTEM_COMPONENTS",
        "APISERVER",
        "SCHEDULER",
        "CONTROLLER_MANAGER",
        "STORAGE",
        "POD",
        "DEPLOYMENT",
        "STATEFULSET",
        "DAEMONSET",
        "HPA",
    ),
}

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FIRST_MONDAY = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def maintenance_window(day: str, start: str, hours: int) -> dict[str, str]:
    """A weekly `recurring_window`: the first such weekday of 2024 anchors the RRULE, times in UTC."""
    hour, minute = (int(p) for p in start.split(":"))
    begin = _FIRST_MONDAY + dt.timedelta(days=_DAYS.index(day), hours=hour, minutes=minute)
    end = begin + dt.timedelta(hours=hours)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "start_time": begin.strftime(stamp),
        "end_time": end.strftime(stamp),
        "recurrence": f"FREQ=WEEKLY;BYDAY={day[:2].upper()}",
    }


def labels(tags: Mapping[str, str]) -> dict[str, str]:
    """GCP labels from the cluster's tags: lowercase letters, digits, `_` and `-`, keys start with a letter."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        k = re.sub(r"[^a-z0-9_-]", "_", key.lower())[:63]
        if not k[:1].isalpha():
            k = f"k{k}"[:63]
        out[k] = re.sub(r"[^a-z0-9_-]", "_", value.lower())[:63]
    return out


def apis(c: GcpCluster) -> list[gcp.projects.Service]:
    """The project APIs the cluster needs."""
    name, project = c.spec.name, c.spec.project
    return [
        gcp.projects.Service(
            f"{name}-{api.split('.')[0]}-api",
            project=project,
            service=api,
            # Other stacks in the project may use the API too: never switch it off on destroy.
            disable_on_destroy=False,
            opts=c.child_opts(),
        )
        for api in APIS
    ]


@dataclass(frozen=True)
class SecretsKey:
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember
    """The GKE service agent's right to use the key, which the cluster must wait for."""


def secrets_key(c: GcpCluster, apis: Sequence[pulumi.Resource], resource_labels: Mapping[str, str]) -> SecretsKey:
    """A rotating KMS key for envelope encryption of Secrets in etcd, usable by GKE's service agent only."""
    name, project, region = c.spec.name, c.spec.project, c.spec.region
    # GCP never deletes a KeyRing (nor a CryptoKey): `pulumi destroy` only forgets them, so a fixed
    # name would make the next `up` fail with 409. No `name`: the provider names the ring
    # `<name>-keyring-<7 random hex>` on create and keeps it in state, so every deployment gets a ring
    # of its own (a cluster name has at most 24 characters, so the ring's stays far below GCP's 63).
    # Sources: pulumi_gcp/kms/key_ring.py ("KeyRings cannot be deleted from Google Cloud Platform");
    # pulumi-gcp provider/resources.go (ed6078aa): `prov.SetAutonaming(255, "-")` with no override for
    # google_kms_key_ring; https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming
    key_ring = gcp.kms.KeyRing(
        f"{name}-keyring",
        project=project,
        location=region,
        opts=c.child_opts(stateful=True, depends_on=apis),
    )
    crypto_key = gcp.kms.CryptoKey(
        f"{name}-secrets-key",
        name=f"{name}-secrets",
        key_ring=key_ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=KEY_ROTATION,
        labels=resource_labels,
        opts=c.child_opts(stateful=True),
    )
    project_number = gcp.organizations.get_project(project_id=project).number
    service_agent = f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"
    key_grant = gcp.kms.CryptoKeyIAMMember(
        f"{name}-secrets-key-gke",
        crypto_key_id=crypto_key.id,
        role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member=service_agent,
        # The service agent exists once the Kubernetes Engine API is on.
        opts=c.child_opts(depends_on=apis),
    )
    return SecretsKey(crypto_key, key_grant)


BINAUTHZ_ALLOWED: tuple[str, ...] = (
    "quay.io/jetstack/*",
    "docker.io/envoyproxy/*",
    "registry.k8s.io/external-dns/*",
    "registry.k8s.io/metrics-server/*",
    "ghcr.io/fluxcd/flagger*",
    "docker.io/prom/prometheus*",
)
"""Registries of the platform add-ons the workloads layer installs, read from the pinned charts' values.yaml
(cert-manager v1.19.1, envoy-gateway v1.8.2 and the Envoy proxies it runs, external-dns 1.19.0,
metrics-server 3.13.0, flagger 1.44.0 and the Prometheus it bundles). Pattern syntax:
https://cloud.google.com/binary-authorization/docs/policy-yaml-reference; a trailing `*` matches no `/`, so
`ghcr.io/fluxcd/flagger*` admits that image at any tag or digest and nothing below it
(AdmissionWhitelistPattern, Binary Authorization API)."""


def admitted(image: str) -> str:
    """The allowlist pattern of one workload image: its repository at any tag or digest (`registry/path*`).

    The spec has the image name its registry on a prod GKE cluster (`spec._image_registries`); a wildcard is
    allowed only after a `registry/` part.
    """
    name = syntax.with_registry(image).split("@", 1)[0]
    path, _, last = name.rpartition("/")
    return f"{path}/{last.split(':', 1)[0]}*"


def binary_authorization(c: GcpCluster, apis: Sequence[pulumi.Resource]) -> gcp.binaryauthorization.Policy | None:
    """Prod admits only allowlisted images (CIS GKE Benchmark v1.6.0 5.10.4); dev runs whatever it is given.

    Admitted: Google-maintained GKE system images (`globalPolicyEvaluationMode`), the project's
    own Artifact Registry in the cluster's region, the add-on registries above, and the repository
    of each image the stack's workloads on this cluster run; everything else is blocked and audited.
    The policy is the project's single one: one prod cluster a project.
    """
    if c.environment not in c.spec.images_admitted_by_name_in:
        return None
    name, project, region = c.spec.name, c.spec.project, c.spec.region
    service = gcp.projects.Service(
        f"{name}-binaryauthorization-api",
        project=project,
        service="binaryauthorization.googleapis.com",
        disable_on_destroy=False,
        opts=c.child_opts(),
    )
    own = f"{region}-docker.pkg.dev/{project}/"
    workloads = sorted({admitted(i) for i in c.spec.workload_images if not i.startswith(own)})
    patterns = [f"{own}**", *BINAUTHZ_ALLOWED, *(p for p in workloads if p not in BINAUTHZ_ALLOWED)]
    return gcp.binaryauthorization.Policy(
        f"{name}-binauthz",
        project=project,
        description=f"orquestra: images cluster {name} may run",
        global_policy_evaluation_mode="ENABLE",
        admission_whitelist_patterns=[
            gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(name_pattern=p) for p in patterns
        ],
        default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
            evaluation_mode="ALWAYS_DENY", enforcement_mode="ENFORCED_BLOCK_AND_AUDIT_LOG"
        ),
        opts=c.child_opts(depends_on=[*apis, service]),
    )


def build(
    c: GcpCluster,
    network: Network,
    key: SecretsKey,
    nodes: NodeIdentity,
    zones: Sequence[str],
    location: str,
    resource_labels: Mapping[str, str],
    policy: gcp.binaryauthorization.Policy | None,
) -> gcp.container.Cluster:
    """The cluster: regional in prod, private nodes, Dataplane V2, Workload Identity, Shielded Nodes, KMS."""
    spec, name, project = c.spec, c.spec.name, c.spec.project
    environment = c.environment
    full_telemetry = environment != "dev"
    node_sa, crypto_key = nodes.account, key.key
    authorized = [
        gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=cidr, display_name=f"allowed-{i}")
        for i, cidr in enumerate(spec.api_access.public_cidrs)
    ]
    hub = spec.deployer.hub if spec.deployer is not None else None
    if spec.api_access.private:
        # The only ways in: the VPC itself, and the deployer's hub peered with it (deployer.py).
        authorized[:0] = [
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                cidr_block=spec.network.cidr, display_name="node-subnet"
            ),
            *(
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=cidr, display_name=f"deployer-hub-{j}"
                )
                for j, cidr in enumerate(hub.cidrs if hub is not None else [])
            ),
        ]
    window = maintenance_window(spec.maintenance.day, spec.maintenance.start, spec.maintenance.hours)
    shielded = {"enable_secure_boot": True, "enable_integrity_monitoring": True}

    cluster = gcp.container.Cluster(
        f"{name}-gke",
        project=project,
        name=name,
        location=location,
        node_locations=zones if spec.regional else None,
        description=f"orquestra {environment} cluster {name}",
        resource_labels=resource_labels,
        deletion_protection=spec.deletion_protection,
        min_master_version=spec.kubernetes_version,
        release_channel=gcp.container.ClusterReleaseChannelArgs(channel=spec.release_channel),
        maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
            recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(**window)
        ),
        # Node pools are managed below; GKE still needs one at creation, deleted right after.
        remove_default_node_pool=True,
        initial_node_count=1,
        node_config=gcp.container.ClusterNodeConfigArgs(
            service_account=node_sa.email,
            oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(**shielded),
            workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        ),
        network=network.network.id,
        subnetwork=network.subnet.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name="pods",
            services_secondary_range_name="services",
            stack_type="IPV4",
        ),
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            enable_private_endpoint=spec.api_access.private,
            # With a hub, the control plane is a Private Service Connect one whose endpoint is an address of the
            # nodes' subnetwork, which the peered hub reaches; a peering-based one sits in Google's own network
            # that no peer of the cluster's network reaches (deployer.py).
            master_ipv4_cidr_block=None if hub is not None else spec.master_cidr,
            private_endpoint_subnetwork=network.subnet.id if hub is not None else None,
            master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(
                enabled=spec.api_access.private
            ),
        ),
        master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=authorized,
            gcp_public_cidrs_access_enabled=False,
        ),
        master_auth=gcp.container.ClusterMasterAuthArgs(
            client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                issue_client_certificate=False
            )
        ),
        enable_legacy_abac=False,
        binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
            evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE" if policy else "DISABLED"
        ),
        enable_shielded_nodes=True,
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=c.workload_pool),
        # Dataplane V2 (eBPF) enforces NetworkPolicy itself; the Calico add-on stays off.
        datapath_provider="ADVANCED_DATAPATH",
        addons_config=gcp.container.ClusterAddonsConfigArgs(
            http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            horizontal_pod_autoscaling=gcp.container.ClusterAddonsConfigHorizontalPodAutoscalingArgs(disabled=False),
            gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(
                enabled=True
            ),
            network_policy_config=gcp.container.ClusterAddonsConfigNetworkPolicyConfigArgs(disabled=True),
            dns_cache_config=gcp.container.ClusterAddonsConfigDnsCacheConfigArgs(enabled=full_telemetry),
        ),
        database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=crypto_key.id),
        logging_config=gcp.container.ClusterLoggingConfigArgs(
            enable_components=list(LOGGING_COMPONENTS[full_telemetry])
        ),
        monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
            enable_components=list(MONITORING_COMPONENTS[full_telemetry]),
            managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=full_telemetry),
        ),
        opts=c.child_opts(
            stateful=True,
            depends_on=[key.grant, network.nat, *nodes.roles, *([policy] if policy else [])],
            # Both only shape the default pool, which is deleted on create; a change would replace the cluster.
            ignore_changes=ignored("gcp:container/cluster:Cluster"),
        ),
    )
    return cluster
