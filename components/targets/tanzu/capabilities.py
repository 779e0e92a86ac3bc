"""What a Tanzu workload cluster offers the workloads layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components.cluster import Capabilities

if TYPE_CHECKING:
    from components.targets.tanzu import TanzuCluster

MANAGEMENT_KUBECONFIG_SECRET = "cluster-autoscaler-management-kubeconfig"
"""The Secret in kube-system (the autoscaler chart's namespace) holding the Supervisor kubeconfig."""
MANAGEMENT_KUBECONFIG_KEY = "mgmt-kubeconfig"
"""Its key: the chart mounts the Secret at the directory of `clusterAPIWorkloadKubeconfigPath` (/etc/kubernetes)
and passes `--cloud-config=/etc/kubernetes/mgmt-kubeconfig` (`clusterAPICloudConfigPath`) in `incluster-kubeconfig`
mode (cluster-autoscaler chart 9.50.1, values.yaml and templates/deployment.yaml)."""


def autoscaler_values(c: TanzuCluster) -> dict[str, Any]:
    """cluster-autoscaler's `clusterapi` provider, in the workload cluster, scaling its MachineDeployments.

    `incluster-kubeconfig`: nodes are read in-cluster, MachineDeployments through the Supervisor kubeconfig.
    Discovery is limited to this cluster in its vSphere Namespace, so it never scales a neighbour's pools.
    Source: kubernetes/autoscaler cluster-autoscaler/cloudprovider/clusterapi/README.md ("Connecting
    cluster-autoscaler to Cluster API management and workload Clusters", "Configuring node group auto discovery").
    """
    spec = c.spec
    return {
        "cloudProvider": "clusterapi",
        "clusterAPIMode": "incluster-kubeconfig",
        "clusterAPIKubeconfigSecret": MANAGEMENT_KUBECONFIG_SECRET,
        "clusterAPICloudConfigPath": f"/etc/kubernetes/{MANAGEMENT_KUBECONFIG_KEY}",
        "autoDiscovery": {"clusterName": spec.name, "namespace": spec.namespace},
    }


def of(c: TanzuCluster) -> Capabilities:
    """The Supervisor's load balancer (or MetalLB), cluster-autoscaler on Cluster API, the namespace's storage."""
    spec = c.spec
    autoscaled = c.autoscaled
    return Capabilities(
        # The paravirtual cloud provider asks the Supervisor (NSX or Avi) for each LoadBalancer Service.
        load_balancer="cloud" if spec.load_balancer == "supervisor" else "metallb",
        metallb_pool=tuple(spec.load_balancer_pool),
        node_autoscaler="cluster-autoscaler" if autoscaled else "none",
        node_autoscaler_installed=False,
        node_autoscaler_values=autoscaler_values(c) if autoscaled else {},
        # pvCSI names the namespace's storage policies as classes; `defaultStorageClass` marks this one default.
        default_storage_class=spec.storage_class,
        pod_identity="none",
        zones=tuple(sorted({z for p in spec.node_pools for z in p.zones})),
        # kubeadm's kubelet serving certificate is self-signed unless serverTLSBootstrap is on
        # (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#kubelet-serving-certs).
        metrics_server_args=("--kubelet-insecure-tls",),
    )
