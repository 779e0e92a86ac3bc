"""Where the nodes come from: hosts you already run, or VMs cloned on Proxmox VE or vSphere.

Each source yields the same `Machine` list (servers first, then agents pool by
pool), so bootstrapping never branches on the source. The Proxmox and vSphere
SDKs are imported only when a stack uses them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from components.spec import InventoryMachines, NodePool, OnpremSpec, ProxmoxMachines, VsphereMachines
from components.targets.onprem.k3s import Role

CLONE_RETRIES = 3
"""Attempts of each Proxmox clone: the cluster's VMs clone one template side by side."""

ChildOpts = Callable[..., pulumi.ResourceOptions]


@dataclass(frozen=True)
class Machine:
    name: str
    role: Role
    address: str
    vm: pulumi.Resource | None = None
    """The VM behind the node; its replacement re-runs the bootstrap.

    Every VM is state, agents included: `local-path` volumes live on their disks.
    """
    disk_gb: int = 50


def layout(spec: OnpremSpec) -> list[tuple[str, Role, int]]:
    """Names and roles of the machines a VM source creates, in address order."""
    out: list[tuple[str, Role, int]] = [
        (f"{spec.name}-server-{i}", Role("server", first=i == 0), 50) for i in range(spec.servers)
    ]
    for pool in spec.node_pools:
        out.extend(
            (f"{spec.name}-{pool.name}-{i}", Role("agent", pool=pool), pool.disk_size_gb)
            for i in range(spec.agent_counts.get(pool.name, 0))
        )
    return out


def inventory(spec: OnpremSpec, machines: InventoryMachines) -> list[Machine]:
    pools: dict[str, NodePool] = {p.name: p for p in spec.node_pools}
    out = [Machine(h.name, Role("server", first=i == 0), h.address) for i, h in enumerate(machines.servers)]
    out.extend(Machine(h.name, Role("agent", pool=pools.get(h.pool or "")), h.address) for h in machines.agents)
    return out


def proxmox(spec: OnpremSpec, machines: ProxmoxMachines, child_opts: ChildOpts, tags: list[str]) -> list[Machine]:
    import pulumi_proxmoxve as proxmoxve

    # Credentials come from PROXMOX_VE_API_TOKEN in the environment, never from the stack file.
    provider = proxmoxve.Provider(f"{spec.name}-proxmox", endpoint=machines.endpoint, opts=child_opts())
    out: list[Machine] = []
    for (name, role, disk_gb), address in zip(layout(spec), machines.addresses, strict=False):
        vm = proxmoxve.VmLegacy(
            name,
            node_name=machines.node,
            name=name,
            description=f"k3s {role.kind} of {spec.name}, managed by Pulumi",
            tags=tags,
            # Every VM clones the one template at once, and Proxmox may time out on the storage's lock ("Sometimes
            # Proxmox errors with timeout when creating multiple clones at once", pulumi_proxmoxve
            # VmLegacyCloneArgs `retries`; the provider tries once by default).
            clone=proxmoxve.VmLegacyCloneArgs(
                vm_id=machines.template_vm_id, full=True, datastore_id=machines.datastore, retries=CLONE_RETRIES
            ),
            cpu=proxmoxve.VmLegacyCpuArgs(cores=machines.cores, type="host"),
            memory=proxmoxve.VmLegacyMemoryArgs(dedicated=machines.memory_mb),
            # The provider waits for the template's qemu-guest-agent on create and update (docs/targets/onprem.md);
            # a template without it fails after this timeout instead of the default 15m.
            # Source: pulumi_proxmoxve VmLegacyAgentArgs (`timeout`, "defaults to 15m").
            agent=proxmoxve.VmLegacyAgentArgs(enabled=True, timeout="5m"),
            disks=[proxmoxve.VmLegacyDiskArgs(interface="scsi0", datastore_id=machines.datastore, size=disk_gb)],
            network_devices=[proxmoxve.VmLegacyNetworkDeviceArgs(bridge=machines.bridge, model="virtio")],
            initialization=proxmoxve.VmLegacyInitializationArgs(
                datastore_id=machines.datastore,
                user_account=proxmoxve.VmLegacyInitializationUserAccountArgs(
                    username=spec.ssh.user, keys=[spec.ssh.public_key]
                )
                if spec.ssh.public_key
                else None,
                ip_configs=[
                    proxmoxve.VmLegacyInitializationIpConfigArgs(
                        ipv4=proxmoxve.VmLegacyInitializationIpConfigIpv4Args(address=address, gateway=machines.gateway)
                    )
                ],
            ),
            on_boot=True,
            started=True,
            opts=child_opts(stateful=True, provider=provider),
        )
        out.append(Machine(name, role, str(ipaddress.ip_interface(address).ip), vm, disk_gb))
    return out


def vsphere(spec: OnpremSpec, machines: VsphereMachines, child_opts: ChildOpts) -> list[Machine]:
    import pulumi_vsphere as vsphere

    # Credentials come from VSPHERE_USER / VSPHERE_PASSWORD in the environment.
    provider = vsphere.Provider(f"{spec.name}-vsphere", vsphere_server=machines.server, opts=child_opts())
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    dc = vsphere.get_datacenter_output(name=machines.datacenter, opts=invoke)
    datastore = vsphere.get_datastore_output(name=machines.datastore, datacenter_id=dc.id, opts=invoke)
    cluster = vsphere.get_compute_cluster_output(name=machines.cluster, datacenter_id=dc.id, opts=invoke)
    network = vsphere.get_network_output(name=machines.network, datacenter_id=dc.id, opts=invoke)
    template = vsphere.get_virtual_machine_output(name=machines.template, datacenter_id=dc.id, opts=invoke)
    out: list[Machine] = []
    for (name, role, disk_gb), address in zip(layout(spec), machines.addresses, strict=False):
        iface = ipaddress.ip_interface(address)
        args: dict[str, Any] = {
            "name": name,
            "resource_pool_id": cluster.resource_pool_id,
            "datastore_id": datastore.id,
            "num_cpus": machines.cores,
            "memory": machines.memory_mb,
            "guest_id": template.guest_id,
            "scsi_type": template.scsi_type,
            # The provider creates a BIOS VM unless told otherwise, and an EFI template cloned as one does not boot
            # (pulumi_vsphere VirtualMachine `firmware`, "bios or efi"; the template's own is read above).
            "firmware": template.firmware,
            "annotation": f"k3s {role.kind} of {spec.name}, managed by Pulumi",
            "network_interfaces": [
                vsphere.VirtualMachineNetworkInterfaceArgs(
                    network_id=network.id, adapter_type=template.network_interface_types[0]
                )
            ],
            "disks": [vsphere.VirtualMachineDiskArgs(label="disk0", size=disk_gb, thin_provisioned=True)],
            "clone": vsphere.VirtualMachineCloneArgs(
                template_uuid=template.id,
                customize=vsphere.VirtualMachineCloneCustomizeArgs(
                    linux_options=vsphere.VirtualMachineCloneCustomizeLinuxOptionsArgs(host_name=name, domain="local"),
                    network_interfaces=[
                        vsphere.VirtualMachineCloneCustomizeNetworkInterfaceArgs(
                            ipv4_address=str(iface.ip), ipv4_netmask=iface.network.prefixlen
                        )
                    ],
                    ipv4_gateway=machines.gateway,
                ),
            ),
        }
        vm = vsphere.VirtualMachine(name, opts=child_opts(stateful=True, provider=provider), **args)
        out.append(Machine(name, role, str(iface.ip), vm, disk_gb))
    return out
