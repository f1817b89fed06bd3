"""The durable outbox: at-least-once delivery of moderator notices and delayed replies.

Entries are written in the same transaction as the case change that caused them. A dispatcher
leases due entries (SKIP LOCKED on PostgreSQL, so several workers can run it), hands each to
the platform's sink, and marks it delivered; a failure is retried with backoff under the same
idempotency key, so a retried ping is recognisable and never posted twice by a careful sink.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.core.messages import Button, ChatRef, ModeratorNotice, NoticeKind, Reply, ReplyKind
from bot.core.ports import NoticeSink
from bot.core.risk import RiskLevel
from bot.storage.models import OutboxRow
from bot.storage.store import Store, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)


def _buttons(buttons: tuple[Button, ...]) -> list[dict[str, object]]:
    return [
        {"label": b.label, "payload": b.payload, "private": b.opens_private_chat} for b in buttons
    ]


def notice_entry(notice: ModeratorNotice, now: datetime) -> OutboxRow:
    payload: dict[str, object] = {
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
    def __init__(self, store: Store, sinks: Mapping[str, NoticeSink]) -> None:
        self.store = store
        self.sinks = sinks

    async def deliver_due(self, now: datetime | None = None, limit: int = 50) -> int:
        """Deliver what is due now. Returns how many entries were delivered."""
        now = now or utcnow()
        delivered = 0
        for row in await self.store.claim_outbox(now, limit, LEASE):
            sink = self.sinks.get(row.platform)
            if sink is None:
                await self.store.outbox_failed(row.id, "no sink for platform", now + MAX_BACKOFF)
                continue
            try:
                ref: str | None = None
                if row.kind == "notice":
                    case = await self.store.get_case(row.case_id or "")
                    thread = case.thread_ref if case is not None else None
                    ref = await sink.deliver(entry_notice(row), thread)
                else:
                    await sink.send(entry_reply(row))
            except Exception as exc:  # any platform failure: retry later, never drop
                backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** min(row.attempts, 8)))
                log.warning(
                    "outbox delivery failed",
                    extra={"entry": row.id, "error": type(exc).__name__, "attempt": row.attempts},
                )
                await self.store.outbox_failed(row.id, type(exc).__name__, now + backoff)
                continue
            await self.store.outbox_delivered(row.id, ref)
            delivered += 1
        return delivered
