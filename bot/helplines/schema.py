"""The shape of `resources/helplines/*.yml` (documented in that folder's README.md).

These models catch what makes a file unusable (wrong types, unknown fields, bad time zones,
http links, impossible hours). Checks that need other files or the phone-number database live in
`bot.helplines.checks`, so a file can be loaded by the bot even while CI still complains.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.helplines import hours as hours_mod

INTERNATIONAL = "INTL"
# Digits with an optional leading + (full numbers) or a * / # service code such as *4141.
_DIGITS = re.compile(r"^(\+?[0-9]{2,15}|\*[0-9]{2,8}#?)$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or " " in value:
        raise ValueError(f"{value!r} must be an https:// URL")
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be lowercase words joined by '-'")
    return value


def _language(value: str) -> str:
    found = pycountry.languages.get(alpha_2=value) if len(value) == 2 else None
    if found is None and len(value) == 3:
        found = pycountry.languages.get(alpha_3=value)
    if found is None:
        raise ValueError(f"{value!r} is not an ISO 639-1 (or 639-3) language code")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def region_is_known(code: str) -> bool:
    """ISO 3166-1 alpha-2 (`GB`) or an ISO 3166-2 subdivision (`US-CA`)."""
    if "-" in code:
        return pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def _region(value: str) -> str:
    if value != value.upper() or not region_is_known(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 or ISO 3166-2 region code")
    return value


def _country(value: str) -> str:
    if "-" in value or not region_is_known(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


Text = Annotated[str, AfterValidator(_text)]
HttpsUrl = Annotated[str, AfterValidator(_https)]
Slug = Annotated[str, AfterValidator(_slug)]
Language = Annotated[str, AfterValidator(_language)]
RegionCode = Annotated[str, AfterValidator(_region)]
CountryCode = Annotated[str, AfterValidator(_country)]
DayKey = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily", "weekdays", "weekend"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Hours(_Model):
    """`always: true`, or a weekly schedule in an IANA time zone."""

    always: bool = False
    timezone: str | None = None
    open: dict[DayKey, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Hours:
        if self.always:
            if self.timezone or self.open:
                raise ValueError("use either always: true or timezone + open, not both")
            return self
        if not self.timezone or not self.open:
            raise ValueError("needs always: true, or a timezone and open days")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.timezone!r} is not an IANA time zone") from None
        self._spans()  # raises ValueError naming the bad range
        return self

    def _spans(self) -> dict[str, list[hours_mod.Span]]:
        return hours_mod.expand_days({str(day): ranges for day, ranges in self.open.items()})

    def is_open(self, now: datetime) -> bool:
        """Open at `now` (timezone-aware)? Overnight ranges and DST are handled."""
        if self.always:
            return True
        assert self.timezone is not None  # guaranteed by _check
        return hours_mod.is_open_at(self._spans(), ZoneInfo(self.timezone), now)

    def next_opening(self, now: datetime) -> datetime | None:
        """Next opening after `now` in the service's own zone (None when always open)."""
        if self.always:
            return None
        assert self.timezone is not None
        return hours_mod.next_opening(self._spans(), ZoneInfo(self.timezone), now)


ContactKind = Literal["phone", "sms", "webchat", "whatsapp", "email"]


class Contact(_Model):
    kind: ContactKind
    display: Text
    dial: Text
    keyword: str | None = None
    cost: Literal["free", "standard-rate", "unknown"] = "unknown"
    languages: list[Language] | None = None
    hours: Hours | None = None

    @model_validator(mode="after")
    def _check(self) -> Contact:
        if self.kind in ("phone", "sms", "whatsapp"):
            if not _DIGITS.match(self.dial):
                raise ValueError(
                    f"dial {self.dial!r} must be digits only (optionally with a leading + or *), "
                    "no spaces: it is what a phone dials"
                )
            if self.kind == "whatsapp" and not self.dial.startswith("+"):
                raise ValueError("a WhatsApp dial must be the full +CC number")
        elif self.kind == "webchat":
            _https(self.dial)
        elif not _EMAIL.match(self.dial):
            raise ValueError(f"dial {self.dial!r} is not an email address")
        if self.keyword is not None:
            if self.kind != "sms":
                raise ValueError(f"keyword is only for sms contacts, not {self.kind}")
            if not self.keyword.strip() or any(char.isspace() for char in self.keyword):
                raise ValueError(f"keyword {self.keyword!r} must be one word to text")
        return self

    @property
    def is_dialable(self) -> bool:
        return self.kind in ("phone", "sms", "whatsapp")

    def is_open(self, now: datetime) -> bool | None:
        """None when the hours are not published."""
        return None if self.hours is None else self.hours.is_open(now)


class Provenance(_Model):
    source: HttpsUrl | None = None
    last_verified: date
    method: Literal["official-page", "third-party-list", "unverified"]
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Provenance:
        if self.method == "official-page" and not self.source:
            raise ValueError("method official-page needs the source URL of that page")
        return self


class Service(_Model):
    id: Slug
    name: Text
    local_name: str | None = None
    description: Text
    topics: list[Slug] = Field(min_length=1)
    audiences: list[Slug] = Field(default_factory=lambda: ["everyone"])
    languages: list[Language] = Field(min_length=1)
    contacts: list[Contact] = Field(min_length=1)
    status: Literal["active", "suspended"] = "active"
    replaced_by: Slug | None = None
    # Other countries whose file lists the same number on purpose (a line run for two
    # countries); without it, the validator calls a number found in two files a copying error.
    shared_with: list[CountryCode] = Field(default_factory=list)
    provenance: Provenance

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.status == "suspended" and not self.replaced_by:
            raise ValueError("a suspended service needs replaced_by: the id of its replacement")
        if self.replaced_by == self.id:
            raise ValueError("replaced_by cannot name the service itself")
        return self

    @property
    def is_always_open(self) -> bool:
        return any(contact.hours is not None and contact.hours.always for contact in self.contacts)

    def is_open(self, now: datetime) -> bool | None:
        """True if any contact is open; None when no contact publishes hours."""
        states = [contact.is_open(now) for contact in self.contacts]
        if any(states):
            return True
        return None if all(state is None for state in states) else False


class EmergencyNumber(_Model):
    number: Text
    dial: Annotated[str, Field(pattern=r"^[0-9]{2,15}$")]  # checks.py says if it is one
    label: str | None = None


class RegionFile(_Model):
    region: RegionCode
    name: Text
    emergency: list[EmergencyNumber] = Field(min_length=1)
    services: list[Service] = Field(default_factory=list)
    # Why this country has no checked crisis line (what was looked for, what was missing). The
    # bot then shows the emergency numbers and the international directory, never nothing.
    crisis_gap: str | None = None
    # The zone most people live in (for "open at 03:00 there"); default from phonenumbers.
    timezone: str | None = None

    @model_validator(mode="after")
    def _check_zone(self) -> RegionFile:
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{self.timezone!r} is not an IANA time zone") from None
        return self


class DirectoryLink(_Model):
    name: Text
    url: HttpsUrl
    description: Text
    provenance: Provenance


class InternationalFile(_Model):
    region: Literal["INTL"]
    name: Text
    directory: DirectoryLink
    advice: list[Text] = Field(default_factory=list)
    emergency_hints: dict[Annotated[str, Field(pattern=r"^[0-9]{2,6}$")], list[CountryCode]] = (
        Field(default_factory=dict)
    )
