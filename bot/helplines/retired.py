"""Numbers that used to be helplines and no longer are (`retired.yml`), with their successors.

Old numbers live on in lists, posters and other projects' data for years (the US Lifeline's
1-800-273-8255 became 988 in 2022); a retired number copied back into a file fails validation
and the message names what replaced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.helplines.issues import from_validation_error
from bot.helplines.phones import ShortCodes, check_service_number
from bot.helplines.schema import CountryCode, HttpsUrl, Text
from bot.helplines.yamlsafe import YamlFileError, load_yaml


class RetiredNumber(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: list[CountryCode] = Field(min_length=1)
    number: str = Field(pattern=r"^\+?[0-9]{2,15}$")  # as a phone in the first region dials it
    what: Text  # the line it used to be
    replaced_by: Text  # what to use instead, as people write it
    retired: date | None = None
    source: HttpsUrl  # a stored page saying the number changed


@dataclass(frozen=True, slots=True)
class RetiredNumbers:
    """Retired numbers by the same key the validator gives every dialable number."""

    by_key: Mapping[str, RetiredNumber]

    @classmethod
    def load(cls, path: Path) -> RetiredNumbers:
        """Read the denylist; a missing file means no number is known to be retired."""
        if not path.exists():
            return cls({})
        loaded = load_yaml(path)
        try:
            entries = TypeAdapter(list[RetiredNumber]).validate_python(loaded.data or [])
        except ValidationError as exc:
            first = from_validation_error(loaded, exc)[0]
            raise YamlFileError(path, f"{first.field}: {first.message}", first.line) from exc
        # A retired short code is not in short_codes.yml any more, so key it as if it were.
        allow = ShortCodes({})
        out: dict[str, RetiredNumber] = {}
        for entry in entries:
            for region in entry.regions:
                verdict = check_service_number(entry.number, region, allow)
                out[verdict.key] = entry
                out[f"{region}:{entry.number}"] = entry
        return cls(out)

    def get(self, key: str) -> RetiredNumber | None:
        return self.by_key.get(key)
