"""What each cluster's API server (and Helm before it) would refuse: every release rendered, every object validated.

The work is in `preflight.admission`; this module hands its rejections to preflight's
exit code 4.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from preflight.rejects import Rejection

if TYPE_CHECKING:
    from preflight.engine import Plan


def check(plan: Plan) -> Iterable[Rejection]:
    from preflight.admission import review

    return review(plan).rejections
