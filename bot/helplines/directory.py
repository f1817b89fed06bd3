"""The live helpline directory the bot reads from: loaded once, refreshed cheaply by mtime.

A file that fails the schema is never served: the directory keeps the last good version of that
region (or, at start-up, leaves the region out) and reports the problem, so a bad edit cannot
take helplines away from anyone. Number and freshness problems do not block loading; CI runs
`signpost helplines validate` for those.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.content import ContentPaths
from bot.helplines.continents import ContinentMap, RegionSummary
from bot.helplines.files import (
    INTERNATIONAL_FILE,
    VOCABULARY_FILE,
    ParsedFile,
    data_files,
    parse_file,
)
from bot.helplines.schema import (
    INTERNATIONAL,
    DirectoryLink,
    EmergencyNumber,
    InternationalFile,
    RegionFile,
    Service,
)
from bot.helplines.vocabulary import Vocabulary, load_vocabulary
from bot.helplines.yamlsafe import YamlFileError

log = logging.getLogger(__name__)


class HelplineDataError(RuntimeError):
    """No usable helpline data at all (every file missing or broken)."""


@dataclass(frozen=True, slots=True)
class RegionHelplines:
    """Everything needed to show helplines for one region (or the international fallback).

    `requested` is the code that was asked for; with `is_fallback` it tells which country had no
    file, and `emergency` then holds the emergency numbers known to apply there or, with
    `emergency_is_local=False`, the most common ones. `replacements` maps the id named in a
    suspended service's `replaced_by` to that service, wherever it is filed.
    """

    code: str
    name: str
    emergency: tuple[EmergencyNumber, ...]
    services: tuple[Service, ...]
    international: DirectoryLink | None
    advice: tuple[str, ...] = ()
    is_fallback: bool = False
    requested: str | None = None
    replacements: Mapping[str, Service] = field(default_factory=dict)
    emergency_is_local: bool = True  # False: common numbers, not known to work in `requested`


@dataclass(frozen=True, slots=True)
class _Stamp:
    mtime_ns: int
    size: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return _Stamp(info.st_mtime_ns, info.st_size)


class HelplineDirectory:
    """Helplines per region, from `resources/helplines/`. Use `load`, then `for_region`."""

    def __init__(self, folder: Path, continents: ContinentMap) -> None:
        self._folder = folder
        self._continents = continents
        self._stamps: dict[Path, _Stamp] = {}
        self._regions: dict[str, RegionFile] = {}
        self._international: InternationalFile | None = None
        self._vocabulary = Vocabulary()
        self._vocabulary_stamp: _Stamp | None = None

    @classmethod
    def load(cls, folder: Path) -> HelplineDirectory:
        """Read every file in `folder` (continents from `folder/../continents.yml`, else the
        packaged `resources/continents.yml`).

        Broken files are logged and left out. Raises `HelplineDataError` only when not a single
        file could be used.
        """
        continents = folder.parent / "continents.yml"
        if not continents.exists():  # a folder outside the checkout (tests, a data branch)
            continents = ContentPaths.default().resources / "continents.yml"
        try:
            continent_map = ContinentMap.load(continents)
        except (ValueError, OSError):  # the picker degrades to "other"; helplines still load
            log.exception("continents file unusable: %s", continents)
            continent_map = ContinentMap({})
        directory = cls(folder, continent_map)
        errors = directory.refresh()
        if not directory._regions and directory._international is None:
            detail = "; ".join(errors) or "no region files found"
            raise HelplineDataError(f"{folder}: no usable helpline data ({detail})")
        return directory

    def refresh(self) -> list[str]:
        """Re-read files whose mtime or size changed; returns (and logs) new problems.

        A file that no longer parses keeps its last good data. Cheap when nothing changed (one
        stat per file), but still call it at most every few seconds.
        """
        errors: list[str] = []
        self._refresh_vocabulary(errors)
        present = set(data_files(self._folder)) if self._folder.is_dir() else set()
        for path in sorted(present):
            stamp = _stamp(path)
            if stamp is None or self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp  # a broken file is reported once, not every refresh
            try:
                parsed = parse_file(path)
            except Exception as exc:  # a bug must not take the other regions down with it
                log.exception("helpline file could not be read: %s", path)
                errors.append(f"{path}: error: unexpected failure: {exc!r}")
                continue
            if parsed.model is None:
                kept = "keeping the last good data" if self._has(path) else "not loaded"
                for issue in parsed.issues:
                    message = f"{issue.format()} ({kept})"
                    log.error("helpline file rejected: %s", message)
                    errors.append(message)
                continue
            self._accept(parsed)
        for path in set(self._stamps) - present:
            del self._stamps[path]  # deleted on purpose: stop serving it
            if path.name == INTERNATIONAL_FILE:
                self._international = None
            else:
                self._regions.pop(path.stem, None)
            log.info("helpline file removed: %s", path)
        return errors

    def _refresh_vocabulary(self, errors: list[str]) -> None:
        path = self._folder / VOCABULARY_FILE
        stamp = _stamp(path)
        if stamp is None or self._vocabulary_stamp == stamp:
            return
        self._vocabulary_stamp = stamp
        try:
            self._vocabulary = load_vocabulary(path)
        except YamlFileError as exc:  # keep the last good words
            log.error("helpline vocabulary rejected: %s", exc)
            errors.append(f"{path}: error: {exc.reason}")

    @property
    def vocabulary(self) -> Vocabulary:
        """The topic and audience words (with what people type for them) to filter by."""
        return self._vocabulary

    def _has(self, path: Path) -> bool:
        if path.name == INTERNATIONAL_FILE:
            return self._international is not None
        return path.stem in self._regions

    def _accept(self, parsed: ParsedFile) -> None:
        if isinstance(parsed.model, InternationalFile):
            self._international = parsed.model
        elif isinstance(parsed.model, RegionFile):
            # Replace the mapping rather than mutate it, so a reader never sees half an update.
            self._regions = {**self._regions, parsed.model.region: parsed.model}

    def codes(self) -> frozenset[str]:
        return frozenset(self._regions)

    def region_file(self, code: str) -> RegionFile | None:
        """The region's own file as loaded (no inherited services), for reports."""
        return self._regions.get(code)

    @property
    def continent_map(self) -> ContinentMap:
        return self._continents

    def regions(self) -> list[RegionSummary]:
        """Every region with a file, sorted by name (for the picker and coverage)."""
        return sorted(
            (
                RegionSummary(code, model.name, self._continents.continent_of(code))
                for code, model in self._regions.items()
            ),
            key=lambda summary: summary.name,
        )

    def for_region(self, code: str | None) -> RegionHelplines:
        """Helplines for `code` (`GB`, `US-CA`, any case).

        A subdivision lists its own services first, then its country's. A code without a file
        (or None) gives the international fallback with `is_fallback=True`.
        """
        wanted = code.strip().upper() if code else None
        regions = self._regions
        if wanted and wanted not in regions and "-" in wanted:
            wanted_country = wanted.split("-", 1)[0]
            if wanted_country in regions:
                return self._build(regions[wanted_country], None, requested=wanted)
        if wanted and wanted in regions:
            model = regions[wanted]
            parent = regions.get(wanted.split("-", 1)[0]) if "-" in wanted else None
            return self._build(model, parent, requested=wanted)
        return self._fallback(wanted)

    def _build(
        self, model: RegionFile, parent: RegionFile | None, *, requested: str
    ) -> RegionHelplines:
        services = list(model.services)
        if parent is not None:
            own = {service.id for service in services}
            services.extend(service for service in parent.services if service.id not in own)
        intl = self._international
        return RegionHelplines(
            code=model.region,
            name=model.name,
            emergency=tuple(model.emergency),
            services=tuple(services),
            international=intl.directory if intl else None,
            advice=tuple(intl.advice) if intl else (),
            requested=requested,
            replacements=self._replacements(services),
        )

    def _replacements(self, services: list[Service]) -> dict[str, Service]:
        wanted = {service.replaced_by for service in services if service.replaced_by}
        if not wanted:
            return {}
        return {
            service.id: service
            for model in self._regions.values()
            for service in model.services
            if service.id in wanted
        }

    def _fallback(self, requested: str | None) -> RegionHelplines:
        intl = self._international
        hints = intl.emergency_hints if intl else {}
        country = requested.split("-", 1)[0] if requested else None
        numbers = [number for number, where in hints.items() if country in where]
        is_local = bool(numbers)
        if not numbers:
            numbers = list(hints)
        return RegionHelplines(
            code=INTERNATIONAL,
            name=intl.name if intl else INTERNATIONAL,
            emergency=tuple(EmergencyNumber(number=number, dial=number) for number in numbers),
            services=(),
            international=intl.directory if intl else None,
            advice=tuple(intl.advice) if intl else (),
            is_fallback=True,
            requested=requested,
            emergency_is_local=is_local,
        )
