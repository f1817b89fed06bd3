"""Weekly opening hours in a region's own time zone.

Ranges are wall-clock times (`"19:00-23:00"`) because that is how services publish them; an end
at or before the start runs past midnight into the next day. Comparing wall-clock times in the
service's zone (via zoneinfo) keeps daylight-saving changes right without any offsets in data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Shorthands a maintainer may use instead of listing days one by one.
DAY_GROUPS: Mapping[str, tuple[str, ...]] = {
    "daily": DAYS,
    "weekdays": DAYS[:5],
    "weekend": DAYS[5:],
}
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Span:
    """Minutes from local midnight; `end` may exceed a day for overnight ranges."""

    start: int
    end: int


def parse_range(text: str) -> Span:
    """`"22:00-02:00"` → Span(1320, 1560). Raises ValueError with a reason a maintainer reads."""
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM (24-hour clock)")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h2 == 24 and m2:
        raise ValueError(f"{text!r}: 24:00 is the latest end time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time; for all day use 00:00-24:00")
    if end < start:
        end += MINUTES_PER_DAY  # overnight: ends the next day
    return Span(start, end)


def expand_days(schedule: Mapping[str, Sequence[str]]) -> dict[str, list[Span]]:
    """Turn `{weekdays: [...], sat: [...]}` into spans per day name (mon..sun)."""
    out: dict[str, list[Span]] = {day: [] for day in DAYS}
    for key, ranges in schedule.items():
        days = DAY_GROUPS.get(key, (key,))
        for day in days:
            out[day].extend(parse_range(text) for text in ranges)
    return out


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _occurrences(
    spans: Mapping[str, list[Span]], zone: ZoneInfo, first: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """Each opening as (start, end) in local wall-clock datetimes, day by day from `first`."""
    for offset in range(days):
        day = first + timedelta(days=offset)
        midnight = _local_midnight(day, zone)
        for span in spans[DAYS[day.weekday()]]:
            # Wall-clock arithmetic: adding a timedelta to an aware datetime keeps the wall
            # clock and re-resolves the offset, which is what published hours mean across DST.
            yield midnight + timedelta(minutes=span.start), midnight + timedelta(minutes=span.end)


def is_open_at(spans: Mapping[str, list[Span]], zone: ZoneInfo, now: datetime) -> bool:
    """True when `now` (timezone-aware) falls in an opening, including yesterday's overnight."""
    local = _require_aware(now).astimezone(zone)
    wall = local.replace(tzinfo=None)
    for start, end in _occurrences(spans, zone, local.date() - timedelta(days=1), 2):
        if start.replace(tzinfo=None) <= wall < end.replace(tzinfo=None):
            return True
    return False


def next_opening(spans: Mapping[str, list[Span]], zone: ZoneInfo, now: datetime) -> datetime | None:
    """Start of the next opening after `now`, in the service's zone; None if it never opens."""
    local = _require_aware(now).astimezone(zone)
    wall = local.replace(tzinfo=None)
    starts = [
        start
        for start, _ in _occurrences(spans, zone, local.date(), 8)
        if start.replace(tzinfo=None) > wall
    ]
    return min(starts, key=lambda moment: moment.replace(tzinfo=None)) if starts else None


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("opening hours need a timezone-aware datetime")
    return now
