"""The few interfaces the core depends on. Implementations live beside the core."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.core.messages import ModeratorNotice, Reply
from bot.core.risk import Assessment, RiskContext


class NluEngine(Protocol):
    """Assesses one message: risk first, then intent. Must never raise for any text."""

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment: ...


class Signposts(Protocol):
    """Helplines as the dialogue needs them: rendered blocks and region lookups."""

    def known(self, code: str) -> bool: ...

    def resolve(self, text: str) -> str | None: ...

    def from_locale(self, locale: str | None) -> str | None: ...

    def region_name(self, code: str | None) -> str: ...

    def emergency(self, code: str | None) -> str: ...

    def block(
        self, code: str | None, now: datetime, *, crisis: bool = False, asked: str | None = None
    ) -> str: ...

    def continents(self) -> list[tuple[str, str]]: ...

    def countries(self, continent: str) -> list[tuple[str, str]]: ...


class NoticeSink(Protocol):
    """A platform's way to reach its moderators' room and, later, a person.

    `deliver` posts a notice in the case's topic/thread and returns the thread reference for
    the case (the first PING creates it); `send` delivers a reply to a person outside the flow
    of a conversation (the escalation ladder's "no moderator is free" message). Both raise on
    failure; the outbox retries with the same idempotency key.
    """

    platform: str

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None: ...

    async def send(self, reply: Reply) -> None: ...


class MessageCounter(Protocol):
    """Counts one person's messages per window, atomically across workers (the store)."""

    async def count_message(self, key: str, at: datetime, window: timedelta) -> int: ...
