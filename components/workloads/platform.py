"""The platform services every cluster gets, chosen from its capabilities, never from its cloud.

One `Platform` component per cluster: the Gateway API (standard channel) served by
Envoy Gateway behind one shared Gateway, cert-manager with an ACME ClusterIssuer,
metrics-server for the HPAs, and what the cluster lacks: MetalLB where no cloud
hands out load-balancer addresses, cluster-autoscaler where the target asks for it,
external-dns where the spec names a zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import pins
from components.cluster import KubernetesCluster
from components.spec import ClusterBase, WorkloadSpec, deep_merge, in_zone, ip_or_none
from components.workloads import charts, rollout
from components.workloads.charts import release

GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_CLASS = "orquestra"
GATEWAY_NAME = "shared"
GATEWAY_ACCESS_LABEL = "orquestra.io/gateway"
"""Namespaces with this label may attach routes to the shared Gateway; no others."""
PUBLIC_OPT_IN = "orquestra.io/public"
ACME_SERVERS = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}


def ha(environment: str) -> bool:
    """Two of everything outside dev, so a node drain or a zone loss does not take the platform down."""
    return environment != "dev"


def replicas(environment: str) -> int:
    return 2 if ha(environment) else 1


def spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Spread across zones when possible, and across nodes always, counting only nodes the pods may run on.

    Unset, `nodeTaintsPolicy` counts tainted nodes too (the Ignore policy: TopologySpreadConstraint, pulumi-kubernetes
    `core.v1`): a tainted system pool's nodes each hold none of the pods, so the skew allows one pod per other node
    and every replica past that waits for a new node (kubernetes/kubernetes#116118). Honor leaves them out.
    """
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
            "nodeTaintsPolicy": "Honor",
        },
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(labels)},
            "nodeTaintsPolicy": "Honor",
        },
    ]


def resources(cpu: str, memory: str, memory_limit: str | None = None) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


# ----------------------------------------------------------------------- values


SYSTEM_POD_VALUES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "envoy-gateway": (("deployment", "pod"), ("certgen", "job")),
    "cert-manager": ((), ("webhook",), ("cainjector",), ("startupapicheck",)),
    "metrics-server": ((),),
    "external-dns": ((),),
    "cluster-autoscaler": ((),),
}
"""Where each chart takes its pods' `tolerations`, per pod it runs (hooks included: a Job that cannot be
scheduled stalls the install). Read from each chart's values.yaml at its pinned version in the mirror."""


def on_system_nodes(chart: str, values: Mapping[str, Any], tolerations: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """`values` with every pod of `chart` tolerating the system nodes' taint (`Capabilities.system_tolerations`)."""
    out = dict(values)
    for path in SYSTEM_POD_VALUES[chart] if tolerations else ():
        patch: dict[str, Any] = {"tolerations": [dict(t) for t in tolerations]}
        for key in reversed(path):
            patch = {key: patch}
        out = deep_merge(out, patch)
    return out


def envoy_gateway_values(environment: str) -> dict[str, Any]:
    n = replicas(environment)
    return {
        # CRDs come from the gateway-crds release, on the standard channel.
        "crds": {"enabled": False},
        "deployment": {
            "replicas": n,
            "envoyGateway": {
                "resources": resources("100m", "256Mi", "1Gi"),
                # Merged over the chart's own securityContext. The controller writes only its Wasm cache,
                # /var/lib/eg/wasm, which gets an emptyDir (envoyproxy/gateway#8911, fixed upstream after v1.8).
                "securityContext": {"readOnlyRootFilesystem": True},
            },
            "pod": {
                "topologySpreadConstraints": spread({"control-plane": "envoy-gateway"}) if n > 1 else [],
                "extraVolumes": [{"name": "wasm-cache", "emptyDir": {}}],
                "extraVolumeMounts": [{"name": "wasm-cache", "mountPath": "/var/lib/eg"}],
            },
        },
        "certgen": {"job": {"resources": resources("10m", "32Mi", "64Mi")}},
        "podDisruptionBudget": {"minAvailable": 1} if n > 1 else {},
    }


def gateway_crds_values(gateway_api: bool = True) -> dict[str, Any]:
    """Envoy Gateway's CRDs always; the Gateway API's standard channel unless the cloud installs and keeps it."""
    return {"crds": {"gatewayAPI": {"enabled": gateway_api, "channel": "standard"}, "envoyGateway": {"enabled": True}}}


def cert_manager_values(environment: str) -> dict[str, Any]:
    n = replicas(environment)
    pdb = {"enabled": n > 1, "minAvailable": 1}
    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": n,
        "podDisruptionBudget": pdb,
        "resources": resources("50m", "128Mi", "512Mi"),
        "webhook": {"replicaCount": n, "podDisruptionBudget": pdb, "resources": resources("20m", "64Mi", "256Mi")},
        "cainjector": {"replicaCount": n, "podDisruptionBudget": pdb, "resources": resources("20m", "128Mi", "512Mi")},
        # Solve HTTP-01 through the shared Gateway instead of an Ingress controller.
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
        "prometheus": {"enabled": True},
        "startupapicheck": {"resources": resources("10m", "32Mi", "64Mi")},
    }


def metrics_server_values(environment: str, extra_args: Sequence[str]) -> dict[str, Any]:
    n = replicas(environment)
    return {
        "replicas": n,
        "podDisruptionBudget": {"enabled": n > 1, "minAvailable": 1},
        "resources": resources("50m", "64Mi", "256Mi"),
        "args": list(extra_args),
    }


def metallb_values() -> dict[str, Any]:
    return {
        "controller": {"resources": resources("50m", "64Mi", "256Mi")},
        "speaker": {"resources": resources("50m", "64Mi", "256Mi"), "frr": {"enabled": False}},
    }


def external_dns_values(
    environment: str, provider: str, zone: str, owner: str, extra: Mapping[str, Any], exclude: Sequence[str] = ()
) -> dict[str, Any]:
    base = {
        "provider": {"name": provider},
        "sources": ["gateway-httproute", "service"],
        "domainFilters": [zone],
        # A global name's records are the routing policy's (components/globaldns.py); external-dns would overwrite
        # them with a plain record of its own cluster. The chart's excludeDomains renders --exclude-domains
        # (external-dns chart 1.19.0, templates/deployment.yaml).
        **({"excludeDomains": list(exclude)} if exclude else {}),
        "txtOwnerId": owner,
        "registry": "txt",
        # Outside prod, never delete records it did not create in this run.
        "policy": "sync" if environment == "prod" else "upsert-only",
        "resources": resources("20m", "64Mi", "128Mi"),
    }
    return deep_merge(base, extra)


def cluster_autoscaler_values(environment: str, minor: str, target_values: Mapping[str, Any]) -> dict[str, Any]:
    base = {
        # The autoscaler built for the cluster's minor, not the chart's default.
        "image": {"repository": pins.CLUSTER_AUTOSCALER_IMAGE, "tag": pins.CLUSTER_AUTOSCALER_TAGS[minor]},
        "replicaCount": replicas(environment),
        # The chart defaults to `maxUnavailable: 1`, and its pdb.yaml fails when `minAvailable` is set
        # too (cluster-autoscaler chart 9.50.1, templates/pdb.yaml); a null cannot unset it through a
        # Release (pulumi/pulumi#12178). With two replicas, one unavailable keeps one running.
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": resources("100m", "300Mi", "600Mi"),
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-local-storage": False,
            "scale-down-unneeded-time": "10m",
        },
    }
    return deep_merge(base, target_values)


def envoy_proxy_spec(cluster: KubernetesCluster, public: bool) -> dict[str, Any]:
    """How Envoy Gateway runs the proxies of the shared Gateway: the Service type and its annotations."""
    caps = cluster.capabilities()
    n = replicas(cluster.environment)
    labels = {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME}
    if caps.load_balancer == "none":
        service: dict[str, Any] = {"type": "NodePort"}
    else:
        annotations = dict(caps.lb_annotations_public if public else caps.lb_annotations_internal)
        if public:
            annotations[PUBLIC_OPT_IN] = "true"
        if caps.load_balancer == "metallb":
            annotations["metallb.io/address-pool"] = f"{cluster.spec.name}-pool"
        address, zone = cluster.spec.platform.gateway.address, cluster.spec.platform.dns.zone
        if address and zone and in_zone(address, zone):
            # The gateway's own name, published by this cluster's external-dns from the Service (its `service`
            # source reads this annotation): the target of a global name follows the load balancer's address.
            # Source: https://github.com/kubernetes-sigs/external-dns/blob/v0.19.0/docs/annotations/annotations.md
            annotations["external-dns.alpha.kubernetes.io/hostname"] = address
        service = {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "annotations": annotations}
    return {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyService": service,
                "envoyDeployment": {
                    "replicas": n,
                    "container": {"resources": resources("100m", "128Mi", "512Mi")},
                    "pod": {"topologySpreadConstraints": spread(labels) if n > 1 else []},
                },
                **({"envoyPDB": {"minAvailable": 1}} if n > 1 else {}),
            },
        }
    }


def https_listeners(w: WorkloadSpec) -> dict[str, str]:
    """The HTTPS listener (section name) for each name of an exposed workload: its host, and its global name.

    The global name gets a listener, so a certificate, on every cluster of the workload: DNS may send a client to
    any of them.
    """
    if w.expose is None:
        return {}
    g = w.expose.global_routing
    named = {f"https-{w.name}": w.expose.host, f"https-{w.name}-global": g.name if g else None}
    return {section: host for section, host in named.items() if host}


def global_names(workloads: Sequence[WorkloadSpec]) -> list[str]:
    """The global names of a cluster's workloads: their records belong to the zone's routing policy, not to
    this cluster's external-dns, which is told to leave them alone (`--exclude-domains`)."""
    return sorted(w.expose.global_routing.name for w in workloads if w.expose and w.expose.global_routing)


OWN_NAME_LISTENER = "https-gateway"


def gateway_host(cluster: ClusterBase) -> str | None:
    """The gateway's own name (`platform.gateway.address` when it is a name rather than an IP), or None.

    A global name's health check probes a gateway known by name at that name: Route 53 sends it as SNI and as the
    `Host` header (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html,
    FullyQualifiedDomainName and EnableSNI). So the Gateway serves that name too, with a certificate of its own, and
    the global workloads' routes answer to it.
    """
    address = cluster.platform.gateway.address
    return address if address and ip_or_none(address) is None else None


def gateway_spec(workloads: Sequence[WorkloadSpec], own_name: str | None = None) -> dict[str, Any]:
    """One HTTP listener for every route, plus an HTTPS listener per exposed host (cert-manager fills its Secret),
    and one for the gateway's own name when a global name's health check probes it by that name."""
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {GATEWAY_ACCESS_LABEL: GATEWAY_NAME}}}}
    listeners: list[dict[str, Any]] = [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": allowed}]
    named = [https_listeners(w) for w in workloads]
    if own_name and global_names(workloads):
        named.append({OWN_NAME_LISTENER: own_name})
    for sections in named:
        for section, host in sections.items():
            listeners.append(
                {
                    "name": section,
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": host,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": f"{section.removeprefix('https-')}-tls"}],
                    },
                    "allowedRoutes": allowed,
                }
            )
    return {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners}


def acme_solver(cluster: KubernetesCluster, dns01: Mapping[str, Any]) -> dict[str, Any]:
    """The one challenge that can succeed on this cluster (`ClusterBase.acme_challenge` chose it).

    HTTP-01 through the shared Gateway: cert-manager's gateway-shim creates the Certificate, and so the solver's
    HTTPRoute, in the Gateway's namespace, on its HTTP listener. DNS-01 through `dns01` (the target's solver, or
    the stack's Route 53 key, `components.acmedns`), only for names in the zone it may write to.
    Sources: https://cert-manager.io/docs/configuration/acme/http01/#configuring-the-http-01-gateway-api-solver,
    https://cert-manager.io/docs/configuration/acme/#dns-zones (selector.dnsZones).
    """
    spec = cluster.spec
    if spec.acme_challenge == "http01":
        parent = {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "kind": "Gateway", "sectionName": "http"}
        return {"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}
    return {"selector": {"dnsZones": [spec.acme_zone]}, "dns01": dict(dns01)}


def cluster_issuer_spec(email: str | None, server: str, solver: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "acme": {
            **({"email": email} if email else {}),
            "server": ACME_SERVERS[server],
            "privateKeySecretRef": {"name": f"letsencrypt-{server}-account"},
            "solvers": [dict(solver)],
        }
    }


INTERNAL_CA = "orquestra-internal-ca"
SELF_SIGNED = "orquestra-self-signed"


def internal_ca_certificate_spec(cluster_name: str) -> dict[str, Any]:
    """The cluster's own root CA, self-signed once; the CA issuer signs the Gateway's certificates with it.

    Clients must trust it: its certificate is `ca.crt` of Secret `orquestra-internal-ca` in cert-manager's namespace.
    Source: https://cert-manager.io/docs/configuration/selfsigned/#bootstrapping-ca-issuers
    """
    return {
        "isCA": True,
        "commonName": f"{cluster_name} internal CA",
        "secretName": INTERNAL_CA,
        "duration": "87600h",
        "privateKey": {"algorithm": "ECDSA", "size": 256},
        "issuerRef": {"name": SELF_SIGNED, "kind": "ClusterIssuer", "group": "cert-manager.io"},
    }


def acme_server(cluster: KubernetesCluster) -> str:
    """The Let's Encrypt directory the cluster's issuer uses: the stack's choice, else production in `prod` only."""
    chosen = cluster.spec.platform.cert_manager.acme_server
    return chosen or ("production" if cluster.environment == "prod" else "staging")


def issuer_name(cluster: KubernetesCluster) -> str:
    if cluster.spec.certificate_issuer == "acme":
        return f"letsencrypt-{acme_server(cluster)}"
    return INTERNAL_CA


# -------------------------------------------------------------------- component


class Platform(pulumi.ComponentResource):
    """The platform services of one cluster. `gateway` is what service routes attach to (None when off)."""

    gateway: k8s.apiextensions.CustomResource | None
    issuer: str | None
    flagger: list[pulumi.Resource]
    """Flagger and its metric templates: what a workload's Canary waits for (empty when no workload asks)."""

    def __init__(self, cluster: KubernetesCluster, workloads: Sequence[WorkloadSpec]) -> None:
        name = cluster.spec.name
        super().__init__(
            "orquestra:workloads:Platform", f"{name}-platform", None, pulumi.ResourceOptions(parent=cluster)
        )
        spec, caps, env = cluster.spec.platform, cluster.capabilities(), cluster.environment
        # Three gates, each the real prerequisite of what uses it (the first deploy's critical path is the
        # control plane, the first nodes, then the longest chart): what runs no pod needs only the API
        # (`api`); a chart with pods needs nodes (`opts`); what makes the cloud create a load balancer needs
        # the controller that creates it and, on destroy, deletes it (`ready`).
        api = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        opts = pulumi.ResourceOptions.merge(api, pulumi.ResourceOptions(depends_on=list(cluster.nodes)))
        ready = pulumi.ResourceOptions.merge(api, pulumi.ResourceOptions(depends_on=list(cluster.ready)))
        tolerate = caps.system_tolerations
        self.gateway = None
        self.issuer = None
        self.flagger = []

        if caps.load_balancer == "metallb":
            # MetalLB hands the Gateway's Service its address: the Gateway waits for it, like for a cloud's.
            ready = pulumi.ResourceOptions.merge(ready, pulumi.ResourceOptions(depends_on=self._metallb(cluster, opts)))

        if spec.metrics_server and "metrics-server" not in caps.managed_services:
            release(
                f"{name}-metrics-server",
                "metrics-server",
                charts.METRICS_SERVER,
                on_system_nodes("metrics-server", metrics_server_values(env, caps.metrics_server_args), tolerate),
                opts,
            )

        if spec.node_autoscaler and caps.node_autoscaler == "cluster-autoscaler" and not caps.node_autoscaler_installed:
            release(
                f"{name}-cluster-autoscaler",
                "cluster-autoscaler",
                charts.CLUSTER_AUTOSCALER,
                on_system_nodes(
                    "cluster-autoscaler",
                    cluster_autoscaler_values(env, cluster.spec.kubernetes_version, caps.node_autoscaler_values),
                    tolerate,
                ),
                opts,
            )

        crds = None
        hosts: list[str] = []
        if spec.gateway.enabled:
            # The Gateway's own namespace carries the access label: cert-manager's HTTP-01 solver route is created
            # there, and the listeners admit only labelled namespaces.
            namespace = k8s.core.v1.Namespace(
                f"{name}-gateway-namespace",
                metadata={"name": GATEWAY_NAMESPACE, "labels": {GATEWAY_ACCESS_LABEL: GATEWAY_NAME}},
                opts=api,
            )
            crds = release(
                f"{name}-gateway-crds",
                "gateway-crds",
                charts.GATEWAY_CRDS,
                gateway_crds_values(gateway_api="gateway-api-crds" not in caps.managed_services),
                api,
                depends_on=[namespace],
            )
            controller = release(
                f"{name}-envoy-gateway",
                "envoy-gateway",
                charts.ENVOY_GATEWAY,
                on_system_nodes("envoy-gateway", envoy_gateway_values(env), tolerate),
                opts,
                skip_crds=True,
                depends_on=[crds],
            )
            # The proxies' Service is a cloud load balancer: these objects wait for its controller, and a
            # destroy deletes them (the controller then deletes the Service) before either controller goes.
            cr_opts = pulumi.ResourceOptions.merge(ready, pulumi.ResourceOptions(depends_on=[crds, controller]))
            proxy = k8s.apiextensions.CustomResource(
                f"{name}-envoy-proxy",
                api_version="gateway.envoyproxy.io/v1alpha1",
                kind="EnvoyProxy",
                metadata={"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE},
                spec=envoy_proxy_spec(cluster, spec.gateway.public),
                opts=cr_opts,
            )
            gateway_class = k8s.apiextensions.CustomResource(
                f"{name}-gateway-class",
                api_version="gateway.networking.k8s.io/v1",
                kind="GatewayClass",
                metadata={"name": GATEWAY_CLASS},
                spec={
                    "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                    "parametersRef": {
                        "group": "gateway.envoyproxy.io",
                        "kind": "EnvoyProxy",
                        "name": GATEWAY_NAME,
                        "namespace": GATEWAY_NAMESPACE,
                    },
                },
                opts=pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[proxy])),
            )
            annotations = {}
            if spec.cert_manager.enabled:
                annotations["cert-manager.io/cluster-issuer"] = issuer_name(cluster)
            listeners = gateway_spec(workloads, gateway_host(cluster.spec))
            hosts = [ln["hostname"] for ln in listeners["listeners"] if "hostname" in ln]
            self.gateway = k8s.apiextensions.CustomResource(
                f"{name}-gateway",
                api_version="gateway.networking.k8s.io/v1",
                kind="Gateway",
                metadata={"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "annotations": annotations},
                spec=listeners,
                opts=pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[gateway_class])),
            )

        if crds is not None and rollout.needs_flagger(workloads):
            # Flagger writes HTTPRoutes, so it needs the Gateway API's CRDs; the Gateway itself only its Canaries do.
            self.flagger = self._flagger(
                cluster, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[crds]))
            )

        if spec.cert_manager.enabled:
            manager = release(
                f"{name}-cert-manager",
                "cert-manager",
                charts.CERT_MANAGER,
                on_system_nodes(
                    "cert-manager", deep_merge(cert_manager_values(env), caps.cert_manager_values), tolerate
                ),
                opts,
                depends_on=[crds] if crds else [],
            )
            self.issuer = issuer_name(cluster)
            self._issuer(
                cluster, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[manager])), hosts
            )

        if spec.dns.zone:
            if caps.external_dns_provider:
                release(
                    f"{name}-external-dns",
                    "external-dns",
                    charts.EXTERNAL_DNS,
                    on_system_nodes(
                        "external-dns",
                        external_dns_values(
                            env,
                            caps.external_dns_provider,
                            spec.dns.zone,
                            spec.dns.txt_owner_id or name,
                            caps.external_dns_values,
                            global_names(workloads),
                        ),
                        tolerate,
                    ),
                    opts,
                    depends_on=[crds] if crds else [],
                )
            else:
                pulumi.log.warn(
                    f"cluster '{name}': platform.dns.zone is set but this target names no external-dns provider; "
                    "records for it must be managed outside orquestra",
                    resource=self,
                )

        self.register_outputs({})

    def _issuer(self, cluster: KubernetesCluster, opts: pulumi.ResourceOptions, hosts: Sequence[str]) -> None:
        """The ClusterIssuer the Gateway names; `hosts` are the Gateway's names, which a DNS-01 key may prove."""
        name, cert_manager = cluster.spec.name, cluster.spec.platform.cert_manager
        if cluster.spec.certificate_issuer == "acme":
            caps = cluster.capabilities()
            dns01, secrets = caps.acme_dns01, caps.cert_manager_secrets
            if cert_manager.dns01 is not None:
                from components import acmedns

                dns01, secrets = acmedns.route53(name, cert_manager.dns01, hosts, self)
            solver = acme_solver(cluster, dns01)
            # A ClusterIssuer's solver reads its Secrets in cert-manager's namespace (--cluster-resource-namespace).
            # Source: https://cert-manager.io/docs/configuration/#cluster-resource-namespace
            secrets = secrets if "dns01" in solver else {}
            credentials = [
                k8s.core.v1.Secret(
                    f"{name}-{secret}",
                    metadata={"name": secret, "namespace": charts.CERT_MANAGER.namespace},
                    string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
                    opts=opts,
                )
                for secret, data in secrets.items()
            ]
            k8s.apiextensions.CustomResource(
                f"{name}-cluster-issuer",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": issuer_name(cluster)},
                spec=cluster_issuer_spec(cert_manager.acme_email, acme_server(cluster), solver),
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=credentials)),
            )
            return
        self_signed = k8s.apiextensions.CustomResource(
            f"{name}-self-signed-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": SELF_SIGNED},
            spec={"selfSigned": {}},
            opts=opts,
        )
        root = k8s.apiextensions.CustomResource(
            f"{name}-internal-ca",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": INTERNAL_CA, "namespace": charts.CERT_MANAGER.namespace},
            spec=internal_ca_certificate_spec(name),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self_signed])),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-cluster-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": INTERNAL_CA},
            # A ClusterIssuer reads its Secret from cert-manager's own namespace (--cluster-resource-namespace).
            spec={"ca": {"secretName": INTERNAL_CA}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[root])),
        )

    def _flagger(self, cluster: KubernetesCluster, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """Flagger with its bundled Prometheus, and the checks the cluster's canaries share (`rollout`)."""
        name = cluster.spec.name
        chart = release(
            f"{name}-flagger",
            rollout.FLAGGER_RELEASE,
            charts.FLAGGER,
            rollout.flagger_values(ha(cluster.environment)),
            opts,
        )
        templates = [
            k8s.apiextensions.CustomResource(
                f"{name}-metric-{template}",
                api_version="flagger.app/v1beta1",
                kind="MetricTemplate",
                metadata={"name": template, "namespace": charts.FLAGGER.namespace},
                spec=spec,
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[chart])),
            )
            for template, spec in rollout.metric_templates().items()
        ]
        return [chart, *templates]

    def _metallb(self, cluster: KubernetesCluster, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        name = cluster.spec.name
        chart = release(f"{name}-metallb", "metallb", charts.METALLB, metallb_values(), opts)
        cr_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[chart]))
        pool = k8s.apiextensions.CustomResource(
            f"{name}-metallb-pool",
            api_version="metallb.io/v1beta1",
            kind="IPAddressPool",
            metadata={"name": f"{name}-pool", "namespace": charts.METALLB.namespace},
            # Addresses go only to Services that ask for this pool by annotation.
            spec={"addresses": list(cluster.capabilities().metallb_pool), "autoAssign": False},
            opts=cr_opts,
        )
        l2 = k8s.apiextensions.CustomResource(
            f"{name}-metallb-l2",
            api_version="metallb.io/v1beta1",
            kind="L2Advertisement",
            metadata={"name": f"{name}-l2", "namespace": charts.METALLB.namespace},
            spec={"ipAddressPools": [f"{name}-pool"]},
            opts=pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[pool])),
        )
        return [chart, pool, l2]
