"""What Proxmox VE and vSphere would refuse in a plan: argument combinations of the VMs the program clones.

Sources are the provider SDKs' own argument documentation (pulumi-proxmoxve
`VmLegacy*Args`, pulumi-vsphere `VirtualMachine*Args`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from preflight.engine import Plan, Registration
from preflight.rejects import Rejection
from preflight.rejects.rules import Table, known, reject, run, view

PROXMOX_DISK = re.compile(r"^(scsi|sata|virtio)\d+$")


def proxmox_vm(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    clone = inputs.get("clone")
    if isinstance(clone, dict) and clone.get("vmId") is None:
        yield reject(r, "clone.vmId", "a clone names its source VM", "pulumi-proxmoxve VmLegacyCloneArgs.vm_id")
    for i, disk in enumerate(inputs.get("disks") or []):
        interface = disk.get("interface")
        if known(interface) and interface is not None and not PROXMOX_DISK.match(str(interface)):
            yield reject(
                r,
                f"disks[{i}].interface",
                f"{interface!r}; scsi, sata or virtio with the disk index (scsi0)",
                "pulumi-proxmoxve VmLegacyDiskArgs.interface",
            )
    for i, config in enumerate((inputs.get("initialization") or {}).get("ipConfigs") or []):
        ipv4 = config.get("ipv4") or {}
        address, gateway = ipv4.get("address"), ipv4.get("gateway")
        source = "pulumi-proxmoxve VmLegacyInitializationIpConfigIpv4Args"
        field = f"initialization.ipConfigs[{i}].ipv4"
        if not known(address) or address is None:
            continue
        if address == "dhcp":
            if gateway:
                yield reject(r, f"{field}.gateway", "must be omitted when the address is dhcp", source)
            continue
        try:
            iface = ipaddress.ip_interface(str(address))
        except ValueError:
            yield reject(r, f"{field}.address", f"{address!r}; an address in CIDR notation or dhcp", source)
            continue
        if "/" not in str(address):
            yield reject(r, f"{field}.address", f"{address!r} has no prefix length (CIDR notation)", source)
        elif known(gateway) and gateway and not _within(str(gateway), iface.network):
            yield reject(r, f"{field}.gateway", f"{gateway} is not an address of {iface.network}", source)


def _within(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


def vsphere_vm(r: Registration, plan: Plan) -> Iterator[Rejection]:
    inputs = view(r)
    if not inputs.get("datastoreId") and not inputs.get("datastoreClusterId"):
        yield reject(
            r,
            "datastoreId",
            "a VM needs datastoreId or datastoreClusterId",
            "pulumi-vsphere VirtualMachineArgs.datastore_id / datastore_cluster_id",
        )
    clone = inputs.get("clone")
    if not isinstance(clone, dict):
        return
    if not clone.get("templateUuid"):
        yield reject(r, "clone.templateUuid", "a clone names its template", "pulumi-vsphere VirtualMachineCloneArgs")
    customize = clone.get("customize") or {}
    gateway = customize.get("ipv4Gateway")
    if not known(customize) or not gateway:
        return
    networks = []
    try:
        for n in customize.get("networkInterfaces") or []:
            if n.get("ipv4Address"):
                # Numbers cross the engine as floats: a netmask of 24 arrives as 24.0.
                networks.append(ipaddress.ip_interface(f"{n['ipv4Address']}/{int(n.get('ipv4Netmask', 32))}").network)
        address = ipaddress.ip_address(str(gateway))
    except ValueError as exc:
        yield reject(r, "clone.customize", str(exc), "pulumi-vsphere VirtualMachineCloneCustomizeArgs")
        return
    if not any(address in net for net in networks):
        yield reject(
            r,
            "clone.customize.ipv4Gateway",
            f"{gateway} is local to no static address of the customized interfaces ({[str(n) for n in networks]})",
            "pulumi-vsphere VirtualMachineCloneCustomizeArgs.ipv4_gateway",
        )


RULES: Table = {
    "proxmoxve:index/vmLegacy:VmLegacy": (proxmox_vm,),
    "vsphere:index/virtualMachine:VirtualMachine": (vsphere_vm,),
}


def check(plan: Plan) -> Iterator[Rejection]:
    return run(plan, RULES)
