"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> policies`): build and serve the pack."""

import sys
from pathlib import Path

# The rules import the target registry (`components.targets`) and each other as `policies.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.pack import build

build()
