"""Helm working on its own thread while the program runs (`preflight.render.Ahead`) changes nothing the review sees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.workloads import platform
from preflight import admission, engine, mirror, render, stackconfig
from preflight.engine import Plan
from preflight.stackconfig import StackConfig


def forget() -> None:
    """Render from scratch, so that the worker's results are the ones compared."""
    render._render.cache_clear()
    render._load.cache_clear()


@pytest.fixture(autouse=True)
def fresh_renders() -> Iterator[None]:
    forget()
    yield
    forget()


def lab(env: str = "dev") -> StackConfig:
    cluster = {"name": "lab", "target": "existing", "kubeconfigPath": "/nonexistent/kubeconfig"}
    return stackconfig.from_values({"environment": env, "clusters": [cluster], "workloads": []}, stack=f"ahead-{env}")


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("preflight-helm")]


def ahead(config: StackConfig) -> tuple[Plan, render.Ahead]:
    worker = render.Ahead.start()
    plan = engine.run(config, watch=worker.watch)
    assert plan.ok, plan.errors
    return plan, worker


def seen(plan: Plan) -> list[Any]:
    """What the review reads of every release, in its order; metrics-server's certificate is random on each render."""
    return [
        (
            c.name,
            c.minor,
            r.registration.urn,
            r.missing,
            r.rendered and (r.rendered.error, r.rendered.schema_errors),
            [o if r.name != "metrics-server" else (o["kind"], o["metadata"]) for o in r.installed],
        )
        for c in render.clusters(plan)
        for r in c.releases
    ]


def test_helm_renders_each_release_as_it_registers_and_the_review_reads_the_same() -> None:
    config = stackconfig.load(engine.PROJECT_DIR, "dev")
    in_line = seen(engine.run(config))
    forget()

    plan, worker = ahead(config)
    releases = plan.resources(render.RELEASE)
    asked = list(worker._pending)  # before the review asks for anything
    assert sorted(name for _, _, _, name, *_ in asked) == sorted(r.plain["name"] for r in releases)
    try:
        assert seen(plan) == in_line
        assert not worker._pending  # every render was taken, none done twice
    finally:
        worker.close()
    assert not workers()


def test_a_failure_on_the_worker_is_reported_as_without_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = platform.cert_manager_values
    monkeypatch.setattr(platform, "cert_manager_values", lambda env: {**real(env), "replicaCount": "one"})
    expected = [r.line() for r in admission.review(engine.run(lab())).rejections]
    assert any("values.replicaCount: got string, want number" in line for line in expected)
    forget()
    plan, worker = ahead(lab())
    try:
        assert [r.line() for r in admission.review(plan).rejections] == expected
    finally:
        worker.close()

    # A chart the mirror lacks raises on the worker; the review reads the same line as when it loads in line.
    monkeypatch.setenv(mirror.MIRROR_ENV, str(tmp_path))
    forget()
    plan, worker = ahead(lab("staging"))
    try:
        missing = [r.line() for r in admission.review(plan).rejections]
    finally:
        worker.close()
    forget()
    assert missing == [r.line() for r in admission.review(engine.run(lab("staging"))).rejections]
    assert missing and all("is not in the chart mirror" in line for line in missing)


def test_closing_drops_what_the_worker_has_not_started() -> None:
    plan, worker = ahead(lab())
    worker.close()
    assert not workers()
    assert render._AHEAD is None
    assert render.clusters(plan)  # rendered in line, as without a worker
