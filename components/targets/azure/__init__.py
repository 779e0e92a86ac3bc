"""Azure Kubernetes Service: a private, Entra ID-only, KMS-encrypted AKS cluster in its own VNet.

Layout: one resource group holds a VNet (a nodes subnet and a delegated API server
subnet for API server VNet integration), a Log Analytics workspace for Container
Insights, a Key Vault whose key encrypts etcd secrets (KMS v2), the control-plane
user-assigned identity, the cluster and its node pools.

Versions and upgrades. The spec pins a minor version ("1.35"). AKS accepts the
minor alias as `kubernetesVersion` and runs its latest patch; the upgrade
channel is `patch`, so AKS moves patches inside that minor during the
maintenance window while the input Pulumi holds stays "1.35": no drift, and a
minor upgrade is still a deliberate spec change. The node OS channel is
`NodeImage`, in its own window.

Node pools. AKS only accepts pool changes through the agent pool API once the
cluster exists, and refuses in-place changes to a pool's VM size, disk, zones or
spot setting. So the first system pool is created inline (AKS requires one at
creation) and every other pool is a standalone `AgentPool` whose AKS name embeds
a short hash of those immutable properties (`general7f3a`). Changing one of
them changes the name, which Pulumi turns into a replacement that creates the
new pool before deleting the old one: the autoscaler brings the new pool up,
then AKS cordons and drains the old one as it deletes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization, containerservice

from components.cluster import Capabilities, KubernetesCluster
from components.spec import AzureSpec, Environment, Problem
from components.targets.azure import capabilities, control_plane, deployer, identity, kubeconfig, network, nodes


class AzureCluster(KubernetesCluster[AzureSpec]):
    @classmethod
    def check(cls, spec: AzureSpec) -> list[Problem]:
        """AKS rules the generic spec cannot know, found before any resource is registered."""
        problems: list[Problem] = []
        names: dict[str, int] = {}
        for i, pool in enumerate(spec.node_pools):
            if len(pool.instance_types) > 1:
                problems.append(Problem(f"nodePools[{i}].instanceTypes", pool.instance_types, "one VM size per pool"))
            short = re.sub(r"[^a-z0-9]", "", pool.name)[:8]
            if short in names:
                problems.append(
                    Problem(
                        f"nodePools[{i}].name",
                        pool.name,
                        f"a name whose first 8 letters and digits differ from nodePools[{names[short]}]",
                    )
                )
            names.setdefault(short, i)
            if pool.role == "system" and pool.min < 1:
                problems.append(Problem(f"nodePools[{i}].min", pool.min, "at least 1 for a system pool"))
            if pool.role == "system" and pool.spot:
                problems.append(Problem(f"nodePools[{i}].spot", pool.spot, "false for a system pool"))
        if not any(p.role == "system" for p in spec.node_pools):
            problems.append(
                Problem("nodePools", [p.name for p in spec.node_pools], "at least one pool with role: system")
            )
        if spec.platform.dns.zone and not spec.dns_resource_group:
            problems.append(
                Problem(
                    "dnsResourceGroup",
                    None,
                    f"the resource group of the Azure DNS zone {spec.platform.dns.zone} (platform.dns.zone)",
                )
            )
        if not spec.local_accounts and not spec.admin_group_object_ids:
            problems.append(
                Problem("adminGroupObjectIds", [], "at least one Entra ID group when localAccounts is false")
            )
        return problems

    def __init__(self, spec: AzureSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__(spec, environment, opts)
        self.client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.zones = tuple(str(z) for z in range(1, spec.network.zones + 1)) if spec.network.zones > 1 else ()
        self.resource_group = control_plane.resource_group(self)

        net = network.build(self)
        self.network = net
        plane_identity = identity.control_plane(self)
        kms = control_plane.secrets_key(self, plane_identity)
        grants = identity.control_plane_grants(self, plane_identity, kms.vault, net.vnet)
        logs = control_plane.workspace(self)
        hub = spec.deployer.hub if spec.deployer is not None else None
        dns_zone = deployer.zone(self, hub, plane_identity) if hub is not None else None
        cluster = control_plane.build(self, net, plane_identity, kms, logs, grants, dns_zone)
        # Every Kubernetes call waits for the path from the hub, where `pulumi up` runs.
        joined = deployer.peer(self, hub, net.vnet) if hub is not None else []
        self.cluster = cluster
        pools = nodes.build(self, cluster, net.nodes.id)
        maintenance = control_plane.maintenance(self, cluster)
        control_plane.diagnostics(self, cluster, logs)
        insights = control_plane.container_insights(self, cluster, logs)
        admins = identity.admins(self, cluster)

        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self.resource_group.name,
            resource_name=cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[cluster]),
        )
        config = pulumi.Output.secret(creds.kubeconfigs[0].value.apply(kubeconfig.render))
        fqdn = cluster.private_fqdn if spec.api_access.private else cluster.fqdn
        self.oidc_issuer_url: pulumi.Output[str] = cluster.oidc_issuer_profile.apply(
            lambda p: p.issuer_url if p else ""
        )
        self.identity_opts = self.child_opts()
        self.acme_dns01, self.cert_manager_values = identity.cert_manager(self)

        self._publish(
            kubeconfig=config,
            endpoint=fqdn.apply(lambda f: f"https://{f}:443"),
            cluster_name=cluster.name,
            kubernetes_version=spec.kubernetes_version,
            # The deployer reaches the API through its role assignment (`admins` starts with it) and, with a hub,
            # through the peering and the DNS zone link.
            api=[*admins[:1], *joined],
            nodes=[cluster, *pools],
            ready=[cluster, *pools, *maintenance, *admins, insights, *joined],
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """A user-assigned identity trusted for exactly one ServiceAccount through the cluster's OIDC issuer."""
        return identity.workload_identity(self, namespace, service_account, opts)
