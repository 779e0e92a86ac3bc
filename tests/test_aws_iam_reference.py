"""The program's LB controller and Karpenter policies against upstream's, action by action.

Every permission upstream grants is granted (or its narrowing or omission is
listed in `components/targets/aws/iam.py` with the reason), and nothing beyond
upstream is granted. The references are read from the chart mirror beside the
repository (`../shared/charts/reference/`), never from a copy in the project.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from components.targets.aws import iam as aws_iam
from components.targets.aws.iam import Departure
from preflight.engine import PROJECT_DIR
from preflight.rejects import awsiam

REFERENCE = PROJECT_DIR.parent / "shared" / "charts" / "reference"
if not (REFERENCE / "index.json").is_file():
    pytest.skip(f"no upstream IAM references at {REFERENCE} (the chart mirror is absent)", allow_module_level=True)

PARTITION, ACCOUNT, REGION, CLUSTER = "aws", "123456789012", "eu-west-1", "eks"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-karpenter-node"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:eks-karpenter"
# The CloudFormation parameters of Karpenter's template, as the program fills them.
PLACEHOLDERS = {
    "${AWS::Partition}": PARTITION,
    "${AWS::Region}": REGION,
    "${AWS::AccountId}": ACCOUNT,
    "${ClusterName}": CLUSTER,
    "${KarpenterInterruptionQueue.Arn}": QUEUE,
    "${KarpenterNodeRole.Arn}": NODE_ROLE,
}


@dataclass(frozen=True)
class Grant:
    """One action on one resource under one set of conditions: the unit both documents are compared in."""

    action: str
    resource: str
    conditions: frozenset[tuple[str, str, tuple[str, ...]]]

    def covered_by(self, wider: Grant) -> bool:
        """Whether `wider` allows everything this grant allows: same action, a resource pattern
        that includes this one, and no condition this grant lacks."""
        return (
            self.action.lower() == wider.action.lower()
            and fnmatch.fnmatchcase(self.resource, wider.resource)
            and wider.conditions <= self.conditions
        )

    def __str__(self) -> str:
        conditions = ", ".join(f"{op} {key}={list(values)}" for op, key, values in sorted(self.conditions))
        return f"{self.action} on {self.resource}" + (f" if {conditions}" if conditions else "")


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def grants(text: str) -> set[Grant]:
    document = json.loads(text)
    out: set[Grant] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        conditions = frozenset(
            (op, key, tuple(sorted(_listed(values))))
            for op, block in statement.get("Condition", {}).items()
            for key, values in block.items()
        )
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                out.add(Grant(action, resource, conditions))
    return out


def reference(name: str) -> str:
    text = (REFERENCE / name).read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def compare(program: str, upstream: str, departures: Sequence[Departure]) -> list[str]:
    """Every difference between the documents that `departures` does not account for, one line each."""
    mine, theirs = grants(program), grants(upstream)
    problems = [f"beyond upstream: {g}" for g in sorted(mine, key=str) if not any(g.covered_by(u) for u in theirs)]
    used: set[Departure] = set()
    for u in sorted(theirs - mine, key=str):
        narrower = [g for g in mine if g.covered_by(u)]
        listed = [d for d in departures if fnmatch.fnmatchcase(u.resource, d.resource)]
        if not listed:
            problems.append(f"not granted and not listed as a departure: {u}")
        elif listed[0].kind == "narrowed" and not narrower:
            problems.append(f"listed as narrowed, but not granted at all: {u}")
        elif listed[0].kind == "omitted" and narrower:
            problems.append(f"listed as omitted, but granted: {u}")
        used.update(listed)
    problems += [f"departure matches no upstream grant the program lacks: {d}" for d in departures if d not in used]
    return problems


LB = "aws-load-balancer-controller-iam_policy-v2.14.1.json"
KARPENTER = "karpenter-controller-policy-1.8.1.json"


def lb_policy() -> str:
    return aws_iam.lb_controller_policy(PARTITION, ACCOUNT, REGION, CLUSTER)


def karpenter_policy() -> str:
    return aws_iam.karpenter_policy(PARTITION, ACCOUNT, REGION, CLUSTER, NODE_ROLE, QUEUE)


def test_the_references_are_the_pinned_versions() -> None:
    """The chart versions the program pins are the versions the references were taken at."""
    from components.targets.aws.karpenter import KARPENTER as KARPENTER_CHART
    from components.targets.aws.lb_controller import LB_CONTROLLER

    index = json.loads((REFERENCE / "index.json").read_text())
    assert index[KARPENTER]["tag"] == f"v{KARPENTER_CHART.version}"
    assert LB_CONTROLLER.version == "1.14.1" and index[LB]["tag"] == "v2.14.1", "chart 1.14.1 ships controller v2.14.1"


def test_lb_controller_policy_grants_what_upstream_grants() -> None:
    assert compare(lb_policy(), reference(LB), aws_iam.LB_CONTROLLER_DEPARTURES) == []


def test_karpenter_policy_grants_what_upstream_grants() -> None:
    assert compare(karpenter_policy(), reference(KARPENTER), aws_iam.KARPENTER_DEPARTURES) == []


def test_the_documents_pass_the_linter() -> None:
    for text in (lb_policy(), karpenter_policy(), reference(LB), reference(KARPENTER)):
        assert awsiam.lint(text) == []


def test_the_partition_reaches_every_arn() -> None:
    china = aws_iam.lb_controller_policy("aws-cn", ACCOUNT, "cn-north-1", CLUSTER)
    karpenter = aws_iam.karpenter_policy("aws-cn", ACCOUNT, "cn-north-1", CLUSTER, NODE_ROLE, QUEUE)
    for text in (china, karpenter):
        arns = [
            g.resource for g in grants(text) if g.resource.startswith("arn:") and g.resource not in (NODE_ROLE, QUEUE)
        ]
        assert arns and all(a.startswith("arn:aws-cn:") for a in arns)


# ------------------------------------------- the defects the comparison exists for


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_karpenter_policy_launching_and_tagging_anything_is_caught() -> None:
    """The hand-typed policy let RunInstances and CreateTags act on * with no request-tag condition."""
    launch = {
        "Effect": "Allow",
        "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags"],
        "Resource": "*",
    }
    problems = compare(_doc(launch), reference(KARPENTER), ())
    beyond = {p for p in problems if p.startswith("beyond upstream")}
    assert "beyond upstream: ec2:CreateTags on *" in beyond and "beyond upstream: ec2:RunInstances on *" in beyond


def test_an_lb_policy_without_tag_on_create_or_open_ingress_is_caught() -> None:
    """The hand-typed policy had no AddTags with CreateAction and opened only security groups it had tagged."""
    program = [
        g
        for g in grants(lb_policy())
        if "CreateAction" not in str(g) and g.action != "ec2:AuthorizeSecurityGroupIngress"
    ]
    statements = [
        {"Effect": "Allow", "Action": g.action, "Resource": g.resource, "Condition": _conditions(g)} for g in program
    ]
    problems = compare(_doc(*statements), reference(LB), aws_iam.LB_CONTROLLER_DEPARTURES)
    # Upstream's tag-on-create grants are on load balancer ARNs, whose account and region the program narrows.
    assert any(
        p.startswith("listed as narrowed, but not granted at all: elasticloadbalancing:AddTags") and "CreateAction" in p
        for p in problems
    ), problems
    assert "not granted and not listed as a departure: ec2:AuthorizeSecurityGroupIngress on *" in problems


def _conditions(grant: Grant) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for op, key, values in grant.conditions:
        out.setdefault(op, {})[key] = list(values)
    return out


def test_a_stale_or_wrong_departure_is_caught() -> None:
    stale = Departure("arn:aws:s3:::*", "omitted", "nothing upstream matches")
    assert compare(lb_policy(), reference(LB), (*aws_iam.LB_CONTROLLER_DEPARTURES, stale)) == [
        f"departure matches no upstream grant the program lacks: {stale}"
    ]
    wrong = tuple(Departure(d.resource, "omitted", d.reason) for d in aws_iam.LB_CONTROLLER_DEPARTURES)
    assert all(p.startswith("listed as omitted, but granted") for p in compare(lb_policy(), reference(LB), wrong))
