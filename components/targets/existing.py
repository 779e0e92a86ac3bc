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
import yaml

from components.cluster import Capabilities, KubernetesCluster
from components.runtime import OFFLINE_ENV, secret_output
from components.spec import Environment, Problem
from components.spec import ExistingCluster as ExistingSpec


def _server(kubeconfig: str, context: str | None) -> str:
    """The API server URL of `context` (or the current context) in a kubeconfig document."""
    try:
        doc: dict[str, Any] = yaml.safe_load(kubeconfig) or {}
        name = context or doc.get("current-context")
        ctx = next(c["context"] for c in doc.get("contexts", []) if c.get("name") == name)
        return str(next(c["cluster"]["server"] for c in doc.get("clusters", []) if c.get("name") == ctx["cluster"]))
    except (yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError):
        return ""


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


class ExistingTarget(KubernetesCluster):
    @staticmethod
    def check(spec: ExistingSpec) -> list[Problem]:
        """Problems only this machine can show, found before any resource is registered."""
        if spec.kubeconfig_path and not os.environ.get(OFFLINE_ENV) and not _expand(spec.kubeconfig_path).is_file():
            return [Problem("kubeconfigPath", spec.kubeconfig_path, "the path of a kubeconfig file on this machine")]
        return []

    def __init__(self, spec: ExistingSpec, environment: Environment, opts: pulumi.ResourceOptions | None = None):
        super().__init__("orquestra:targets:ExistingCluster", spec, environment, opts)
        provider_args: dict[str, Any] = {}
        if spec.context:
            provider_args["context"] = spec.context

        kubeconfig: pulumi.Input[str]
        if spec.kubeconfig is not None:
            kubeconfig = secret_output(spec.kubeconfig)
            endpoint: pulumi.Input[str] = kubeconfig.apply(lambda t: _server(t, spec.context))
        else:
            assert spec.kubeconfig_path is not None
            path = _expand(spec.kubeconfig_path)
            if path.is_file():
                text = path.read_text()
                kubeconfig, endpoint = text, _server(text, spec.context)
            else:
                # Offline plans (see `check`): the provider reads a path itself.
                kubeconfig, endpoint = str(path), ""

        self._publish(
            kubeconfig=kubeconfig,
            endpoint=endpoint,
            cluster_name=spec.context or spec.name,
            kubernetes_version=spec.kubernetes_version,
            capabilities=Capabilities(
                load_balancer=spec.load_balancer,
                node_autoscaler="none",
                default_storage_class=spec.storage_class,
                pod_identity="none",
                zones=tuple(spec.zones),
                metallb_pool=tuple(spec.load_balancer_pool),
            ),
            provider_args=provider_args,
        )
