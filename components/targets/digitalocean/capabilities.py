"""How a DOKS cluster does what the workloads layer asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.cluster import Capabilities
from components.runtime import secret_output

if TYPE_CHECKING:
    from components.targets.digitalocean import DigitalOceanCluster

# Load balancer size units (each unit is a fixed slice of connections and throughput).
LB_SIZE_UNITS: Mapping[str, str] = {"dev": "1", "staging": "1", "prod": "2"}
LB = "service.beta.kubernetes.io/do-loadbalancer-"
DNS_TOKEN_SECRET = "digitalocean-dns"
DNS_TOKEN_KEY = "access-token"


def acme_dns01(c: DigitalOceanCluster) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """cert-manager's DigitalOcean DNS-01 solver for `platform.dns.zone`, and the Secret holding its token.

    DigitalOcean DNS has no pod identity: the solver reads an API token from a Secret in cert-manager's
    namespace, made from the spec's secret `dnsToken`. Source:
    https://cert-manager.io/docs/configuration/acme/dns01/digitalocean/ (`digitalocean.tokenSecretRef`).
    """
    if not c.spec.platform.dns.zone or c.spec.dns_token is None:
        return {}, {}
    solver = {"digitalocean": {"tokenSecretRef": {"name": DNS_TOKEN_SECRET, "key": DNS_TOKEN_KEY}}}
    return solver, {DNS_TOKEN_SECRET: {DNS_TOKEN_KEY: secret_output(c.spec.dns_token)}}


def of(c: DigitalOceanCluster) -> Capabilities:
    """How workloads meet DigitalOcean.

    Every `LoadBalancer` Service becomes a DigitalOcean Load Balancer. An
    internal one is a regional load balancer on the VPC only
    (`do-loadbalancer-network: INTERNAL`), reachable from droplets and peered
    VPCs, not from the internet; it cannot be switched to public later. PROXY
    protocol stays off: it would break a gateway not configured to expect it.
    """
    name = c.spec.name
    common = {f"{LB}size-unit": LB_SIZE_UNITS[c.environment]}
    solver, secrets = acme_dns01(c)
    return Capabilities(
        load_balancer="cloud",
        node_autoscaler="cloud",
        default_storage_class="do-block-storage",
        pod_identity="none",
        zones=(),
        lb_annotations_public={
            **common,
            f"{LB}name": f"{name}-public",
            f"{LB}disable-lets-encrypt-dns-records": "true",
        },
        lb_annotations_internal={
            **common,
            f"{LB}name": f"{name}-internal",
            f"{LB}network": "INTERNAL",
        },
        region=c.spec.region,
        acme_dns01=solver,
        cert_manager_secrets=secrets,
        # DOKS installs and manages the Gateway API CRDs (Gateway, GatewayClass, HTTPRoute, GRPCRoute, TLSRoute,
        # ReferenceGrant) on VPC-native clusters (`cluster_subnet`, control_plane.py) from 1.33, every minor offered
        # here; a second owner of them would fail the release. Envoy Gateway's own CRDs are still installed.
        # Source: https://docs.digitalocean.com/products/kubernetes/how-to/use-gateway-api/
        managed_services=frozenset({"gateway-api-crds"}),
        # DOKS runs no metrics-server of its own (it is a Marketplace 1-Click app); the platform installs it.
        # Source: https://docs.digitalocean.com/products/marketplace/catalog/kubernetes-metrics-server/
    )
