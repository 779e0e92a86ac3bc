"""Shared fixtures: plan a shipped stack or a spec written in the test, on the one harness (`tests/harness.py`)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from preflight.engine import Plan
from preflight.sdkimport import EAGER_ENV
from tests.harness import plan_spec, plan_stack

# Every `python -m preflight` a test starts imports the provider SDKs as shipped, and leaves no compiler
# running behind it; tests/test_sdkimport.py holds the postponed-annotation imports to the same plans.
os.environ[EAGER_ENV] = "1"

__all__ = ["plan_spec", "plan_stack"]


@pytest.fixture
def plan() -> Callable[..., Plan]:
    return plan_spec
