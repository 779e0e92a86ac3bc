"""An HA Kubernetes cluster in your own datacenter: k3s on VMs or hosts, bootstrapped over SSH.

Servers run embedded etcd (three in prod), kube-vip holds the API address by
ARP, MetalLB hands out `loadBalancerPool` to LoadBalancer Services, and k3s's
own servicelb and traefik are off so nothing competes with them. Every node runs
the same idempotent script from `scripts/`, so re-running `pulumi up` is safe and
an upgrade is a change of `kubernetesVersion`/`k3sVersion` (one minor at a time).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.cluster import Capabilities, KubernetesCluster
from components.runtime import secret_output
from components.spec import Environment, InventoryMachines, OnpremSpec, ProxmoxMachines
from components.targets.onprem import capabilities, k3s, kubeconfig, machines
from components.targets.onprem.machines import Machine
from components.targets.onprem.render import command_line, render

RUN_AS_ROOT = command_line({})
"""Scripts arrive on stdin, so the join token never shows in a process list or shell history."""


# pulumi-command has no timeout of its own for a command, only for dialing (`dial_error_limit` x
# `per_dial_timeout`, pulumi_command/remote/_inputs.py). The scripts bound each step on the node (k3s-node.sh:
# installer download 120 s, install 900 s, service start 600 s; kubeconfig.sh: 300 s); these Pulumi timeouts end
# the operation beyond them, when the SSH session itself stalls, so `pulumi up` fails instead of waiting forever.
# Source: https://www.pulumi.com/docs/iac/concepts/options/customtimeouts/
NODE_TIMEOUTS = pulumi.CustomTimeouts(create="45m", update="45m", delete="5m")
KUBECONFIG_TIMEOUTS = pulumi.CustomTimeouts(create="10m", update="10m", delete="5m")


class OnpremCluster(KubernetesCluster[OnpremSpec]):
    def __init__(self, spec: OnpremSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__(spec, environment, opts)
        nodes = self._machines(spec)

        # Changing the token would lock every node out of the cluster: it is state.
        token = random.RandomPassword(
            f"{spec.name}-k3s-token", length=48, special=False, opts=self.child_opts(stateful=True)
        )
        self._token: pulumi.Output[str] = pulumi.Output.secret(token.result)
        key = secret_output(spec.ssh.private_key)

        first, *others = nodes
        # Servers go one at a time, at bootstrap and on every upgrade: etcd keeps its
        # majority while a member restarts, and k3s wants joins serialised.
        servers = [self._bootstrap(first, key, join=None, depends=[])]
        for node in (n for n in others if n.role.kind == "server"):
            servers.append(self._bootstrap(node, key, join=first.address, depends=[servers[-1]]))
        first_cmd = servers[0]
        agent_nodes = [n for n in others if n.role.kind == "agent"]
        agents = [self._bootstrap(n, key, join=spec.api_vip, depends=servers) for n in agent_nodes]

        read = command.remote.Command(
            f"{spec.name}-kubeconfig",
            connection=self._connection(first, key),
            create=RUN_AS_ROOT,
            stdin=render("kubeconfig.sh", {"WAIT_SECONDS": "300"}),
            logging=command.remote.Logging.NONE,
            # A reinstalled first server has a new client certificate to read.
            triggers=[first_cmd.id],
            opts=self.child_opts(
                depends_on=servers, additional_secret_outputs=["stdout"], custom_timeouts=KUBECONFIG_TIMEOUTS
            ),
        )
        config: pulumi.Output[str] = pulumi.Output.secret(read.stdout.apply(lambda text: kubeconfig.render(text, spec)))

        provider = self._connect(config, [read])
        pools = [self._pool_membership(node, agent, provider) for node, agent in zip(agent_nodes, agents, strict=True)]
        self._publish(
            endpoint=f"https://{spec.api_vip}:{k3s.API_PORT}",
            cluster_name=spec.name,
            kubernetes_version=spec.kubernetes_version,
            ready=[read, *agents, *pools],
        )

    def _pool_membership(
        self, node: Machine, bootstrap: command.remote.Command, provider: k8s.Provider
    ) -> k8s.core.v1.NodePatch:
        """The pool's labels and taints on a node that already exists, through the Kubernetes API.

        k3s applies `node-label` and `node-taint` only when a node registers.
        Source: https://docs.k3s.io/cli/agent#node-labels-and-taints-for-agents
        The patch is a server-side apply that takes ownership (`patchForce`) of these fields from k3s's
        registration, so a label or taint removed from the pool is removed from the node too.
        Source: https://www.pulumi.com/registry/packages/kubernetes/how-to-guides/managing-resources-with-server-side-apply/
        """
        labels, taints = k3s.pool_labels(node.role.pool), k3s.pool_taints(node.role.pool)
        return k8s.core.v1.NodePatch(
            f"{node.name}-pool",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=node.name, labels=labels, annotations={"pulumi.com/patchForce": "true"}
            ),
            spec=k8s.core.v1.NodeSpecPatchArgs(taints=[k8s.core.v1.TaintPatchArgs(**t) for t in taints]),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[bootstrap]),
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)

    def _machines(self, spec: OnpremSpec) -> list[Machine]:
        source = spec.machines
        if isinstance(source, InventoryMachines):
            return machines.inventory(spec, source)
        if isinstance(source, ProxmoxMachines):
            tags = sorted({"orquestra", f"cluster-{spec.name}", f"env-{self.environment}"})
            return machines.proxmox(spec, source, self.child_opts, tags)
        return machines.vsphere(spec, source, self.child_opts)

    def _connection(self, node: Machine, key: pulumi.Output[str]) -> command.remote.ConnectionArgs:
        spec = self.spec
        return command.remote.ConnectionArgs(
            host=node.address, port=spec.ssh.port, user=spec.ssh.user, private_key=key, dial_error_limit=30
        )

    def _bootstrap(
        self, node: Machine, key: pulumi.Output[str], join: str | None, depends: Sequence[pulumi.Resource]
    ) -> command.remote.Command:
        spec = self.spec
        config = k3s.dump(k3s.config(spec, node.role, node.name, join))
        run = command_line(k3s.node_params(spec, node.role, config))
        script: pulumi.Output[str] = self._token.apply(lambda token: render("k3s-node.sh", {"K3S_TOKEN": token}))
        stdin: pulumi.Output[str] = pulumi.Output.secret(script)
        vm_deps: list[pulumi.Resource] = [node.vm] if node.vm is not None else []
        return command.remote.Command(
            f"{node.name}-k3s",
            connection=self._connection(node, key),
            create=run,
            # The same idempotent script converges a changed version or config in place.
            update=run,
            stdin=stdin,
            logging=command.remote.Logging.STDOUT_AND_STDERR,
            # A replaced VM is a blank machine: install again. Nothing else needs a trigger,
            # since a change of version or config changes the command line.
            triggers=[node.vm.id] if isinstance(node.vm, pulumi.CustomResource) else [],
            opts=self.child_opts(depends_on=[*vm_deps, *depends], custom_timeouts=NODE_TIMEOUTS),
        )
