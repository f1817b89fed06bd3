"""`signpost helplines validate`: every check over a folder (or one file), with a summary."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.helplines.checks import (
    NumberUse,
    check_across,
    check_international,
    check_region,
)
from bot.helplines.files import (
    RETIRED_FILE,
    SHORT_CODES_FILE,
    VOCABULARY_FILE,
    data_files,
    parse_file,
    stray_files,
)
from bot.helplines.issues import Issue, Severity
from bot.helplines.phones import ShortCodes
from bot.helplines.retired import RetiredNumbers
from bot.helplines.schema import RegionFile
from bot.helplines.vocabulary import Vocabulary, load_vocabulary
from bot.helplines.yamlsafe import YamlFileError


@dataclass(frozen=True, slots=True)
class Report:
    issues: tuple[Issue, ...]
    regions: int
    services: int

    @property
    def errors(self) -> int:
        return sum(issue.severity is Severity.ERROR for issue in self.issues)

    @property
    def warnings(self) -> int:
        return sum(issue.severity is Severity.WARNING for issue in self.issues)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def summary(self) -> str:
        line = f"{self.regions} regions, {self.services} services, {self.warnings} warnings"
        return f"{line}, {self.errors} errors" if self.errors else line


def validate_path(path: Path, today: date, response_keys: Collection[str] | None = None) -> Report:
    """Validate a folder of helpline files, or one file (short codes come from its folder).

    `response_keys` (from `Texts.entries`) lets the international advice keys be checked.
    """
    folder = path if path.is_dir() else path.parent
    issues: list[Issue] = []
    try:
        short_codes = ShortCodes.load(folder / SHORT_CODES_FILE)
    except YamlFileError as exc:
        short_codes = ShortCodes({})
        issues.append(Issue(exc.path, exc.line, "", exc.reason))
    vocabulary = Vocabulary()
    try:
        vocabulary = load_vocabulary(folder / VOCABULARY_FILE)
    except YamlFileError as exc:
        issues.append(Issue(exc.path, exc.line, "", exc.reason))
    retired = RetiredNumbers({})
    try:
        retired = RetiredNumbers.load(folder / RETIRED_FILE)
    except YamlFileError as exc:
        issues.append(Issue(exc.path, exc.line, "", exc.reason))
    if path.is_dir():
        paths = data_files(path)
        issues.extend(stray_files(path))
    elif path.exists():
        paths = [path]
    else:
        return Report((Issue(path, None, "", "no such file or folder"),), 0, 0)
    parsed = [parse_file(each) for each in paths]
    uses: list[NumberUse] = []
    for each in parsed:
        issues.extend(each.issues)
        if isinstance(each.model, RegionFile):
            found, numbers = check_region(each, short_codes, today, vocabulary, retired)
            issues.extend(found)
            uses.extend(numbers)
        elif each.model is not None:
            issues.extend(check_international(each, short_codes, response_keys, today))
    issues.extend(check_across(parsed, uses))
    regions = [each.model for each in parsed if isinstance(each.model, RegionFile)]
    services = sum(len(model.services) for model in regions)
    ordered = sorted(issues, key=lambda issue: (str(issue.path), issue.line or 0))
    return Report(tuple(ordered), len(regions), services)
