"""The store: every database read and write the bot makes, behind one small class."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Result, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.core.ports import GroupSettings
from bot.core.risk import RiskLevel
from bot.core.state import ConversationState, Flow
from bot.storage.migrate import upgrade
from bot.storage.models import CaseRow, ConversationRow, GroupRow, MessageLimitRow, OutboxRow

log = logging.getLogger(__name__)

OPEN_STATUSES = ("open", "pinged", "claimed")


def _count(result: Result[Any]) -> int:
    """Rows touched by an UPDATE/DELETE (DML results are cursor results)."""
    return int(getattr(result, "rowcount", 0) or 0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def open(cls, url: str, *, echo: bool = False) -> Store:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an SQL error must never put message text into a log
        engine = create_async_engine(url, echo=echo, hide_parameters=True)
        await upgrade(engine)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    # conversations -------------------------------------------------------------------------
    async def load_conversation(self, key: str) -> ConversationState:
        async with self.session() as s:
            row = await s.get(ConversationRow, key)
            if row is None:
                return ConversationState(key=key)
            return ConversationState(
                key=key,
                region=row.region,
                notice_shown=row.notice_shown,
                exercise=row.exercise,
                exercise_step=row.exercise_step,
                pending=Flow.parse(row.pending),
                recent_risk=RiskLevel(row.recent_risk),
                turns_since_risk=row.turns_since_risk,
                open_case_id=row.open_case_id,
            )

    async def save_conversation(self, state: ConversationState) -> None:
        async with self.session() as s:
            row = await s.get(ConversationRow, state.key)
            if row is None:
                row = ConversationRow(key=state.key)
                s.add(row)
            row.region = state.region
            row.notice_shown = state.notice_shown
            row.exercise = state.exercise
            row.exercise_step = state.exercise_step
            row.pending = state.pending
            row.recent_risk = int(state.recent_risk)
            row.turns_since_risk = state.turns_since_risk
            row.open_case_id = state.open_case_id
            row.updated_at = utcnow()

    async def forget(self, key: str) -> int:
        """Delete everything kept about one person. Returns the number of rows removed."""
        async with self.session() as s:
            case_ids = list(
                (await s.scalars(select(CaseRow.id).where(CaseRow.conversation_key == key))).all()
            )
            removed = 0
            if case_ids:
                removed += _count(
                    await s.execute(delete(OutboxRow).where(OutboxRow.case_id.in_(case_ids)))
                )
                removed += _count(await s.execute(delete(CaseRow).where(CaseRow.id.in_(case_ids))))
            removed += _count(
                await s.execute(delete(ConversationRow).where(ConversationRow.key == key))
            )
            removed += _count(
                await s.execute(delete(MessageLimitRow).where(MessageLimitRow.key == key))
            )
            return removed

    # per-person message limit --------------------------------------------------------------
    async def count_message(self, key: str, at: datetime, window: timedelta) -> int:
        """Count one message from `key` and return how many it sent in the current window.

        A window starts with the first message after the last one ended and lasts `window`.
        One atomic upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) on both SQLite and
        PostgreSQL, so concurrent workers never lose or double a count.
        """
        at = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
        row = MessageLimitRow
        insert = pg_insert if self.is_postgres else sqlite_insert
        fresh = insert(row).values(key=key, messages=1, window_ends_at=at + window)
        running = row.window_ends_at > at
        statement = fresh.on_conflict_do_update(
            index_elements=[row.key],
            set_={
                "messages": case((running, row.messages + 1), else_=1),
                "window_ends_at": case(
                    (running, row.window_ends_at), else_=fresh.excluded.window_ends_at
                ),
            },
        ).returning(row.messages)
        async with self.session() as s:
            return int((await s.execute(statement)).scalar_one())

    # groups --------------------------------------------------------------------------------
    async def set_group_watch(self, platform: str, chat_id: str, watched: bool) -> None:
        async with self.session() as s:
            row = await s.get(GroupRow, (platform, chat_id))
            if row is None:
                row = GroupRow(platform=platform, chat_id=chat_id)
                s.add(row)
            row.watched = watched
            row.updated_at = utcnow()

    async def set_group_region(self, platform: str, chat_id: str, region: str | None) -> None:
        """The community's default helpline region (None clears it); watching is unchanged."""
        async with self.session() as s:
            row = await s.get(GroupRow, (platform, chat_id))
            if row is None:
                row = GroupRow(platform=platform, chat_id=chat_id, watched=False)
                s.add(row)
            row.default_region = region
            row.updated_at = utcnow()

    async def group(self, platform: str, chat_id: str) -> GroupSettings | None:
        async with self.session() as s:
            row = await s.get(GroupRow, (platform, chat_id))
            return None if row is None else GroupSettings(row.watched, row.default_region)

    # cases ---------------------------------------------------------------------------------
    async def add_case(self, case: CaseRow, outbox: Sequence[OutboxRow]) -> None:
        async with self.session() as s:
            s.add(case)
            s.add_all(outbox)

    async def get_case(self, case_id: str) -> CaseRow | None:
        async with self.session() as s:
            return await s.get(CaseRow, case_id)

    async def case_for_thread(self, platform: str, thread_ref: str) -> CaseRow | None:
        async with self.session() as s:
            return (
                await s.scalars(
                    select(CaseRow)
                    .where(CaseRow.platform == platform, CaseRow.thread_ref == thread_ref)
                    .order_by(CaseRow.created_at.desc())
                    .limit(1)
                )
            ).first()

    async def transition(
        self,
        case_id: str,
        *,
        from_statuses: Sequence[str],
        changes: dict[str, object],
        outbox: Sequence[OutboxRow] = (),
    ) -> bool:
        """Change a case only if it is still in one of `from_statuses` (safe under races)."""
        async with self.session() as s:
            guard = (CaseRow.id == case_id, CaseRow.status.in_(from_statuses))
            if changes:
                result = await s.execute(update(CaseRow).where(*guard).values(**changes))
                matched = bool(_count(result))
            else:
                matched = (await s.scalar(select(CaseRow.id).where(*guard))) is not None
            if not matched:
                return False
            s.add_all(outbox)
            return True

    async def adopt_case(
        self, conversation_key: str, chat_id: str, chat_thread: str | None
    ) -> str | None:
        async with self.session() as s:
            case = (
                await s.scalars(
                    select(CaseRow)
                    .where(
                        CaseRow.conversation_key == conversation_key,
                        CaseRow.status.in_(OPEN_STATUSES),
                        CaseRow.kind == "risk",
                        CaseRow.chat_id.is_(None),
                    )
                    .order_by(CaseRow.created_at.desc())
                    .limit(1)
                )
            ).first()
            if case is None:
                return None
            case.chat_id, case.chat_thread = chat_id, chat_thread
            return case.id

    async def close_conversation_case(self, key: str, case_id: str) -> None:
        """Detach a closed case from its conversation and drop the words already delivered."""
        async with self.session() as s:
            await s.execute(
                delete(OutboxRow).where(
                    OutboxRow.case_id == case_id, OutboxRow.delivered_at.is_not(None)
                )
            )
            await s.execute(
                update(ConversationRow)
                .where(ConversationRow.key == key, ConversationRow.open_case_id == case_id)
                .values(open_case_id=None)
            )

    async def due_cases(self, now: datetime) -> list[CaseRow]:
        async with self.session() as s:
            return list(
                (
                    await s.scalars(
                        select(CaseRow).where(
                            CaseRow.status.in_(("open", "pinged")),
                            CaseRow.next_action_at.is_not(None),
                            CaseRow.next_action_at <= now,
                        )
                    )
                ).all()
            )

    # outbox --------------------------------------------------------------------------------
    async def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxRow]:
        """Take due entries and lease them, so other workers skip them (SKIP LOCKED)."""
        async with self.session() as s:
            query = (
                select(OutboxRow)
                .where(OutboxRow.delivered_at.is_(None), OutboxRow.due_at <= now)
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list((await s.scalars(query)).all())
            for row in rows:
                row.due_at = now + lease
            return rows

    async def outbox_delivered(self, entry_id: int, thread_ref: str | None) -> None:
        async with self.session() as s:
            row = await s.get(OutboxRow, entry_id)
            if row is None:
                return
            row.delivered_at = utcnow()
            if thread_ref and row.case_id:
                await s.execute(
                    update(CaseRow)
                    .where(CaseRow.id == row.case_id, CaseRow.thread_ref.is_(None))
                    .values(thread_ref=thread_ref)
                )

    async def outbox_failed(self, entry_id: int, error: str, retry_at: datetime) -> None:
        async with self.session() as s:
            row = await s.get(OutboxRow, entry_id)
            if row is not None:
                row.attempts += 1
                row.last_error = error[:200]
                row.due_at = retry_at

    async def pending_outbox(self) -> int:
        async with self.session() as s:
            rows = await s.scalars(select(OutboxRow.id).where(OutboxRow.delivered_at.is_(None)))
            return len(rows.all())

    # retention -----------------------------------------------------------------------------
    async def purge(self, conversation_days: int, case_days: int) -> dict[str, int]:
        now = utcnow()
        conv_cutoff = now - timedelta(days=conversation_days)
        case_cutoff = now - timedelta(days=case_days)
        async with self.session() as s:
            conv = await s.execute(
                delete(ConversationRow).where(
                    ConversationRow.updated_at < conv_cutoff, ConversationRow.open_case_id.is_(None)
                )
            )
            cases = await s.execute(
                delete(CaseRow).where(
                    or_(CaseRow.closed_at < case_cutoff, CaseRow.created_at < case_cutoff),
                    CaseRow.status.not_in(OPEN_STATUSES) | (CaseRow.created_at < case_cutoff),
                )
            )
            out = await s.execute(  # delivered entries may hold relayed words: keep a day
                delete(OutboxRow).where(
                    OutboxRow.delivered_at.is_not(None),
                    OutboxRow.delivered_at < now - timedelta(days=1),
                )
            )
            limits = await s.execute(  # an ended window holds nothing worth keeping
                delete(MessageLimitRow).where(MessageLimitRow.window_ends_at < now)
            )
            return {
                "conversations": _count(conv),
                "cases": _count(cases),
                "outbox": _count(out),
                "message limits": _count(limits),
            }
