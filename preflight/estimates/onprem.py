"""On-prem in a plan: machines on your own hardware have no list price; how long they and the SSH installs take."""

from __future__ import annotations

from collections.abc import Mapping

from preflight.estimates.base import CostModel, CreateTime

COSTS: Mapping[str, CostModel] = {}
FREE: frozenset[str] = frozenset(
    {
        "command:remote:Command",
        "command:remote:CopyToRemote",
        "command:local:Command",
        "random:index/randomPassword:RandomPassword",
        "random:index/randomString:RandomString",
        "random:index/randomId:RandomId",
    }
)
"""Commands over SSH and the join token: local work, nothing to pay for."""
LOAD_BALANCER_MONTHLY: Mapping[str, float] = {}
"""No cloud load balancer: MetalLB hands out addresses of the site's network."""

ON_PREM: frozenset[str] = frozenset(
    {
        "proxmoxve:index/vm:Vm",
        "proxmoxve:index/vmLegacy:VmLegacy",
        "proxmoxve:index/vm2Legacy:Vm2Legacy",
        "proxmoxve:cloned/vm:Vm",
        "vsphere:index/virtualMachine:VirtualMachine",
    }
)
"""Machines on your own hardware: known, but without a list price."""

CREATE_SECONDS: Mapping[str, CreateTime] = {
    "proxmoxve:index/vm:Vm": 120.0,
    "proxmoxve:index/vmLegacy:VmLegacy": 120.0,
    "proxmoxve:index/vm2Legacy:Vm2Legacy": 120.0,
    "proxmoxve:cloned/vm:Vm": 120.0,
    "proxmoxve:download/file:File": 60.0,
    "vsphere:index/virtualMachine:VirtualMachine": 180.0,
    "command:remote:Command": 60.0,
    "command:remote:CopyToRemote": 5.0,
    "command:local:Command": 5.0,
    "random:index/randomPassword:RandomPassword": 1.0,
    "random:index/randomString:RandomString": 1.0,
    "random:index/randomId:RandomId": 1.0,
}

MAJOR_TYPES: frozenset[str] = frozenset(
    {
        "proxmoxve:index/vm:Vm",
        "proxmoxve:index/vmLegacy:VmLegacy",
        "proxmoxve:cloned/vm:Vm",
        "vsphere:index/virtualMachine:VirtualMachine",
        "command:remote:Command",
    }
)
"""The parts of a cluster the diagram draws (`preflight.diagram`); the rest is plumbing."""
