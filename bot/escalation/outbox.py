"""The durable outbox: at-least-once delivery of moderator notices and delayed replies.

Entries are written in the same transaction as the case change that caused them. A dispatcher
leases due entries (SKIP LOCKED on PostgreSQL, so several workers can run it), hands each to
the platform's sink, and marks it delivered; a failure is retried with backoff under the same
idempotency key, so a retried ping is recognisable and never posted twice by a careful sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta

from bot.core.messages import Button, ChatRef, ModeratorNotice, NoticeKind, Reply, ReplyKind
from bot.core.ports import NoticeSink
from bot.core.risk import RiskLevel
from bot.storage.models import OutboxRow
from bot.storage.store import RELAY_PRIORITY, Store, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # renewed every 10 s while sending; a dead worker's rows return
CRISIS, NORMAL, RELAY = 0, 1, RELAY_PRIORITY  # delivery order: a new ping never waits behind relays
_NOTICE_PRIORITY = {NoticeKind.PING: CRISIS, NoticeKind.RELAY: RELAY}
MAX_BACKOFF = timedelta(minutes=5)


def _buttons(buttons: tuple[Button, ...]) -> list[dict[str, object]]:
    return [
        {"label": b.label, "payload": b.payload, "private": b.opens_private_chat} for b in buttons
    ]


def notice_entry(
    notice: ModeratorNotice, now: datetime, *, thread_ref: str | None = None
) -> OutboxRow:
    """`thread_ref` only for a notice that outlives its case row (after /forget)."""
    payload: dict[str, object] = {
        "thread_ref": thread_ref,
        "case_id": notice.case_id,
        "kind": notice.kind.value,
        "text": notice.text,
        "risk": int(notice.risk),
        "buttons": _buttons(notice.buttons),
        "mention_role": notice.mention_role,
    }
    return OutboxRow(
        idempotency_key=notice.idempotency_key,
        case_id=notice.case_id,
        platform=notice.platform,
        kind="notice",
        priority=_NOTICE_PRIORITY.get(notice.kind, NORMAL),
        payload=payload,
        created_at=now,
        due_at=now,
        attempts=0,
    )


def reply_entry(reply: Reply, key: str, case_id: str | None, now: datetime) -> OutboxRow:
    payload: dict[str, object] = {
        "chat_id": reply.chat.chat_id,
        "thread_id": reply.chat.thread_id,
        "text": reply.text,
        "kind": reply.kind.value,
        "buttons": _buttons(reply.buttons),
    }
    return OutboxRow(
        idempotency_key=key,
        case_id=case_id,
        platform=reply.chat.platform,
        kind="reply",
        priority=CRISIS if reply.kind is ReplyKind.CRISIS else NORMAL,
        payload=payload,
        created_at=now,
        due_at=now,
        attempts=0,
    )


def _load_buttons(raw: object) -> tuple[Button, ...]:
    items = raw if isinstance(raw, list) else []
    return tuple(
        Button(str(b["label"]), str(b["payload"]), bool(b.get("private", False)))
        for b in items
        if isinstance(b, Mapping)
    )


def entry_notice(row: OutboxRow) -> ModeratorNotice:
    p = row.payload
    return ModeratorNotice(
        case_id=str(p["case_id"]),
        kind=NoticeKind(str(p["kind"])),
        text=str(p["text"]),
        platform=row.platform,
        risk=RiskLevel(int(str(p["risk"]))),
        idempotency_key=row.idempotency_key,
        buttons=_load_buttons(p.get("buttons")),
        mention_role=bool(p.get("mention_role", False)),
    )


def entry_reply(row: OutboxRow) -> Reply:
    p = row.payload
    thread = p.get("thread_id")
    return Reply(
        ChatRef(row.platform, str(p["chat_id"]), str(thread) if thread is not None else None),
        str(p["text"]),
        _load_buttons(p.get("buttons")),
        ReplyKind(str(p.get("kind", "message"))),
    )


class Dispatcher:
    """Delivers due outbox entries. While an entry is being sent (a platform call may wait out
    rate limits for minutes) its lease is renewed, so another worker never takes it over and
    posts it a second time; a worker that dies stops renewing, and the entry is due again
    within one lease."""

    def __init__(
        self, store: Store, sinks: Mapping[str, NoticeSink], *, lease: timedelta = LEASE
    ) -> None:
        self.store = store
        self.sinks = sinks
        self.lease = lease

    async def deliver_due(self, now: datetime | None = None, limit: int = 10) -> int:
        """Deliver everything due now, crisis first, in small batches: a ping queued while a
        batch is being sent goes out before the rest of the queue. Returns how many entries
        were delivered."""
        fixed = now
        delivered = 0
        while True:
            now = fixed or utcnow()  # a ping queued during this batch is due in the next one
            rows = await self.store.claim_outbox(now, limit, self.lease)
            for row in rows:
                delivered += await self._deliver(row, now)
            if len(rows) < limit:
                return delivered

    async def _deliver(self, row: OutboxRow, now: datetime) -> int:
        sink = self.sinks.get(row.platform)
        if sink is None:
            await self.store.outbox_failed(row.id, "no sink for platform", now + MAX_BACKOFF)
            return 0
        try:
            async with self._leased(row.id):
                ref = await self._send(sink, row)
        except Exception as exc:  # any platform failure: retry later, never drop
            backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** min(row.attempts, 8)))
            log.warning(
                "outbox delivery failed",
                extra={"entry": row.id, "error": type(exc).__name__, "attempt": row.attempts},
            )
            await self.store.outbox_failed(row.id, type(exc).__name__, now + backoff)
            return 0
        await self.store.outbox_delivered(row.id, ref)
        return 1

    async def _send(self, sink: NoticeSink, row: OutboxRow) -> str | None:
        if row.kind != "notice":
            await sink.send(entry_reply(row))
            return None
        case = await self.store.get_case(row.case_id or "")
        kept = row.payload.get("thread_ref")
        thread = case.thread_ref if case is not None else (str(kept) if kept else None)
        return await sink.deliver(entry_notice(row), thread)

    @contextlib.asynccontextmanager
    async def _leased(self, entry_id: int) -> AsyncIterator[None]:
        """Renew the entry's lease every third of a lease until the block ends."""

        async def renew() -> None:
            every = self.lease.total_seconds() / 3
            while True:
                await asyncio.sleep(every)
                with contextlib.suppress(Exception):  # a missed renewal: the next one may land
                    await self.store.renew_lease(entry_id, utcnow() + self.lease)

        renewer = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
