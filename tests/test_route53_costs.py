"""What global routing adds to the monthly floor: Route 53 health checks by endpoint, and the hosted zone."""

from __future__ import annotations

import pytest

from preflight.estimates import estimate
from preflight.estimates.aws import (
    ROUTE53_HEALTH_CHECK_FEATURE_MONTHLY,
    ROUTE53_HEALTH_CHECK_MONTHLY,
    health_check_features,
)
from tests.harness import plan_stack


def test_each_cluster_of_the_global_name_has_a_health_check_item_at_its_endpoints_price() -> None:
    """dc1's edge is outside AWS; euw1's gateway is an AWS load balancer. Both probe by HTTPS every 10 s."""
    items = {i.name: i for i in estimate(plan_stack("hybrid")).items if i.type == "aws:route53/healthCheck:HealthCheck"}
    assert set(items) == {"dc1-hello-global-health", "euw1-hello-global-health"}
    for name, aws in (("dc1-hello-global-health", False), ("euw1-hello-global-health", True)):
        # Two optional features each: HTTPS and the fast interval.
        expected = ROUTE53_HEALTH_CHECK_MONTHLY[aws] + 2 * ROUTE53_HEALTH_CHECK_FEATURE_MONTHLY[aws]
        assert items[name].cost.monthly == pytest.approx(expected), name
        assert ("non-AWS endpoint" in items[name].cost.basis) is (not aws)
    assert items["dc1-hello-global-health"].cost.monthly == pytest.approx(4.75)
    assert items["euw1-hello-global-health"].cost.monthly == pytest.approx(2.50)


def test_the_routed_records_share_the_hosted_zone_and_name_their_query_price() -> None:
    items = [i for i in estimate(plan_stack("hybrid")).items if i.type == "aws:route53/record:Record"]
    assert len(items) == 2
    assert sum(i.cost.monthly for i in items) == pytest.approx(0.50)
    assert all("failover queries $0.4 per million" in i.cost.basis for i in items)


@pytest.mark.parametrize(
    ("inputs", "features"),
    [
        ({"type": "HTTP", "requestInterval": 30}, []),
        ({"type": "HTTPS", "requestInterval": 10}, ["HTTPS", "fast interval"]),
        (
            {"type": "HTTPS_STR_MATCH", "requestInterval": 10, "measureLatency": True},
            ["HTTPS", "string matching", "fast interval", "latency measurement"],
        ),
        ({"type": "HTTP_STR_MATCH"}, ["string matching"]),
    ],
)
def test_each_optional_feature_of_a_health_check_is_priced(inputs: dict[str, object], features: list[str]) -> None:
    assert health_check_features(inputs) == features
