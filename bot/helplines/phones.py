"""Phone-number checks with `phonenumbers`, plus the allow-list of real short codes.

phonenumbers knows full national numbers and emergency numbers for every country, but its
short-number data cannot tell a crisis line from a typo, so every short code a file uses must
be listed in `short_codes.yml` with what it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import shortnumberinfo
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.helplines.issues import from_validation_error
from bot.helplines.schema import CountryCode, Text
from bot.helplines.yamlsafe import YamlFileError, load_yaml


class ShortCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: list[CountryCode] = Field(min_length=1)
    number: str = Field(pattern=r"^(\*?[0-9]{2,8}#?)$")
    what: Text
    emergency: bool = False  # an emergency number phonenumbers does not know
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ShortCodes:
    by_region: Mapping[tuple[str, str], ShortCode]

    @classmethod
    def load(cls, path: Path) -> ShortCodes:
        """Read the allow-list; a missing file means no short codes are allowed."""
        if not path.exists():
            return cls({})
        loaded = load_yaml(path)
        try:
            entries = TypeAdapter(list[ShortCode]).validate_python(loaded.data or [])
        except ValidationError as exc:
            first = from_validation_error(loaded, exc)[0]
            raise YamlFileError(path, f"{first.field}: {first.message}", first.line) from exc
        return cls({(region, e.number): e for e in entries for region in e.regions})

    def get(self, country: str, number: str) -> ShortCode | None:
        return self.by_region.get((country, number))


def country_of(region: str) -> str:
    """`US-CA` → `US`: numbers belong to the country."""
    return region.split("-", 1)[0]


def is_emergency(dial: str, country: str, short_codes: ShortCodes) -> bool:
    listed = short_codes.get(country, dial)
    if listed is not None and listed.emergency:
        return True
    return bool(shortnumberinfo.is_emergency_number(dial, country))


@dataclass(frozen=True, slots=True)
class NumberVerdict:
    """`key` identifies the line: E.164 for full numbers, `CC:digits` for short codes.

    Short codes are per country (116 123 in GB and in IE are two different services), so the
    country is part of their key.
    """

    key: str
    problem: str | None = None
    is_short: bool = False


def check_service_number(dial: str, country: str, short_codes: ShortCodes) -> NumberVerdict:
    """Is `dial` a number a person in `country` can actually dial?"""
    if dial.startswith("+"):
        return _check_international(dial, country, short_codes)
    short_key = f"{country}:{dial}"
    if short_codes.get(country, dial) is not None:
        return NumberVerdict(short_key, None, is_short=True)
    if not dial[0].isdigit():
        message = f"{dial} is a service code: add it to short_codes.yml with what it is"
        return NumberVerdict(short_key, message, is_short=True)
    try:
        parsed = phonenumbers.parse(dial, country)
    except phonenumbers.NumberParseException as exc:
        return NumberVerdict(dial, f"{dial} is not a phone number ({exc})")
    if phonenumbers.is_valid_number(parsed):
        return _owned_by(parsed, dial, country)
    if shortnumberinfo.is_possible_short_number_for_region(parsed, country):
        return NumberVerdict(
            short_key,
            f"{dial} is not a full number in {country}; if it is a real short code, "
            "add it to short_codes.yml with what it is",
            is_short=True,
        )
    return NumberVerdict(dial, f"{dial} is not a valid phone number in {country}")


def _check_international(dial: str, country: str, short_codes: ShortCodes) -> NumberVerdict:
    try:
        parsed = phonenumbers.parse(dial, None)
    except phonenumbers.NumberParseException as exc:
        return NumberVerdict(dial, f"{dial} is not a phone number ({exc})")
    if phonenumbers.is_valid_number(parsed):
        return _owned_by(parsed, dial, country)
    national = phonenumbers.national_significant_number(parsed)
    calling_code = phonenumbers.country_code_for_region(country)
    as_local = phonenumbers.parse(national, country)
    if parsed.country_code == calling_code and (
        short_codes.get(country, national) is not None
        or shortnumberinfo.is_possible_short_number_for_region(as_local, country)
    ):
        return NumberVerdict(
            f"{country}:{national}",
            f"{national} is a short code in {country}: it cannot be dialled as "
            f'+{calling_code} {national}; write dial: "{national}"',
            is_short=True,
        )
    return NumberVerdict(dial, f"{dial} is not a valid phone number")


def _owned_by(parsed: phonenumbers.PhoneNumber, dial: str, country: str) -> NumberVerdict:
    key = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # Countries sharing a calling code (+1, +7, +44 ...) share toll-free ranges, so ask whether
    # the number is valid *for* this country rather than which country it "belongs" to.
    if phonenumbers.is_valid_number_for_region(parsed, country):
        return NumberVerdict(key)
    owner = phonenumbers.region_code_for_number(parsed)
    return NumberVerdict(key, f"{dial} is a number in {owner}, not {country}")


def display_matches_dial(display: str, dial: str, country: str) -> bool:
    """Does the number people read show the digits the phone dials?

    A typo in one of the two is the most dangerous kind: a tap dials a stranger. Displays with
    no digits at all (a vanity number such as 800-SAKINA) are not checked.
    """
    shown = re.sub(r"\D", "", display)
    if not shown:
        return True
    digits = dial.lstrip("+*#").rstrip("#")
    if digits in shown:
        return True
    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(dial, country))
    except phonenumbers.NumberParseException:
        return False
    return bool(national) and national in shown
