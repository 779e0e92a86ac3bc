"""`--compare`: every target has a mapping row, the mapping keeps capacity, and nothing asked for is lost silently.

Four stacks are compared in full (planned on every target: 7 plans each): the
AWS and on-prem baselines and the two targets whose machines are not a fixed
catalogue (OCI flexible shapes, Tanzu VM classes); every
other shipped stack is checked on its mapping and on the spec validation of each
of its variants, which is where a comparison fails (see docs/preflight.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from components.spec import NAMESPACE, ClusterBase, NodePool, StackSpec, parse
from components.targets import REGISTRY
from preflight import catalogue, compare, engine, stackconfig
from preflight.__main__ import main as preflight
from preflight.catalogue import GEOGRAPHIES, ROWS, Shape
from preflight.estimates import oci as oci_estimates
from preflight.rejects import oci as oci_rejects

STACKS = stackconfig.stacks(engine.PROJECT_DIR)
COMPARABLE = [key for key, row in ROWS.items() if row.comparable]
FULL = ("prod-aws", "onprem", "prod-oci", "prod-tanzu")


def spec_of(stack: str) -> tuple[stackconfig.StackConfig, StackSpec]:
    config = stackconfig.load(engine.PROJECT_DIR, stack)
    return config, parse(config.namespace(NAMESPACE))


@cache
def compared(stack: str) -> list[compare.ClusterComparison]:
    config, spec = spec_of(stack)
    return compare.compare(config, spec, COMPARABLE, None)


def variant(stack: str, target: str) -> compare.Variant:
    (cluster,) = compared(stack)
    return next(v for v in cluster.variants if v.target == target)


# ------------------------------------------------------------------- the table


def test_every_registered_target_has_a_mapping_row() -> None:
    assert set(ROWS) == set(REGISTRY), "add the target's row to preflight/catalogue.py ROWS"
    for key, row in ROWS.items():
        assert row.comparable or row.why_not, key


@pytest.mark.parametrize("key", [k for k, r in ROWS.items() if r.shapes])
def test_every_machine_type_of_the_table_is_priced_by_the_targets_cost_model(key: str) -> None:
    row = ROWS[key]
    if row.monthly or row.needs is None:
        assert set(row.shapes) == set(row.monthly), "shapes and the estimates' price table must list the same types"
    # else: hardware without a list price (Tanzu VM classes); what the site provides is listed instead
    syntax = REGISTRY[key].spec
    model: type[ClusterBase] = getattr(__import__("components.spec", fromlist=[syntax]), syntax)
    rule = model.instance_type_syntax
    assert rule is not None
    assert all(rule.ok(name) for name in row.shapes)


def test_every_flexible_shape_is_priced_limited_and_accepted_by_the_spec() -> None:
    model = compare._model("oci")
    rule = model.instance_type_syntax
    assert rule is not None and ROWS["oci"].flex
    for name in ROWS["oci"].flex:
        assert name in oci_estimates.OCI_SHAPE_HOURLY and name in oci_rejects.FLEX_LIMITS and rule.ok(name), name


def test_a_flexible_shape_is_sized_to_the_pool_within_what_oci_accepts() -> None:
    # x86: an OCPU is two vCPUs; Ampere A1: one (docs: computeshapes.htm).
    assert catalogue.nearest(Shape(2, 8), "oci") == ("VM.Standard.E5.Flex", Shape(2, 8))
    assert catalogue.nearest(Shape(3, 6), "oci") == ("VM.Standard.E5.Flex", Shape(4, 6))
    assert catalogue.nearest(Shape(4, 16, "arm64"), "oci") == ("VM.Standard.A1.Flex", Shape(4, 16, "arm64"))
    # At most 64 GB per OCPU, at least 1: memory-heavy pools get more OCPUs, CPU-heavy ones more memory.
    assert catalogue.nearest(Shape(2, 100), "oci") == ("VM.Standard.E5.Flex", Shape(4, 100))
    assert catalogue.nearest(Shape(16, 4), "oci") == ("VM.Standard.E5.Flex", Shape(16, 8))


def test_oci_pools_get_their_size_in_pool_shapes_and_are_priced_at_it() -> None:
    v = variant("prod-aws", "oci")
    assert {p.name: p.mapped.split(" (")[0] for p in v.pools} == dict.fromkeys(
        ("system", "general", "spot"), "VM.Standard.E5.Flex"
    )
    bases = " | ".join(i["basis"] for i in v.items if i["type"] == "oci:ContainerEngine/nodePool:NodePool")
    assert "3 × VM.Standard.E5.Flex 1 OCPU/8 GB" in bases  # system: m6i.large, 2 vCPU / 8 GiB
    assert "3 × VM.Standard.E5.Flex 2 OCPU/16 GB" in bases  # general: m6i.xlarge, 4 vCPU / 16 GiB
    assert any("compartment" in note for note in v.notes)


def test_an_oci_source_pool_is_its_flexible_size() -> None:
    v = variant("prod-oci", "aws")
    pools = {p.name: p for p in v.pools}
    assert pools["general"].source == "VM.Standard.E5.Flex (8 vCPU, 32 GiB, x86_64)"  # poolShapes: 4 OCPU / 32 GB
    assert pools["general"].mapped.startswith("m6i.2xlarge") and pools["general"].within_tolerance
    assert pools["system"].source == "VM.Standard.E5.Flex (4 vCPU, 16 GiB, x86_64)"  # shape: 2 OCPU / 16 GB


@pytest.mark.parametrize("key", [k for k, r in ROWS.items() if r.regions_key])
def test_every_mapped_region_is_a_region_the_targets_spec_accepts(key: str) -> None:
    model = compare._model(key)
    field = model.model_fields["region"]
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, *field.metadata])  # type: ignore[valid-type]
    for geography, row in GEOGRAPHIES.items():
        region = row[ROWS[key].regions_key or ""]
        try:
            adapter.validate_python(region)
        except ValidationError:
            pytest.fail(f"{geography}: {region} is not a {key} region")


@pytest.mark.parametrize("stack", STACKS)
def test_a_shipped_clusters_region_is_in_the_region_table(stack: str) -> None:
    for cluster in spec_of(stack)[1].clusters:
        region = getattr(cluster, "region", None)
        if region is not None:
            assert catalogue.geography(cluster.target, region), f"{stack}: {cluster.target} {region}"


def shipped_pools() -> list[tuple[str, ClusterBase, NodePool]]:
    return [(s, c, p) for s in STACKS for c in spec_of(s)[1].clusters for p in c.node_pools]


@pytest.mark.parametrize("target", COMPARABLE)
def test_the_mapping_keeps_every_shipped_pools_capacity_within_tolerance(target: str) -> None:
    checked = 0
    for stack, cluster, pool in shipped_pools():
        shape = compare._shape(cluster, pool)
        if shape is None:
            # An inventory host's size is not in the stack; its pool gets the target's default (reported).
            assert cluster.target == "onprem" and not pool.instance_types, (stack, pool.name)
            continue
        found = catalogue.nearest(shape, target)
        if found is None:
            assert not ROWS[target].shapes  # machines sized to order: the shape itself
            continue
        name, mapped = found
        assert mapped.arch == shape.arch, (stack, pool.name, name)
        low, high = mapped.ratios(shape)
        assert 1.0 <= low <= catalogue.TOLERANCE and 1.0 <= high <= catalogue.TOLERANCE, (stack, pool.name, name)
        checked += 1
    assert checked or not ROWS[target].shapes


def test_the_nearest_type_is_the_smallest_that_fits() -> None:
    assert catalogue.nearest(Shape(4, 16), "aws") == ("m6i.xlarge", Shape(4, 16))
    assert catalogue.nearest(Shape(4, 8), "gcp") == ("e2-standard-4", Shape(4, 16))
    name, shape = catalogue.nearest(Shape(3, 6), "digitalocean") or ("", Shape(1, 1))
    assert (name, shape.vcpu, shape.memory_gib) == ("s-4vcpu-8gb", 4, 8)


# ----------------------------------------------------- every stack, every target


@pytest.mark.parametrize("stack", STACKS)
def test_every_variant_of_every_shipped_stack_passes_the_spec(stack: str) -> None:
    config, spec = spec_of(stack)
    for cluster in spec.clusters:
        for target in COMPARABLE:
            v = compare.Variant(target=target, own=target == cluster.target)
            ns = compare.namespace(config, spec, cluster, v)
            assert compare.validated(ns, v) is not None, (cluster.name, target, v.errors)


@pytest.mark.parametrize("stack", FULL)
def test_a_full_compare_plans_every_target(stack: str) -> None:
    (cluster,) = compared(stack)
    assert cluster.variants[0].target == cluster.target
    assert {v.target for v in cluster.variants} == set(COMPARABLE)
    for v in cluster.variants:
        assert v.ok, (v.target, v.errors)
        assert v.resources > 0 and v.deploy_seconds > 0 and v.critical_path
        assert v.capabilities["load balancer"] in ("cloud", "metallb")
        if ROWS[v.target].needs is None:
            assert v.monthly > 0 and not v.needs
            assert v.items and v.monthly == pytest.approx(sum(i["monthlyUsd"] for i in v.items), abs=0.05)
        else:
            assert v.needs["machines"]
        if v.target == "onprem":
            assert v.needs["apiVip"] and v.needs["addresses"] > 0


def test_on_prem_shows_what_the_site_must_provide_and_prices_no_hardware() -> None:
    v = variant("prod-aws", "onprem")
    # prod: 3 servers; system 3 and general 3 agents (the spot pool's minimum is 0).
    assert v.needs["addresses"] == 9
    assert v.needs["machines"][0] == "3 server(s)"
    assert any("4 vCPU, 16 GiB" in line for line in v.needs["machines"])
    assert v.capabilities["node autoscaler"] == "none"


def test_a_feature_the_target_lacks_is_reported_not_dropped() -> None:
    lost = " | ".join(variant("prod-aws", "digitalocean").cannot_give)
    assert "pool spot: spot capacity" in lost
    assert "a private API endpoint" in lost and "DOKS has no private-only API endpoint" in lost
    assert "workload api: a cloud identity" in lost
    own = variant("prod-aws", "aws")
    assert own.cannot_give == []


def test_tanzu_shows_the_vm_classes_the_namespace_must_offer_and_what_it_lacks() -> None:
    v = variant("prod-aws", "tanzu")
    # Dedicated-core pools get guaranteed (reserved) classes: m6i.large -> guaranteed-medium, m6i.xlarge -> large.
    assert {p.name: p.mapped.split(" (")[0] for p in v.pools} == {
        "system": "guaranteed-medium",
        "general": "guaranteed-large",
        "spot": "guaranteed-large",
    }
    assert v.needs["machines"][0] == "3 × control plane: best-effort-medium"
    assert v.needs["vmClasses"] == ["best-effort-medium", "guaranteed-large", "guaranteed-medium"]
    assert v.needs["namespace"] == catalogue.TANZU_NAMESPACE_PLACEHOLDER
    assert v.monthly == 0 and v.not_priced
    lost = " | ".join(v.cannot_give)
    assert "pool spot: spot capacity (none on tanzu" in lost
    assert "a private API endpoint: the control plane's address comes from the Supervisor's load balancer" in lost
    assert "workload api: a cloud identity" in lost
    assert "ACME certificates" in lost, "no DNS-01 solver on tanzu: the internal CA instead"


def test_a_burstable_source_gets_a_best_effort_vm_class() -> None:
    assert catalogue.nearest(Shape(2, 4, burstable=True), "tanzu") == ("best-effort-small", Shape(2, 4, burstable=True))
    assert catalogue.nearest(Shape(2, 4), "tanzu") == ("guaranteed-small", Shape(2, 4))


def test_the_on_prem_source_maps_its_vm_size_to_each_cloud() -> None:
    v = variant("onprem", "aws")
    (pool,) = v.pools
    assert pool.source == "4 vCPU, 8 GiB, x86_64" and pool.mapped.startswith("c6i.xlarge")
    assert v.region == ROWS["aws"].reference_region and "reference region" in v.region_basis


def test_an_architecture_no_target_type_has_is_reported() -> None:
    _, spec = spec_of("prod-aws")
    (cluster,) = spec.clusters
    arm = cluster.model_copy(
        update={"node_pools": [cluster.node_pools[0].model_copy(update={"instance_types": ["m7g.large"]})]}
    )
    v = compare.Variant(target="gcp", own=False)
    compare._pools(arm, "gcp", v)
    assert any("arm64 nodes" in line for line in v.cannot_give)


# ------------------------------------------------------------------- the command


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = preflight(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_a_target_that_cannot_be_compared_is_refused_in_one_line() -> None:
    code, _, err = run("prod-aws", "--compare", "existing,nowhere")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(f"allowed: {', '.join(COMPARABLE)}" in line for line in lines)
    assert "creates, prices and times none of it" in lines[0]


def test_the_json_document_and_its_markdown_table() -> None:
    doc = compare.document("prod-aws", compared("prod-aws"))
    json.dumps(doc)
    (cluster,) = doc["clusters"]
    assert [v["target"] for v in cluster["variants"]] == ["aws", *(t for t in COMPARABLE if t != "aws")]
    text = compare.markdown(json.loads(json.dumps(doc)))
    assert "| monthly floor |" in text and "| policy verdict |" in text
    assert "digitalocean cannot give: pool spot" in text


def test_the_stacks_whose_targets_change_are_found_against_the_base_commit(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(engine.PROJECT_DIR / "Pulumi.yaml", tmp_path)
    for name in ("prod-do", "prod-gcp"):
        shutil.copy(engine.PROJECT_DIR / "stacks" / f"Pulumi.{name}.yaml", tmp_path / "stacks")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path, check=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "base")
    do = tmp_path / "stacks" / "Pulumi.prod-do.yaml"
    do.write_text(do.read_text().replace("target: digitalocean", "target: aws"))
    gcp = tmp_path / "stacks" / "Pulumi.prod-gcp.yaml"
    gcp.write_text(gcp.read_text().replace("min: 3", "min: 4"))  # a change that keeps the targets
    shutil.copy(engine.PROJECT_DIR / "stacks" / "Pulumi.onprem.yaml", tmp_path / "stacks")  # a new stack
    assert compare.changed("HEAD", tmp_path) == ["onprem", "prod-do"]


def test_a_private_variant_is_planned_with_the_path_from_a_hub() -> None:
    """A private API endpoint needs a declared deployer and its hub (docs/private-deploy.md): the variant plans that
    path to a placeholder hub, so its cost, time and verdict are a deployable stack's."""
    v = variant("prod-aws", "gcp")
    assert v.ok, v.errors
    assert any("placeholder hub" in n and catalogue.HUB_CIDR_PLACEHOLDER in n for n in v.notes), v.notes
    assert variant("prod-aws", "aws").cannot_give == []


def test_a_sites_vpn_moves_with_its_cluster_or_is_reported_lost() -> None:
    config, spec = spec_of("hybrid")
    euw1 = spec.cluster("euw1")
    on_gcp = compare.Variant(target="gcp", own=False)
    ns = compare.namespace(config, spec, euw1, on_gcp)
    assert [(s["name"], s["vpn"]) for s in ns["sites"]] == [("dc1", ["euw1"])]
    parsed = compare.validated(ns, on_gcp)
    assert parsed is not None and parsed.site("dc1").vpn == ["euw1"] and not on_gcp.cannot_give
    on_do = compare.Variant(target="digitalocean", own=False)
    parsed = compare.validated(compare.namespace(config, spec, euw1, on_do), on_do)
    assert parsed is not None and parsed.site("dc1").vpn == []
    assert any(line.startswith("a site-to-site VPN from site dc1") for line in on_do.cannot_give)
    # The on-prem cluster keeps the site it lies on, with no VPN of its own.
    dc1 = compare.Variant(target="onprem", own=True)
    ns = compare.namespace(config, spec, spec.cluster("dc1"), dc1)
    assert [(s["name"], s["vpn"]) for s in ns["sites"]] == [("dc1", [])]
