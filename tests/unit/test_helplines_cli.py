"""The `signpost helplines` commands: exit codes, summary line, show and coverage output."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.helplines.commands import register
from tests.fixtures.helplines.support import GOOD, copy_good, edit


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="signpost")
    register(parser.add_subparsers())
    args = parser.parse_args(["helplines", *argv])
    code: int = args.handler(args)
    return code


def test_validate_good_folder_exits_0_with_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(GOOD), "--today", "2026-11-25"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "4 regions, 8 services, 1 warnings"
    assert lines[0].endswith(
        "warning: services[1].provenance.method: unverified: shown with "
        "the international directory beside it"
    )


def test_validate_bad_folder_exits_1_with_file_line_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_good(tmp_path)
    edit(folder / "GB.yml", 'dial: "116123"', 'dial: "+44116123"')
    assert run(["validate", str(folder), "--today", "2026-11-25"]) == 1
    out = capsys.readouterr().out
    assert f"{folder / 'GB.yml'}:39: error: services[1].contacts[0].dial: 116123 is a short" in out
    assert out.splitlines()[-1] == "4 regions, 8 services, 1 warnings, 1 errors"


def test_validate_one_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(GOOD / "GB.yml"), "--today", "2026-11-25"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 regions, 4 services, 0 warnings"


def test_validate_missing_path_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(tmp_path / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().out


def test_show_by_country_name_with_filters(capsys: pytest.CaptureFixture[str]) -> None:
    at = "2026-11-30T10:00:00+00:00"  # Monday morning in London
    assert run(["show", "england", "--path", str(GOOD), "--at", at, "--open-now"]) == 0
    out = capsys.readouterr().out
    assert "Samaritans (24/7)" in out and "Evening Line" not in out
    assert run(["show", "GB", "--path", str(GOOD), "--at", at, "--language", "cy"]) == 0
    out = capsys.readouterr().out
    assert "Samaritans" in out and "Shout" not in out
    assert run(["show", "GB", "--path", str(GOOD), "--at", at, "--topic", "suicide"]) == 0
    assert "Evening Line" not in capsys.readouterr().out


def test_show_unknown_region_prints_the_fallback_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["show", "France", "--path", str(GOOD)]) == 1
    captured = capsys.readouterr()
    assert "helplines for France yet" in captured.out
    assert "international fallback" in captured.err


def test_coverage_writes_markdown_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "helplines.md"
    args = ["coverage", "--path", str(GOOD), "--out", str(out), "--today", "2026-11-25"]
    assert run(args) == 0
    text = out.read_text()
    assert "## Europe (2 of 53 countries)" in text
    # Active services (the suspended one is not counted), 24/7 adult crisis lines, the coverage
    # level, audiences with a line of their own, and how the entries were checked.
    assert (
        "| United Kingdom | GB | 999, 112 | 3 | 2 | 24/7 crisis line checked on its own page | "
        "young-people | 3 / 0 / 0 | 2026-11-01 (24 d) |" in text
    )
    assert "| United States | US | 911 | 2 | 1 |" in text and "| 1 / 0 / 1 |" in text
    assert "Not covered yet:" in text and "France (FR)" in text
    chart = tmp_path / "docs" / "helplines-coverage.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
