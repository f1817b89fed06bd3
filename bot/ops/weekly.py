"""The weekly moderators' report, posted in each moderators' room through the durable outbox.

The post's idempotency key names the platform and the scheduled week, so several workers, a
restart or a retry post it once. A schedule missed by more than a day (the bot was down) is
skipped rather than posted late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import ReportSettings
from bot.core.messages import ChatRef, Reply
from bot.core.texts import Texts
from bot.escalation.outbox import reply_entry
from bot.ops.report import gather, render
from bot.storage.models import OutboxRow
from bot.storage.store import Store, utcnow

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LATE_LIMIT = timedelta(days=1)
CHECK_EVERY = 300.0


def last_schedule(settings: ReportSettings, now: datetime) -> datetime:
    """The most recent scheduled moment (weekday at hour, UTC) at or before `now`."""
    day = now.replace(hour=settings.hour, minute=0, second=0, microsecond=0)
    day -= timedelta(days=(now.weekday() - WEEKDAYS.index(settings.weekday)) % 7)
    return day if day <= now else day - timedelta(days=7)


async def _enqueue_once(store: Store, row: OutboxRow) -> bool:
    values = {
        "idempotency_key": row.idempotency_key,
        "case_id": None,
        "platform": row.platform,
        "kind": row.kind,
        "payload": row.payload,
        "created_at": row.created_at,
        "due_at": row.due_at,
        "attempts": 0,
    }
    insert = pg_insert if store.is_postgres else sqlite_insert
    statement = insert(OutboxRow).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    async with store.session() as s:
        result = await s.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def post_if_due(
    store: Store,
    texts: Texts,
    rooms: Mapping[str, str],
    settings: ReportSettings,
    now: datetime | None = None,
) -> int:
    """Queue this week's report for each room whose post is due. Returns how many were queued."""
    now = now or utcnow()
    scheduled = last_schedule(settings, now)
    if now - scheduled > LATE_LIMIT:
        return 0
    text = render(await gather(store, scheduled - timedelta(days=7), scheduled), texts)
    queued = 0
    for platform, room in rooms.items():
        reply = Reply(ChatRef(platform, room), text)
        key = f"report:{platform}:{scheduled:%Y-%m-%d}"
        if await _enqueue_once(store, reply_entry(reply, key, None, now)):
            queued += 1
            log.info("weekly report queued", extra={"platform": platform})
    return queued


async def run_weekly_report(
    store: Store,
    texts: Texts,
    rooms: Mapping[str, str],
    settings: ReportSettings,
    wake: Callable[[], None],
    stop: asyncio.Event,
) -> None:
    """Check every few minutes until `stop` is set."""
    while not stop.is_set():
        try:
            if await post_if_due(store, texts, rooms, settings):
                wake()
        except Exception:
            log.exception("weekly report failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CHECK_EVERY)
