"""The cluster's KMS keys and their key policies, written out instead of AWS's default one.

The default key policy gives the account root `kms:*`, so any IAM policy in the
account may grant use of the key (AWS KMS "Default key policy"; CIS AWS Foundations v3.0.0 asks only for
rotation, 3.6, which both keys have),
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html). Here
administrators (whoever deploys, and `adminRoleArns`) may manage a key but not use
it, and only the service that needs the key may use it, scoped by conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.targets.aws.identity import policy_document

if TYPE_CHECKING:
    from components.targets.aws import AwsCluster

# Key administrators' actions: AWS KMS "Allows key administrators to administer the KMS key"
# (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators);
# no Encrypt/Decrypt/GenerateDataKey: administering a key is not reading what it protects.
ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]


def administrators(c: AwsCluster) -> list[str]:
    """The role that runs `pulumi up` (KMS refuses a policy that locks its creator out) and `adminRoleArns`."""
    invoke = pulumi.InvokeOptions(provider=c.aws)
    caller = aws.get_caller_identity(opts=invoke).arn
    # A role session (assumed-role/name/session) is not a principal a key policy can name; its role is.
    deployer = aws.iam.get_session_context(arn=caller, opts=invoke).issuer_arn
    return list(dict.fromkeys([deployer, *c.spec.admin_role_arns]))


def _policy(admins: Sequence[str], *use: Mapping[str, Any]) -> str:
    return policy_document(
        {
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": list(admins)},
            "Action": ADMIN_ACTIONS,
            "Resource": "*",
        },
        *use,
    )


def key(c: AwsCluster, label: str, alias: str, description: str, policy: pulumi.Input[str]) -> aws.kms.Key:
    """A symmetric key with yearly rotation, 30 days to undo a deletion, protected where the cluster is."""
    made = aws.kms.Key(
        f"{c.spec.name}-{label}",
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=30,
        policy=policy,
        opts=c.opts(stateful=True),
    )
    aws.kms.Alias(f"{c.spec.name}-{label}", name=alias, target_key_id=made.key_id, opts=c.opts())
    return made


def secrets_policy(c: AwsCluster, admins: Sequence[str], cluster_role_arn: str) -> str:
    """Only the cluster's role uses the secrets key; grants only for AWS resources.

    The actions are those the EKS cluster role needs for envelope encryption
    (https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html);
    `kms:GrantIsForAWSResource` keeps CreateGrant to grants an AWS service makes
    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
    """
    return _policy(
        admins,
        {
            "Sid": "ClusterRoleUse",
            "Effect": "Allow",
            "Principal": {"AWS": cluster_role_arn},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"],
            "Resource": "*",
        },
        {
            "Sid": "ClusterRoleGrants",
            "Effect": "Allow",
            "Principal": {"AWS": cluster_role_arn},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    )


def logs_policy(c: AwsCluster, admins: Sequence[str], log_groups: Sequence[str]) -> str:
    """CloudWatch Logs of this region uses the key, and only for this cluster's log groups.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html: the
    regional service principal, with `kms:EncryptionContext:aws:logs:arn` naming the log groups.
    """
    logs = {"Service": f"logs.{c.spec.region}.amazonaws.com"}
    return _policy(
        admins,
        {
            "Sid": "CloudWatchLogsUse",
            "Effect": "Allow",
            "Principal": logs,
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            "Resource": "*",
            # The context key is a String in the KMS authorization reference; the values are exact ARNs.
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_groups)}},
        },
        # DescribeKey carries no encryption context, so a condition on it would never match.
        {
            "Sid": "CloudWatchLogsDescribe",
            "Effect": "Allow",
            "Principal": logs,
            "Action": "kms:DescribeKey",
            "Resource": "*",
        },
    )


def log_group_arn(c: AwsCluster, name: str) -> str:
    return f"arn:{c.partition}:logs:{c.spec.region}:{c.account}:log-group:{name}"
