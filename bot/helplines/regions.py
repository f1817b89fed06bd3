"""Which region a person means: country names as people type them, locales, continents.

Region comes from the person's own words or choice first, then the community's default, then the
platform locale — never from an IP address. Names come from pycountry (with its translations)
plus `resources/region_aliases.yml` for forms it lacks ("UK", "england", "the states"), and
`resources/region_cities.yml` for cities and towns ("toronto", "i live in glasgow").
"""

from __future__ import annotations

import gettext
import logging
import re
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
from pydantic import BaseModel, ConfigDict

from bot.content import ContentPaths
from bot.helplines.continents import continents
from bot.helplines.normalise import normalise
from bot.helplines.yamlsafe import YamlFileError, load_yaml

__all__ = ["continents", "normalise", "preload_names", "region_from_locale", "resolve_region"]

log = logging.getLogger(__name__)

# stripped from the front, repeatedly, after normalise() ("I'm from" -> "i m from")
_FILLER = (
    "i am in ",
    "im in ",
    "i live in ",
    "i m in ",
    "i am from ",
    "i m from ",
    "im from ",
    "i live near ",
    "i m based in ",
    "based in ",
    "living in ",
    "near ",
    "in ",
    "from ",
    "the ",
)


class _Aliases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: dict[str, str]
    name_languages: list[str]
    locale_countries: dict[str, str]
    everyday_words: list[str] = []


class _Cities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cities: dict[str, str]


@cache
def _aliases(path: Path) -> _Aliases:
    return _Aliases.model_validate(load_yaml(path).data)


def _default_aliases_path() -> Path:
    return ContentPaths.default().resources / "region_aliases.yml"


def _cities_path(aliases_path: Path) -> Path:
    return aliases_path.with_name("region_cities.yml")


@cache
def _city_names(path: Path) -> Mapping[str, str]:
    """City or town → alpha-2. A missing or broken file only costs the city names."""
    if not path.exists():
        return {}
    try:
        model = _Cities.model_validate(load_yaml(path).data)
    except (YamlFileError, ValueError) as exc:
        log.error("city names not loaded: %s", exc)
        return {}
    return {normalise(city): code.upper() for city, code in model.cities.items()}


@cache
def _country_names(path: Path) -> Mapping[str, str]:
    """Every known spelling of every country → alpha-2. Built once, on first use."""
    aliases = _aliases(path)
    names: dict[str, str] = {}
    translators = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for lang in aliases.name_languages
    ]
    country: Any
    for country in pycountry.countries:
        english = [
            country.name,
            *(getattr(country, a, "") for a in ("official_name", "common_name")),
        ]
        for name in filter(None, english):
            names.setdefault(normalise(name), country.alpha_2)
            for translator in translators:
                names.setdefault(normalise(translator.gettext(name)), country.alpha_2)
    for alias, code in aliases.aliases.items():
        names[normalise(alias)] = code  # the curated table wins over generated names
    return names


@cache
def _subdivision_names() -> Mapping[str, tuple[str, ...]]:
    """Subdivision name → codes (a name can exist in several countries)."""
    out: dict[str, list[str]] = {}
    subdivision: Any
    for subdivision in pycountry.subdivisions:
        out.setdefault(normalise(subdivision.name), []).append(subdivision.code)
    return {name: tuple(codes) for name, codes in out.items()}


def preload_names(*, aliases_path: Path | None = None) -> None:
    """Build the country-name index now (about 0.3 s) instead of on the first typed country."""
    path = aliases_path or _default_aliases_path()
    _country_names(path)
    _city_names(_cities_path(path))
    _subdivision_names()


def _strip_filler(words: str) -> str:
    changed = True
    while changed:
        changed = False
        for filler in _FILLER:
            if words.startswith(filler) and len(words) > len(filler):
                words, changed = words[len(filler) :], True
    return words


def resolve_region(
    text: str, directory_codes: Collection[str], *, aliases_path: Path | None = None
) -> str | None:
    """The region a person means by `text`, or None.

    Countries match by code ("GB", "deu"), English or translated name ("Deutschland",
    "méxico"), or alias ("uk", "the states"). A subdivision name gives the subdivision code
    when `directory_codes` has a file for it, else its country ("california" → US-CA or US).
    A city or town gives its country ("toronto" → CA, "i live in glasgow" → GB).
    The result may be a country without a file; the directory then falls back to the
    international page with that country's emergency number.
    """
    path = aliases_path or _default_aliases_path()
    words = _strip_filler(normalise(text))
    if not words or len(words) > 60:
        return None
    if text.strip() == text.strip().lower() and words in _aliases(path).everyday_words:
        return None  # "no" answers a question; it is not Norway
    upper = words.upper().replace(" ", "-")
    if upper in directory_codes:
        return upper
    names = _country_names(path)
    if words in names:
        return names[words]
    if len(words) in (2, 3) and " " not in words:
        found = _by_code(words)
        if found:
            return found
    subdivision = _subdivision(words, directory_codes)
    if subdivision in directory_codes:
        return subdivision  # a file for exactly that region ("california" -> US-CA)
    # a city before another country's subdivision: "portland" is Oregon, not a Jamaican parish
    return _city_names(_cities_path(path)).get(words) or subdivision


def _by_code(word: str) -> str | None:
    country: Any = (
        pycountry.countries.get(alpha_2=word.upper())
        if len(word) == 2
        else pycountry.countries.get(alpha_3=word.upper())
    )
    return str(country.alpha_2) if country is not None else None


def _subdivision(words: str, directory_codes: Collection[str]) -> str | None:
    codes = _subdivision_names().get(words, ())
    if not codes:
        return None
    covered = [code for code in codes if code in directory_codes]
    if covered:
        return covered[0]
    with_country = [code for code in codes if code.split("-", 1)[0] in directory_codes]
    if len(with_country) == 1 or (with_country and len(codes) == 1):
        return with_country[0].split("-", 1)[0]
    return codes[0].split("-", 1)[0] if len(codes) == 1 else None


def region_from_locale(locale: str | None, *, aliases_path: Path | None = None) -> str | None:
    """Country from a platform locale: "en-GB" → GB, "pt_BR" → BR, "ja" → JP, "en" → None.

    A bare language gives a country only when `region_aliases.yml` says nearly all its
    speakers live there; "es-419" (a UN area, not a country) gives None.
    """
    if not locale:
        return None
    parts = [part for part in re.split(r"[-_@.]", locale.strip()) if part]
    if not parts:
        return None
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            country = pycountry.countries.get(alpha_2=part.upper())
            return str(country.alpha_2) if country is not None else None
    if len(parts) > 1:
        return None
    table = _aliases(aliases_path or _default_aliases_path()).locale_countries
    return table.get(parts[0].lower())
