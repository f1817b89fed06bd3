"""Checks beyond the schema: real numbers, emergency vs crisis lines, freshness, duplicates.

A file failing these still loads in the bot (a stale date should not hide a region's helplines),
but `signpost helplines validate` fails CI on any error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.helplines.files import ParsedFile
from bot.helplines.issues import Issue, Severity, issue_at
from bot.helplines.phones import (
    ShortCodes,
    check_service_number,
    country_of,
    display_matches_dial,
    is_emergency,
)
from bot.helplines.retired import RetiredNumbers
from bot.helplines.schema import InternationalFile, Provenance, RegionFile, Service
from bot.helplines.vocabulary import Vocabulary
from bot.helplines.yamlsafe import LoadedYaml, Loc

WARN_AFTER = timedelta(days=365)
FAIL_AFTER = timedelta(days=730)


CRISIS_TOPICS = frozenset({"suicide", "emotional-support"})
CHILD_AUDIENCES = frozenset({"children", "young-people"})


def is_crisis_line(service: Service) -> bool:
    """A line a person thinking of suicide can call: tagged suicide or emotional support."""
    return bool(CRISIS_TOPICS & set(service.topics))


def serves_adults(service: Service) -> bool:
    """Not only for children and young people."""
    return not set(service.audiences) <= CHILD_AUDIENCES


@dataclass(frozen=True, slots=True)
class NumberUse:
    key: str
    is_short: bool
    region: str
    service_id: str
    loaded: LoadedYaml
    loc: Loc
    shared_with: tuple[str, ...] = ()


def check_freshness(
    loaded: LoadedYaml, loc: Loc, provenance: Provenance, today: date
) -> list[Issue]:
    where = (*loc, "last_verified")
    age = today - provenance.last_verified
    if provenance.last_verified > today:
        return [issue_at(loaded, where, f"{provenance.last_verified} is in the future")]
    if age > FAIL_AFTER:
        return [issue_at(loaded, where, f"last verified {age.days} days ago (over 24 months)")]
    issues = []
    if age > WARN_AFTER:
        message = f"last verified {age.days} days ago (over 12 months): check it again"
        issues.append(issue_at(loaded, where, message, Severity.WARNING))
    if provenance.method == "unverified":
        message = "unverified: shown with the international directory beside it"
        issues.append(issue_at(loaded, (*loc, "method"), message, Severity.WARNING))
    return issues


def check_crisis_coverage(parsed: ParsedFile) -> list[Issue]:
    """No dead end: a region needs a line for adults in crisis, or says why it has none.

    Error: no crisis line for adults at all and no `crisis_gap:` note (a crisis reply would show
    a children's or social-services line alone). Warning: no 24/7 line tagged suicide.
    """
    model, loaded = parsed.model, parsed.loaded
    assert isinstance(model, RegionFile) and loaded is not None
    if "-" in model.region:
        return []  # a subdivision is shown with its country's lines, checked in that file
    active = [service for service in model.services if service.status == "active"]
    adult_crisis = [s for s in active if is_crisis_line(s) and serves_adults(s)]
    issues: list[Issue] = []
    if not adult_crisis and model.crisis_gap is None:
        message = (
            "no active suicide or emotional-support line for adults: add one checked against "
            "its own page, or say why there is none in crisis_gap: (the bot then shows the "
            "international directory)"
        )
        issues.append(issue_at(loaded, ("services",) if active else ("region",), message))
    elif not any("suicide" in s.topics and s.is_always_open for s in adult_crisis):
        message = "no 24/7 line tagged suicide: crisis replies at night show the directory"
        issues.append(issue_at(loaded, ("region",), message, Severity.WARNING))
    return issues


def check_region(
    parsed: ParsedFile,
    short_codes: ShortCodes,
    today: date,
    vocabulary: Vocabulary | None = None,
    retired: RetiredNumbers | None = None,
) -> tuple[list[Issue], list[NumberUse]]:
    """Per-file checks; also returns every dialable number for the cross-file duplicate check."""
    vocabulary = vocabulary or Vocabulary()
    retired = retired or RetiredNumbers({})
    model, loaded = parsed.model, parsed.loaded
    assert isinstance(model, RegionFile) and loaded is not None
    country = country_of(model.region)
    issues: list[Issue] = []
    uses: list[NumberUse] = []
    # Only numbers that really are emergency numbers count: a crisis line wrongly filed under
    # emergency is reported once there, not again on its service.
    emergency_dials: set[str] = set()
    for index, number in enumerate(model.emergency):
        loc: Loc = ("emergency", index, "dial")
        if not display_matches_dial(number.number, number.dial, country):
            message = f"number {number.number!r} does not show the number dialled ({number.dial})"
            issues.append(issue_at(loaded, loc, message))
        if is_emergency(number.dial, country, short_codes):
            emergency_dials.add(number.dial)
            continue
        listed = short_codes.get(country, number.dial)
        if listed is not None:
            message = (
                f"{number.dial} is {listed.what}, a crisis line, not an emergency number: "
                "list it under services"
            )
        else:
            message = (
                f"{number.dial} is not an emergency number in {country}; only police/"
                "ambulance/fire numbers belong here"
            )
        issues.append(issue_at(loaded, loc, message))
    prefix = model.region.lower() + "-"
    for s_index, service in enumerate(model.services):
        base: Loc = ("services", s_index)
        if not service.id.startswith(prefix):
            message = f"service id {service.id!r} must start with {prefix!r}"
            issues.append(issue_at(loaded, (*base, "id"), message))
        issues.extend(check_freshness(loaded, (*base, "provenance"), service.provenance, today))
        for kind, words, known in (
            ("topics", service.topics, vocabulary.topics),
            ("audiences", service.audiences, vocabulary.audiences),
        ):
            for w_index, word in enumerate(words):
                if known and word not in known:
                    message = (
                        f"{word!r} is not in vocabulary.yml ({kind}); filters would miss it. "
                        f"Use one of: {', '.join(sorted(known))}"
                    )
                    issues.append(issue_at(loaded, (*base, kind, w_index), message))
        for c_index, contact in enumerate(service.contacts):
            loc = (*base, "contacts", c_index, "dial")
            if not contact.is_dialable:
                continue
            if contact.dial in emergency_dials or is_emergency(contact.dial, country, short_codes):
                message = (
                    f"{contact.dial} is the emergency number: keep it under emergency:, "
                    "not as a service"
                )
                issues.append(issue_at(loaded, loc, message))
                continue
            if not display_matches_dial(contact.display, contact.dial, country):
                message = (
                    f"display {contact.display!r} does not show the number dialled ({contact.dial})"
                )
                issues.append(issue_at(loaded, loc, message))
            verdict = check_service_number(contact.dial, country, short_codes)
            old = retired.get(verdict.key) or retired.get(f"{country}:{contact.dial}")
            if old is not None:
                message = (
                    f"{contact.dial} is retired ({old.what}): use {old.replaced_by} instead "
                    f"(retired.yml, {old.source})"
                )
                issues.append(issue_at(loaded, loc, message))
            elif verdict.problem:
                issues.append(issue_at(loaded, loc, verdict.problem))
            if contact.kind == "whatsapp" and verdict.is_short:
                issues.append(issue_at(loaded, loc, "WhatsApp needs a full +CC number"))
            uses.append(
                NumberUse(
                    verdict.key,
                    verdict.is_short,
                    model.region,
                    service.id,
                    loaded,
                    loc,
                    tuple(service.shared_with),
                )
            )
    issues.extend(check_crisis_coverage(parsed))
    return issues, uses


def check_international(
    parsed: ParsedFile, short_codes: ShortCodes, response_keys: Collection[str] | None, today: date
) -> list[Issue]:
    """Directory freshness, advice keys that exist, hints that really are emergency numbers."""
    model, loaded = parsed.model, parsed.loaded
    assert isinstance(model, InternationalFile) and loaded is not None
    provenance = model.directory.provenance
    issues = check_freshness(loaded, ("directory", "provenance"), provenance, today)
    if response_keys is not None:
        for index, key in enumerate(model.advice):
            if key not in response_keys:
                message = f"{key!r} is not a key in responses/en.yml (helplines section)"
                issues.append(issue_at(loaded, ("advice", index), message))
    for number, countries in model.emergency_hints.items():
        wrong = [c for c in countries if not is_emergency(number, c, short_codes)]
        if wrong:
            message = f"{number} is not an emergency number in {', '.join(wrong)} (phonenumbers)"
            issues.append(issue_at(loaded, ("emergency_hints", number), message))
    if not model.emergency_hints:
        issues.append(
            issue_at(loaded, ("emergency_hints",), "no emergency numbers listed", Severity.WARNING)
        )
    return issues


def check_across(files: Iterable[ParsedFile], uses: Iterable[NumberUse]) -> list[Issue]:
    """Duplicated ids and numbers, and replacements that point nowhere."""
    issues: list[Issue] = []
    regions = [p for p in files if isinstance(p.model, RegionFile) and p.loaded is not None]
    known: dict[str, str] = {}
    for parsed in regions:
        assert isinstance(parsed.model, RegionFile) and parsed.loaded is not None
        for index, service in enumerate(parsed.model.services):
            if service.id in known:
                message = f"id {service.id!r} is also used in {known[service.id]}"
                issues.append(issue_at(parsed.loaded, ("services", index, "id"), message))
            known.setdefault(service.id, parsed.path.name)
    for parsed in regions:
        assert isinstance(parsed.model, RegionFile) and parsed.loaded is not None
        for index, service in enumerate(parsed.model.services):
            if service.replaced_by and service.replaced_by not in known:
                message = f"replaced_by {service.replaced_by!r} is not a known service id"
                issues.append(issue_at(parsed.loaded, ("services", index, "replaced_by"), message))
    by_number: dict[str, list[NumberUse]] = defaultdict(list)
    for use in uses:
        by_number[use.key].append(use)
    for key, found in by_number.items():
        owners = {(use.region, use.service_id) for use in found}
        if len(owners) < 2:
            continue
        first = found[0]
        for use in found[1:]:
            if (use.region, use.service_id) == (first.region, first.service_id):
                continue
            issues.append(_duplicate(key, first, use))
    return issues


def _duplicate(key: str, first: NumberUse, use: NumberUse) -> Issue:
    """Same number twice. Within one country a warning (two services sharing a line, or a
    subdivision repeating its country's); across countries an error unless both sides say
    `shared_with:` the other (a national number copied into the wrong file sends people to a
    line that does not serve them)."""
    where = f"{first.region}:{first.service_id}"
    if country_of(first.region) == country_of(use.region):
        return issue_at(use.loaded, use.loc, f"{key} is also listed for {where}", Severity.WARNING)
    mine, theirs = country_of(use.region), country_of(first.region)
    if theirs in use.shared_with and mine in first.shared_with:
        return issue_at(
            use.loaded, use.loc, f"{key} is shared with {where} (shared_with)", Severity.WARNING
        )
    message = (
        f"{key} is also listed for {where}: a number copied from another country's file? "
        f"If one line really serves both, add shared_with: [{theirs}] here and "
        f"shared_with: [{mine}] there"
    )
    return issue_at(use.loaded, use.loc, message)
