"""OKE target on the mock engine: what is registered for dev and prod, and what is refused before it."""

from __future__ import annotations

from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa2xkqjwvl5mozfh3oqk7wqyoewkn6u3fyyqpmqq3zz7gynffk4dqa"

MINIMAL: dict[str, Any] = {
    "name": "lab",
    "target": "oci",
    "region": "eu-frankfurt-1",
    "compartmentId": COMPARTMENT,
    "apiAccess": {"publicCidrs": ["192.0.2.0/24"]},
}
"""The smallest valid oci cluster: what the contract test builds (tests/test_contract.py)."""
