"""vSphere with Tanzu in a plan: VMs on your own hardware have no list price; how long the Supervisor takes.

The one infrastructure resource is the Cluster API `Cluster`: the Supervisor clones a VM per control-plane
replica (one after another: kubeadm joins serialise) and the pools' VMs in parallel, each from the release's
OVA in the content library; `pulumi up` waits for the Ready condition (`pulumi.com/waitFor`).
"""

from __future__ import annotations

from collections.abc import Mapping

from preflight.engine import Registration
from preflight.estimates.base import Context, Cost, CostModel, CreateTime, get_in

CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"

VM_SECONDS = 300.0
"""Clone, power on, first boot with cloud-init and kubeadm join: about five minutes per node VM."""
CONTROL_PLANE_SECONDS = 120.0
"""Before the first VM: the VSphereCluster, the control plane's load-balanced endpoint and its certificates."""


def _vms(reg: Registration) -> tuple[int, list[int]]:
    replicas = int(get_in(reg.plain, "spec", "topology", "controlPlane", "replicas") or 1)
    pools = get_in(reg.plain, "spec", "topology", "workers", "machineDeployments") or []
    sizes = []
    for md in pools:
        annotations = get_in(md, "metadata", "annotations") or {}
        size = md.get("replicas", annotations.get("cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size", 1))
        sizes.append(int(size))
    return replicas, sizes


def _create_seconds(reg: Registration) -> float:
    """Control-plane VMs in sequence, then the worker pools (in parallel with one another)."""
    replicas, sizes = _vms(reg)
    return CONTROL_PLANE_SECONDS + replicas * VM_SECONDS + (VM_SECONDS if any(sizes) else 0.0)


def _cost(reg: Registration, ctx: Context) -> Cost:
    replicas, sizes = _vms(reg)
    return Cost(
        0.0,
        f"{replicas} control-plane and {sum(sizes)} worker VMs at the start on your vSphere hosts: no list price",
        priced=False,
    )


COSTS: Mapping[str, CostModel] = {CLUSTER: _cost}
FREE: frozenset[str] = frozenset()
ON_PREM: frozenset[str] = frozenset({CLUSTER})
"""VMs on your own hardware: known, but without a list price."""
LOAD_BALANCER_MONTHLY: Mapping[str, float] = {}
"""The Supervisor's NSX or Avi load balancer is licensed with the platform; MetalLB uses the site's addresses."""
CREATE_SECONDS: Mapping[str, CreateTime] = {CLUSTER: _create_seconds}
MAJOR_TYPES: frozenset[str] = frozenset({CLUSTER})
"""The parts of a cluster the diagram draws (`preflight.diagram`)."""
