"""vSphere with Tanzu: the Cluster API `Cluster` the program applies to a Supervisor's vSphere Namespace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import Severity

from policies.rules.base import Case, Context, Resource, Rule, StackCase, supported_version, versions_config

CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"

# A vSphere Kubernetes release's VERSION (`kubectl get tkr`): the Kubernetes patch and VMware's build, as in
# v1.33.6+vmware.1-fips-vkr.2. A bare minor (v1.33) lets the Supervisor pick whatever release it holds.
# Source: https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-with-tanzu-tkg/GUID-B3122965-56DC-4D34-83E4-07032AFAB483.html
_RELEASE = re.compile(r"^v(?P<minor>1\.\d+)\.\d+\+vmware\.\d+[-.a-z0-9]*$")


def _variables(r: Resource) -> dict[str, Any]:
    return {str(v.get("name")): v.get("value") for v in r.get("spec.topology.variables") or []}


def _pinned(r: Resource, ctx: Context) -> Iterator[str]:
    version = str(r.get("spec.topology.version") or "")
    if not _RELEASE.match(version):
        yield (
            f"spec.topology.version is {version or 'not set'}: pin a full vSphere Kubernetes release "
            "(v1.X.Y+vmware.N-...) so every node runs the same build"
        )


def _version(r: Resource, ctx: Context) -> Iterator[str]:
    version = str(r.get("spec.topology.version") or "")
    m = _RELEASE.match(version)
    yield from supported_version(f"v{m.group('minor')}" if m else version or None, "spec.topology.version", ctx)


def _control_plane_ha(r: Resource, ctx: Context) -> Iterator[str]:
    replicas = r.get("spec.topology.controlPlane.replicas")
    if ctx.prod and (replicas is None or int(replicas) < 3):
        yield f"a prod cluster runs {replicas or 1} control-plane VM(s): 3 keep etcd's majority through a VM's loss"


def _pod_security(r: Resource, ctx: Context) -> Iterator[str]:
    pss = _variables(r).get("podSecurityStandard")
    if not isinstance(pss, dict) or pss.get("deactivated") is True:
        yield "podSecurityStandard is not set or deactivated: no Pod Security Standard is enforced by default"
    elif pss.get("enforce") == "privileged":
        yield "podSecurityStandard enforces privileged: any pod may run privileged or on the host by default"


RULES = [
    Rule(
        "tanzu-release-pinned",
        "The workload cluster runs a pinned vSphere Kubernetes release.",
        "baseline",
        (CLUSTER,),
        _pinned,
        severity=Severity.HIGH,
    ),
    Rule(
        "tanzu-supported-version",
        "The workload cluster runs a supported Kubernetes version.",
        "baseline",
        (CLUSTER,),
        _version,
        config=versions_config("tanzu"),
    ),
    Rule(
        "tanzu-control-plane-ha",
        "A prod workload cluster has three control-plane VMs.",
        "lockdown",
        (CLUSTER,),
        _control_plane_ha,
        severity=Severity.HIGH,
    ),
    Rule(
        "tanzu-pod-security",
        "The workload cluster enforces a Pod Security Standard stricter than privileged.",
        "lockdown",
        (CLUSTER,),
        _pod_security,
        severity=Severity.HIGH,
    ),
]


# ------------------------------------------------------------------------- cases
# Each rule with a resource that passes and one that fails; tests/test_policies.py runs them all.


def _cluster(
    version: str = "v1.33.6+vmware.1-fips-vkr.2", replicas: int = 3, enforce: str = "baseline"
) -> dict[str, Any]:
    return {
        "spec": {
            "topology": {
                "class": "tanzukubernetescluster",
                "version": version,
                "controlPlane": {"replicas": replicas},
                "variables": [{"name": "podSecurityStandard", "value": {"enforce": enforce}}],
            }
        }
    }


CASES: dict[str, Case] = {
    "tanzu-release-pinned": Case(CLUSTER, _cluster(), _cluster(version="v1.33"), "pin a full"),
    "tanzu-supported-version": Case(
        CLUSTER, _cluster(), _cluster(version="v1.29.4+vmware.3-fips.1-tkg.1"), "not a supported"
    ),
    "tanzu-control-plane-ha": Case(CLUSTER, _cluster(replicas=3), _cluster(replicas=1), "3 keep etcd"),
    "tanzu-pod-security": Case(CLUSTER, _cluster(enforce="restricted"), _cluster(enforce="privileged"), "privileged"),
}

STACK_CASES: dict[str, StackCase] = {}
