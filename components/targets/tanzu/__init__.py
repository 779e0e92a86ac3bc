"""A workload cluster on vSphere with Tanzu, built by the Supervisor from Cluster API objects.

The program talks only to Kubernetes APIs: it applies a `Cluster` (a topology of the Supervisor's
ClusterClass) in a vSphere Namespace through a provider built from that Namespace's kubeconfig, waits for
Cluster API to report it Ready, reads the workload cluster's kubeconfig from the `<cluster>-kubeconfig`
Secret Cluster API writes beside it (secret from the read to the provider), and connects. Node pools are
machine deployments the autoscaler sizes through the same Supervisor API.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Capabilities, KubernetesCluster
from components.runtime import secret_output
from components.spec import Environment, TanzuSpec
from components.targets.tanzu import capabilities, kubeconfig, topology

CREATE_TIMEOUT_SECONDS = 3600
"""How long `pulumi up` waits for the Cluster's Ready condition: control-plane VMs one after another, then pools."""


class TanzuCluster(KubernetesCluster[TanzuSpec]):
    def __init__(self, spec: TanzuSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__(spec, environment, opts)
        supervisor = k8s.Provider(
            f"{spec.name}-supervisor",
            k8s.ProviderArgs(
                kubeconfig=secret_output(spec.management_kubeconfig),
                context=spec.context,
                namespace=spec.namespace,
                enable_server_side_apply=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        cluster = k8s.apiextensions.CustomResource(
            f"{spec.name}-cluster",
            api_version=topology.API_VERSION,
            kind="Cluster",
            metadata={
                "name": spec.name,
                "namespace": spec.namespace,
                "labels": dict(topology.labels(spec, environment)),
                "annotations": {
                    # The provider's generic await: done when Cluster API sets the Ready condition, by which
                    # time the control plane answers and the kubeconfig Secret exists (pulumi-kubernetes
                    # `pulumi.com/waitFor`, the GenericAwaiter of its tests).
                    "pulumi.com/waitFor": "condition=Ready",
                    "pulumi.com/timeoutSeconds": str(CREATE_TIMEOUT_SECONDS),
                },
            },
            spec=topology.cluster_spec(spec, self.autoscaled),
            opts=self.child_opts(stateful=True, provider=supervisor),
        )
        self.cluster = cluster
        # Read once the Cluster exists: its id is unknown while a first preview plans the create, so the
        # read waits for the deployment instead of failing on a Secret nobody has written yet.
        secret = k8s.core.v1.Secret.get(
            f"{spec.name}-workload-kubeconfig",
            id=cluster.id.apply(lambda _: f"{spec.namespace}/{kubeconfig.secret_name(spec.name)}"),
            opts=pulumi.ResourceOptions(
                parent=self, provider=supervisor, depends_on=[cluster], additional_secret_outputs=["data"]
            ),
        )
        config: pulumi.Output[str] = pulumi.Output.secret(secret.data.apply(kubeconfig.from_secret))
        provider = self._connect(config, [cluster])
        # The machine deployments belong to the Cluster's topology and have no resource of their own here: charts
        # with pods wait for the Cluster (and the autoscaler's credentials), and their own readiness for the workers.
        ready: list[pulumi.Resource] = [cluster]
        if self.autoscaled:
            ready.append(self._autoscaler_credentials(provider))
        self._publish(
            endpoint=pulumi.Output.unsecret(config.apply(kubeconfig.server)),
            cluster_name=spec.name,
            kubernetes_version=spec.kubernetes_version,
            ready=ready,
        )

    @property
    def autoscaled(self) -> bool:
        """Whether cluster-autoscaler owns some pool's size (a pool whose min and max differ)."""
        return self.spec.platform.node_autoscaler and any(p.min < p.max for p in self.spec.node_pools)

    def _autoscaler_credentials(self, provider: k8s.Provider) -> k8s.core.v1.Secret:
        """The Supervisor kubeconfig where the autoscaler chart mounts it, so it can scale MachineDeployments."""
        return k8s.core.v1.Secret(
            f"{self.spec.name}-autoscaler-management-kubeconfig",
            metadata={"name": capabilities.MANAGEMENT_KUBECONFIG_SECRET, "namespace": "kube-system"},
            type="Opaque",
            string_data={capabilities.MANAGEMENT_KUBECONFIG_KEY: secret_output(self.spec.management_kubeconfig)},
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)
