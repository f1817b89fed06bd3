"""`signpost helplines validate`: each known pitfall is caught, at the right file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.content import ContentPaths
from bot.core.texts import Texts
from bot.helplines.issues import Issue, Severity
from bot.helplines.validate import Report, validate_path
from tests.fixtures.helplines.support import GOOD, TODAY, copy_good, edit, line_of


def run(folder: Path) -> Report:
    return validate_path(folder, TODAY)


def errors(report: Report) -> list[Issue]:
    return [issue for issue in report.issues if issue.severity is Severity.ERROR]


def warnings(report: Report) -> list[Issue]:
    return [issue for issue in report.issues if issue.severity is Severity.WARNING]


def only_error(report: Report) -> Issue:
    found = errors(report)
    assert len(found) == 1, [issue.format() for issue in report.issues]
    return found[0]


def test_the_fixture_folder_is_valid_and_summarised() -> None:
    report = run(GOOD)
    assert errors(report) == []
    # The one unverified line is a warning, never silently accepted.
    assert [issue.field for issue in warnings(report)] == ["services[1].provenance.method"]
    assert report.summary() == "4 regions, 8 services, 1 warnings"


def test_short_code_forced_into_plus_country_code_form(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "116123"', 'dial: "+44116123"')
    issue = only_error(run(folder))
    assert "116123 is a short code in GB: it cannot be dialled as +44 116123" in issue.message
    assert issue.line == line_of(folder / "GB.yml", "+44116123")
    assert issue.field == "services[1].contacts[0].dial"


def test_number_filed_under_the_wrong_country(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", '"0300 123 3011"', '"030 901820"')
    edit(folder / "GB.yml", 'dial: "03001233011"', 'dial: "+4930901820"')  # a Berlin number
    issue = only_error(run(folder))
    assert issue.message == "+4930901820 is a number in DE, not GB"
    assert issue.path.name == "GB.yml"


def test_a_toll_free_number_shared_by_the_calling_code_is_not_flagged(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    # +1 800 numbers serve both the US and Canada; phonenumbers files them under US.
    (folder / "CA.yml").write_text(
        (folder / "US-CA.yml")
        .read_text()
        .replace("region: US-CA", "region: CA")
        .replace("us-ca-warmline", "ca-warmline")
        .replace("8558457415", "18006686868")
        .replace("(855) 845-7415", "1-800-668-6868")
    )
    assert errors(run(folder)) == []


def test_crisis_line_stored_as_the_emergency_number(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(
        folder / "IE.yml", 'number: "999"\n    dial: "999"', 'number: "116 123"\n    dial: "116123"'
    )
    issue = only_error(run(folder))
    assert "116123 is Samaritans, a crisis line, not an emergency number" in issue.message
    assert issue.field == "emergency[1].dial"


def test_unknown_number_stored_as_emergency(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(
        folder / "GB.yml",
        'number: "112"\n    dial: "112"',
        'number: "0800 1111"\n    dial: "08001111"',
    )
    assert "is not an emergency number in GB" in only_error(run(folder)).message


def test_emergency_number_listed_as_a_service(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "0800111222"', 'dial: "999"')
    issue = only_error(run(folder))
    assert "999 is the emergency number" in issue.message
    assert issue.field == "services[3].contacts[0].dial"


def test_short_code_missing_from_the_allow_list(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", '"85258"', '"85259"', count=2)
    assert "add it to short_codes.yml" in only_error(run(folder)).message


def test_display_and_dial_must_show_the_same_number(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'display: "116 123"', 'display: "116 132"')
    issue = only_error(run(folder))
    assert issue.message == "display '116 132' does not show the number dialled (116123)"
    assert issue.field == "services[1].contacts[0].dial"


def test_display_in_local_form_for_an_international_dial_is_fine(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "03001233011"', 'dial: "+443001233011"')
    assert errors(run(folder)) == []


def test_sms_keyword_on_a_phone_contact(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "116123"\n', 'dial: "116123"\n        keyword: TALK\n')
    issue = only_error(run(folder))
    assert "keyword is only for sms contacts, not phone" in issue.message
    assert issue.line == line_of(folder / "GB.yml", 'display: "116 123"') - 1


def test_sms_keyword_must_be_one_word(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "keyword: SHOUT", "keyword: text SHOUT")
    assert "must be one word" in only_error(run(folder)).message


def test_duplicated_number_in_two_services_warns(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "0800111222"', 'dial: "03001233011"')
    found = warnings(run(folder))
    assert any("+443001233011 is also listed for GB:gb-evening-line" in w.message for w in found)


def test_duplicated_number_in_two_regions_warns(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "US-CA.yml", 'dial: "8558457415"', 'dial: "+18002738255"')
    found = [w for w in warnings(run(folder)) if "also listed" in w.message]
    assert [w.path.name for w in found] == ["US.yml"] or [w.path.name for w in found] == [
        "US-CA.yml"
    ]
    assert "us-daytime" in found[0].message or "us-ca-warmline" in found[0].message


def test_the_same_eu_short_code_in_two_countries_is_not_a_duplicate() -> None:
    # GB and IE both list 116 123: separate services that share harmonised digits.
    assert not [w for w in warnings(run(GOOD)) if "also listed" in w.message]


def test_topic_outside_the_vocabulary_is_an_error(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    shutil.copy(ContentPaths.default().helplines / "vocabulary.yml", folder)
    edit(folder / "GB.yml", "topics: [suicide, emotional-support]", "topics: [sucide]")
    issue = only_error(run(folder))
    assert (issue.field, issue.line) == (
        "services[2].topics[0]",
        line_of(folder / "GB.yml", "topics: [sucide]"),
    )
    assert "'sucide' is not in vocabulary.yml" in issue.message
    assert "suicide" in issue.message  # the valid words are listed


def test_plain_http_links_are_refused(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "source: https://giveusashout.org/", "source: http://giveusashout.org/")
    issue = only_error(run(folder))
    assert "must be an https:// URL" in issue.message
    assert issue.line == line_of(folder / "GB.yml", "http://giveusashout")


def test_unknown_time_zone(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "timezone: Europe/London", "timezone: Europe/Londn")
    assert "'Europe/Londn' is not an IANA time zone" in only_error(run(folder)).message


def test_impossible_hours(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", '"19:00-23:00"', '"19:00-25:00"')
    assert "is not HH:MM-HH:MM" in only_error(run(folder)).message


def test_stale_entries_warn_after_12_months_and_fail_after_24(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "IE.yml", "last_verified: 2026-11-01", "last_verified: 2025-10-01")
    found = warnings(run(folder))
    assert any("over 12 months" in w.message and w.path.name == "IE.yml" for w in found)
    assert errors(run(folder)) == []
    edit(folder / "IE.yml", "last_verified: 2025-10-01", "last_verified: 2024-10-01")
    assert "over 24 months" in only_error(run(folder)).message


def test_verification_date_in_the_future(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "IE.yml", "last_verified: 2026-11-01", "last_verified: 2027-01-01")
    assert "is in the future" in only_error(run(folder)).message


def test_official_page_needs_its_source(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "      source: https://giveusashout.org/\n", "")
    assert "official-page needs the source URL" in only_error(run(folder)).message


def test_suspended_service_needs_a_replacement(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "    replaced_by: gb-samaritans\n", "")
    assert "suspended service needs replaced_by" in only_error(run(folder)).message


def test_replacement_must_exist(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "replaced_by: gb-samaritans", "replaced_by: gb-nowhere")
    assert "'gb-nowhere' is not a known service id" in only_error(run(folder)).message


def test_unknown_region_code(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "XX.yml").write_text(
        (folder / "IE.yml").read_text().replace("region: IE", "region: XX")
    )
    issue = only_error(run(folder))
    assert "'XX' is not an ISO 3166-1 alpha-2" in issue.message
    assert (issue.path.name, issue.line) == ("XX.yml", 2)


def test_region_must_match_the_file_name(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "IE.yml", "region: IE", "region: GB")
    assert "does not match the file name" in only_error(run(folder)).message


def test_unquoted_number_is_a_type_error_with_a_hint(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "03001233011"', "dial: 03001233011")
    issue = only_error(run(folder))
    assert "valid string" in issue.message and "quote numbers" in issue.message
    assert issue.line == line_of(folder / "GB.yml", "dial: 03001233011")


def test_norway_unquoted_becomes_false_and_is_explained(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "NO.yml").write_text(
        (folder / "IE.yml").read_text().replace("region: IE", "region: NO")
    )
    issue = only_error(run(folder))
    assert issue.field == "region" and "quote it" in issue.message


def test_unknown_field_is_named(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(
        folder / "GB.yml",
        "    topics: [suicide, self-harm",
        "    topcs: [x]\n    topics: [suicide, self-harm",
    )
    found = errors(run(folder))
    assert any(i.field == "services[1].topcs" and "unknown field" in i.message for i in found)


def test_bad_yaml_and_yaml_bombs_are_errors_not_crashes(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "FR.yml").write_text("region: FR\nname: [France\n")
    (folder / "DE.yml").write_text("a: &a [1, 2]\nb: [*a, *a]\n")
    messages = {issue.path.name: issue.message for issue in errors(run(folder))}
    assert messages["FR.yml"].startswith("not valid YAML")
    assert "anchors and aliases" in messages["DE.yml"]


def test_a_misnamed_file_is_reported_not_silently_skipped(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "gb.yml").write_text("region: GB\n")
    assert any("not a region file name" in w.message for w in warnings(run(folder)))


def test_international_advice_keys_must_exist_in_responses(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "_international.yml", "helplines.international.directory", "helplines.nope")
    texts = Texts.load(ContentPaths.default().responses)
    issue = only_error(validate_path(folder, TODAY, set(texts.entries)))
    assert issue.field == "advice[0]" and "'helplines.nope'" in issue.message


def test_emergency_hint_that_is_not_an_emergency_number(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "_international.yml", '"999": [GB, MY]', '"999": [GB, MY, US]')
    issue = only_error(run(folder))
    assert issue.message == "999 is not an emergency number in US (phonenumbers)"
    assert issue.line == line_of(folder / "_international.yml", '"999"')


def test_summary_counts_errors_when_there_are_any(tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", "timezone: Europe/London", "timezone: Mars/Olympus")
    # GB no longer loads, so it is not counted among the valid regions.
    assert run(folder).summary() == "3 regions, 4 services, 1 warnings, 1 errors"


def test_the_real_helpline_folder_validates() -> None:
    """Every committed region file must pass (CI runs the same check)."""
    content = ContentPaths.default()
    texts = Texts.load(content.responses)
    from datetime import UTC, datetime

    report = validate_path(content.helplines, datetime.now(UTC).date(), set(texts.entries))
    assert [issue.format() for issue in errors(report)] == []
    assert (content.helplines / "_international.yml").exists()
