"""OKE workload identity: pods act as their Kubernetes ServiceAccount, which IAM policies name directly.

There is no cloud-side identity object to create (no role, no service account): a policy grants a
permission to `any-user` where the request's principal is a workload of this cluster, namespace and
ServiceAccount (https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contenggrantingworkloadaccesstoresources.htm).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi


def principal(cluster_id: pulumi.Input[str], namespace: str, service_account: str) -> pulumi.Output[str]:
    """The `where` clause that matches exactly one ServiceAccount of one cluster."""
    return pulumi.Output.concat(
        "ALL {request.principal.type = 'workload', request.principal.namespace = '",
        namespace,
        "', request.principal.service_account = '",
        service_account,
        "', request.principal.cluster_id = '",
        cluster_id,
        "'}",
    )


def workload_identity(namespace: str, service_account: str) -> Mapping[str, pulumi.Input[str]]:
    """Nothing to annotate: the OCI SDKs' OKE workload identity provider reads the projected token by itself.

    The workload's permissions are policies on `principal(cluster, namespace, service_account)`.
    """
    return {}
