"""The target registry: one entry per target, and every list of targets derives from it.

A target is a key (what `target:` says in a stack file) and the same name in every
tree: its package `components/targets/<key>/`, its mock answers
`preflight/answers/<key>.py`, its prices and create times
`preflight/estimates/<key>.py`, its policies `policies/rules/<key>.py`, its page
`docs/targets/<key>.md` and its tests `tests/test_target_<key>.py`. The entry says
which of those it has, which SDKs it loads, the Kubernetes minors it can create
and what pod identity it offers; the spec, the fleet, preflight, the policy pack
and the tests read those facts here instead of keeping lists of their own.
`docs/adding-a-target.md` walks through a new entry, and `tests/test_registry.py`
fails when an entry lacks a part.

Plain data: importing this module imports no SDK and no target. A target's
component class is named by reference and imported only when a stack uses it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.cluster import KubernetesCluster


@dataclass(frozen=True)
class Target:
    key: str
    """What `target:` says in a stack file; the name of this target's module in every tree."""
    spec: str
    """Its spec model in `components.spec` (`AwsSpec`): the member of the cluster union tagged `key`."""
    component: str
    """`module:Class` of its `KubernetesCluster`; the class is named like its URN type token."""
    sdks: Mapping[str, str]
    """Provider package (the first part of a type token) -> the Python SDK module it is, for each SDK it may load."""
    versions: tuple[str, ...]
    """Kubernetes minors it can create, oldest first."""
    default_version: str
    """The minor a cluster gets when its spec names none."""
    pod_identity: tuple[str, ...]
    """The pod identity kinds it offers (`Capabilities.pod_identity`); ("none",) when pods get no cloud identity."""
    answers: str | None
    """Module of realistic mock answers for its SDKs' invokes and computed outputs; None when it creates nothing."""
    estimates: str | None
    """Module of its types' prices and create times; None when it creates nothing."""
    rules: str | None
    """Module of its policy rules; None when only the Kubernetes rules apply."""
    docs: str
    """Its page, relative to the repository."""
    tests: str
    """Its tests, relative to the repository."""
    api_groups: tuple[str, ...] = ()
    """Kubernetes API groups whose objects are this target's infrastructure, applied to a management cluster
    (Cluster API's `cluster.x-k8s.io`); priced, timed and answered in its own modules like an SDK's types."""
    acme_dns01: str | None = None
    """cert-manager's DNS-01 solver for the cloud's DNS (`route53`), which the target grants an identity scoped to
    `platform.dns.zone`; None when it offers none, so ACME needs a public gateway (HTTP-01) there."""
    credentials: str | None = None
    """How a CD job logs in to what the target's SDKs call: the cloud's official login action by OIDC (`aws`,
    `gcp`, `azure`), short-lived tokens from a Pulumi ESC environment (`esc`), or None when stack secrets are all
    it needs (a kubeconfig, an SSH key)."""
    site_vpn: str | None = None
    """Module of its site-to-site VPN to a declared site (`orquestra:sites`): `check(site, cluster)` yields the
    target's own rules as `Problem`s under the site's key, `build(site, cluster, key)` registers the cloud end;
    None when the target's network cannot end a VPN."""

    def load(self) -> type[KubernetesCluster[Any]]:
        """The component class; this imports the target's SDKs (and no other target's)."""
        module, name = self.component.split(":")
        cls: type[KubernetesCluster[Any]] = getattr(importlib.import_module(module), name)
        return cls

    @property
    def available(self) -> bool:
        """Whether this version of orquestra ships the target's package."""
        return importlib.util.find_spec(self.component.split(":")[0]) is not None

    @property
    def type_prefixes(self) -> tuple[str, ...]:
        """How the type tokens of this target's own resources begin: its SDKs' packages and its API groups."""
        return (*(f"{package}:" for package in self.sdks), *(f"kubernetes:{group}/" for group in self.api_groups))

    @property
    def gives_pod_identity(self) -> bool:
        return self.pod_identity != ("none",)


REGISTRY: Mapping[str, Target] = {
    t.key: t
    for t in (
        Target(
            key="aws",
            spec="AwsSpec",
            component="components.targets.aws:AwsCluster",
            sdks={"aws": "pulumi_aws"},
            # EKS standard support; each minor also needs its row of add-on pins (components/pins.py).
            # Source: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html
            versions=("1.34", "1.35", "1.36"),
            default_version="1.35",
            pod_identity=("eks-pod-identity", "irsa"),
            answers="preflight.answers.aws",
            estimates="preflight.estimates.aws",
            rules="policies.rules.aws",
            docs="docs/targets/aws.md",
            tests="tests/test_target_aws.py",
            acme_dns01="route53",
            credentials="aws",
            site_vpn="components.targets.aws.vpn",
        ),
        Target(
            key="gcp",
            spec="GcpSpec",
            component="components.targets.gcp:GcpCluster",
            sdks={"gcp": "pulumi_gcp"},
            # Source: https://cloud.google.com/kubernetes-engine/docs/release-schedule
            versions=("1.34", "1.35", "1.36"),
            default_version="1.35",
            pod_identity=("gke-workload-identity",),
            answers="preflight.answers.gcp",
            estimates="preflight.estimates.gcp",
            rules="policies.rules.gcp",
            docs="docs/targets/gcp.md",
            tests="tests/test_target_gcp.py",
            acme_dns01="cloudDNS",
            credentials="gcp",
            site_vpn="components.targets.gcp.vpn",
        ),
        Target(
            key="azure",
            spec="AzureSpec",
            component="components.targets.azure:AzureCluster",
            sdks={"azure-native": "pulumi_azure_native"},
            # Source: https://learn.microsoft.com/azure/aks/supported-kubernetes-versions
            versions=("1.34", "1.35", "1.36"),
            default_version="1.35",
            pod_identity=("azure-workload-identity",),
            answers="preflight.answers.azure",
            estimates="preflight.estimates.azure",
            rules="policies.rules.azure",
            docs="docs/targets/azure.md",
            tests="tests/test_target_azure.py",
            acme_dns01="azureDNS",
            credentials="azure",
            site_vpn="components.targets.azure.vpn",
        ),
        Target(
            key="digitalocean",
            spec="DigitalOceanSpec",
            component="components.targets.digitalocean:DigitalOceanCluster",
            sdks={"digitalocean": "pulumi_digitalocean"},
            # Source: https://docs.digitalocean.com/products/kubernetes/details/supported-releases/
            versions=("1.33", "1.34", "1.35"),
            default_version="1.34",
            pod_identity=("none",),
            answers="preflight.answers.digitalocean",
            estimates="preflight.estimates.digitalocean",
            rules="policies.rules.digitalocean",
            docs="docs/targets/digitalocean.md",
            tests="tests/test_target_digitalocean.py",
            acme_dns01="digitalocean",
            credentials="esc",
        ),
        Target(
            key="oci",
            spec="OciSpec",
            component="components.targets.oci:OciCluster",
            sdks={"oci": "pulumi_oci"},
            # Source: https://docs.oracle.com/en-us/iaas/Content/ContEng/Concepts/contengaboutk8sversions.htm
            versions=("1.33", "1.34", "1.35"),
            default_version="1.34",
            pod_identity=("oke-workload-identity",),
            answers="preflight.answers.oci",
            estimates="preflight.estimates.oci",
            rules="policies.rules.oci",
            docs="docs/targets/oci.md",
            tests="tests/test_target_oci.py",
            credentials="esc",
            site_vpn="components.targets.oci.vpn",
        ),
        Target(
            key="onprem",
            spec="OnpremSpec",
            component="components.targets.onprem:OnpremCluster",
            # k3s over SSH (command), its join token (random); VMs from Proxmox VE or vSphere when the stack asks.
            sdks={
                "command": "pulumi_command",
                "random": "pulumi_random",
                "proxmoxve": "pulumi_proxmoxve",
                "vsphere": "pulumi_vsphere",
            },
            # The minors with a pinned k3s release (components/pins.py).
            versions=("1.33", "1.34", "1.35", "1.36"),
            default_version="1.35",
            pod_identity=("none",),
            answers="preflight.answers.onprem",
            estimates="preflight.estimates.onprem",
            rules="policies.rules.onprem",
            docs="docs/targets/onprem.md",
            tests="tests/test_target_onprem.py",
            credentials="esc",
        ),
        Target(
            key="existing",
            spec="ExistingSpec",
            component="components.targets.existing:ExistingCluster",
            sdks={},
            # A cluster you already run may be older; these are the minors whose schemas the
            # renderer validates against.
            versions=("1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37"),
            default_version="1.35",
            pod_identity=("none",),
            answers=None,
            estimates=None,
            rules=None,
            docs="docs/targets/existing.md",
            tests="tests/test_target_existing.py",
        ),
        Target(
            key="tanzu",
            spec="TanzuSpec",
            component="components.targets.tanzu:TanzuCluster",
            # Cluster API objects on the Supervisor through pulumi_kubernetes, the workloads layer's own SDK.
            sdks={},
            api_groups=("cluster.x-k8s.io",),
            # The minors with a pinned vSphere Kubernetes release (components/pins.py TANZU_RELEASES).
            versions=("1.33",),
            default_version="1.33",
            pod_identity=("none",),
            answers="preflight.answers.tanzu",
            estimates="preflight.estimates.tanzu",
            rules="policies.rules.tanzu",
            docs="docs/targets/tanzu.md",
            tests="tests/test_target_tanzu.py",
        ),
    )
}


def available() -> list[str]:
    """The targets this version of orquestra ships, in registry order."""
    return [key for key, target in REGISTRY.items() if target.available]


def sdk_modules() -> frozenset[str]:
    """Every Python SDK module some target may load; the workloads layer's own (pulumi_kubernetes) is not one."""
    return frozenset(module for target in REGISTRY.values() for module in target.sdks.values())
