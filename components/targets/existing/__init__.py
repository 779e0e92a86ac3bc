"""A cluster you already run (kind, minikube, k3d, Docker Desktop, or any kubeconfig).

Nothing is created on the infrastructure side: the component adopts the cluster
through its kubeconfig so that the platform services and workloads can be placed
on it exactly as on a cloud cluster. It is how a laptop runs the `dev` stack.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi

from components.cluster import Capabilities, KubernetesCluster
from components.runtime import OFFLINE_ENV, UNKNOWN_SECRET, secret_output
from components.spec import Environment, ExistingSpec, Problem
from components.targets.existing import capabilities
from components.targets.existing.kubeconfig import minify


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


def from_file(path: str, context: str | None) -> tuple[str, str]:
    """The cut-down kubeconfig and server URL of a file on the deploying machine; read only by a real deployment.

    A missing file is handed over as its path, which the provider reports on.
    """
    expanded = _expand(path)
    if expanded.is_file():
        return minify(expanded.read_text(), context)
    return str(expanded), ""


class ExistingCluster(KubernetesCluster[ExistingSpec]):
    @classmethod
    def check_local(cls, spec: ExistingSpec) -> list[Problem]:
        """The kubeconfig file must be on the machine that runs `pulumi up`."""
        if spec.kubeconfig_path and not _expand(spec.kubeconfig_path).is_file():
            return [Problem("kubeconfigPath", spec.kubeconfig_path, "the path of a kubeconfig file on this machine")]
        return []

    def __init__(self, spec: ExistingSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__(spec, environment, opts)
        provider_args: dict[str, Any] = {}
        if spec.context:
            provider_args["context"] = spec.context

        kubeconfig: pulumi.Input[str]
        if spec.kubeconfig is not None:
            pair = secret_output(spec.kubeconfig).apply(lambda text: minify(text, spec.context))
            kubeconfig = pair.apply(lambda p: p[0])
            # The server URL is not sensitive; keep it readable in outputs and plans.
            endpoint: pulumi.Input[str] = pulumi.Output.unsecret(pair.apply(lambda p: p[1]))
        elif os.environ.get(OFFLINE_ENV):
            # An offline plan reads nothing of the machine it runs on (not even where HOME is): the
            # kubeconfig is what the deploying machine's file will hold, unknown and secret until then,
            # so one stack plans the same on every laptop and in CI.
            kubeconfig, endpoint = secret_output(UNKNOWN_SECRET), ""
        else:
            assert spec.kubeconfig_path is not None
            kubeconfig, endpoint = from_file(spec.kubeconfig_path, spec.context)

        self._publish(
            kubeconfig=kubeconfig,
            endpoint=endpoint,
            cluster_name=spec.context or spec.name,
            kubernetes_version=spec.kubernetes_version,
            provider_args=provider_args,
        )

    def capabilities(self) -> Capabilities:
        return capabilities.of(self)
