"""What a person sees: emergency first, open lines first, 24/7 marked, honest about gaps."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import ContentPaths
from bot.core.texts import Texts
from bot.helplines.directory import HelplineDirectory
from bot.helplines.render import render_helplines
from tests.fixtures.helplines.support import GOOD, copy_good, edit

# Monday 30 November 2026, 20:00 in London: the evening line is open.
MONDAY_EVENING = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
# Monday 30 November 2026, 10:00 in London: the evening line is closed until 19:00.
MONDAY_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(ContentPaths.default().responses)


@pytest.fixture(scope="module")
def directory() -> HelplineDirectory:
    return HelplineDirectory.load(GOOD)


def render(
    directory: HelplineDirectory, texts: Texts, code: str | None, now: datetime, **kwargs: object
) -> list[str]:
    return render_helplines(directory.for_region(code), texts, now, **kwargs).splitlines()  # type: ignore[arg-type]


def test_emergency_numbers_come_first(directory: HelplineDirectory, texts: Texts) -> None:
    lines = render(directory, texts, "GB", MONDAY_EVENING)
    assert lines[0] == "Helplines for United Kingdom:"
    assert lines[1] == "🚨 If your life is in danger now, call 999 or 112."


def test_open_lines_first_and_24_7_marked(directory: HelplineDirectory, texts: Texts) -> None:
    lines = render(directory, texts, "GB", MONDAY_MORNING)
    headers = [line for line in lines if line.startswith("• ")]
    assert headers == [
        "• Samaritans (24/7)",
        "• Shout (24/7)",
        "• Evening Line (closed now, opens at 19:00)",
    ]


def test_an_open_limited_hours_line_says_open_now(
    directory: HelplineDirectory, texts: Texts
) -> None:
    lines = render(directory, texts, "GB", MONDAY_EVENING)
    assert "• Evening Line (open now)" in lines


def test_closed_line_names_the_day_it_opens(directory: HelplineDirectory, texts: Texts) -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    lines = render(directory, texts, "GB", saturday)
    assert "• Evening Line (closed now, opens Sunday 22:00)" in lines


def test_contacts_show_how_to_reach_them(directory: HelplineDirectory, texts: Texts) -> None:
    lines = render(directory, texts, "GB", MONDAY_EVENING)
    assert "call 116 123 (free) · chat online: https://www.samaritans.org/chat (free)" in lines
    assert "text SHOUT to 85258 (free)" in lines
    assert "call 0300 123 3011" in lines  # standard rate: no "free"


def test_suspended_service_is_shown_as_its_replacement(
    directory: HelplineDirectory, texts: Texts
) -> None:
    lines = render(directory, texts, "GB", MONDAY_EVENING, limit=10)
    assert not any("Old Line" in line for line in lines)  # already listed as Samaritans
    assert "0800 111 222" not in "\n".join(lines)


def test_suspended_service_replacement_is_announced(tmp_path: Path, texts: Texts) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "replaced_by: gb-samaritans", "replaced_by: gb-shout")
    # Put the old line first so its replacement takes its place in the list.
    directory = HelplineDirectory.load(folder)
    gb = directory.for_region("GB")
    old = next(s for s in gb.services if s.id == "gb-old-line")
    gb = replace(gb, services=(old, *(s for s in gb.services if s.id != "gb-old-line")))
    lines = render_helplines(gb, texts, MONDAY_EVENING, limit=10).splitlines()
    index = lines.index("Old Line has closed; instead:")
    assert lines[index + 1] == "• Shout (24/7)"
    assert sum(line == "• Shout (24/7)" for line in lines) == 1


def test_unverified_line_is_flagged_with_the_directory(
    directory: HelplineDirectory, texts: Texts
) -> None:
    lines = render(directory, texts, "US", datetime(2026, 12, 1, 15, tzinfo=UTC))
    daytime = lines.index("• Daytime Warmline (open now)")
    assert lines[daytime + 2] == "unverified — also see https://findahelpline.com/"
    lifeline = lines.index("• 988 Lifeline (24/7)")
    assert not lines[lifeline + 2].startswith("unverified")


def test_a_year_old_entry_is_flagged_too(tmp_path: Path, texts: Texts) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "IE.yml", "last_verified: 2026-11-01", "last_verified: 2025-09-01")
    lines = render(HelplineDirectory.load(folder), texts, "IE", MONDAY_EVENING)
    assert lines[-1] == "unverified — also see https://findahelpline.com/"


def test_topic_filter_and_its_honest_fallback(directory: HelplineDirectory, texts: Texts) -> None:
    suicide = render(directory, texts, "GB", MONDAY_EVENING, topic="suicide")
    assert [line for line in suicide if line.startswith("• ")] == [
        "• Samaritans (24/7)",
        "• Shout (24/7)",
    ]
    unknown = render(directory, texts, "GB", MONDAY_EVENING, topic="gambling")
    assert "No line here is listed for that topic, so here are all of them:" in unknown
    assert "• Evening Line (open now)" in unknown


def test_limit_keeps_it_short_and_points_to_more(
    directory: HelplineDirectory, texts: Texts
) -> None:
    lines = render(directory, texts, "GB", MONDAY_MORNING, limit=1)
    assert [line for line in lines if line.startswith("• ")] == ["• Samaritans (24/7)"]
    assert lines[-1] == "More helplines: Find A Helpline https://findahelpline.com/"


def test_fallback_for_a_country_without_a_file(directory: HelplineDirectory, texts: Texts) -> None:
    lines = render(directory, texts, "FR", MONDAY_EVENING)
    assert lines[0] == "I don't have a checked list of helplines for France yet."
    assert lines[1] == "🚨 If your life is in danger now, call 112."
    assert any("https://findahelpline.com/" in line for line in lines)


def test_fallback_for_a_country_without_a_known_emergency_number(
    directory: HelplineDirectory, texts: Texts
) -> None:
    lines = render(directory, texts, "JP", MONDAY_EVENING)
    assert lines[0] == "I don't have a checked list of helplines for Japan yet."
    assert lines[1] == (
        "🚨 If your life is in danger now, call your local emergency number "
        "(112, 911 or 999 in many places)."
    )


def test_fallback_without_any_country(directory: HelplineDirectory, texts: Texts) -> None:
    lines = render(directory, texts, None, MONDAY_EVENING)
    assert lines[0] == "I don't know which country you're in yet."
    assert "(112, 911 or 999 in many places)" in lines[1]
    assert lines[-1].startswith("Tell me your country")


def test_every_word_comes_from_responses(directory: HelplineDirectory, texts: Texts) -> None:
    def shout(template: str) -> str:  # upper-case the words, keep the {fields}
        return re.sub(r"[^{}]+(?=\{|$)", lambda match: match.group(0).upper(), template)

    shouting = Texts(
        texts.locale,
        {key: shout(value) for key, value in texts.entries.items() if isinstance(value, str)},
    )
    lines = render(directory, shouting, "GB", MONDAY_MORNING)
    assert lines[0] == "HELPLINES FOR United Kingdom:"
    assert "• Evening Line (CLOSED NOW, OPENS AT 19:00)" in lines
    assert "TEXT SHOUT TO 85258 (FREE)" in lines


def test_a_crisis_reply_prefers_suicide_lines_among_open_ones(
    directory: HelplineDirectory, texts: Texts
) -> None:
    region = directory.for_region("GB")
    plain = [s.name for s in region.services if s.is_open(MONDAY_EVENING)]
    ordered = render_helplines(region, texts, MONDAY_EVENING, prefer="suicide").splitlines()
    headers = [line for line in ordered if line.startswith("• ")]
    suicide = {s.name for s in region.services if "suicide" in s.topics}
    seen_other = False
    for header in headers:
        name = header[2:].split(" (")[0]
        if name not in suicide:
            seen_other = True
        elif seen_other and name in plain:
            raise AssertionError(f"{name} is a suicide line but comes after another open line")
