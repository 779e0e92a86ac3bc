"""The contract every target fulfils, so the workloads layer never branches on a cloud SDK.

A target is a `pulumi.ComponentResource` subclass of `KubernetesCluster[<its spec>]`.
It may refuse a spec its cloud would refuse (`check`, run with every other rule
of the stack before anything is registered), builds its cloud resources as
children, then calls `_publish` once with the kubeconfig; `capabilities()` tells
the workloads layer how this cluster does things (load balancers, node
autoscaling, storage, pod identity).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from components import yamltext
from components.spec import ClusterBase, Environment, Problem

LoadBalancer = Literal["cloud", "metallb", "none"]
NodeAutoscaler = Literal["karpenter", "cluster-autoscaler", "cloud", "none"]
PodIdentity = Literal[
    "eks-pod-identity", "irsa", "gke-workload-identity", "azure-workload-identity", "oke-workload-identity", "none"
]
ManagedService = Literal["metrics-server", "gateway-api-crds"]
"""A platform service some clouds run and reconcile themselves, named like the platform's own release of it, or
like a part of one (`MANAGED_PARTS`)."""
MANAGED_PARTS: Mapping[str, str] = {"gateway-api-crds": "gateway-crds"}
"""Managed services that are part of one of the platform's releases -> that release, which then leaves the part out
(the Gateway API's CRDs ride in the gateway-crds release with Envoy Gateway's own)."""

TAINT_EFFECTS: Mapping[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
"""A taint's effect as the EKS and GKE node pool APIs spell it (the SDKs' eks and container `_inputs.py`)."""


@dataclass(frozen=True)
class Capabilities:
    """Plain data the workloads layer reads instead of asking which cloud it is on.

    Values that only exist after deployment (role ARNs, queue names) may be
    `pulumi.Output`s; everything else is known at plan time so tests can assert it.
    """

    load_balancer: LoadBalancer
    """How a `LoadBalancer` Service gets an address: the cloud's controller, MetalLB, or not at all."""
    node_autoscaler: NodeAutoscaler
    """Which component owns node counts. The workloads layer never installs a second one."""
    default_storage_class: str
    pod_identity: PodIdentity
    zones: tuple[str, ...] = ()
    lb_annotations_public: Mapping[str, str] = field(default_factory=dict)
    lb_annotations_internal: Mapping[str, str] = field(default_factory=dict)
    node_autoscaler_installed: bool = True
    """False when the workloads layer must install the autoscaler chart (with `node_autoscaler_values`)."""
    node_autoscaler_values: Mapping[str, Any] = field(default_factory=dict)
    metallb_pool: tuple[str, ...] = ()
    """Address ranges MetalLB hands out, when `load_balancer` is "metallb"."""
    external_dns_provider: str = ""
    """external-dns `provider.name` for this cloud (aws, google, azure, digitalocean); "" when none fits."""
    external_dns_values: Mapping[str, Any] = field(default_factory=dict)
    """Helm values the target adds for external-dns (its identity, region, resource group)."""
    acme_dns01: Mapping[str, Any] = field(default_factory=dict)
    """cert-manager's `dns01` solver for `platform.dns.zone` (`{"route53": {...}}`); {} without a zone or solver."""
    cert_manager_values: Mapping[str, Any] = field(default_factory=dict)
    """Helm values the target adds for cert-manager: the identity its DNS-01 solver acts as."""
    cert_manager_secrets: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Secrets (name -> data) the DNS-01 solver reads in cert-manager's namespace, e.g. an API token where the
    cloud's DNS has no pod identity; the platform creates them, secret, before the ClusterIssuer."""
    managed_services: frozenset[ManagedService] = frozenset()
    """Platform services the cloud already runs and keeps reconciling; the workloads layer installs only the rest,
    since a second release of the same objects fails (Helm will not adopt what another owner keeps rewriting)."""
    metrics_server_args: tuple[str, ...] = ()
    """Extra metrics-server flags, e.g. `--kubelet-insecure-tls` where kubelets have self-signed certificates."""
    region: str = ""
    system_tolerations: tuple[Mapping[str, str], ...] = ()
    """Tolerations the platform's controllers carry to run on the system nodes, which the target lists in
    `nodes`; without them a tainted system pool would leave those pods waiting for the node autoscaler."""


def exec_kubeconfig(context: str, server: str, ca_data: str, exec_: Mapping[str, Any], user: str | None = None) -> str:
    """A one-context kubeconfig whose credential a CLI mints on each use (`exec`), so nothing in it expires.

    `exec_` is the user's `exec` block without its `apiVersion`; the document is
    YAML, which every client reads.
    """
    name = user or context
    return yamltext.dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": name}}],
            "current-context": context,
            "users": [
                {"name": name, "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", **exec_}}}
            ],
        },
        sort_keys=False,
    )


S = TypeVar("S", bound=ClusterBase)


class KubernetesCluster(pulumi.ComponentResource, Generic[S], ABC):
    """Base of every target. Subclasses build children with `opts=self.child_opts()`, then `_publish`.

    A target's class is named like its URN type token (`orquestra:targets:<Class>`):
    renaming the class would replace every resource of every cluster of that target.
    """

    spec: S
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    endpoint: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    nodes: Sequence[pulumi.Resource]
    """What a pod needs before it can be scheduled and run: node pools and the networking they join with.

    Objects that run no pod (namespaces, CRDs, RBAC, cluster-scoped configuration) wait only for the
    provider, which waits only for the API; charts with pods wait for `nodes`.
    """
    ready: Sequence[pulumi.Resource]
    """Everything the target installs before workloads: `nodes`, the cluster DNS, and the in-cluster controllers
    that turn Kubernetes objects into cloud resources (a load-balancer controller, Karpenter, a CSI driver).

    An object that makes Kubernetes create a cloud resource (a `LoadBalancer` Service, a Gateway, a PVC)
    depends on `ready`, so a destroy deletes it while the controller that cleans up behind it still runs.
    """

    def __init__(
        self,
        spec: S,
        environment: Environment,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"orquestra:targets:{type(self).__name__}", spec.name, None, opts)
        self.spec = spec
        self.environment = environment
        self.nodes = ()
        self.ready = ()

    @classmethod
    def check(cls, spec: S) -> Iterable[Problem]:
        """What this target's cloud would refuse in a spec that is otherwise valid; nothing by default.

        Paths are relative to the cluster. The spec reports these with every
        other problem of the stack, in its own format, before anything is
        registered; a check reads the spec only, never the cloud.
        """
        return ()

    @classmethod
    def check_local(cls, spec: S) -> Iterable[Problem]:
        """What only the machine that runs the program can show (a file the target will read); nothing by default.

        Run with `check` when the program itself parses its stack (`spec.load`),
        never by an offline plan or a tool that only reads stack files.
        """
        return ()

    @abstractmethod
    def capabilities(self) -> Capabilities:
        """How this cluster does what the workloads layer needs; plain data, complete once it is built."""

    def child_opts(self, *, stateful: bool = False, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a child, parented here.

        `stateful` marks what holds the cluster's state (the control plane, a KMS
        key): those get Pulumi's `protect` when the spec asks for deletion
        protection, so a stray `pulumi destroy` stops before it.
        """
        return pulumi.ResourceOptions(parent=self, protect=stateful and self.spec.deletion_protection, **kwargs)

    def tags(self, **extra: str) -> dict[str, str]:
        """Tags (labels on GCP) every cloud resource of this cluster carries."""
        return {
            "orquestra-cluster": self.spec.name,
            "orquestra-environment": self.environment,
            "managed-by": "pulumi",
            **self.spec.tags,
            **extra,
        }

    def workload_identity(
        self, namespace: str, service_account: str, opts: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """Give the pods of one ServiceAccount a cloud identity; return the SA annotations to set.

        Targets with pod identity override this to create the cloud side (an IAM
        role with a trust policy, a Google service account binding, a federated
        credential). The default offers none, and says so rather than pretend.
        """
        raise ValueError(
            f"cluster '{self.spec.name}' ({self.spec.target}) offers no cloud identity for pods; "
            "set cloudIdentity: false on the workload"
        )

    def _connect(
        self,
        kubeconfig: pulumi.Input[str],
        api: Sequence[pulumi.Resource] = (),
        provider_args: Mapping[str, Any] | None = None,
    ) -> k8s.Provider:
        """Create the Kubernetes provider once the API answers and lets the deployer in (`api`), not later.

        The kubeconfig's own inputs already carry the control plane; `api` adds what
        authorises the deployer (an access entry, a role assignment). Nothing here waits
        for nodes, so what runs no pod (CRDs, namespaces, RBAC) starts with the API;
        every object that needs nodes depends on `nodes` or `ready` itself. A target that
        installs in-cluster parts of its own connects first, builds them, then publishes.
        """
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.provider = k8s.Provider(
            f"{self.spec.name}-k8s",
            k8s.ProviderArgs(
                kubeconfig=self.kubeconfig,
                # Server-side apply lets Helm charts and objects share fields safely.
                enable_server_side_apply=True,
                **(provider_args or {}),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(api)),
        )
        return self.provider

    def _publish(
        self,
        *,
        endpoint: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        kubernetes_version: pulumi.Input[str],
        kubeconfig: pulumi.Input[str] | None = None,
        api: Sequence[pulumi.Resource] = (),
        nodes: Sequence[pulumi.Resource] | None = None,
        ready: Sequence[pulumi.Resource] = (),
        provider_args: Mapping[str, Any] | None = None,
    ) -> None:
        """Register the contract's outputs, connecting first unless the target already did.

        `api` is what the provider waits for (see `_connect`), `nodes` what a pod
        waits for (all of `ready` unless given), `ready` what workloads wait for:
        infrastructure, and for a target that connected early, its own in-cluster parts too.
        """
        if kubeconfig is not None:
            self._connect(kubeconfig, api, provider_args)
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.cluster_name = pulumi.Output.from_input(cluster_name)
        self.kubernetes_version = pulumi.Output.from_input(kubernetes_version)
        self.ready = tuple(ready)
        self.nodes = self.ready if nodes is None else tuple(nodes)
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "endpoint": self.endpoint,
                "clusterName": self.cluster_name,
                "kubernetesVersion": self.kubernetes_version,
            }
        )
