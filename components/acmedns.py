"""DNS-01 in a Route 53 zone for a cluster with no cloud identity: an IAM user that may only write its challenges.

On-prem, Tanzu and clusters you already run have no way to give cert-manager an AWS identity, so the solver
authenticates with an access key (`platform.certManager.dns01`). The key lives as long as nobody rotates it, so its
user may do nothing but what cert-manager's Route 53 solver does: change `_acme-challenge` TXT records of the names
this cluster's Gateway serves, in that one hosted zone, and wait for the change. The policy pack holds every access
key of a plan to that (`iam-access-key-scoped`, policies/rules/aws.py).

Sources: the solver's permissions, https://cert-manager.io/docs/configuration/acme/dns01/route53/ (no
`ListHostedZonesByName` when `hostedZoneID` is set); its calls, cert-manager
pkg/issuer/acme/dns/route53/route53.go (Present UPSERTs the TXT record, CleanUp DELETEs it, then both poll
GetChange); the condition keys and their normalised values (lowercase, no trailing dot),
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html; the solver's fields
(`accessKeyIDSecretRef`, `secretAccessKeySecretRef`, `hostedZoneID`, `region`), the ClusterIssuer CRD of cert-manager
v1.19.1. Argument names: pulumi_aws iam/user.py, iam/user_policy.py, iam/access_key.py (the pinned SDK).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi

from components.spec import Dns01

SECRET = "route53-credentials"
ACCESS_KEY_ID = "access-key-id"
SECRET_ACCESS_KEY = "secret-access-key"
CHALLENGE = "_acme-challenge"
ACTIONS = ("DELETE", "UPSERT")
"""What the solver sends: UPSERT to present a challenge, DELETE to clean it up (never CREATE)."""
REGION = "us-east-1"
"""Route 53 is global; the region only tells the SDK which partition's endpoint and signing scope to use (the
CRD's `route53.region`), and us-east-1 is the aws partition's (https://docs.aws.amazon.com/general/latest/gr/r53.html).
"""


def challenge_names(hosts: Iterable[str]) -> list[str]:
    """The TXT records DNS-01 writes for these names, as Route 53 normalises them for a condition."""
    return sorted({f"{CHALLENGE}.{host.lower().rstrip('.')}" for host in hosts})


def policy(partition: str, zone_id: str, hosts: Iterable[str]) -> str:
    """Change only the challenge TXT records of `hosts` in the one zone, list that zone's records, read changes."""
    zone = f"arn:{partition}:route53:::hostedzone/{zone_id}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["route53:GetChange"], "Resource": f"arn:{partition}:route53:::change/*"},
                {"Effect": "Allow", "Action": ["route53:ListResourceRecordSets"], "Resource": zone},
                {
                    "Effect": "Allow",
                    "Action": ["route53:ChangeResourceRecordSets"],
                    "Resource": zone,
                    "Condition": {
                        "ForAllValues:StringEquals": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": challenge_names(hosts),
                            "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                            "route53:ChangeResourceRecordSetsActions": list(ACTIONS),
                        }
                    },
                },
            ],
        },
        sort_keys=True,
    )


def route53(
    cluster: str, dns01: Dns01, hosts: Iterable[str], parent: pulumi.Resource
) -> tuple[dict[str, Any], dict[str, Mapping[str, pulumi.Input[str]]]]:
    """The solver block for the ClusterIssuer, and the Secret (name -> data) it reads its key from.

    The user, its one inline policy and its key are created through a provider of their own (IAM and Route 53 are
    global, so no cluster's region applies); the deploying machine's AWS credentials create them. `rotation` is part
    of the key's resource name: a new label creates the new key first, the Secret takes it, and the old key is
    deleted at the end of the same `pulumi up` (IAM allows two keys per user for exactly this).
    """
    import pulumi_aws as aws

    names = list(hosts)
    provider = aws.Provider(f"{cluster}-acme-dns", region=REGION, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    zone = aws.route53.get_zone_output(
        name=dns01.zone, private_zone=False, opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=provider)).partition
    user = aws.iam.User(
        f"{cluster}-acme-dns",
        path="/orquestra/",
        tags={"orquestra.io/cluster": cluster, "orquestra.io/purpose": "acme-dns01"},
        opts=opts,
    )
    grant = aws.iam.UserPolicy(
        f"{cluster}-acme-dns",
        user=user.name,
        policy=pulumi.Output.all(partition, zone.zone_id).apply(lambda a: policy(str(a[0]), str(a[1]), names)),
        opts=opts,
    )
    # The key reaches cert-manager only once its user may do what the solver does.
    key_name = f"{cluster}-acme-dns-key" + (f"-{dns01.rotation}" if dns01.rotation else "")
    key = aws.iam.AccessKey(
        key_name, user=user.name, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[grant]))
    )
    solver = {
        "route53": {
            "region": REGION,
            "hostedZoneID": zone.zone_id,
            "accessKeyIDSecretRef": {"name": SECRET, "key": ACCESS_KEY_ID},
            "secretAccessKeySecretRef": {"name": SECRET, "key": SECRET_ACCESS_KEY},
        }
    }
    return solver, {SECRET: {ACCESS_KEY_ID: key.id, SECRET_ACCESS_KEY: pulumi.Output.secret(key.secret)}}
