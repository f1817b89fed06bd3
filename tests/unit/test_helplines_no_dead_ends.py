"""No dead end, for every region file, at several hours: a crisis reply (and `--open-now`)
always shows a crisis line for adults that is open now, or the international directory, and
never only the emergency numbers."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.content import ContentPaths
from bot.core.texts import Texts
from bot.helplines.checks import is_crisis_line, serves_adults
from bot.helplines.directory import HelplineDirectory
from bot.helplines.render import render_helplines
from bot.helplines.schema import Service
from bot.helplines.vocabulary import Filters
from bot.helplines.zones import region_zone

FOLDER = ContentPaths.default().helplines
# Local wall-clock times: Saturday 03:00 (the case), Saturday noon, Sunday 23:30,
# Monday 09:00 (a weekday morning).
LOCAL_TIMES = [
    datetime(2026, 12, 5, 3, 0),
    datetime(2026, 12, 5, 12, 0),
    datetime(2026, 12, 6, 23, 30),
    datetime(2026, 12, 7, 9, 0),
]
_directory = HelplineDirectory.load(FOLDER)
CODES = sorted(_directory.codes())


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(ContentPaths.default().responses)


def _open_adult_crisis_lines(services: tuple[Service, ...], now: datetime) -> list[Service]:
    return [s for s in services if is_crisis_line(s) and serves_adults(s) and s.is_open(now)]


def _assert_no_dead_end(text: str, services: tuple[Service, ...], now: datetime, url: str) -> None:
    lines = text.splitlines()
    assert len(lines) > 2, f"only the title and emergency numbers:\n{text}"
    if url in text:
        return
    shown = [
        s.name
        for s in _open_adult_crisis_lines(services, now)
        if f"• {s.name} (" in text and ("(24/7)" in text or "(open now)" in text)
    ]
    assert shown, f"no open crisis line for adults and no directory link:\n{text}"


def test_there_are_more_than_110_regions() -> None:
    assert len(CODES) >= 110


def test_the_40_most_populous_countries_all_have_a_file() -> None:
    most_populous = [
        "IN",
        "CN",
        "US",
        "ID",
        "PK",
        "NG",
        "BR",
        "BD",
        "RU",
        "ET",
        "MX",
        "JP",
        "EG",
        "PH",
        "CD",
        "VN",
        "IR",
        "TR",
        "DE",
        "TH",
        "GB",
        "TZ",
        "FR",
        "ZA",
        "IT",
        "KE",
        "MM",
        "CO",
        "KR",
        "SD",
        "UG",
        "ES",
        "DZ",
        "IQ",
        "AR",
        "AF",
        "YE",
        "CA",
        "AO",
        "PL",
    ]
    missing = [code for code in most_populous if code not in CODES]
    assert missing == []


@pytest.mark.parametrize("code", CODES)
def test_every_region_every_hour(code: str, texts: Texts) -> None:
    region = _directory.for_region(code)
    assert region.international is not None
    url = region.international.url
    zone = region_zone(code, _directory.region_file(code))
    for wall in LOCAL_TIMES:
        now = wall.replace(tzinfo=zone)
        crisis = render_helplines(region, texts, now, prefer="suicide")
        _assert_no_dead_end(crisis, region.services, now, url)
        open_now = render_helplines(
            region, texts, now, filters=Filters(open_now=True), limit=len(region.services) or 1
        )
        _assert_no_dead_end(open_now, region.services, now, url)
        if not _open_adult_crisis_lines(region.services, now):
            assert url in crisis and url in open_now


def test_croatia_at_3am_on_saturday_is_not_only_112_and_a_childrens_line(texts: Texts) -> None:
    region = _directory.for_region("HR")
    now = datetime(2026, 12, 5, 3, 0).replace(tzinfo=region_zone("HR"))
    text = render_helplines(region, texts, now, filters=Filters(open_now=True))
    assert region.international is not None and region.international.url in text
    assert texts.get("helplines.none_open_now") in text


def test_a_region_with_a_24_7_adult_crisis_line_needs_no_directory_link(texts: Texts) -> None:
    region = _directory.for_region("GB")
    now = datetime(2026, 12, 5, 3, 0).replace(tzinfo=region_zone("GB"))
    text = render_helplines(region, texts, now, prefer="suicide", limit=len(region.services))
    assert "• Samaritans (24/7)" in text
    assert region.international is not None and region.international.url not in text


def test_a_country_without_a_checked_line_says_so_and_gives_the_directory(texts: Texts) -> None:
    region = _directory.for_region("ET")
    model = _directory.region_file("ET")
    assert model is not None and model.crisis_gap and not model.services
    now = datetime(2026, 12, 5, 3, 0).replace(tzinfo=region_zone("ET"))
    lines = render_helplines(region, texts, now, prefer="suicide").splitlines()
    assert lines[1].startswith("🚨") and "911" in lines[1]
    assert lines[2] == texts.get("helplines.no_checked_line", region="Ethiopia")
    assert region.international is not None and region.international.url in lines[3]
