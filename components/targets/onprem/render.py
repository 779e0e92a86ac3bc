"""Bootstrap scripts live as files next to this module and get their parameters as a header.

Rendering only prepends `export NAME='value'` lines after the shebang, so the
script under review (and under shellcheck) is byte for byte what runs on a node,
and a node sees each parameter exactly once, quoted.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def render(script: str, params: Mapping[str, str]) -> str:
    """The script `scripts/<script>` with `params` exported before its first command."""
    body = (SCRIPTS / script).read_text()
    shebang, _, rest = body.partition("\n")
    header = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(params.items()))
    return f"{shebang}\n{header}{rest}"
