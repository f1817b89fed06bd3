"""Opening hours: overnight ranges and daylight-saving changes in the service's own zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.helplines.schema import Hours

LONDON_EVENINGS = Hours(
    timezone="Europe/London",
    open={"weekdays": ["19:00-23:00"], "sun": ["22:00-02:00"]},
)
NEW_YORK_OFFICE = Hours(timezone="America/New_York", open={"weekdays": ["09:00-17:00"]})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-29 21:59", False),  # Sunday, before the overnight shift
        ("2026-11-29 22:00", True),  # Sunday 22:00 starts it
        ("2026-11-30 01:59", True),  # Monday small hours: still Sunday's shift
        ("2026-11-30 02:00", False),  # the overnight shift has ended
        ("2026-12-01 01:00", False),  # Tuesday small hours: Monday's range did not run overnight
    ],
)
def test_overnight_range_runs_into_the_next_day(moment: str, expected: bool) -> None:
    assert LONDON_EVENINGS.is_open(utc(moment)) is expected


def test_london_evening_line_follows_british_summer_time() -> None:
    # 18:30 UTC is 19:30 in BST (open) but 18:30 in GMT (closed).
    assert LONDON_EVENINGS.is_open(utc("2026-07-06 18:30")) is True
    assert LONDON_EVENINGS.is_open(utc("2026-12-07 18:30")) is False


def test_overnight_shift_across_the_spring_forward_night_in_london() -> None:
    # Clocks go forward on Sunday 29 March 2026 at 01:00 GMT; the Sunday 22:00-02:00 shift
    # begins after the change, at 21:00 UTC, and ends Monday 02:00 BST = 01:00 UTC.
    assert LONDON_EVENINGS.is_open(utc("2026-03-29 20:59")) is False
    assert LONDON_EVENINGS.is_open(utc("2026-03-29 21:00")) is True
    assert LONDON_EVENINGS.is_open(utc("2026-03-30 00:59")) is True
    assert LONDON_EVENINGS.is_open(utc("2026-03-30 01:00")) is False


def test_overnight_shift_across_the_autumn_change_in_london() -> None:
    # Clocks go back on Sunday 25 October 2026; that evening is GMT, so 22:00 local = 22:00 UTC.
    assert LONDON_EVENINGS.is_open(utc("2026-10-25 21:30")) is False
    assert LONDON_EVENINGS.is_open(utc("2026-10-25 22:30")) is True


def test_new_york_office_hours_on_both_sides_of_the_march_change() -> None:
    # US clocks go forward on Sunday 8 March 2026.
    assert NEW_YORK_OFFICE.is_open(utc("2026-03-06 13:30")) is False  # Fri 08:30 EST
    assert NEW_YORK_OFFICE.is_open(utc("2026-03-06 14:30")) is True  # Fri 09:30 EST
    assert NEW_YORK_OFFICE.is_open(utc("2026-03-09 13:30")) is True  # Mon 09:30 EDT
    assert NEW_YORK_OFFICE.is_open(utc("2026-03-09 21:30")) is False  # Mon 17:30 EDT


def test_new_york_closing_time_after_the_november_change() -> None:
    # US clocks go back on Sunday 1 November 2026: Monday 17:00 EST is 22:00 UTC.
    assert NEW_YORK_OFFICE.is_open(utc("2026-11-02 21:59")) is True
    assert NEW_YORK_OFFICE.is_open(utc("2026-11-02 22:00")) is False


def test_next_opening_is_in_local_time() -> None:
    friday_evening = utc("2026-03-06 23:00")  # Fri 18:00 EST, closed for the weekend
    opening = NEW_YORK_OFFICE.next_opening(friday_evening)
    assert opening is not None
    assert (opening.strftime("%a %H:%M"), opening.utcoffset()) == (
        "Mon 09:00",
        datetime(2026, 3, 9, 13, tzinfo=UTC).astimezone(opening.tzinfo).utcoffset(),
    )
    assert opening.astimezone(UTC) == utc("2026-03-09 13:00")  # after the change: EDT


def test_always_open() -> None:
    assert Hours(always=True).is_open(utc("2026-01-01 03:00")) is True
    assert Hours(always=True).next_opening(utc("2026-01-01 03:00")) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        NEW_YORK_OFFICE.is_open(datetime(2026, 3, 9, 10))


@pytest.mark.parametrize(
    ("hours", "reason"),
    [
        ({"timezone": "Europe/London", "open": {"mon": ["9:00-17:00"]}}, "HH:MM-HH:MM"),
        ({"timezone": "Europe/London", "open": {"mon": ["10:00-10:00"]}}, "same time"),
        ({"timezone": "Europe/London", "open": {"monday": ["10:00-12:00"]}}, "mon"),
        ({"timezone": "Europe/Lndon", "open": {"mon": ["10:00-12:00"]}}, "IANA"),
        ({"always": True, "timezone": "Europe/London"}, "not both"),
        ({"always": False}, "needs always: true"),
    ],
)
def test_bad_hours_are_explained(hours: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Hours.model_validate(hours)


def test_all_day_can_be_written_with_24_00() -> None:
    hours = Hours(timezone="Europe/Paris", open={"sat": ["00:00-24:00"]})
    assert hours.is_open(utc("2026-11-28 22:59")) is True  # Sat 23:59 Paris
    assert hours.is_open(utc("2026-11-28 23:00")) is False  # Sun 00:00 Paris
