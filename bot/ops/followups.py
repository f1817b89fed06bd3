"""The check-in after a case: offered when a moderator resolves a case, scheduled only on a
"yes", sent once through the durable outbox, cancelled by `/stop`, deleted by `/forget`.

Every state is a row in `follow_ups`, so a restart resumes the timer; the outbox entry's
idempotency key (`followup:<case>`) and a guarded `accepted → sent` update mean one message
however many workers tick at once. Someone who said no, or never answered, gets nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.config import FollowUpSettings
from bot.core.compose import Composer
from bot.core.messages import ChatRef, Reply
from bot.escalation.outbox import reply_entry
from bot.storage.models import CaseRow, FollowUpRow
from bot.storage.store import Store, utcnow

log = logging.getLogger(__name__)

PENDING = ("offered", "accepted")
KEEP_CLOSED = timedelta(days=30)  # finished rows (no chat id left) are then deleted


class FollowUpService:
    def __init__(self, store: Store, composer: Composer, settings: FollowUpSettings) -> None:
        self.store = store
        self.composer = composer
        self.settings = settings

    @property
    def delay_hours(self) -> float:
        return self.settings.delay_hours

    @property
    def _hours(self) -> str:
        return f"{self.settings.delay_hours:g}"

    async def offer(self, case: CaseRow, chat: ChatRef) -> tuple[Reply, ...]:
        """Called as a case is resolved: remember the offer and ask (nothing if disabled)."""
        if not self.settings.enabled:
            return ()
        now = utcnow()
        async with self.store.session() as s:
            # a newer offer replaces any older one still waiting for this person
            await s.execute(
                update(FollowUpRow)
                .where(
                    FollowUpRow.conversation_key == case.conversation_key,
                    FollowUpRow.status.in_(PENDING),
                )
                .values(status="cancelled", chat_id=None, due_at=None, updated_at=now)
            )
            s.add(
                FollowUpRow(
                    conversation_key=case.conversation_key,
                    case_id=case.id,
                    platform=chat.platform,
                    chat_id=chat.chat_id,
                    chat_thread=chat.thread_id,
                    status="offered",
                    created_at=now,
                    updated_at=now,
                )
            )
        buttons = (
            self.composer.button("followup.buttons.accept", "/checkin yes"),
            self.composer.button("followup.buttons.decline", "/checkin no"),
        )
        return (self.composer.reply(chat, "followup.offer", buttons=buttons, hours=self._hours),)

    async def _latest(self, key: str) -> FollowUpRow | None:
        async with self.store.session() as s:
            query = (
                select(FollowUpRow)
                .where(FollowUpRow.conversation_key == key, FollowUpRow.status.in_(PENDING))
                .order_by(FollowUpRow.id.desc())
                .limit(1)
            )
            return (await s.scalars(query)).first()

    async def answer(self, key: str, consent: bool) -> str:
        """`/checkin yes` schedules the one message (only from an open offer); `/checkin no`
        declines an offer or an accepted check-in. The response key to reply with."""
        row = await self._latest(key)
        if row is None or (consent and row.status != "offered"):
            return "followup.nothing"
        now = utcnow()
        if consent:
            changes: dict[str, object] = {
                "status": "accepted",
                "due_at": now + timedelta(hours=self.settings.delay_hours),
            }
        else:
            changes = {"status": "declined", "chat_id": None, "chat_thread": None, "due_at": None}
        async with self.store.session() as s:
            await s.execute(
                update(FollowUpRow)
                .where(FollowUpRow.id == row.id, FollowUpRow.status == row.status)
                .values(updated_at=now, **changes)
            )
        log.info("follow-up answered", extra={"accepted": consent})
        return "followup.accepted" if consent else "followup.declined"

    async def cancel(self, key: str) -> bool:
        async with self.store.session() as s:
            result = await s.execute(
                update(FollowUpRow)
                .where(FollowUpRow.conversation_key == key, FollowUpRow.status.in_(PENDING))
                .values(
                    status="cancelled",
                    chat_id=None,
                    chat_thread=None,
                    due_at=None,
                    updated_at=utcnow(),
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def forget(self, key: str) -> None:
        async with self.store.session() as s:
            await s.execute(delete(FollowUpRow).where(FollowUpRow.conversation_key == key))

    async def tick(self, now: datetime | None = None) -> int:
        """Queue every accepted check-in that is due (once each). Returns how many."""
        now = now or utcnow()
        queued = 0
        async with self.store.session() as s:
            due = (
                await s.scalars(
                    select(FollowUpRow)
                    .where(FollowUpRow.status == "accepted", FollowUpRow.due_at <= now)
                    .limit(100)
                )
            ).all()
        for row in due:
            if row.chat_id is None:
                continue
            chat = ChatRef(row.platform, row.chat_id, row.chat_thread)
            reply = self.composer.reply(chat, "followup.checkin")
            async with self.store.session() as s:
                won = await s.execute(
                    update(FollowUpRow)
                    .where(FollowUpRow.id == row.id, FollowUpRow.status == "accepted")
                    .values(status="sent", chat_id=None, chat_thread=None, updated_at=now)
                )
                if not getattr(won, "rowcount", 0):
                    continue  # another worker (or a /stop) got there first
                s.add(reply_entry(reply, f"followup:{row.case_id}", None, now))
            queued += 1
        async with self.store.session() as s:
            await s.execute(
                delete(FollowUpRow).where(
                    FollowUpRow.status.not_in(PENDING), FollowUpRow.updated_at < now - KEEP_CLOSED
                )
            )
        return queued
