"""Tag spelling, shared by the KB705/KB706 check and its fixer."""

from __future__ import annotations

import re

from ..content import ID_RE

TAG_RE = ID_RE  # tags are slugs, like ids: lowercase letters, digits, single hyphens


def normalise_tag(tag: str) -> str:
    """The slug form of a tag: lower case, blanks and underscores as hyphens."""
    return re.sub(r"[\s_]+", "-", tag.strip().lower())
