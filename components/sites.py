"""Site-to-site VPNs from declared sites (`orquestra:sites`) to the cloud networks of the stack's clusters.

The cloud end of each link is its target's (`Target.site_vpn`: AWS VPN gateway, GCP HA VPN, Azure VPN gateway);
this module gives each link its component, its pre-shared key and the stack output the site's VPN device is
configured from. The device itself is not the stack's: its tunnels' addresses exist only once the cloud end does,
so the stack exports them, with the cloud ranges the device must route into the tunnels.

A VPN the stack creates cannot carry the stack's own first deploy (the device is set up from its outputs); a
runner that must reach a private API across it uses a hub that exists before the stack (docs/private-deploy.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

import pulumi

from components.cluster import KubernetesCluster
from components.runtime import secret_output
from components.spec import Site, StackSpec
from components.targets import REGISTRY

# 40 letters: about 228 bits, and a key every cloud takes (letters only, so it never starts with the 0 AWS refuses;
# `spec.PRE_SHARED_KEY`).
KEY_LENGTH = 40


class CloudEnd(Protocol):
    """What a target's `site_vpn` module offers the links of a site."""

    def build(
        self, site: Site, cluster: KubernetesCluster[Any], key: pulumi.Output[str], opts: pulumi.ResourceOptions
    ) -> Mapping[str, Any]:
        """Registers the cloud end of one link and returns what the site's device needs of it: `tunnels` (each
        with the cloud's `address` and, with BGP, its `insideCidr`, `cloudBgpAddress` and `peerBgpAddress`) and
        the cloud's `asn` (None with static routes). Values may be Outputs."""
        ...


class VpnLink(pulumi.ComponentResource):
    """One site's VPN to one cluster's cloud network: the cloud end's resources are its children."""

    def __init__(self, site: Site, cluster: KubernetesCluster[Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__("orquestra:site:VpnLink", f"{site.name}-{cluster.spec.name}", None, opts)
        assert site.peer is not None  # `Site.problems`: a site that names clusters has a peer
        self.key = _key(site, cluster.spec.name, self)
        module: CloudEnd = importlib.import_module(REGISTRY[cluster.spec.target].site_vpn or "")
        end = module.build(site, cluster, self.key, pulumi.ResourceOptions(parent=self))
        # Only the key is secret: the tunnels' addresses and the routes are what a device's admin reads to set it up.
        self.device: dict[str, Any] = {
            "tunnels": end["tunnels"],
            "cloudAsn": end.get("asn"),
            "peerAsn": site.peer.asn,
            # Every range the cluster's network routes beyond itself: the device sends these into the tunnels.
            "routes": sorted(cluster.spec.networks.values()),
            "preSharedKey": self.key,
        }
        self.register_outputs({"device": self.device})


def _key(site: Site, cluster: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The peer's key when the stack gives one (unknown while planning offline, as every stack secret is); else a
    fresh one per link, so a leaked key opens one link only."""
    assert site.peer is not None
    if site.peer.pre_shared_key is not None:
        return secret_output(site.peer.pre_shared_key)
    import pulumi_random as random

    return pulumi.Output.secret(
        random.RandomPassword(
            f"{site.name}-{cluster}-psk",
            length=KEY_LENGTH,
            special=False,
            numeric=False,
            opts=pulumi.ResourceOptions(parent=parent),
        ).result
    )


def build(stack: StackSpec, clusters: Mapping[str, KubernetesCluster[Any]]) -> dict[str, dict[str, VpnLink]]:
    """Every site's links, by site and cluster; exported as `sites` (the keys secret) for the devices' set-up."""
    links = {site.name: {name: VpnLink(site, clusters[name]) for name in site.vpn} for site in stack.sites if site.vpn}
    if links:
        pulumi.export("sites", {s: {c: link.device for c, link in by.items()} for s, by in links.items()})
    return links
