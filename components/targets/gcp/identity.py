"""Who may do what: the nodes' least-privilege service account, and Workload Identity for pods."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

if TYPE_CHECKING:
    from components.targets.gcp import GcpCluster

NODE_ROLES: tuple[str, ...] = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)
"""What a node needs and nothing more: ship logs and metrics, pull images. Never the Compute Engine default SA."""


def account_id(*parts: str) -> str:
    """A service account id (6-30 chars) from readable parts; long ones keep a hash so they stay unique."""
    name = re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower()).strip("-")
    if 6 <= len(name) <= 30:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:21].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class NodeIdentity:
    account: gcp.serviceaccount.Account
    roles: list[gcp.projects.IAMMember]


def nodes(c: GcpCluster) -> NodeIdentity:
    """The service account every node runs as, with `NODE_ROLES` only."""
    name, project = c.spec.name, c.spec.project
    node_sa = gcp.serviceaccount.Account(
        f"{name}-nodes-sa",
        project=project,
        account_id=account_id(name, "nodes"),
        display_name=f"GKE nodes of {name}",
        description="Least-privilege identity of the cluster's nodes (logs, metrics, image pulls).",
        opts=c.child_opts(),
    )
    node_roles = [
        gcp.projects.IAMMember(
            f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
            project=project,
            role=role,
            member=node_sa.member,
            opts=c.child_opts(),
        )
        for role in NODE_ROLES
    ]
    return NodeIdentity(node_sa, node_roles)


def workload_identity(
    c: GcpCluster, namespace: str, service_account: str, opts: pulumi.ResourceOptions
) -> Mapping[str, pulumi.Input[str]]:
    """A Google service account that the Kubernetes ServiceAccount `namespace/service_account` may act as."""
    name = c.spec.name
    gsa = gcp.serviceaccount.Account(
        f"{name}-{namespace}-{service_account}-gsa",
        project=c.project,
        account_id=account_id(name, namespace, service_account),
        display_name=f"{namespace}/{service_account} on {name}",
        description="Workload Identity of one Kubernetes ServiceAccount; grant it only what the workload needs.",
        opts=opts,
    )
    gcp.serviceaccount.IAMMember(
        f"{name}-{namespace}-{service_account}-wi",
        service_account_id=gsa.name,
        role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{c.workload_pool}[{namespace}/{service_account}]",
        # The identity pool exists once the cluster does.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[c.cluster])),
    )
    return {"iam.gke.io/gcp-service-account": gsa.email}


def external_dns(c: GcpCluster) -> dict[str, Any]:
    """external-dns's Helm values for Cloud DNS, and the Google service account it acts as; {} without a zone."""
    spec, name, project = c.spec, c.spec.name, c.spec.project
    external_dns: dict[str, object] = {}
    if spec.platform.dns.zone:
        # external-dns edits Cloud DNS as its own Google service account, never the nodes'.
        annotations = workload_identity(c, "external-dns", "external-dns", c.child_opts())
        gcp.projects.IAMMember(
            f"{name}-external-dns-dns-admin",
            project=project,
            role="roles/dns.admin",
            member=pulumi.Output.concat("serviceAccount:", annotations["iam.gke.io/gcp-service-account"]),
            opts=c.child_opts(),
        )
        external_dns = {
            "serviceAccount": {"annotations": dict(annotations)},
            "extraArgs": [f"--google-project={project}"],
        }
    return external_dns
