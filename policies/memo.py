"""Keys for checks that are pure in their input, so that a plan pays for each distinct input once.

A fleet's clusters carry the same objects again and again (a chart's CRDs and RBAC, the
same namespace on every cluster), and validating one against a schema depends on
nothing but its content. Shared by the pack's rules and preflight's validator.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any


def content_key(value: Any) -> bytes | None:
    """A digest of a value's exact content; None when it cannot be had (something unpicklable in it).

    Pickle keeps apart what can change a verdict: key order (the order errors come in),
    1 from 1.0 from True, a list from a tuple (jsonschema takes only a list for an array).
    Two equal values may pickle differently (shared sub-objects); that costs a second
    check, never a wrong verdict.
    """
    try:
        return hashlib.blake2b(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), digest_size=20).digest()
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None
