"""What a Supervisor's Cluster API would refuse in a workload `Cluster`, checked without its CRD.

The CRD itself is checked against when the reference directory holds it (`preflight/reference.py`); these
rules are the fields the program sets, each from the CRD file or the webhook that enforces it, at
kubernetes-sigs/cluster-api v1.10.10, so a plan is held to them on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"

_AT = "kubernetes-sigs/cluster-api v1.10.10"
CRD = f"{_AT} config/crd/bases/cluster.x-k8s.io_clusters.yaml (v1beta1)"
CLUSTER_WEBHOOK = f"{_AT} internal/webhooks/cluster.go validateTopology"
MD_NAMES = f"{_AT} internal/topology/check/compatibility.go MachineDeploymentTopologiesAreValidAndDefinedFor"
KCP_WEBHOOK = f"{_AT} controlplane/kubeadm/internal/webhooks/kubeadm_control_plane.go"
# util/version/version.go KubeSemver: "the regex for Kubernetes versions. It requires the "v" prefix."
KUBE_SEMVER = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-0-9a-zA-Z_\.+]*)?$")
# The CRD's classNamespace pattern, which object names in a namespace share (a DNS-1123 label).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
INT32_MAX = 2**31 - 1


def _length(r: Registration, field: str, value: Any, low: int, high: int) -> Iterator[Rejection]:
    if known(value) and not (isinstance(value, str) and low <= len(value) <= high):
        yield reject(r, field, f"a string of {low} to {high} characters", CRD)


def _replicas(r: Registration, field: str, value: Any) -> Iterator[Rejection]:
    # int32 in the CRD; a negative count is refused by the MachineDeployment and KubeadmControlPlane webhooks.
    if known(value) and value is not None and not (float(value).is_integer() and 0 <= value <= INT32_MAX):
        yield reject(r, field, f"{value} is not a replica count (an int32 of 0 or more)", CRD)


def topology(r: Registration, plan: Plan) -> Iterator[Rejection]:
    spec: Any = view(r).get("spec") or {}
    topo: Any = spec.get("topology")
    if not isinstance(topo, dict):
        yield reject(r, "spec.topology", "required: the program builds every cluster from a ClusterClass", CRD)
        return
    # `class` and `version` are the topology's required fields in the CRD.
    yield from _length(r, "spec.topology.class", topo.get("class"), 1, 253)
    version = topo.get("version")
    yield from _length(r, "spec.topology.version", version, 1, 256)
    if known(version) and isinstance(version, str) and not KUBE_SEMVER.match(version):
        yield reject(
            r, "spec.topology.version", f"{version!r}: version must be a valid semantic version", CLUSTER_WEBHOOK
        )
    replicas = (topo.get("controlPlane") or {}).get("replicas")
    yield from _replicas(r, "spec.topology.controlPlane.replicas", replicas)
    if known(replicas) and isinstance(replicas, int | float) and replicas % 2 == 0:
        yield reject(
            r, "spec.topology.controlPlane.replicas", "cannot be an even number when etcd is stacked", KCP_WEBHOOK
        )
    for i, variable in enumerate(topo.get("variables") or []):
        yield from _length(r, f"spec.topology.variables[{i}].name", (variable or {}).get("name"), 1, 256)
    names: set[str] = set()
    for i, md in enumerate((topo.get("workers") or {}).get("machineDeployments") or []):
        at = f"spec.topology.workers.machineDeployments[{i}]"
        # `class` and `name` are required; their lengths, failureDomain's and replicas' type are the CRD's.
        yield from _length(r, f"{at}.class", md.get("class"), 1, 256)
        name = md.get("name")
        yield from _length(r, f"{at}.name", name, 1, 63)
        if known(name) and name in names:
            yield reject(r, f"{at}.name", f"name must be unique: {name!r} is defined more than once", MD_NAMES)
        names.add(str(name))
        if "failureDomain" in md:
            yield from _length(r, f"{at}.failureDomain", md["failureDomain"], 1, 256)
        yield from _replicas(r, f"{at}.replicas", md.get("replicas"))
        for j, variable in enumerate((md.get("variables") or {}).get("overrides") or []):
            yield from _length(r, f"{at}.variables.overrides[{j}].name", (variable or {}).get("name"), 1, 256)


def metadata(r: Registration, plan: Plan) -> Iterator[Rejection]:
    meta: Any = view(r).get("metadata") or {}
    for field in ("name", "namespace"):
        value = meta.get(field)
        if known(value) and not (isinstance(value, str) and len(value) <= 63 and DNS_LABEL.match(value)):
            yield reject(r, f"metadata.{field}", f"{value!r} is not a DNS-1123 label", CRD)


RULES: Table = {CLUSTER: (metadata, topology)}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
