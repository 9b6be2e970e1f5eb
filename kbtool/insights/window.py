"""Time: `--since 30d` / `12w` / an ISO date, the report's window, and its day or week buckets.

All in UTC: events are stored in UTC, and a team's replicas may sit in different zones.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from .model import Window

_RELATIVE = re.compile(r"^\s*(\d{1,5})\s*([dwh])\s*$", re.I)
_UNIT = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}
# Up to this many days the timeline is per day; longer windows are per ISO week (Monday).
DAILY_UP_TO = 45


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """`30d`, `12w`, `48h` (that long before `now`), or an ISO date / datetime (a date is
    its midnight UTC; a naive datetime is UTC). Raises ValueError saying what is accepted."""
    m = _RELATIVE.match(value)
    if m:
        return (now or datetime.now(UTC)) - int(m.group(1)) * _UNIT[m.group(2).lower()]
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected a duration such as 30d, 12w or 48h, or an ISO date (2026-11-01), "
                         f"got {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def make_window(since: datetime | None, until: datetime | None, first: datetime | None,
                last: datetime | None, bucket: str = "auto") -> Window:
    """The window asked for. An open start is the data's first day (midnight), else 30 days
    before the end; an open end is now when a start was given, else the day after the data's
    last event, else now."""
    now = datetime.now(UTC)
    end = until or (_midnight(last) + timedelta(days=1) if last and since is None else now)
    start = since or (_midnight(first) if first else end - timedelta(days=30))
    if start >= end:
        raise ValueError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    if bucket == "auto":
        bucket = "day" if (end - start) <= timedelta(days=DAILY_UP_TO) else "week"
    if bucket not in ("day", "week"):
        raise ValueError(f"bucket: expected auto, day or week, got {bucket!r}")
    return Window(start, end, bucket)


def _midnight(dt: datetime) -> datetime:
    return datetime.combine(dt.astimezone(UTC).date(), time(), UTC)


def bucket_of(window: Window, dt: datetime) -> date:
    d = dt.astimezone(UTC).date()
    return d - timedelta(days=d.weekday()) if window.bucket == "week" else d


def buckets(window: Window) -> list[date]:
    """Every bucket start of the window, empty ones included (a chart needs its zeros)."""
    out = []
    d = bucket_of(window, window.since)
    step = timedelta(days=7 if window.bucket == "week" else 1)
    while datetime.combine(d, time(), UTC) < window.until:
        out.append(d)
        d += step
    return out


def days(window: Window) -> list[date]:
    """Every UTC day the window touches (spikes are per day whatever the timeline's bucket)."""
    first, out = window.since.astimezone(UTC).date(), []
    while datetime.combine(first, time(), UTC) < window.until:
        out.append(first)
        first += timedelta(days=1)
    return out


__all__ = ["DAILY_UP_TO", "bucket_of", "buckets", "days", "make_window", "parse_when"]
