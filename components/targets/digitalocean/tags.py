"""DigitalOcean tags: plain names with a narrow alphabet, so key/value tags become `key:value`."""

from __future__ import annotations

import re
from collections.abc import Mapping

# DigitalOcean tags: letters, digits, colons, dashes and underscores, at most 255 characters.
_TAG_INVALID = re.compile(r"[^A-Za-z0-9:_-]")


def do_tags(tags: Mapping[str, str]) -> list[str]:
    """Key/value tags as DigitalOcean tag names (`key:value`), which are plain strings with a narrow alphabet."""
    return sorted({_TAG_INVALID.sub("-", f"{key}:{value}" if value else key)[:255] for key, value in tags.items()})
