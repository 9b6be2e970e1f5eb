"""Code fences, as `kbtool.content.iter_prose_lines` reads them (lint's own copy of the rule
until lint uses the shared Markdown scanner): a fence opens with 3+ backticks or tildes
indented at most 3 spaces, and closes with a line repeating the marker with no info string."""

from __future__ import annotations

import re

FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def unclosed_fence(body: str) -> tuple[int, str] | None:
    """(0-based line, marker) of a code fence that is never closed, else None."""
    fence: str | None = None
    start = 0
    for i, line in enumerate(body.split("\n")):
        m = FENCE_RE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence, start = marker[0] * len(marker), i
            elif marker.startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
    return (start, fence) if fence is not None else None
