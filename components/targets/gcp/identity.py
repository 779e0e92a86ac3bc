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
    return {"iam.gke.io/gcp-service-account": workload_account(c, namespace, service_account, opts).email}


def workload_account(
    c: GcpCluster, namespace: str, service_account: str, opts: pulumi.ResourceOptions
) -> gcp.serviceaccount.Account:
    """The Google service account behind `workload_identity`, for callers that grant it something."""
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
    return gsa


def external_dns(c: GcpCluster) -> dict[str, Any]:
    """external-dns's Helm values for Cloud DNS, and the Google service account it acts as; {} without a zone.

    external-dns lists the project's zones, reads their record sets and writes changes
    (kubernetes-sigs/external-dns v0.19.0 provider/google/google.go: ManagedZones.List, ResourceRecordSets.List,
    Changes.Create), so it gets `DNS_RECORD_PERMISSIONS`, not `roles/dns.admin`, which may also delete zones.
    """
    spec, project = c.spec, c.spec.project
    if not spec.platform.dns.zone:
        return {}
    # external-dns edits Cloud DNS as its own Google service account, never the nodes'.
    gsa = workload_account(c, "external-dns", "external-dns", c.child_opts())
    dns_records(c, "external-dns", gsa)
    return {
        "serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": gsa.email}},
        "extraArgs": [f"--google-project={project}"],
    }


DNS_RECORD_PERMISSIONS: tuple[str, ...] = (
    "dns.changes.create",
    "dns.changes.get",
    "dns.changes.list",
    "dns.managedZones.list",
    "dns.resourceRecordSets.create",
    "dns.resourceRecordSets.delete",
    "dns.resourceRecordSets.get",
    "dns.resourceRecordSets.list",
    "dns.resourceRecordSets.update",
)
"""What a writer of records in Cloud DNS needs: find the zone, write and remove records, follow the change.

cert-manager asks for `dns.resourceRecordSets.*`, `dns.changes.*` and `dns.managedZones.list`
(https://cert-manager.io/docs/configuration/acme/dns01/google/); a custom role takes no wildcards, so they are
spelled out after https://cloud.google.com/iam/docs/roles-permissions/dns. Narrower than `roles/dns.admin`, which
may also create and delete zones, DNSSEC keys and policies.
"""


def dns_records(c: GcpCluster, label: str, gsa: gcp.serviceaccount.Account) -> gcp.projects.IAMMember:
    """A custom role with `DNS_RECORD_PERMISSIONS` only, granted to `gsa` on the cluster's project.

    A deleted custom role keeps its id for up to 37 days, so a fixed id would fail the deploy after a destroy
    (pulumi_gcp/projects/iam_custom_role.py, "soft-delete"); the bridge's autoname joins with "-" (pulumi-gcp
    provider/resources.go, `role_id: info.AutoName("", 255, "-")`), which a role id may not contain (letters,
    digits, "_" and "."; at most 64). The account's unique id is new with every deployment of the account, so each
    deployment gets a role of its own. Source: https://cloud.google.com/iam/docs/creating-custom-roles#naming_the_role
    """
    name, project = c.spec.name, c.spec.project
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", name)[:28]
    role = gcp.projects.IAMCustomRole(
        f"{name}-{label}-dns",
        project=project,
        role_id=gsa.unique_id.apply(lambda unique: f"{prefix}_dns_{unique}"),
        title=f"{label} DNS records on {name}",
        description="Records in Cloud DNS zones of the project; no zone, key or policy changes.",
        permissions=list(DNS_RECORD_PERMISSIONS),
        opts=c.child_opts(),
    )
    return gcp.projects.IAMMember(
        f"{name}-{label}-dns", project=project, role=role.name, member=gsa.member, opts=c.child_opts()
    )


def cert_manager(c: GcpCluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """cert-manager's Cloud DNS DNS-01 solver in the cluster's project, and its Helm values; ({}, {}) without a zone.

    cert-manager acts as a Google service account of its own through Workload Identity (the chart's
    `cert-manager` ServiceAccount in `cert-manager`), granted `DNS_RECORD_PERMISSIONS` on the project that holds
    `platform.dns.zone`. Solver fields: https://cert-manager.io/docs/configuration/acme/dns01/google/
    (`cloudDNS.project`; no key Secret with Workload Identity).
    """
    if not c.spec.platform.dns.zone:
        return {}, {}
    gsa = workload_account(c, "cert-manager", "cert-manager", c.child_opts())
    dns_records(c, "cert-manager", gsa)
    annotations = {"iam.gke.io/gcp-service-account": gsa.email}
    return {"cloudDNS": {"project": c.spec.project}}, {"serviceAccount": {"annotations": annotations}}
