"""The live directory: fallback, subdivisions, edits picked up, bad edits never served."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.helplines.directory import HelplineDataError, HelplineDirectory
from tests.fixtures.helplines.support import GOOD, bump, copy_good, edit


def test_region_lookup_is_case_insensitive_and_keeps_emergency_apart() -> None:
    gb = HelplineDirectory.load(GOOD).for_region("gb")
    assert (gb.code, gb.name, gb.is_fallback) == ("GB", "United Kingdom", False)
    assert [number.dial for number in gb.emergency] == ["999", "112"]
    assert "999" not in {contact.dial for s in gb.services for contact in s.contacts}


def test_unknown_or_missing_region_gives_the_international_fallback() -> None:
    directory = HelplineDirectory.load(GOOD)
    for code in (None, "", "ZZ", "FR"):
        region = directory.for_region(code)
        assert region.is_fallback
        assert region.international is not None
        assert region.international.url == "https://findahelpline.com/"


def test_fallback_names_the_emergency_number_of_a_known_country() -> None:
    directory = HelplineDirectory.load(GOOD)
    assert [n.dial for n in directory.for_region("FR").emergency] == ["112"]
    assert [n.dial for n in directory.for_region("MY").emergency] == ["999"]
    # No country at all: the common numbers, in file order.
    assert [n.dial for n in directory.for_region(None).emergency] == ["112", "911", "999"]


def test_subdivision_lists_its_own_lines_then_its_countrys() -> None:
    directory = HelplineDirectory.load(GOOD)
    california = directory.for_region("US-CA")
    assert [s.id for s in california.services] == ["us-ca-warmline", "us-988", "us-daytime"]
    # A subdivision without a file falls back to its country, not to the international page.
    texas = directory.for_region("US-TX")
    assert (texas.code, texas.requested, texas.is_fallback) == ("US", "US-TX", False)


def test_regions_are_summarised_with_their_continent() -> None:
    summaries = {s.code: s for s in HelplineDirectory.load(GOOD).regions()}
    assert set(summaries) == {"GB", "IE", "US", "US-CA"}
    assert summaries["GB"].continent == "europe"
    assert summaries["US-CA"].continent == "north-america"


def test_suspended_service_knows_its_replacement() -> None:
    gb = HelplineDirectory.load(GOOD).for_region("GB")
    assert gb.replacements["gb-samaritans"].name == "Samaritans"


def test_an_edit_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    edit(folder / "IE.yml", "name: Samaritans Ireland", "name: Samaritans Éire")
    assert directory.refresh() == []
    assert directory.for_region("IE").services[0].name == "Samaritans Éire"


def test_a_new_region_file_is_picked_up(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    assert directory.for_region("CA").is_fallback
    (folder / "CA.yml").write_text(
        (folder / "US-CA.yml").read_text().replace("US-CA", "CA").replace("us-ca-", "ca-")
    )
    directory.refresh()
    assert not directory.for_region("CA").is_fallback


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("region: IE\nname: [Ireland\n", "not valid YAML"),
        ("a: &a [1, 1]\nb: [*a, *a, *a]\n", "anchors and aliases"),
        ("region: IE\nname: Ireland\nemergency: 112\n", "emergency: Input should be a valid list"),
        ("region: QQ\nname: Nowhere\nemergency: []\n", "'QQ' is not an ISO 3166-1"),
    ],
)
def test_a_corrupted_file_is_rejected_and_the_last_good_data_is_served(
    tmp_path: Path, broken: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    (folder / "IE.yml").write_text(broken)
    bump(folder / "IE.yml")
    with caplog.at_level(logging.ERROR):
        problems = directory.refresh()
    assert len(problems) >= 1 and expected in problems[0]
    assert "IE.yml" in problems[0] and "keeping the last good data" in problems[0]
    assert expected in caplog.text
    ireland = directory.for_region("IE")
    assert (ireland.is_fallback, ireland.services[0].id) == (False, "ie-samaritans")


def test_a_broken_file_is_reported_once_not_on_every_refresh(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    (folder / "IE.yml").write_text("region: [\n")
    bump(folder / "IE.yml")
    assert directory.refresh() != []
    assert directory.refresh() == []


def test_a_fixed_file_replaces_the_kept_copy(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    good_text = (folder / "IE.yml").read_text()
    directory = HelplineDirectory.load(folder)
    (folder / "IE.yml").write_text("region: [\n")
    bump(folder / "IE.yml")
    directory.refresh()
    (folder / "IE.yml").write_text(good_text.replace("Samaritans Ireland", "Fixed"))
    bump(folder / "IE.yml")
    bump(folder / "IE.yml")
    assert directory.refresh() == []
    assert directory.for_region("IE").services[0].name == "Fixed"


def test_a_broken_file_at_start_up_leaves_only_that_region_out(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "IE.yml").write_text("region: IE\nname: Ireland\nemergency: [\n")
    directory = HelplineDirectory.load(folder)
    assert directory.for_region("IE").is_fallback
    assert not directory.for_region("GB").is_fallback


def test_a_deleted_file_stops_being_served(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    (folder / "IE.yml").unlink()
    directory.refresh()
    assert directory.for_region("IE").is_fallback


def test_refresh_does_not_reparse_unchanged_files(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    directory = HelplineDirectory.load(folder)
    before = directory.region_file("GB")
    assert directory.refresh() == []
    assert directory.region_file("GB") is before


def test_no_usable_data_at_all_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "helplines"
    folder.mkdir()
    (folder / "GB.yml").write_text("region: GB\n")
    with pytest.raises(HelplineDataError, match=r"GB.yml.*required field is missing"):
        HelplineDirectory.load(folder)


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HelplineDataError, match="no region files found"):
        HelplineDirectory.load(tmp_path)


def test_the_real_data_loads_every_file() -> None:
    from bot.content import ContentPaths
    from bot.helplines.files import data_files

    folder = ContentPaths.default().helplines
    directory = HelplineDirectory.load(folder)
    expected = {path.stem for path in data_files(folder) if not path.stem.startswith("_")}
    assert directory.codes() == expected
    assert directory.for_region(None).international is not None
