"""The helpline directory as the dialogue sees it (the `Signposts` port of the core)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from bot.core.texts import Texts
from bot.helplines.directory import HelplineDirectory
from bot.helplines.regions import continents, region_from_locale, resolve_region
from bot.helplines.render import render_helplines
from bot.helplines.vocabulary import Filters

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


class DirectorySignposts:
    """Wraps `HelplineDirectory`: cheap re-reads of edited files, never an exception."""

    def __init__(self, directory: HelplineDirectory, texts: Texts) -> None:
        self.directory = directory
        self.texts = texts
        self._checked = time.monotonic()

    def _fresh(self) -> HelplineDirectory:
        now = time.monotonic()
        if now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            try:
                for problem in self.directory.refresh():
                    log.warning("helpline data rejected, keeping the last good copy: %s", problem)
            except Exception:
                log.exception("helpline refresh failed; keeping the last good data")
        return self.directory

    def _codes(self) -> set[str]:
        return {summary.code for summary in self._fresh().regions()}

    def known(self, code: str) -> bool:
        return code.upper() in self._codes()

    def resolve(self, text: str) -> str | None:
        try:
            return resolve_region(text, self._codes())
        except Exception:
            log.exception("region resolution failed")
            return None

    def from_locale(self, locale: str | None) -> str | None:
        code = region_from_locale(locale) if locale else None
        return code if code and code in self._codes() else None

    def region_name(self, code: str | None) -> str:
        return self._fresh().for_region(code).name

    def emergency(self, code: str | None) -> str:
        region = self._fresh().for_region(code)
        numbers = [number.number for number in region.emergency]
        if not numbers or not region.emergency_is_local:
            return self.texts.get("emergency.local")
        if len(numbers) == 1:
            return numbers[0]
        return self.texts.get("emergency.either", first=numbers[0], second=numbers[1])

    def block(
        self, code: str | None, now: datetime, *, crisis: bool = False, asked: str | None = None
    ) -> str:
        """The helpline block; for a crisis, suicide-prevention lines come first.

        `asked` is what the person wrote when asking for lines ("/helplines lgbtq", "is there a
        line for trans people?"): a group or topic named there narrows the lines, and when the
        region has none for it the reply says so and shows the general lines.
        """
        directory = self._fresh()
        region = directory.for_region(code)
        filters = self.filters_for(asked)
        return render_helplines(
            region, self.texts, now, filters=filters, prefer="suicide" if crisis else None
        )

    def filters_for(self, asked: str | None) -> Filters:
        """The audience or topic named in `asked`, if any (never raises)."""
        if not asked:
            return Filters()
        try:
            found = self._fresh().vocabulary.word_in(asked)
        except Exception:
            log.exception("helpline filter words could not be read")
            return Filters()
        if found is None:
            return Filters()
        kind, word = found
        return Filters(audience=word) if kind == "audience" else Filters(topic=word)

    def continents(self) -> list[tuple[str, str]]:
        groups = continents(self._fresh().regions())
        return [(key, self.texts.get(f"helplines.continents.{key}")) for key in groups]

    def countries(self, continent: str) -> list[tuple[str, str]]:
        groups = continents(self._fresh().regions())
        return [(summary.code, summary.name) for summary in groups.get(continent, [])]
