"""Problems found in helpline files, with where to find them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.helplines.yamlsafe import LoadedYaml, Loc


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    path: Path
    line: int | None
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {self.severity}: {field}{self.message}"


def field_name(loc: Loc) -> str:
    """('services', 0, 'contacts', 1, 'dial') → 'services[0].contacts[1].dial'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def issue_at(
    loaded: LoadedYaml, loc: Loc, message: str, severity: Severity = Severity.ERROR
) -> Issue:
    return Issue(loaded.path, loaded.line_for(loc), field_name(loc), message, severity)


def from_validation_error(loaded: LoadedYaml, error: ValidationError) -> list[Issue]:
    """One issue per pydantic error, worded for someone editing YAML by hand."""
    issues: list[Issue] = []
    for detail in error.errors(include_url=False):
        loc = tuple(part for part in detail["loc"] if isinstance(part, str | int))
        # Literal/union branches add their type name to the location; drop those for people.
        loc = tuple(part for part in loc if not (isinstance(part, str) and "[" in part))
        issues.append(issue_at(loaded, loc, _explain(detail)))
    return issues


def _explain(detail: ErrorDetails) -> str:
    kind, message, value = detail["type"], str(detail["msg"]), detail.get("input")
    if kind == "extra_forbidden":
        return "unknown field (see resources/helplines/README.md for the format)"
    if kind == "missing":
        return "required field is missing"
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if kind == "string_type" and isinstance(value, bool):
        return f"{message}; YAML reads unquoted yes/no/on/off/NO as true/false, so quote it"
    if kind == "string_type" and isinstance(value, int | float):
        return f"{message}; quote numbers, or leading zeros and + are lost"
    return message
