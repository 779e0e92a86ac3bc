"""The real syntax of every free-form string a stack can hold, each next to the source of its rule.

A value that passes the spec but that a cloud API or the API server refuses fails
only at `pulumi up`, half-way through a deployment. Each `Syntax` here encodes
the rule the receiving API applies, and carries the one phrase the spec prints
after `allowed:` when a value breaks it. Patterns are ASCII and matched whole
(`re.fullmatch` with `re.ASCII`): `$` would match before a final newline, and
`\\d` or `\\w` would take any Unicode digit or letter.

`looks_like_credential` recognises keys and tokens by their content, so that no
error message echoes one and no plain field carries one, whatever key it was
put under.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Syntax:
    """A rule on a string: `kind` names it in pydantic errors, `allowed` is what the one-line error prints."""

    kind: str
    allowed: str
    test: Callable[[str], bool]

    def ok(self, value: str) -> bool:
        return self.test(value)

    def __call__(self, value: str) -> str:
        """Pydantic `AfterValidator` form."""
        if not self.test(value):
            raise PydanticCustomError(self.kind, self.allowed)
        return value


def _regex(pattern: str, max_length: int | None = None, *, ignore_case: bool = False) -> Callable[[str], bool]:
    compiled = re.compile(pattern, re.ASCII | (re.IGNORECASE if ignore_case else 0))

    def test(value: str) -> bool:
        return (max_length is None or len(value) <= max_length) and compiled.fullmatch(value) is not None

    return test


def _printable(max_length: int, min_length: int = 1) -> Callable[[str], bool]:
    """One line of printable text, no surrounding blanks: what a name shown in a console may be."""

    def test(value: str) -> bool:
        return min_length <= len(value) <= max_length and value.isprintable() and value == value.strip()

    return test


# ----------------------------------------------------------------- Kubernetes
# k8s.io/apimachinery/pkg/util/validation/validation.go and pkg/api/validate/content/kube.go
# (Kubernetes v1.35): IsDNS1123Label, IsDNS1123Subdomain, IsLabelKey (qualified name), IsLabelValue.

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"


def _dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and re.fullmatch(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*", value, re.ASCII) is not None


def _qualified_name(value: str) -> bool:
    prefix, slash, name = value.rpartition("/")
    if slash and not (prefix and "/" not in prefix and _dns1123_subdomain(prefix)):
        return False
    return len(name) <= 63 and re.fullmatch(_LABEL_NAME, name, re.ASCII) is not None


DNS_LABEL = Syntax(
    "dns_label",
    "a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
    _regex(_DNS1123_LABEL, 63),
)
DNS_SUBDOMAIN = Syntax(
    "dns_subdomain",
    "a DNS subdomain: at most 253 characters, dot-separated lowercase labels of letters, digits and '-'",
    _dns1123_subdomain,
)
LABEL_KEY = Syntax(
    "label_key",
    "a Kubernetes label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, "
    "'-', '_' or '.', starting and ending with a letter or digit",
    _qualified_name,
)
LABEL_VALUE = Syntax(
    "label_value",
    "a Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit",
    _regex(f"({_LABEL_NAME})?", 63),
)
# Taints: pkg/apis/core/validation/validation.go validateNodeTaints: the key is a label key, the value a label value.
TAINT_KEY = Syntax("taint_key", LABEL_KEY.allowed.replace("label key", "taint key"), _qualified_name)
TAINT_VALUE = Syntax("taint_value", LABEL_VALUE.allowed.replace("label value", "taint value"), LABEL_VALUE.test)


def _node_label_key(value: str) -> bool:
    # A kubelet refuses --node-labels in the kubernetes.io and k8s.io namespaces except under
    # kubelet.kubernetes.io and node.kubernetes.io (cmd/kubelet/app/options/options.go, and
    # staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go IsKubeletLabel, Kubernetes v1.35);
    # every target hands pool labels to the kubelet.
    if not _qualified_name(value):
        return False
    prefix = value.rpartition("/")[0]
    reserved = any(prefix == d or prefix.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))
    allowed = any(prefix == d or prefix.endswith("." + d) for d in ("kubelet.kubernetes.io", "node.kubernetes.io"))
    return not reserved or allowed


NODE_LABEL_KEY = Syntax(
    "node_label_key",
    LABEL_KEY.allowed + ", outside the kubernetes.io and k8s.io namespaces the kubelet refuses "
    "(node.kubernetes.io/ and kubelet.kubernetes.io/ are allowed)",
    _node_label_key,
)

# ------------------------------------------------------------------ HTTP and DNS


def _host_name(value: str) -> bool:
    # The HTTPRoute `hostnames` pattern (Gateway API v1.5.1 standard CRDs, as bundled in
    # gateway-crds-helm v1.8.2), without the wildcard: each name gets an HTTP-01 certificate, and
    # ACME cannot validate a wildcard over HTTP-01 (https://letsencrypt.org/docs/challenge-types/).
    # A public name: at least two labels and an alphabetic top-level label.
    labels = value.split(".")
    return (
        len(value) <= 253
        and len(labels) >= 2
        and all(len(label) <= 63 and re.fullmatch(_DNS1123_LABEL, label, re.ASCII) for label in labels)
        and re.fullmatch(r"[a-z]{2,63}", labels[-1], re.ASCII) is not None
    )


HOST_NAME = Syntax(
    "host_name",
    "a public DNS name such as api.example.com (lowercase labels of letters, digits and '-', "
    "at most 253 characters, no wildcard)",
    _host_name,
)

_HTTP_PATH = r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+"


def _route_path(value: str) -> bool:
    # HTTPRoute rules[].matches[].path.value for type PathPrefix: the CEL rules and the character
    # pattern of the Gateway API v1.5.1 standard CRD (gateway-crds-helm v1.8.2), and its maxLength 1024.
    return (
        len(value) <= 1024
        and value.startswith("/")
        and re.fullmatch(_HTTP_PATH, value, re.ASCII) is not None
        and not any(bad in value for bad in ("//", "/./", "/../", "%2f", "%2F", "#"))
        and not value.endswith(("/..", "/."))
    )


ROUTE_PATH = Syntax(
    "route_path",
    "an absolute HTTP path such as /api: RFC 3986 path characters or %XX escapes, at most 1024, "
    "with no '//', '/./', '/../', '%2f' or '#', not ending in '/.' or '/..'",
    _route_path,
)
# The kubelet's httpGet probe requests this path and query (RFC 3986 sections 3.3 and 3.4).
PROBE_PATH = Syntax(
    "probe_path",
    "an absolute HTTP path such as /healthz, optionally with ?query: RFC 3986 characters or %XX escapes, at most 1024",
    _regex(rf"/(?:{_HTTP_PATH})?(\?(?:[-A-Za-z0-9/._~!$&'()*+,;=:@?]|%[0-9A-Fa-f]{{2}})*)?", 1024),
)


def _host(value: str) -> bool:
    """A DNS name (any case, one label allowed) or an IP address: what an HTTPS client connects to."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    return (
        len(value) <= 253
        and re.fullmatch(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*", value.lower(), re.ASCII) is not None
    )


def _https_url(value: str) -> bool:
    if not value.isprintable() or " " in value:
        return False
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:
        return False
    host = url.hostname or ""
    return (
        url.scheme == "https"
        and bool(host)
        and "@" not in url.netloc  # credentials belong in the provider's environment, never in a URL
        and not url.query
        and not url.fragment
        and (port is None or 0 < port < 65536)
        and _host(host)
        and re.fullmatch(rf"(?:{_HTTP_PATH})?", url.path, re.ASCII) is not None
    )


HTTPS_URL = Syntax(
    "https_url",
    "an https:// URL of a host name or IP address, an optional port and path, "
    "with no user or password in it, no query and no fragment",
    _https_url,
)
HOST = Syntax("host", "a host name or an IP address such as vcenter.dc1.example.com", _host)


def names_registry(image: str) -> bool:
    """Whether an image reference starts with its registry (a host with a dot, a port or a capital, or
    `localhost`), as container runtimes tell a registry from a Docker Hub path (distribution/reference,
    `splitDockerDomain`)."""
    first, slash, _ = image.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost" or first != first.lower())


def with_registry(image: str) -> str:
    """The reference a runtime pulls for an image named without its registry: Docker Hub's, `library/` for one
    name (distribution/reference, `splitDockerDomain`)."""
    if names_registry(image):
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


# Domains Let's Encrypt refuses in an account's contact, "frequently used when copy-pasting example configurations"
# (letsencrypt/boulder policy/pa.go, `forbiddenMailDomains`, after RFC 2606 section 3); boulder also wants the domain
# under a public suffix, which the top-level names RFC 2606 section 2 and RFC 6762 (`local`) set aside are not.
EXAMPLE_MAIL_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
PRIVATE_TOP_LEVEL = frozenset({"test", "example", "invalid", "localhost", "local"})


def _email(value: str) -> bool:
    # RFC 5321 section 4.5.3.1: at most 254 characters, a 64-character local part; the ACME server
    # (RFC 8555 section 7.3) refuses a contact whose domain is not a public DNS name.
    local, at, domain = value.rpartition("@")
    domain = domain.lower()
    return (
        bool(at)
        and len(value) <= 254
        and 0 < len(local) <= 64
        and re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", local, re.ASCII)
        is not None
        and _host_name(domain)
        and domain not in EXAMPLE_MAIL_DOMAINS
        and domain.rsplit(".", 1)[-1] not in PRIVATE_TOP_LEVEL
    )


EMAIL = Syntax(
    "email",
    "an e-mail address at a public domain of yours (Let's Encrypt refuses example.com, example.net, example.org "
    "and private top-level names)",
    _email,
)

# ----------------------------------------------------------------- machine-local names

# A kubeconfig context is a name in a YAML file (k8s.io/client-go/tools/clientcmd/api types.go: any
# string); one printable line keeps kubeconfig text pasted into the wrong key out.
KUBE_CONTEXT = Syntax("kube_context", "the name of a kubeconfig context: one line of printable text", _printable(253))
# PATH_MAX is 4096 on Linux (include/uapi/linux/limits.h).
FILE_PATH = Syntax("file_path", "a file path: one line of printable text, at most 4096 characters", _printable(4096))

# PVE::JSONSchema (pve-common): pve-node, pve-storage-id; pve-bridge-id (pve-network).
PVE_NODE = Syntax(
    "pve_node",
    "a Proxmox VE node name: letters, digits and '-', starting and ending with a letter or digit",
    _regex(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", 63),
)
PVE_STORAGE = Syntax(
    "pve_storage",
    "a Proxmox VE storage ID such as local-lvm: a letter, then letters, digits, '-', '_' or '.', "
    "ending with a letter or digit",
    _regex(r"[a-z][a-z0-9_.-]*[a-z0-9]", ignore_case=True),
)
# A bridge is a Linux interface: IFNAMSIZ is 16 bytes with the terminating NUL (include/uapi/linux/if.h).
PVE_BRIDGE = Syntax(
    "pve_bridge",
    "a Linux bridge name such as vmbr0: at most 15 letters, digits, '-', '_' or '.'",
    _regex(r"[-_.A-Za-z0-9]+", 15),
)
# vSphere inventory names are up to 80 characters; a path of them (folder/template) is longer
# (https://techdocs.broadcom.com/ vSphere "Naming requirements"); one printable line either way.
VSPHERE_NAME = Syntax(
    "vsphere_name", "a vSphere inventory name or path: one line of printable text, at most 255", _printable(255)
)

# -------------------------------------------------------------------------- AWS

# https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html (us-east-1,
# us-gov-west-1, cn-north-1, ap-southeast-7, ...).
AWS_REGION = Syntax(
    "aws_region", "an AWS region code such as eu-west-1", _regex(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
)
# Availability Zones are the region plus a letter; Local Zones add a location (us-west-2-lax-1a)
# (https://docs.aws.amazon.com/local-zones/latest/ug/available-local-zones.html).
AWS_ZONE = Syntax(
    "aws_zone",
    "an AWS availability zone such as eu-west-1a",
    _regex(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}(-[a-z]{3}-[0-9][a-z]?)?[a-z]"),
)
# https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html: family, generation,
# attributes, optional "-flex", a dot, the size (m6i.large, m7i-flex.xlarge, u-6tb1.metal).
AWS_INSTANCE_TYPE = Syntax(
    "aws_instance_type", "an EC2 instance type such as m6i.large", _regex(r"[a-z][a-z0-9-]*\.[a-z0-9]+", 32)
)
# An EKS access entry names one IAM principal; a wildcard is refused by CreateAccessEntry
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html), and IAM role
# names are at most 64 of [A-Za-z0-9+=,.@_-] (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
AWS_ROLE_ARN = Syntax(
    "aws_role_arn",
    "the ARN of one IAM role, e.g. arn:aws:iam::123456789012:role/platform-admins (no wildcards)",
    _regex(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}", 2048),
)
# EKS secrets encryption takes a KMS key ARN or alias ARN
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_Provider.html); key ids are UUIDs, or
# mrk- plus 32 hex digits for multi-Region keys (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html).
AWS_KMS_KEY_ARN = Syntax(
    "aws_kms_key_arn",
    "the ARN of a KMS key or alias, e.g. arn:aws:kms:eu-west-1:123456789012:key/<key id>",
    _regex(
        r"arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}:[0-9]{12}:"
        r"(key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
        r"|alias/[A-Za-z0-9/_-]{1,250})"
    ),
)

# -------------------------------------------------------------------------- GCP

# https://cloud.google.com/compute/docs/regions-zones (europe-west1, northamerica-northeast2).
GCP_REGION = Syntax("gcp_region", "a GCP region such as europe-west1", _regex(r"[a-z]+-[a-z]+[0-9]{1,2}"))
GCP_ZONE = Syntax("gcp_zone", "a GCP zone such as europe-west1-b", _regex(r"[a-z]+-[a-z]+[0-9]{1,2}-[a-z]"))
# https://cloud.google.com/compute/docs/machine-resource (e2-standard-2, n2-custom-4-16384).
GCP_MACHINE_TYPE = Syntax(
    "gcp_machine_type", "a GCE machine type such as n2-standard-4", _regex(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", 64)
)

# ------------------------------------------------------------------------ Azure

# Location names as `az account list-locations` gives them (westeurope, eastus2).
AZURE_LOCATION = Syntax("azure_location", "an Azure location such as westeurope", _regex(r"[a-z][a-z0-9]+", 40))
# AKS node pool availabilityZones (https://learn.microsoft.com/azure/aks/availability-zones).
AZURE_ZONE = Syntax("azure_zone", "an Azure availability zone: 1, 2 or 3", _regex(r"[123]"))
# https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions (Standard_D4s_v5,
# Standard_E64-16ds_v5, Standard_NC24ads_A100_v4).
AZURE_VM_SIZE = Syntax(
    "azure_vm_size", "an Azure VM size such as Standard_D4s_v5", _regex(r"(Standard|Basic)_[A-Za-z0-9_-]+", 64)
)
# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
# (Microsoft.Resources/resourcegroups): 1-90 of letters, digits, '_', '(', ')', '-', '.', not ending with '.'.
AZURE_RESOURCE_GROUP = Syntax(
    "azure_resource_group",
    "an Azure resource group name: at most 90 letters, digits, '_', '(', ')', '-' or '.', not ending with '.'",
    lambda v: 0 < len(v) <= 90 and re.fullmatch(r"[-\w.()]+", v) is not None and not v.endswith("."),
)

# ----------------------------------------------------------------- DigitalOcean

# https://docs.digitalocean.com/platform/regional-availability/ (nyc3, fra1, sgp1).
DO_REGION = Syntax("do_region", "a DigitalOcean region slug such as fra1", _regex(r"[a-z]{3}[0-9]"))
# Droplet size slugs (s-4vcpu-8gb, c2-2vcpu-4gb, so1_5-2vcpu-16gb, gpu-h100x1-80gb).
DO_SIZE = Syntax("do_size", "a Droplet size slug such as s-4vcpu-8gb", _regex(r"[a-z0-9][a-z0-9_]*(-[a-z0-9_.]+)+", 64))

# ---------------------------------------------------------------------- Oracle

# Region identifiers: https://docs.oracle.com/en-us/iaas/Content/General/Concepts/regions.htm
# (eu-frankfurt-1, us-ashburn-1, ap-chuncheon-1).
OCI_REGION = Syntax(
    "oci_region", "an OCI region identifier such as eu-frankfurt-1", _regex(r"[a-z]{2}(-[a-z]+)+-[0-9]")
)
# Shape names: https://docs.oracle.com/en-us/iaas/Content/Compute/References/computeshapes.htm
# (VM.Standard.E5.Flex, VM.Standard.A1.Flex, BM.Standard.E5.192).
OCI_SHAPE = Syntax(
    "oci_shape", "an OCI compute shape such as VM.Standard.E5.Flex", _regex(r"(VM|BM)(\.[A-Za-z0-9]+)+", 64)
)
# Availability domain names as the Identity API lists them: a tenancy-specific prefix, then the
# region and AD number (Uocm:EU-FRANKFURT-1-AD-1).
OCI_AD = Syntax(
    "oci_availability_domain",
    "an OCI availability domain such as Uocm:EU-FRANKFURT-1-AD-1",
    _regex(r"[A-Za-z0-9]{4}:[A-Z]{2}(-[A-Z]+)+-[0-9]-AD-[1-3]"),
)


def ocid(*kinds: str) -> Syntax:
    """An Oracle Cloud ID of one of `kinds`: ocid1.<type>.<realm>.[region][.future use].<unique id>
    (https://docs.oracle.com/en-us/iaas/Content/General/Concepts/identifiers.htm); a Vault key's
    "future use" part names its vault."""
    types = "|".join(re.escape(k) for k in kinds)
    return Syntax(
        f"oci_{kinds[0]}_ocid",
        f"an OCID of a {' or '.join(kinds)} (ocid1.{kinds[0]}.oc1..<unique id>)",
        _regex(rf"ocid1\.({types})\.oc[0-9]+\.[a-z0-9-]*(\.[a-z0-9]+)?\.[a-z0-9]{{20,}}", 255),
    )


OCI_COMPARTMENT = ocid("compartment", "tenancy")
OCI_VCN = ocid("vcn")
OCI_SUBNET = ocid("subnet")
OCI_KEY = ocid("key")
OCI_DRG = ocid("drg")

# ------------------------------------------------------------------------- tags

# What every cloud takes as a tag: AWS allows letters, digits, spaces and _.:/=+-@ with keys up to
# 128 and values up to 256 characters (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html);
# Azure refuses <>%&\?/ in names (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources);
# GCP labels and DigitalOcean tags are derived from these by the targets.
TAG_KEY = Syntax("tag_key", "a tag key: at most 63 letters, digits or _.:/=+@-", _regex(r"[A-Za-z0-9_.:/=+@-]+", 63))
TAG_VALUE = Syntax(
    "tag_value",
    "a tag value: at most 63 letters, digits, spaces or _.:/=+@-",
    _regex(r"([A-Za-z0-9_.:/=+@-]([A-Za-z0-9 _.:/=+@-]*[A-Za-z0-9_.:/=+@-])?)?", 63),
)
# The aws: prefix is reserved for AWS's own tags (same page as above).
AWS_TAG_KEY = Syntax(
    "aws_tag_key",
    TAG_KEY.allowed + ", not starting with aws: (reserved by AWS)",
    lambda v: TAG_KEY.ok(v) and not v.lower().startswith("aws:"),
)
AZURE_TAG_KEY = Syntax(
    "azure_tag_key",
    "a tag key: at most 63 letters, digits or _.:=+@- (Azure refuses '/' in tag names)",
    lambda v: TAG_KEY.ok(v) and "/" not in v,
)

# ------------------------------------------------------------------ the spec's own

# An accepted risk's reason is printed with every plan: one line a reviewer can read.
REASON = Syntax("reason", "a reason of 10 to 200 printable characters on one line", _printable(200, 10))
# The owner id external-dns writes into its TXT registry records (a label-like word).
TXT_OWNER_ID = Syntax(
    "txt_owner_id", "at most 63 letters, digits, '-', '_' or '.'", _regex(r"[A-Za-z0-9][-A-Za-z0-9_.]*", 63)
)

# ------------------------------------------------------------ pydantic field types

DnsLabel = Annotated[str, AfterValidator(DNS_LABEL)]
DnsSubdomain = Annotated[str, AfterValidator(DNS_SUBDOMAIN)]
NodeLabelKey = Annotated[str, AfterValidator(NODE_LABEL_KEY)]
LabelValue = Annotated[str, AfterValidator(LABEL_VALUE)]
TaintKey = Annotated[str, AfterValidator(TAINT_KEY)]
TaintValue = Annotated[str, AfterValidator(TAINT_VALUE)]
HostName = Annotated[str, AfterValidator(HOST_NAME)]
RoutePath = Annotated[str, AfterValidator(ROUTE_PATH)]
ProbePath = Annotated[str, AfterValidator(PROBE_PATH)]
HttpsUrl = Annotated[str, AfterValidator(HTTPS_URL)]
Host = Annotated[str, AfterValidator(HOST)]
Email = Annotated[str, AfterValidator(EMAIL)]
KubeContext = Annotated[str, AfterValidator(KUBE_CONTEXT)]
FilePath = Annotated[str, AfterValidator(FILE_PATH)]
PveNode = Annotated[str, AfterValidator(PVE_NODE)]
PveStorage = Annotated[str, AfterValidator(PVE_STORAGE)]
PveBridge = Annotated[str, AfterValidator(PVE_BRIDGE)]
VsphereName = Annotated[str, AfterValidator(VSPHERE_NAME)]
AwsRegion = Annotated[str, AfterValidator(AWS_REGION)]
AwsRoleArn = Annotated[str, AfterValidator(AWS_ROLE_ARN)]
AwsKmsKeyArn = Annotated[str, AfterValidator(AWS_KMS_KEY_ARN)]
GcpRegion = Annotated[str, AfterValidator(GCP_REGION)]
AzureLocation = Annotated[str, AfterValidator(AZURE_LOCATION)]
AzureResourceGroup = Annotated[str, AfterValidator(AZURE_RESOURCE_GROUP)]
DoRegion = Annotated[str, AfterValidator(DO_REGION)]
OciRegion = Annotated[str, AfterValidator(OCI_REGION)]
OciCompartmentId = Annotated[str, AfterValidator(OCI_COMPARTMENT)]
OciVcnId = Annotated[str, AfterValidator(OCI_VCN)]
OciSubnetId = Annotated[str, AfterValidator(OCI_SUBNET)]
OciKeyId = Annotated[str, AfterValidator(OCI_KEY)]
OciDrgId = Annotated[str, AfterValidator(OCI_DRG)]
TagKey = Annotated[str, AfterValidator(TAG_KEY)]
TagValue = Annotated[str, AfterValidator(TAG_VALUE)]
Reason = Annotated[str, AfterValidator(REASON)]
TxtOwnerId = Annotated[str, AfterValidator(TXT_OWNER_ID)]

# ------------------------------------------------------------------- credentials

# Formats that are a credential whatever key holds them, from the issuers' documentation:
# PEM (RFC 7468) and OpenSSH private keys, AWS access key ids (AKIA/ASIA, IAM user guide "Unique
# identifiers"), GitHub and GitLab tokens, Slack tokens, Google API keys, DigitalOcean tokens
# (dop_v1_), Stripe keys, JSON Web Tokens (RFC 7519), service-account key JSON, kubeconfig
# credentials, Azure storage connection strings, Proxmox API tokens, Pulumi ciphertext.
#
# Every repetition is bounded: the patterns are searched through whole values, and an unbounded run
# before a required literal would make a long value cost quadratic time.
_CREDENTIALS = re.compile(
    "|".join(
        [
            r"-----BEGIN [A-Z0-9 ]{0,64}-----",
            r"b3BlbnNzaC1rZXktdjE",  # base64 of "openssh-key-v1", the start of every OpenSSH private key
            r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
            r"\bgh[pousr]_[A-Za-z0-9]{30}",
            r"\bgithub_pat_[A-Za-z0-9_]{20}",
            r"\bglpat-[A-Za-z0-9_-]{20}",
            r"\bxox[abposr]-[A-Za-z0-9-]{10}",
            r"\bAIza[0-9A-Za-z_-]{35}",
            r"\bdo[por]_v1_[a-f0-9]{64}",
            r"\b[rs]k_(live|test)_[A-Za-z0-9]{16}",
            r"\beyJ[A-Za-z0-9_-]{8,512}\.eyJ[A-Za-z0-9_-]{8}",
            r"\"private_key\"\s{0,8}:",
            r"\b(client-key-data|client-certificate-data|token|password|id-token|refresh-token)\s{0,8}:\s{0,8}\S",
            r"\b(AccountKey|SharedAccessSignature|SharedAccessKey)=",
            r"PVEAPIToken=|\b[^\s@!]{1,64}@[^\s@!]{1,64}![^\s=]{1,64}=[0-9a-f]{8}-[0-9a-f]{4}-",
            r"\bv1:[A-Za-z0-9+/]{8,64}={0,2}:[A-Za-z0-9+/]{16}",
            r"\b[a-z][a-z0-9+.-]{0,31}://[^\s/:@]{1,256}:[^\s/@]{1,256}@",  # a URL with a password in it
        ]
    ),
    re.ASCII,
)


def looks_like_credential(text: str) -> bool:
    """Whether `text` holds a key or token in a format its issuer documents; such text is never a plain value."""
    return _CREDENTIALS.search(text) is not None


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def may_be_secret(text: str) -> bool:
    """A credential by format, or a long random-looking word of mixed case and digits (a password, a token's body).

    Wider than `looks_like_credential` and meant only for what an error message
    may echo: hiding a harmless value there costs a little context, echoing a
    key costs the key.
    """
    if looks_like_credential(text):
        return True
    return any(
        len(word) >= 20 and all(re.search(c, word) for c in ("[a-z]", "[A-Z]", "[0-9]")) and _entropy(word) >= 3.5
        for word in re.split(r"[\s\"',;=]+", text)
    )
