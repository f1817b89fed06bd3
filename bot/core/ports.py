"""The few interfaces the core depends on, and the small types they return.

The core imports only these; the implementations live outside it (`bot.storage.Store` is the
`Conversations` and `MessageCounter`, `bot.escalation.cases.CaseService` the `CaseDesk`,
`bot.signposts` the `Signposts`, `bot.nlu` the `NluEngine`) and `bot.app` wires them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.messages import ChatRef, Inbound, ModeratorInbound, ModeratorNotice, Outcome, Reply
from bot.core.risk import Assessment, RiskContext, RiskLevel
from bot.core.state import ConversationState
from bot.core.texts import Texts


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """What a community chose: whether the bot watches it, and its default helpline region."""

    watched: bool = False
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class HeldCase:
    """A case a moderator has claimed: the person's messages are relayed to them."""

    id: str
    platform: str


class Conversations(Protocol):
    """What the bot remembers between messages, per person and per community."""

    async def load_conversation(self, key: str) -> ConversationState: ...

    async def save_conversation(self, state: ConversationState) -> None: ...

    async def forget(self, key: str) -> int: ...

    async def group(self, platform: str, chat_id: str) -> GroupSettings | None: ...

    async def set_group_watch(self, platform: str, chat_id: str, watched: bool) -> None: ...

    async def set_group_region(self, platform: str, chat_id: str, region: str | None) -> None: ...


class FollowUps(Protocol):
    """The check-in offered after a case closes (`/checkin yes|no`), durable in the store."""

    @property
    def delay_hours(self) -> float: ...

    async def answer(self, key: str, consent: bool) -> str:
        """Record the person's answer; the response key to reply with."""
        ...

    async def cancel(self, key: str) -> bool:
        """Cancel a pending offer or check-in (`/stop`). True when there was one."""
        ...

    async def forget(self, key: str) -> None:
        """Delete every follow-up row of this person (`/forget`)."""
        ...


class CaseDesk(Protocol):
    """The moderators' side as the dialogue sees it: open a case, find who holds one, relay."""

    def has_team(self, platform: str) -> bool: ...

    async def open(
        self,
        *,
        conversation_key: str,
        user: str,
        chat: ChatRef,
        risk: RiskLevel,
        text: str,
        region: str | None,
        community: str | None,
        kind: str = "risk",
        in_group: bool = False,
    ) -> str | None: ...

    async def adopt(self, conversation_key: str, chat: ChatRef) -> str | None: ...

    async def claimed_case(self, case_id: str | None) -> HeldCase | None: ...

    async def relay_to_moderators(
        self, case: HeldCase, text: str, received_at: datetime
    ) -> None: ...


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


class CoreFacade(Protocol):
    """What a platform adapter calls (`bot.app.App` implements it): adapters only feed it."""

    pepper: bytes
    texts: Texts

    async def handle(self, inbound: Inbound) -> Outcome: ...

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome: ...

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None: ...

    async def admin_command(self, platform: str, community: str, text: str) -> str: ...

    async def moderator_command(self, platform: str, text: str, is_moderator: bool) -> str: ...

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None: ...

    async def remember_thread(self, case_id: str, thread_ref: str) -> None: ...

    # the durable inbox: an update is recorded before the platform is told it arrived
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]: ...

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]: ...

    async def inbox_done(self, platform: str, update_id: int) -> None: ...
