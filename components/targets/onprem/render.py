"""Bootstrap scripts live as files next to this module and get their parameters as a header.

A node gets its public parameters on the command line (`command_line`, visible
in a plan and to policies) and its secret ones as `export NAME='value'` lines that
`render` puts after the shebang of the script it sends on stdin. Either way the
script under review (and under shellcheck) is byte for byte what runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def render(script: str, params: Mapping[str, str]) -> str:
    """The script `scripts/<script>` with `params` exported before its first command."""
    body = (SCRIPTS / script).read_text()
    shebang, _, rest = body.partition("\n")
    header = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(params.items()))
    return f"{shebang}\n{header}{rest}"


def command_line(params: Mapping[str, str]) -> str:
    """Run the script from stdin as root with `params` in its environment."""
    assigns = " ".join(f"{name}={shlex.quote(value)}" for name, value in sorted(params.items()))
    return f"sudo -n env {assigns} bash -s" if assigns else "sudo -n bash -s"
