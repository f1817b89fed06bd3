"""Which of a region's lines to show: by topic, audience, language and what is open now.

Filtering never leaves a person with nothing: an audience with no line of its own gets the
general lines (and says so), a topic with no line gets all lines, and "open now" with nothing
open says so and leaves the emergency numbers and the international directory. Whether the
directory must be shown is decided here too (`needs_directory`), so every caller — the bot's
crisis reply, `/helplines`, the CLI — applies the same no-dead-end rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.helplines.checks import is_crisis_line, serves_adults
from bot.helplines.directory import RegionHelplines
from bot.helplines.schema import Service
from bot.helplines.vocabulary import Filters

GENERAL = "everyone"


@dataclass(frozen=True, slots=True)
class Selection:
    """The lines to show, each with the name of the suspended line it replaces (or None)."""

    services: tuple[tuple[str | None, Service], ...]
    topic_missing: bool = False  # no line for the topic: all lines shown
    audience_missing: bool = False  # no line for the audience: general lines shown
    language_missing: bool = False  # no line in the language: all lines shown
    none_open: bool = False  # open_now asked and nothing is open


def active_services(region: RegionHelplines) -> list[tuple[str | None, Service]]:
    """Active services in file order; a suspended one is swapped for its replacement."""
    out: list[tuple[str | None, Service]] = []
    seen: set[str] = set()
    for service in region.services:
        replaced: str | None = None
        if service.status == "suspended":
            replacement = region.replacements.get(service.replaced_by or "")
            if replacement is None or replacement.status != "active":
                continue
            replaced, service = service.name, replacement
        if service.id not in seen:
            seen.add(service.id)
            out.append((replaced, service))
    return out


def _speaks(service: Service, language: str) -> bool:
    if language in service.languages:
        return True
    return any(language in (contact.languages or ()) for contact in service.contacts)


def select(region: RegionHelplines, filters: Filters, now: datetime) -> Selection:
    """Apply `filters` to the region's active lines (see the module docstring)."""
    services = active_services(region)
    topic_missing = audience_missing = language_missing = none_open = False
    if filters.language:
        speaking = [item for item in services if _speaks(item[1], filters.language)]
        language_missing = not speaking
        services = speaking or services
    if filters.audience and filters.audience != GENERAL:
        wanted = filters.audience
        matching = [item for item in services if wanted in item[1].audiences]
        audience_missing = not matching
        services = matching or [item for item in services if GENERAL in item[1].audiences]
    if filters.topic:
        matching = [item for item in services if filters.topic in item[1].topics]
        topic_missing = not matching
        services = matching or services
    if filters.open_now:
        services = [item for item in services if item[1].is_open(now)]
        none_open = not services
    return Selection(tuple(services), topic_missing, audience_missing, language_missing, none_open)


def needs_directory(shown: Sequence[Service], now: datetime) -> bool:
    """True unless a shown line is a crisis line for adults that is open at `now`.

    Hours that are not published do not count as open: the person is then also given the
    international directory, so a closed or children's line is never the only way to a person.
    """
    return not any(
        is_crisis_line(service) and serves_adults(service) and service.is_open(now)
        for service in shown
    )
