"""The Cluster API `Cluster` a Tanzu workload cluster is: a topology of the Supervisor's ClusterClass.

The shape is Cluster API's `cluster.x-k8s.io/v1beta1` Cluster (CRD `config/crd/bases/cluster.x-k8s.io_clusters.yaml`
of kubernetes-sigs/cluster-api v1.10.10), with the variables of VMware's `tanzukubernetescluster` ClusterClass.
Source: https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-69E52B31-6DEC-412D-B60E-FE733156F708.html
(ClusterClass API v1beta1, "ClusterClass Variables for Customizing a Cluster": `vmClass` and `storageClass` are
required; `defaultStorageClass`, `nodePoolLabels`, `nodePoolTaints` and `podSecurityStandard` are optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.pins import TANZU_RELEASES
from components.spec import NodePool, TanzuSpec

API_VERSION = "cluster.x-k8s.io/v1beta1"
WORKER_CLASS = "node-pool"
"""The machine deployment class `tanzukubernetescluster` defines for worker pools."""

# cluster-api v1.10.10 api/v1beta1/common_types.go AutoscalerMinSizeAnnotation / AutoscalerMaxSizeAnnotation,
# the annotations cluster-autoscaler's clusterapi provider reads on a MachineDeployment
# (kubernetes/autoscaler cluster-autoscaler/cloudprovider/clusterapi/README.md, "Enabling Autoscaling").
MIN_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
MAX_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"


def release_version(minor: str) -> str:
    """The `spec.topology.version` of a minor: the pinned release's VERSION, which its NAME spells with `---`."""
    return TANZU_RELEASES[minor].replace("---", "+", 1)


def _variable(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "value": value}


def machine_deployment(pool: NodePool, autoscaled: bool) -> dict[str, Any]:
    """One machine deployment of a pool: its VM class, zone, labels and taints, and who owns its size.

    Autoscaled, the topology leaves `replicas` unset: the topology controller then never writes the
    MachineDeployment's replicas, which Cluster API defaults to the min-size annotation on create and the
    autoscaler owns from there (cluster-api v1.10.10 docs/book/src/tasks/automated-machine-management/
    autoscaling.md, "Defaulting of the MachineDeployment, MachineSet replicas field"). The program never
    sets it, so it never fights the autoscaler, and needs no ignoreChanges.
    """
    labels = {"orquestra.io/pool": pool.name, "orquestra.io/role": pool.role, **pool.labels}
    overrides = [
        _variable("vmClass", pool.instance_types[0]),
        _variable("nodePoolLabels", [{"key": k, "value": v} for k, v in sorted(labels.items())]),
    ]
    if pool.taints:
        overrides.append(
            _variable("nodePoolTaints", [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints])
        )
    md: dict[str, Any] = {"class": WORKER_CLASS, "name": pool.name, "variables": {"overrides": overrides}}
    if pool.zones:
        md["failureDomain"] = pool.zones[0]
    if autoscaled and pool.min < pool.max:
        md["metadata"] = {"annotations": {MIN_SIZE: str(pool.min), MAX_SIZE: str(pool.max)}}
    else:
        md["replicas"] = pool.min
    return md


def cluster_spec(spec: TanzuSpec, autoscaled: bool) -> dict[str, Any]:
    """The Cluster's `spec`: network, release, control plane and one machine deployment per pool."""
    variables = [
        _variable("vmClass", spec.control_plane_vm_class),
        _variable("storageClass", spec.storage_class),
        _variable("defaultStorageClass", spec.storage_class),
        _variable("podSecurityStandard", {"enforce": spec.pod_security, "audit": "restricted", "warn": "restricted"}),
    ]
    return {
        "clusterNetwork": {
            "pods": {"cidrBlocks": [spec.pod_cidr]},
            "services": {"cidrBlocks": [spec.service_cidr]},
            "serviceDomain": "cluster.local",
        },
        "topology": {
            "class": spec.cluster_class,
            "version": release_version(spec.kubernetes_version),
            "controlPlane": {"replicas": spec.control_plane_replicas},
            "variables": variables,
            "workers": {"machineDeployments": [machine_deployment(p, autoscaled) for p in spec.node_pools]},
        },
    }


def labels(spec: TanzuSpec, environment: str) -> Mapping[str, str]:
    return {"orquestra.io/cluster": spec.name, "orquestra.io/environment": environment, "managed-by": "pulumi"}
