"""Where preflight keeps what it works out once per machine, and how a cache file is written.

Every cache lives under `~/.cache/orquestra` (`$XDG_CACHE_HOME` if set): fetched charts,
parsed manifests, the CEL parser and parse trees, provider SDK bytecode. A file is
written under a name of its own and moved into place once whole, so a concurrent run
reads a whole file or none. Standard library only: the SDK bytecode cache is consulted
before anything else is imported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orquestra"


@contextlib.contextmanager
def replacing(name: str | Path, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    """A file written under a name of its own and moved to `name` once whole; the partial file never stays."""
    partial_name = f"{name}.{os.getpid()}.tmp"
    try:
        with open(partial_name, mode, **kwargs) as f:
            yield f
        os.replace(partial_name, name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(partial_name)
