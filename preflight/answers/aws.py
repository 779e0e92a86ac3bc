"""pulumi-aws: what AWS returns for the invokes orquestra makes and what it computes on create.

Identifiers follow AWS's formats (vpc-/subnet- hex ids, ARNs with partition, account
and region, EKS endpoints under `<region>.eks.amazonaws.com`), derived from the
resource name so a plan is the same every time.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from typing import Any

ACCOUNT = "123456789012"
CA_PEM = (
    b"-----BEGIN CERTIFICATE-----\n"
    b"MIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQD\n"
    b"-----END CERTIFICATE-----\n"
)
DEFAULT_REGION = "eu-west-1"


def _hex(name: str, n: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _region(inputs: dict[str, Any]) -> str:
    return str(inputs.get("region") or DEFAULT_REGION)


def _zones(args: dict[str, Any]) -> dict[str, Any]:
    region = DEFAULT_REGION
    names = [f"{region}{z}" for z in "abc"]
    return {
        "id": region,
        "names": names,
        "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)],
        "groupNames": [region] * 3,
        "state": args.get("state", "available"),
    }


def _session_context(args: dict[str, Any]) -> dict[str, Any]:
    """An STS role session's issuer is its role (with its path); any other ARN passes through, as AWS answers."""
    arn = str(args.get("arn", ""))
    session = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/(.+)$", arn)
    if not session:
        return {"arn": arn, "issuerArn": arn, "issuerId": "", "issuerName": "", "sessionName": "", "id": arn}
    role = f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}"
    return {
        "arn": arn,
        "issuerArn": role,
        "issuerId": f"AROA{_hex(role, 17).upper()}",
        "issuerName": session[3],
        "sessionName": session[4],
        "id": arn,
    }


def _hosted_zone(args: dict[str, Any]) -> dict[str, Any]:
    """A public hosted zone of that name (Route 53 ids are Z + 13-32 upper-case alphanumerics)."""
    name = str(args.get("name") or "example.com").rstrip(".")
    zone_id = "Z" + _hex(name, 20).upper()
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "name": name,
        "privateZone": bool(args.get("privateZone", False)),
        "callerReference": _uuid(name),
        "comment": "",
        "nameServers": [
            f"ns-{i}.awsdns-{i:02d}.{tld}" for i, tld in ((1, "com"), (2, "net"), (3, "org"), (4, "co.uk"))
        ],
        "primaryNameServer": "ns-1.awsdns-01.com",
        "resourceRecordSetCount": 2,
        "tags": {},
    }


INVOKES = {
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "aws:route53/getZone:getZone": _hosted_zone,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:role/platform-deployer",
        "userId": "AROAEXAMPLEDEPLOYER:ci",
        "id": ACCOUNT,
    },
    "aws:index/getPartition:getPartition": lambda args: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": "aws",
    },
}


def _eks(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cluster = str(inputs.get("name") or name)
    region = _region(inputs)
    oidc = _hex(f"{stack}/{cluster}/oidc", 32).upper()
    ca = base64.b64encode(CA_PEM)
    return {
        "id": cluster,
        "arn": f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{cluster}",
        "endpoint": f"https://{_hex(stack + cluster, 32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": ca.decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc}"}]}],
        "platformVersion": "eks.12",
        "status": "ACTIVE",
        "clusterId": _uuid(cluster),
        "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_hex(cluster + 'sg')}"},
    }


def _principal(kind: str, id_prefix: str) -> Any:
    """An autonamed IAM role or user under its path (`AROA`/`AIDA` unique ids, as IAM gives them)."""

    def answer(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
        autonamed = f"{name}-{_hex(stack + name, 7)}"
        path = str(inputs.get("path") or "/")
        return {
            "id": autonamed,
            "name": autonamed,
            "arn": f"arn:aws:iam::{ACCOUNT}:{kind}{path}{autonamed}",
            "uniqueId": f"{id_prefix}{_hex(name, 17).upper()}",
        }

    return answer


def _access_key(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """A long-term access key: its id (AKIA + 16) is the resource id; the secret is 40 characters."""
    key_id = f"AKIA{_hex(stack + name, 16).upper()}"
    secret = base64.b64encode(hashlib.sha256(f"{stack}/{name}/secret".encode()).digest()).decode()[:40]
    return {"id": key_id, "secret": secret, "status": inputs.get("status") or "Active"}


def _key(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    key_id = _uuid(stack + name)
    return {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{DEFAULT_REGION}:{ACCOUNT}:key/{key_id}"}


def _prefixed(prefix: str) -> Any:
    return lambda name, inputs, stack: {"id": f"{prefix}-{_hex(stack + name)}"}


def _queue(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    queue = str(inputs.get("name") or name)
    return {
        "id": f"https://sqs.{DEFAULT_REGION}.amazonaws.com/{ACCOUNT}/{queue}",
        "url": f"https://sqs.{DEFAULT_REGION}.amazonaws.com/{ACCOUNT}/{queue}",
        "arn": f"arn:aws:sqs:{DEFAULT_REGION}:{ACCOUNT}:{queue}",
        "name": queue,
    }


def _launch_template(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    lt = f"lt-{_hex(stack + name)}"
    return {
        "id": lt,
        "arn": f"arn:aws:ec2:{DEFAULT_REGION}:{ACCOUNT}:launch-template/{lt}",
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _node_group(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    group = str(inputs.get("nodeGroupName") or name)
    return {
        "id": f"{inputs.get('clusterName')}:{group}",
        "arn": f"arn:aws:eks:{DEFAULT_REGION}:{ACCOUNT}:nodegroup/{inputs.get('clusterName')}/{group}/{_hex(group, 8)}",
        "status": "ACTIVE",
    }


def _oidc(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    url = str(inputs.get("url") or "").removeprefix("https://")
    return {
        "id": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}",
        "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}",
        "url": url,
    }


def _eip(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    alloc = f"eipalloc-{_hex(stack + name)}"
    digest = hashlib.sha256(name.encode()).digest()
    return {"id": alloc, "allocationId": alloc, "publicIp": f"198.51.100.{digest[0] % 250 + 1}"}


def _log_group(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    group = str(inputs.get("name") or name)
    return {"id": group, "arn": f"arn:aws:logs:{DEFAULT_REGION}:{ACCOUNT}:log-group:{group}"}


def _rule(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    rule = f"{name}-{_hex(name, 7)}"
    return {"id": rule, "name": rule, "arn": f"arn:aws:events:{DEFAULT_REGION}:{ACCOUNT}:rule/{rule}"}


def _vpn_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vgw = f"vgw-{_hex(stack + name)}"
    return {
        "id": vgw,
        "arn": f"arn:aws:ec2:{_region(inputs)}:{ACCOUNT}:vpn-gateway/{vgw}",
        # CreateVpnGateway's default ASN when none is given.
        "amazonSideAsn": str(inputs.get("amazonSideAsn") or "64512"),
    }


def _customer_gateway(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    cgw = f"cgw-{_hex(stack + name)}"
    return {"id": cgw, "arn": f"arn:aws:ec2:{_region(inputs)}:{ACCOUNT}:customer-gateway/{cgw}"}


def _vpn_connection(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    """Two tunnels, each to its own AWS endpoint, each with a /30 of 169.254.0.0/16 (AWS's end first, the device's
    second), as DescribeVpnConnections reports them; the BGP ASN of each tunnel is the gateway's. A tunnel given
    its inside range keeps it; AWS picks one for the others."""
    vpn = f"vpn-{_hex(stack + name)}"
    digest = hashlib.sha256((stack + name).encode()).digest()
    out: dict[str, Any] = {"id": vpn, "arn": f"arn:aws:ec2:{_region(inputs)}:{ACCOUNT}:vpn-connection/{vpn}"}
    for t in (1, 2):
        # A /30 in 169.254.0.0/16 away from the ranges AWS reserves (169.254.0.0/30 ... 169.254.5.0/30,
        # 169.254.169.252/30): https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html.
        # Each tunnel its own /30 and its own endpoint address.
        given = inputs.get(f"tunnel{t}InsideCidr")
        picked = f"169.254.{10 + digest[0] % 140 + t}.{(digest[t] % 64) * 4}/30"
        inside = ipaddress.IPv4Network(given if isinstance(given, str) else picked)
        out |= {
            f"tunnel{t}Address": f"198.51.100.{digest[3] % 125 + 1 + 125 * (t - 1)}",
            f"tunnel{t}InsideCidr": str(inside),
            f"tunnel{t}VgwInsideAddress": str(inside.network_address + 1),
            f"tunnel{t}CgwInsideAddress": str(inside.network_address + 2),
            f"tunnel{t}BgpAsn": "64512",
            f"tunnel{t}BgpHoldtime": 30,
        }
    return out


RESOURCES = {
    "aws:eks/cluster:Cluster": _eks,
    "aws:iam/role:Role": _principal("role", "AROA"),
    "aws:iam/user:User": _principal("user", "AIDA"),
    "aws:iam/accessKey:AccessKey": _access_key,
    "aws:kms/key:Key": _key,
    "aws:ec2/vpc:Vpc": _prefixed("vpc"),
    "aws:ec2/flowLog:FlowLog": _prefixed("fl"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _prefixed("sg"),
    "aws:ec2/subnet:Subnet": _prefixed("subnet"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed("nat"),
    "aws:ec2/routeTable:RouteTable": _prefixed("rtb"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _prefixed("pcx"),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _prefixed("tgw-attach"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _prefixed("sgr"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:sqs/queue:Queue": _queue,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/eventRule:EventRule": _rule,
    "aws:ec2/vpnGateway:VpnGateway": _vpn_gateway,
    "aws:ec2/customerGateway:CustomerGateway": _customer_gateway,
    "aws:ec2/vpnConnection:VpnConnection": _vpn_connection,
}
