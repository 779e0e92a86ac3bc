"""Declared sites (`orquestra:sites`): the address plan across clusters and sites, and the spec of their VPNs."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
from pydantic import SecretStr

from components.spec import Site, SpecError, StackSpec, parse, tunnel_ranges
from tests.test_global_routing import stack


def with_site(**site: Any) -> dict[str, Any]:
    """The hybrid stack with dc1 on a declared site of that name (one LAN, no VPN unless `site` says so)."""
    config = stack()
    config["clusters"][0]["site"] = "dc1"
    config["sites"] = [{"name": "dc1", "cidrs": ["192.168.10.0/24"], **site}]
    return config


def parsed(config: dict[str, Any]) -> StackSpec:
    """`parse` of the config as the program reads it: an on-prem cluster's SSH key decrypted."""
    config = copy.deepcopy(config)
    for cluster in config["clusters"]:
        if "ssh" in cluster:
            cluster["ssh"]["privateKey"] = SecretStr("key")
    return parse(config)


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parsed(config)
    return info.value.problems


def test_a_site_holding_its_clusters_node_range_parses() -> None:
    spec = parse(with_site(cidrs=["192.168.0.0/16"], peer={"address": "203.0.113.10", "asn": 65010}))
    site = spec.site("dc1")
    assert site.peer is not None and site.peer.asn == 65010 and site.vpn == []
    assert spec.cluster("dc1").site == "dc1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("site", "line"),
    [
        # A site's range over a cloud cluster's VPC: traffic for one would be routed to the other.
        (
            {"cidrs": ["192.168.10.0/24", "10.60.128.0/17"]},
            "orquestra:sites[0].cidrs[1]: '10.60.128.0/17'; allowed: a range that does not overlap "
            "clusters[1].network.cidr (10.60.0.0/16, cluster 'euw1')",
        ),
        # Over its own cluster's pod overlay: pods would capture the LAN's traffic.
        (
            {"cidrs": ["192.168.10.0/24", "10.42.0.0/16"]},
            "orquestra:sites[0].cidrs[1]: '10.42.0.0/16'; allowed: a range that does not overlap "
            "clusters[0].network.podCidr (10.42.0.0/16, cluster 'dc1')",
        ),
        (
            {"cidrs": ["192.168.10.0/24", "192.168.10.128/25"]},
            "orquestra:sites[0].cidrs[1]: '192.168.10.128/25'; allowed: a range that does not overlap cidrs[0] "
            "(192.168.10.0/24)",
        ),
        (
            {"cidrs": ["192.168.20.0/24"]},
            "orquestra:clusters[0].network.cidr: '192.168.10.0/24'; allowed: a range inside one of site 'dc1''s "
            "cidrs (192.168.20.0/24)",
        ),
        (
            {"vpn": ["euw1"]},
            "orquestra:sites[0].peer: null; allowed: the site's VPN device (address, asn, preSharedKey) when vpn "
            "names clusters",
        ),
        (
            {"peer": {"address": "192.168.1.1"}},
            "orquestra:sites[0].peer.address: '192.168.1.1'; allowed: the public IPv4 address of the site's VPN "
            "device (not private, shared or reserved)",
        ),
        (
            {"peer": {"address": "203.0.113.10", "asn": 0}},
            "orquestra:sites[0].peer.asn: 0; allowed: greater than or equal to 1",
        ),
        (
            {"peer": {"address": "203.0.113.10"}, "vpn": ["dc1"]},
            "orquestra:sites[0].vpn[0]: 'dc1'; allowed: a cluster on a target with a site-to-site VPN",
        ),
        (
            {"peer": {"address": "203.0.113.10"}, "vpn": ["dc2"]},
            "orquestra:sites[0].vpn[0]: 'dc2'; allowed: the name of a cluster in this stack (dc1, euw1)",
        ),
    ],
)
def test_a_wrong_site_is_one_line(site: dict[str, Any], line: str) -> None:
    assert any(p.startswith(line) for p in problems(with_site(**site))), problems(with_site(**site))


def test_a_cluster_on_an_undeclared_site_is_one_line() -> None:
    config = stack()
    config.pop("sites")  # the shipped stack declares dc1
    config["clusters"][0]["site"] = "dc9"
    assert problems(config) == ["orquestra:clusters[0].site: 'dc9'; allowed: a site in orquestra:sites (none)"]


def test_a_bad_pre_shared_key_never_shows_itself() -> None:
    key = "0starts-with-zero-and-has-dashes"
    found = problems(with_site(peer={"address": "203.0.113.10", "preSharedKey": SecretStr(key)}))
    assert found == [
        "orquestra:sites[0].peer.preSharedKey: [secret]; allowed: 8-64 letters, digits, periods or underscores, "
        "not starting with 0 (AWS's rule, the narrowest)"
    ]
    assert key not in " ".join(found)


def test_sites_is_a_known_key() -> None:
    config = stack()
    config["site"] = []
    assert problems(config)[0].startswith("orquestra:site: unknown key (did you mean 'orquestra:sites'?)")


# ------------------------------------------------------------------ tunnel ranges

POOL = ipaddress.IPv4Network("169.254.64.0/24")  # a small pool, so that slots collide


def test_a_links_tunnel_ranges_depend_on_the_link_only() -> None:
    # Reordering or adding links leaves a link's ranges alone (a changed inside range replaces the cloud's interface).
    def on(name: str, *clusters: str) -> Site:
        return Site(name=name, cidrs=["192.168.0.0/16"], vpn=list(clusters))

    alone = tunnel_ranges(on("dc1", "gke"), "gke", POOL)
    assert [r.prefixlen for r in alone] == [30, 30] and alone[0].supernet(new_prefix=29) == alone[1].supernet(
        new_prefix=29
    )
    assert all(r.subnet_of(POOL) for r in alone)
    assert tunnel_ranges(on("dc1", "eks", "gke", "aks"), "gke", POOL) == alone
    assert tunnel_ranges(on("dc2", "gke"), "gke", POOL) != alone


def test_the_links_of_one_site_never_share_a_tunnel_range() -> None:
    names = [f"c{i}" for i in range(POOL.num_addresses // 8)]  # every slot taken: collisions must move on
    many = Site(name="dc1", cidrs=["192.168.0.0/16"], vpn=names)
    ranges = [r for name in names for r in tunnel_ranges(many, name, POOL)]
    assert len(set(ranges)) == len(ranges) == 2 * len(names)
