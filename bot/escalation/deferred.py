"""Escalations the database could not take when they were raised.

The crisis reply never waits on the database: when a crisis message arrives while the store is
down or hung, the person gets the crisis reply and an honest line saying the moderators could
not be reached yet. The escalation waits here (in memory, bounded) and is opened, with its ping
and a line telling the person, as soon as the database answers again. The one-open-case index
makes this safe to repeat: a case that already exists is reused, never doubled.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exc as sa_exc

from bot.core.compose import Composer
from bot.core.messages import ChatRef, ReplyKind
from bot.core.risk import RiskLevel
from bot.escalation.cases import CaseService
from bot.escalation.outbox import reply_entry
from bot.storage.store import OPEN_STATUSES, Store, StoreUnavailable, utcnow

log = logging.getLogger(__name__)

MAX_WAITING = 10_000


@dataclass(frozen=True, slots=True)
class Deferred:
    """One escalation waiting for the database."""

    conversation_key: str
    user: str
    chat: ChatRef
    risk: RiskLevel
    text: str
    community: str | None
    in_group: bool
    at: datetime


class DeferredEscalations:
    """Waiting escalations, at most one per person and place (the highest risk wins)."""

    def __init__(self, store: Store, cases: CaseService, composer: Composer) -> None:
        self.store = store
        self.cases = cases
        self.composer = composer
        self._waiting: OrderedDict[tuple[str, str | None], Deferred] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, item: Deferred) -> None:
        key = (item.conversation_key, item.community)
        earlier = self._waiting.get(key)
        if earlier is not None and earlier.risk > item.risk:
            item = earlier
        self._waiting[key] = item
        while len(self._waiting) > MAX_WAITING:  # an outage of days: keep the newest
            dropped = self._waiting.popitem(last=False)[1]
            log.error("deferred escalation dropped", extra={"risk": dropped.risk.label})

    async def flush(self) -> int:
        """Open every waiting case the database now takes. Returns how many were handled; stops
        at the first outage (the rest wait for the next pass)."""
        handled = 0
        for key, item in list(self._waiting.items()):
            try:
                await self._open(item)
            except StoreUnavailable:
                log.warning("deferred escalations wait: database unavailable")
                return handled
            except Exception:  # this one keeps failing: try it again later, go on with the rest
                log.exception("deferred escalation failed; kept for the next pass")
                continue
            del self._waiting[key]
            handled += 1
        return handled

    async def _open(self, item: Deferred) -> None:
        case_id = await self.cases.open(
            conversation_key=item.conversation_key,
            user=item.user,
            chat=item.chat,
            risk=item.risk,
            text=item.text,
            region=None,
            community=item.community,
            in_group=item.in_group,
        )
        if case_id is None or item.in_group:
            return  # no team any more, or nobody to tell in private (a group is told nothing)
        reply = self.composer.reply(item.chat, "crisis.case_opened_late", kind=ReplyKind.CRISIS)
        entry = reply_entry(reply, f"{case_id}:late", case_id, utcnow())
        try:
            await self.store.transition(
                case_id, from_statuses=OPEN_STATUSES, changes={}, outbox=[entry]
            )
        except sa_exc.IntegrityError:
            return  # already told about this case
        self.cases.on_enqueue()
        log.info("deferred escalation opened", extra={"case": case_id})
