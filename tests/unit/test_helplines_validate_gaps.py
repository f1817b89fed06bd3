"""The validator's newer checks: retired numbers, numbers copied across countries, dead ends."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.content import ContentPaths
from bot.helplines.issues import Issue, Severity
from bot.helplines.validate import Report, validate_path
from tests.fixtures.helplines.support import TODAY, copy_good, edit, line_of

REAL = ContentPaths.default().helplines

CANADA = """\
region: CA
name: Canada
emergency:
  - number: "911"
    dial: "911"
services:
  - id: ca-warmline
    name: Warmline
    description: Someone to talk to.
    topics: [suicide, emotional-support]
    languages: [en]
    contacts:
      - kind: phone
        display: "(855) 845-7415"
        dial: "8558457415"
        hours:
          always: true
    provenance:
      source: https://example.org/warmline
      last_verified: 2026-11-01
      method: official-page
"""


def run(folder: Path) -> Report:
    return validate_path(folder, TODAY)


def errors(report: Report) -> list[Issue]:
    return [issue for issue in report.issues if issue.severity is Severity.ERROR]


def test_a_retired_number_fails_and_names_its_replacement(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    shutil.copy(REAL / "retired.yml", folder)
    found = errors(run(folder))
    assert len(found) == 1, [issue.format() for issue in found]
    issue = found[0]
    assert issue.path.name == "US.yml"
    assert issue.line == line_of(folder / "US.yml", '"+18002738255"')
    assert "+18002738255 is retired" in issue.message
    assert "use 988" in issue.message
    assert "texvet.org" in issue.message  # the page that says so


def test_a_retired_number_is_caught_in_national_form_too(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    shutil.copy(REAL / "retired.yml", folder)
    edit(folder / "US.yml", 'dial: "+18002738255"', 'dial: "18002738255"')
    (issue,) = errors(run(folder))
    assert "18002738255 is retired" in issue.message


def test_adding_the_old_lifeline_to_a_copy_of_the_real_us_file_fails(tmp_path: Path) -> None:
    folder = tmp_path / "helplines"
    folder.mkdir()
    for name in ("US.yml", "short_codes.yml", "vocabulary.yml", "retired.yml"):
        shutil.copy(REAL / name, folder)
    today = datetime.now(UTC).date()
    assert errors(validate_path(folder, today)) == []
    edit(
        folder / "US.yml",
        "      - kind: webchat\n        display: 988lifeline.org",
        '      - kind: phone\n        display: "1-800-273-8255"\n        dial: "18002738255"\n'
        "      - kind: webchat\n        display: 988lifeline.org",
    )
    (issue,) = errors(validate_path(folder, today))
    assert "is retired" in issue.message and "988" in issue.message


def test_a_number_copied_into_another_countrys_file_is_an_error(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "CA.yml").write_text(CANADA, encoding="utf-8")
    (issue,) = errors(run(folder))
    assert "+18558457415 is also listed for" in issue.message
    assert "copied from another country's file" in issue.message
    assert "shared_with" in issue.message


def test_shared_with_on_both_sides_makes_it_a_warning(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "CA.yml").write_text(
        CANADA.replace("    provenance:", "    shared_with: [US]\n    provenance:"),
        encoding="utf-8",
    )
    edit(folder / "US-CA.yml", "    provenance:", "    shared_with: [CA]\n    provenance:")
    report = run(folder)
    assert errors(report) == []
    assert any("(shared_with)" in issue.message for issue in report.issues)


def test_shared_with_on_one_side_only_is_not_enough(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "CA.yml").write_text(
        CANADA.replace("    provenance:", "    shared_with: [US]\n    provenance:"),
        encoding="utf-8",
    )
    assert len(errors(run(folder))) == 1


def test_the_same_number_within_one_country_stays_a_warning(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "US-CA.yml", 'dial: "8558457415"', 'dial: "988"')
    edit(folder / "US-CA.yml", '"(855) 845-7415"', '"988"')
    report = run(folder)
    assert errors(report) == []
    assert any("US:988 is also listed" in issue.message for issue in report.issues)


def test_a_region_whose_only_line_is_for_children_needs_a_crisis_gap_note(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    ie = folder / "IE.yml"
    edit(ie, "topics: [suicide, emotional-support]", "topics: [abuse]")
    (issue,) = errors(run(folder))
    assert issue.path.name == "IE.yml"
    assert "no active suicide or emotional-support line for adults" in issue.message
    edit(ie, "services:", "crisis_gap: No adult crisis line could be confirmed.\nservices:")
    assert errors(run(folder)) == []


def test_a_region_without_a_24_7_suicide_line_warns(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(
        folder / "IE.yml",
        "          always: true",
        '          timezone: Europe/Dublin\n          open:\n            daily: ["09:00-17:00"]',
    )
    report = run(folder)
    assert errors(report) == []
    assert any(
        issue.path.name == "IE.yml" and "no 24/7 line tagged suicide" in issue.message
        for issue in report.issues
    )
