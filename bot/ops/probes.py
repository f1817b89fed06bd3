"""What the health and metrics endpoints ask the running app: cheap, bounded in time."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import func, select, text

from bot.core.messages import ModeratorNotice, NoticeKind, Reply
from bot.core.ports import NoticeSink
from bot.ops.metrics import Metrics
from bot.storage.models import CaseRow, OutboxRow
from bot.storage.store import Store, aware, utcnow

DB_TIMEOUT = 2.0


async def database_ok(store: Store, timeout: float = DB_TIMEOUT) -> bool:
    """True when a trivial query answers in time."""
    try:
        async with asyncio.timeout(timeout):
            async with store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the reason is not the probe's business
        return False


async def refresh_outbox(store: Store, metrics: Metrics, timeout: float = DB_TIMEOUT) -> None:
    """Outbox depth and the age of its oldest undelivered entry, into the gauges."""
    async with asyncio.timeout(timeout), store.session() as s:
        depth, oldest = (
            await s.execute(
                select(func.count(OutboxRow.id), func.min(OutboxRow.created_at)).where(
                    OutboxRow.delivered_at.is_(None)
                )
            )
        ).one()
    oldest_at = aware(oldest)
    age = (utcnow() - oldest_at).total_seconds() if oldest_at is not None else 0.0
    metrics.outbox(int(depth or 0), max(0.0, age))


class MeteredSink:
    """A platform's NoticeSink that records time-to-ping and delivery failures."""

    def __init__(self, inner: NoticeSink, store: Store, metrics: Metrics) -> None:
        self.inner, self.store, self.metrics = inner, store, metrics
        self.platform = inner.platform

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        created = await self._case_created(notice) if notice.kind is NoticeKind.PING else None
        try:
            ref = await self.inner.deliver(notice, thread_ref)
        except Exception as exc:
            self.metrics.delivery_failed(self.platform, exc)
            raise
        if created is not None:
            self.metrics.ping_delivered(self.platform, created, utcnow())
        return ref

    async def _case_created(self, notice: ModeratorNotice) -> datetime | None:
        async with self.store.session() as s:
            query = select(CaseRow.created_at).where(CaseRow.id == notice.case_id)
            return aware(await s.scalar(query))

    async def send(self, reply: Reply) -> None:
        try:
            await self.inner.send(reply)
        except Exception as exc:
            self.metrics.delivery_failed(self.platform, exc)
            raise
        self.metrics.sent(self.platform, reply.kind)
