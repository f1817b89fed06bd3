"""Helplines as one short, phone-friendly block of text.

Order follows crisis-line practice: the emergency number first, then lines a person can reach
right now (24/7 marked), then the rest with when they open. Every word comes from
`responses/<locale>/helplines.yml`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pycountry

from bot.core.texts import Texts
from bot.helplines.directory import RegionHelplines
from bot.helplines.hours import DAYS
from bot.helplines.schema import Contact, Service
from bot.helplines.select import needs_directory, select
from bot.helplines.vocabulary import Filters

STALE_AFTER = timedelta(days=365)
_RANK_OPEN, _RANK_UNKNOWN, _RANK_CLOSED = 0, 1, 2


def render_helplines(
    region: RegionHelplines,
    texts: Texts,
    now: datetime,
    *,
    topic: str | None = None,
    filters: Filters | None = None,
    prefer: str | None = None,
    limit: int = 4,
) -> str:
    """The helpline block for `region` at `now` (timezone-aware).

    Emergency number(s) first; then up to `limit` services, open ones first (24/7 marked),
    closed ones with their next opening; a suspended service is replaced by its replacement; an
    unverified or year-old entry is flagged with the international directory link. `filters`
    (or just `topic`) narrows the lines as `select.select` does, saying so when nothing matched.
    With `prefer`, services listing that topic come first among equally open ones (a crisis
    reply prefers `suicide` lines, so a children's line open at night does not push the
    national crisis line down).

    No dead end: unless a line shown is a crisis line for adults that is open now, the
    international directory is always added (`select.needs_directory`).
    """
    if region.is_fallback:
        return _render_fallback(region, texts)
    wanted = filters or Filters()
    if topic and not wanted.topic:
        wanted = dataclasses.replace(wanted, topic=topic)
    lines = [texts.get("helplines.title", region=region.name)]
    numbers = [number.number for number in region.emergency]
    if numbers:
        lines.append(texts.get("helplines.emergency", numbers=_either(texts, numbers)))
    chosen = select(region, wanted, now)
    if not region.services:  # a country whose file says no line could be confirmed
        lines.append(texts.get("helplines.no_checked_line", region=region.name))
    for flag, key in (
        (chosen.language_missing, "helplines.none_in_language"),
        (chosen.audience_missing, "helplines.none_for_audience"),
        (chosen.topic_missing, "helplines.none_for_topic"),
        (chosen.none_open, "helplines.none_open_now"),
    ):
        if flag:
            lines.append(texts.get(key))
    ranked = sorted(
        chosen.services,
        key=lambda item: (_rank(item[1], now), bool(prefer) and prefer not in item[1].topics),
    )
    shown = ranked[:limit]
    for replaced, service in shown:
        if replaced:
            lines.append(texts.get("helplines.replaced", old=replaced))
        lines.extend(_render_service(service, region, texts, now))
    directory = region.international
    if directory is not None:
        if needs_directory([service for _, service in shown], now):
            lines.append(texts.get("helplines.directory", name=directory.name, url=directory.url))
        elif len(ranked) > limit:
            lines.append(texts.get("helplines.more", name=directory.name, url=directory.url))
    return "\n".join(lines)


def _either(texts: Texts, numbers: Sequence[str]) -> str:
    """ "999", "999 or 112", "112, 15 or 17"."""
    out = numbers[0]
    for number in numbers[1:-1]:
        out = texts.get("helplines.comma", left=out, right=number)
    if len(numbers) > 1:
        out = texts.get("helplines.or", left=out, right=numbers[-1])
    return out


def _joined(texts: Texts, parts: Iterable[str]) -> str:
    out = ""
    for part in parts:
        out = texts.get("helplines.join", left=out, right=part) if out else part
    return out


def _rank(service: Service, now: datetime) -> int:
    state = service.is_open(now)
    return _RANK_OPEN if state else (_RANK_UNKNOWN if state is None else _RANK_CLOSED)


def _state(hours_owner: Service | Contact, texts: Texts, now: datetime) -> str | None:
    contacts = hours_owner.contacts if isinstance(hours_owner, Service) else [hours_owner]
    if any(contact.hours is not None and contact.hours.always for contact in contacts):
        return texts.get("helplines.state.always")
    state = hours_owner.is_open(now)
    if state is None:
        return None
    if state:
        return texts.get("helplines.state.open_now")
    openings = [
        moment
        for contact in contacts
        if contact.hours is not None
        for moment in [contact.hours.next_opening(now)]
        if moment is not None
    ]
    if not openings:
        return texts.get("helplines.state.closed")
    soonest = min(openings)
    time_text = soonest.strftime("%H:%M")
    if soonest.date() == now.astimezone(soonest.tzinfo).date():
        return texts.get("helplines.state.opens_today", time=time_text)
    day = texts.get(f"helplines.days.{DAYS[soonest.weekday()]}")
    return texts.get("helplines.state.opens_on", day=day, time=time_text)


def _render_service(
    service: Service, region: RegionHelplines, texts: Texts, now: datetime
) -> list[str]:
    state = _state(service, texts, now)
    header = (
        texts.get("helplines.service", name=service.name, state=state)
        if state
        else texts.get("helplines.service_plain", name=service.name)
    )
    parts = [_render_contact(contact, state, texts, now) for contact in service.contacts]
    lines = [header, _joined(texts, parts)]
    if region.international and _needs_check(service, now):
        lines.append(texts.get("helplines.unverified", url=region.international.url))
    return lines


def _render_contact(
    contact: Contact, service_state: str | None, texts: Texts, now: datetime
) -> str:
    if contact.kind == "sms" and contact.keyword:
        text = texts.get(
            "helplines.contact.sms_keyword", keyword=contact.keyword, number=contact.display
        )
    elif contact.kind == "webchat":
        text = texts.get("helplines.contact.webchat", url=contact.dial)
    elif contact.kind == "email":
        text = texts.get("helplines.contact.email", address=contact.dial)
    else:
        text = texts.get(f"helplines.contact.{contact.kind}", number=contact.display)
    if contact.cost == "free":
        text = texts.get("helplines.contact.free", contact=text)
    own = _state(contact, texts, now) if contact.hours is not None else None
    if own and own != service_state:
        text = texts.get("helplines.contact.with_state", contact=text, state=own)
    return text


def _needs_check(service: Service, now: datetime) -> bool:
    provenance = service.provenance
    return provenance.method == "unverified" or now.date() - provenance.last_verified > STALE_AFTER


def _render_fallback(region: RegionHelplines, texts: Texts) -> str:
    country = pycountry.countries.get(alpha_2=(region.requested or "").split("-", 1)[0])
    lines = [
        texts.get("helplines.fallback.title", country=country.name)
        if country is not None
        else texts.get("helplines.fallback.title_unknown")
    ]
    numbers = [number.number for number in region.emergency]
    if numbers and region.emergency_is_local:
        lines.append(texts.get("helplines.emergency", numbers=_either(texts, numbers)))
    elif numbers:
        lines.append(texts.get("helplines.fallback.emergency", numbers=_either(texts, numbers[:3])))
    directory = region.international
    fields = {
        "directory_name": directory.name if directory else "",
        "directory_url": directory.url if directory else "",
        "numbers": _either(texts, numbers) if numbers else "",
    }
    lines.extend(texts.get(key, **fields) for key in region.advice if texts.has(key))
    return "\n".join(lines)
