"""A production GKE Standard cluster: VPC-native network, private nodes, KMS-encrypted secrets.

Everything the cluster needs is created here and parented to the component, so
one stack owns one cluster end to end: the VPC and its NAT, the KMS key that
encrypts Kubernetes Secrets in etcd, a least-privilege node identity, the
cluster itself (regional in prod, zonal in dev) and one node pool per spec pool,
sized by GKE's own autoscaler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.cluster import Capabilities, KubernetesCluster, exec_kubeconfig
from components.spec import Environment, GcpSpec, Problem
from components.spec import NodePool as NodePoolSpec

NODE_ROLES: tuple[str, ...] = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)
"""What a node needs and nothing more: ship logs and metrics, pull images. Never the Compute Engine default SA."""

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

TAINT_EFFECTS: Mapping[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FIRST_MONDAY = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AUTH_PLUGIN = "gke-gcloud-auth-plugin"


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


def account_id(*parts: str) -> str:
    """A service account id (6-30 chars) from readable parts; long ones keep a hash so they stay unique."""
    name = re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower()).strip("-")
    if 6 <= len(name) <= 30:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:21].rstrip('-')}-{digest}"


def render_kubeconfig(context: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig whose credentials come from `gke-gcloud-auth-plugin`, never a static token."""
    return exec_kubeconfig(
        context,
        f"https://{endpoint}",
        ca_certificate,
        {
            "command": AUTH_PLUGIN,
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        },
    )


class GcpCluster(KubernetesCluster[GcpSpec]):
    @classmethod
    def check(cls, spec: GcpSpec) -> list[Problem]:
        """GKE's own rules on the spec, found before any resource is registered."""
        problems: list[Problem] = []
        if spec.maintenance.hours < MIN_MAINTENANCE_HOURS:
            problems.append(
                Problem(
                    "maintenance.hours",
                    spec.maintenance.hours,
                    f"an integer >= {MIN_MAINTENANCE_HOURS} on gcp "
                    "(GKE needs 48 h of maintenance availability in any 32 days)",
                )
            )
        master = ipaddress.ip_network(spec.master_cidr)
        if master.prefixlen != 28 or master.version != 4:
            problems.append(Problem("masterCidr", spec.master_cidr, "an IPv4 /28 for the GKE control plane"))
        for key, value in (
            ("network.cidr", spec.network.cidr),
            ("network.podCidr", spec.network.pod_cidr),
            ("network.serviceCidr", spec.network.service_cidr),
        ):
            if master.overlaps(ipaddress.ip_network(value)):
                problems.append(
                    Problem("masterCidr", spec.master_cidr, f"a range that does not overlap {key} ({value})")
                )
        for i, pool in enumerate(spec.node_pools):
            for j, zone in enumerate(pool.zones):
                if not re.fullmatch(rf"{re.escape(spec.region)}-[a-z]", zone):
                    problems.append(
                        Problem(f"nodePools[{i}].zones[{j}]", zone, f"a zone of {spec.region}, e.g. {spec.region}-b")
                    )
        return problems

    def __init__(self, spec: GcpSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(spec, environment, opts)
        name, project, region = spec.name, spec.project, spec.region
        self.project = project
        self.workload_pool = f"{project}.svc.id.goog"
        resource_labels = labels(self.tags())
        full_telemetry = environment != "dev"

        available = sorted(gcp.compute.get_zones(project=project, region=region, status="UP").names)
        zones = available[: spec.network.zones] if spec.regional else available[:1]
        location = region if spec.regional else zones[0]
        self.zones = tuple(zones)
        self.location = location

        apis = [
            gcp.projects.Service(
                f"{name}-{api.split('.')[0]}-api",
                project=project,
                service=api,
                # Other stacks in the project may use the API too: never switch it off on destroy.
                disable_on_destroy=False,
                opts=self.child_opts(),
            )
            for api in APIS
        ]

        # ---------------------------------------------------------------- network
        network = gcp.compute.Network(
            f"{name}-vpc",
            project=project,
            name=f"{name}-vpc",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description=f"orquestra: VPC of GKE cluster {name}",
            opts=self.child_opts(depends_on=apis),
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            project=project,
            region=region,
            name=f"{name}-nodes",
            network=network.id,
            ip_cidr_range=spec.network.cidr,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=spec.network.pod_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name="services", ip_cidr_range=spec.network.service_cidr
                ),
            ],
            # Private nodes have no external IP: Google APIs (Artifact Registry, logging) over internal routes.
            private_ip_google_access=True,
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC",
                flow_sampling=0.5 if full_telemetry else 0.1,
                metadata="INCLUDE_ALL_METADATA",
            ),
            opts=self.child_opts(),
        )
        router = gcp.compute.Router(
            f"{name}-router",
            project=project,
            region=region,
            name=f"{name}-router",
            network=network.id,
            opts=self.child_opts(),
        )
        nat = gcp.compute.RouterNat(
            f"{name}-nat",
            project=project,
            region=region,
            name=f"{name}-nat",
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[
                gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])
            ],
            enable_endpoint_independent_mapping=False,
            enable_dynamic_port_allocation=True,
            min_ports_per_vm=64,
            max_ports_per_vm=4096,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=self.child_opts(),
        )

        # ------------------------------------------------- secrets encryption key
        key_ring = gcp.kms.KeyRing(
            f"{name}-keyring",
            project=project,
            name=f"{name}-gke",
            location=region,
            opts=self.child_opts(stateful=True, depends_on=apis),
        )
        crypto_key = gcp.kms.CryptoKey(
            f"{name}-secrets-key",
            name=f"{name}-secrets",
            key_ring=key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION,
            labels=resource_labels,
            opts=self.child_opts(stateful=True),
        )
        project_number = gcp.organizations.get_project(project_id=project).number
        self.service_agent = f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"
        key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-key-gke",
            crypto_key_id=crypto_key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=self.service_agent,
            # The service agent exists once the Kubernetes Engine API is on.
            opts=self.child_opts(depends_on=apis),
        )

        # ------------------------------------------------------- node identity
        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes-sa",
            project=project,
            account_id=account_id(name, "nodes"),
            display_name=f"GKE nodes of {name}",
            description="Least-privilege identity of the cluster's nodes (logs, metrics, image pulls).",
            opts=self.child_opts(),
        )
        node_roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
                project=project,
                role=role,
                member=node_sa.member,
                opts=self.child_opts(),
            )
            for role in NODE_ROLES
        ]
        self.node_service_account = node_sa

        # ------------------------------------------------------------- cluster
        authorized = [
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                cidr_block=cidr, display_name=f"allowed-{i}"
            )
            for i, cidr in enumerate(spec.api_access.public_cidrs)
        ]
        if spec.api_access.private:
            # The only way in is from the VPC itself (a CI runner or bastion in the node subnet).
            authorized.insert(
                0,
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=spec.network.cidr, display_name="node-subnet"
                ),
            )
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
            network=network.id,
            subnetwork=subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name="pods",
                services_secondary_range_name="services",
                stack_type="IPV4",
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=spec.api_access.private,
                master_ipv4_cidr_block=spec.master_cidr,
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
            enable_shielded_nodes=True,
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=self.workload_pool),
            # Dataplane V2 (eBPF) enforces NetworkPolicy itself; the Calico add-on stays off.
            datapath_provider="ADVANCED_DATAPATH",
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
                horizontal_pod_autoscaling=gcp.container.ClusterAddonsConfigHorizontalPodAutoscalingArgs(
                    disabled=False
                ),
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
            opts=self.child_opts(
                stateful=True,
                depends_on=[key_grant, nat, *node_roles],
                # Both only shape the default pool, which is deleted on create; a change would replace the cluster.
                ignore_changes=["nodeConfig", "initialNodeCount"],
            ),
        )
        self.cluster = cluster

        pools = [self._node_pool(pool, cluster, node_sa, zones, resource_labels) for pool in spec.node_pools]
        self.node_pools = pools

        external_dns: dict[str, object] = {}
        if spec.platform.dns.zone:
            # external-dns edits Cloud DNS as its own Google service account, never the nodes'.
            annotations = self.workload_identity("external-dns", "external-dns", self.child_opts())
            gcp.projects.IAMMember(
                f"{name}-external-dns-dns-admin",
                project=project,
                role="roles/dns.admin",
                member=pulumi.Output.concat("serviceAccount:", annotations["iam.gke.io/gcp-service-account"]),
                opts=self.child_opts(),
            )
            external_dns = {
                "serviceAccount": {"annotations": dict(annotations)},
                "extraArgs": [f"--google-project={project}"],
            }

        context = f"gke_{project}_{location}_{name}"
        config = pulumi.Output.all(cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
            lambda args: render_kubeconfig(context, str(args[0]), str(args[1]))
        )
        self.external_dns_values = external_dns
        self._publish(
            kubeconfig=pulumi.Output.secret(config),
            endpoint=cluster.endpoint.apply(lambda e: f"https://{e}"),
            cluster_name=cluster.name,
            kubernetes_version=spec.kubernetes_version,
            ready=pools,
        )

    def capabilities(self) -> Capabilities:
        return Capabilities(
            load_balancer="cloud",
            node_autoscaler="cloud",
            default_storage_class="standard-rwo",
            pod_identity="gke-workload-identity",
            zones=self.zones,
            region=self.spec.region,
            # Backend-service based external passthrough LB (the current GKE generation).
            lb_annotations_public={"cloud.google.com/l4-rbs": "enabled"},
            lb_annotations_internal={"networking.gke.io/load-balancer-type": "Internal"},
            external_dns_provider="google",
            external_dns_values=self.external_dns_values,
        )

    def _node_pool(
        self,
        pool: NodePoolSpec,
        cluster: gcp.container.Cluster,
        node_sa: gcp.serviceaccount.Account,
        cluster_zones: Sequence[str],
        resource_labels: Mapping[str, str],
    ) -> gcp.container.NodePool:
        """One GKE node pool; the cluster autoscaler owns its size between the pool's min and max (totals)."""
        zones = list(pool.zones) or list(cluster_zones)
        node_labels = {**pool.labels, "orquestra.io/pool": pool.name, "orquestra.io/role": pool.role}
        taints = [
            gcp.container.NodePoolNodeConfigTaintArgs(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect])
            for t in pool.taints
        ]
        node_config: dict[str, Any] = {
            "machine_type": pool.instance_types[0],
            "disk_size_gb": pool.disk_size_gb,
            "disk_type": "pd-balanced",
            "image_type": "COS_CONTAINERD",
            "spot": pool.spot,
            "service_account": node_sa.email,
            "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
            "labels": node_labels,
            "resource_labels": {**resource_labels, "orquestra-pool": pool.name},
            "taints": taints,
            "metadata": {"disable-legacy-endpoints": "true"},
            "shielded_instance_config": gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
            "workload_metadata_config": gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        }
        return gcp.container.NodePool(
            f"{self.spec.name}-{pool.name}",
            project=self.project,
            cluster=cluster.name,
            location=cluster.location,
            name=pool.name,
            node_locations=zones,
            # Per zone, at creation only: afterwards the autoscaler decides.
            initial_node_count=math.ceil(pool.min / len(zones)),
            ignore_node_count_changes=True,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min,
                total_max_node_count=pool.max,
                # Spot capacity is wherever it is; on-demand pools stay spread across zones.
                location_policy="ANY" if pool.spot else "BALANCED",
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE", max_surge=1, max_unavailable=0
            ),
            node_config=gcp.container.NodePoolNodeConfigArgs(**node_config),
            opts=self.child_opts(ignore_changes=["initialNodeCount", "nodeCount"]),
        )

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """A Google service account that the Kubernetes ServiceAccount `namespace/service_account` may act as."""
        name = self.spec.name
        gsa = gcp.serviceaccount.Account(
            f"{name}-{namespace}-{service_account}-gsa",
            project=self.project,
            account_id=account_id(name, namespace, service_account),
            display_name=f"{namespace}/{service_account} on {name}",
            description="Workload Identity of one Kubernetes ServiceAccount; grant it only what the workload needs.",
            opts=opts,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-{namespace}-{service_account}-wi",
            service_account_id=gsa.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{self.workload_pool}[{namespace}/{service_account}]",
            # The identity pool exists once the cluster does.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.cluster])),
        )
        return {"iam.gke.io/gcp-service-account": gsa.email}
