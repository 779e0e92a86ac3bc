"""pulumi-command, pulumi-random, pulumi-proxmoxve and pulumi-vsphere: what an on-prem build computes.

Remote commands answer what the bootstrap scripts print on a node; the kubeconfig
read answers the file k3s writes (a self-signed CA, client certificate auth,
server at 127.0.0.1). Ids follow each provider's own format.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _pem(kind: str, seed: str) -> str:
    """A PEM-shaped block, base64 as kubeconfig embeds it (stable per resource)."""
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----", ""])
    return base64.b64encode(pem.encode()).decode()


def k3s_kubeconfig(seed: str) -> str:
    """/etc/rancher/k3s/k3s.yaml as k3s writes it on the first server."""
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {_pem('CERTIFICATE', seed + '/ca')}\n"
        "    server: https://127.0.0.1:6443\n"
        "  name: default\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: default\n"
        "    user: default\n"
        "  name: default\n"
        "current-context: default\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: default\n"
        "  user:\n"
        f"    client-certificate-data: {_pem('CERTIFICATE', seed + '/client')}\n"
        f"    client-key-data: {_pem('EC PRIVATE KEY', seed + '/key')}\n"
    )


def _remote_command(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    if name.endswith("-kubeconfig"):
        stdout = k3s_kubeconfig(f"{stack}/{name}")
    else:
        role = "server" if "-server-" in name else "agent"
        stdout = f"k3s none -> {_version(inputs)} ({role}) installed\n"
    return {"id": f"{name}{_digest(stack, name)[:8]}", "stdout": stdout, "stderr": ""}


def _version(inputs: dict[str, Any]) -> str:
    match = re.search(r"INSTALL_K3S_VERSION=(v1\.\d+\.\d+\+k3s\d+)", str(inputs.get("create") or ""))
    return match.group(1) if match else "v1.35.0+k3s1"


def _random_password(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    raw = hashlib.sha512(f"{stack}/{name}".encode()).digest()
    length = int(inputs.get("length") or 16)
    result = "".join(alphabet[raw[i % len(raw)] % len(alphabet)] for i in range(length))
    bcrypt = "$2a$10$" + base64.b64encode(raw).decode()[:53].replace("+", ".")
    return {"id": "none", "result": result, "bcryptHash": bcrypt}


def _proxmox_vm(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    vm_id = 200 + int(_digest(stack, name)[:4], 16) % 700
    config = ((inputs.get("initialization") or {}).get("ipConfigs") or [{}])[0]
    address = str(((config.get("ipv4") or {}).get("address")) or "").split("/")[0]
    mac = "BC:24:11:" + ":".join(_digest(stack, name, "mac")[i : i + 2].upper() for i in (0, 2, 4))
    return {
        "id": str(vm_id),
        "vmId": vm_id,
        "ipv4Addresses": [["127.0.0.1"], [address]],
        "macAddresses": [mac],
        "networkInterfaceNames": ["lo", "eth0"],
    }


def _vsphere_vm(name: str, inputs: dict[str, Any], stack: str) -> dict[str, Any]:
    customize = (inputs.get("clone") or {}).get("customize") or {}
    address = ((customize.get("networkInterfaces") or [{}])[0]).get("ipv4Address", "")
    return {
        "id": str(uuid.UUID(_digest(stack, name)[:32])),
        "moid": f"vm-{1000 + int(_digest(stack, name)[:4], 16) % 9000}",
        "defaultIpAddress": address,
        "guestIpAddresses": [address],
        "uuid": str(uuid.UUID(_digest(stack, name)[:32])),
    }


RESOURCES = {
    "command:remote:Command": _remote_command,
    "random:index/randomPassword:RandomPassword": _random_password,
    "proxmoxve:index/vmLegacy:VmLegacy": _proxmox_vm,
    "vsphere:index/virtualMachine:VirtualMachine": _vsphere_vm,
}

INVOKES = {
    "vsphere:index/getDatacenter:getDatacenter": lambda args: {"id": "datacenter-3", "name": args.get("name")},
    "vsphere:index/getDatastore:getDatastore": lambda args: {
        "id": "datastore-1011",
        "name": args.get("name"),
        "datacenterId": args.get("datacenterId"),
        "stats": {},
    },
    "vsphere:index/getComputeCluster:getComputeCluster": lambda args: {
        "id": "domain-c8",
        "name": args.get("name"),
        "datacenterId": args.get("datacenterId"),
        "resourcePoolId": "resgroup-9",
    },
    "vsphere:index/getNetwork:getNetwork": lambda args: {
        "id": "dvportgroup-1024",
        "name": args.get("name"),
        "datacenterId": args.get("datacenterId"),
        "type": "DistributedVirtualPortgroup",
    },
    "vsphere:index/getVirtualMachine:getVirtualMachine": lambda args: {
        "id": "4216a1f2-6c3e-7e1b-3d2a-9f0c1b2a3d4e",
        "name": args.get("name"),
        "datacenterId": args.get("datacenterId"),
        "guestId": "ubuntu64Guest",
        "scsiType": "pvscsi",
        "firmware": "efi",
        "networkInterfaceTypes": ["vmxnet3"],
        "disks": [
            {"size": 40, "eagerlyScrub": False, "thinProvisioned": True, "label": "Hard disk 1", "unitNumber": 0}
        ],
        "guestIpAddresses": [],
        "numCpus": 2,
        "memory": 4096,
    },
}
