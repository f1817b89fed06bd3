"""Read one helpline file into a validated model, or into precise issues."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bot.helplines.issues import Issue, Severity, from_validation_error, issue_at
from bot.helplines.schema import INTERNATIONAL, InternationalFile, RegionFile
from bot.helplines.yamlsafe import LoadedYaml, YamlFileError, load_yaml

INTERNATIONAL_FILE = "_international.yml"
SHORT_CODES_FILE = "short_codes.yml"
VOCABULARY_FILE = "vocabulary.yml"
RETIRED_FILE = "retired.yml"
_REGION_STEM = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A file that passed the schema (`model` set) or did not (`issues` say why)."""

    path: Path
    loaded: LoadedYaml | None
    model: RegionFile | InternationalFile | None
    issues: list[Issue] = field(default_factory=list)


def data_files(folder: Path) -> list[Path]:
    """Region files and the international file; README, short codes and others are skipped."""
    return sorted(
        path
        for path in folder.glob("*.yml")
        if path.name == INTERNATIONAL_FILE or _REGION_STEM.match(path.stem)
    )


def stray_files(folder: Path) -> list[Issue]:
    """YAML files that look like data but will never be loaded (a typo in the name)."""
    known = {
        *data_files(folder),
        folder / SHORT_CODES_FILE,
        folder / VOCABULARY_FILE,
        folder / RETIRED_FILE,
    }
    return [
        Issue(
            path,
            None,
            "",
            "not a region file name (like GB.yml or US-CA.yml); ignored",
            Severity.WARNING,
        )
        for path in sorted(folder.glob("*.y*ml"))
        if path not in known
    ]


def parse_file(path: Path) -> ParsedFile:
    """Load and schema-check one file; never raises for bad content."""
    try:
        loaded = load_yaml(path)
    except YamlFileError as exc:
        return ParsedFile(path, None, None, [Issue(path, exc.line, "", exc.reason)])
    if not isinstance(loaded.data, dict):
        return ParsedFile(path, loaded, None, [issue_at(loaded, (), "the file must be a mapping")])
    is_international = path.name == INTERNATIONAL_FILE
    try:
        model: RegionFile | InternationalFile = (
            InternationalFile.model_validate(loaded.data)
            if is_international
            else RegionFile.model_validate(loaded.data)
        )
    except ValidationError as exc:
        return ParsedFile(path, loaded, None, from_validation_error(loaded, exc))
    expected = INTERNATIONAL if is_international else path.stem
    if model.region != expected:
        message = f"region {model.region!r} does not match the file name (expected {expected!r})"
        return ParsedFile(path, loaded, None, [issue_at(loaded, ("region",), message)])
    return ParsedFile(path, loaded, model)
