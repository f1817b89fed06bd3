"""The store: every database read and write the bot makes, behind one small class."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Result, case, delete, event, or_, select, update
from sqlalchemy import exc as sa_exc
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
from bot.storage.models import (
    CaseRow,
    ConversationRow,
    GroupRow,
    InboxRow,
    MessageLimitRow,
    OutboxRow,
)

log = logging.getLogger(__name__)

OPEN_STATUSES = ("open", "pinged", "claimed")
RELAY_PRIORITY = 2  # outbox priority of relayed words (see bot.escalation.outbox)


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


DEFAULT_TIMEOUT = 2.0
SQLITE_MIN_DEADLINE = 10.0
# what a database that is down, unreachable or hung raises (anything else is a real error)
_UNAVAILABLE = (
    TimeoutError,
    OSError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)


class StoreUnavailable(Exception):
    """The database did not answer within the deadline, or is known to be down right now.

    Callers treat it like any store failure (the crisis reply still goes out); it exists so
    the wiring can tell an outage from a bug and defer work until the database is back."""


def build_engine(url: str, *, echo: bool = False, timeout: float = DEFAULT_TIMEOUT) -> AsyncEngine:
    """An engine whose every wait is bounded: connecting, waiting for a pooled connection and
    each statement. A database that accepts TCP and never answers costs `timeout`, not forever.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # waiting for another writer's lock
        connect_args: dict[str, Any] = {"timeout": sqlite_deadline(timeout)}
    elif "asyncpg" in url:
        # half the deadline each: a statement that times out is followed by a rollback on the
        # same hung connection, which waits out the command timeout once more
        connect_args = {"timeout": timeout / 2, "command_timeout": timeout / 2}
    else:
        connect_args = {}
    # hide_parameters: an SQL error must never put message text into a log
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args=connect_args,
        **({} if url.startswith("sqlite") else {"pool_timeout": timeout, "pool_pre_ping": True}),
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_deadline(timeout: float) -> float:
    """SQLite is a local file: it cannot hang like a network peer, but concurrent writers
    queue for its one write lock, so a burst legitimately waits longer than a network call."""
    return max(timeout, SQLITE_MIN_DEADLINE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Deleted rows (relayed words, excerpts, /forget) are overwritten, not left in free pages."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class Store:
    """Every call either finishes within `timeout` seconds or raises `StoreUnavailable`.

    After an outage is noticed, calls fail at once for `timeout` seconds (then one is let
    through to try again), so a burst of messages during an outage is answered without each
    waiting out its own deadline. A store opened while the database was down starts with
    `ready` false and is migrated by `ensure_ready` once the database answers."""

    def __init__(
        self, engine: AsyncEngine, *, timeout: float = DEFAULT_TIMEOUT, ready: bool = True
    ) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.timeout = timeout
        self.ready = ready
        self._down_until = 0.0
        self._upgrade_lock = asyncio.Lock()
        # what to tell moderators when a person with an open case uses /forget (the wiring
        # sets it: the store composes no text)
        self.forget_notices: Callable[[Sequence[CaseRow]], Sequence[OutboxRow]] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        echo: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        degraded_ok: bool = False,
    ) -> Store:
        """Open and migrate. With `degraded_ok`, a database that is down at start-up gives a
        store that is not ready yet (every call raises `StoreUnavailable`) instead of an error.
        """
        engine = build_engine(url, echo=echo, timeout=timeout)
        if engine.dialect.name == "sqlite":
            timeout = sqlite_deadline(timeout)
        store = cls(engine, timeout=timeout, ready=False)
        try:
            await store.ensure_ready(migration_timeout=max(timeout, 30.0))
        except StoreUnavailable:
            if not degraded_ok:
                await engine.dispose()
                raise
            log.error("database unavailable at start-up; running degraded until it answers")
        return store

    async def ensure_ready(self, *, migration_timeout: float | None = None) -> bool:
        """Apply migrations if that has not happened yet. Raises `StoreUnavailable`."""
        if self.ready:
            return True
        async with self._upgrade_lock:
            if self.ready:
                return True
            try:
                async with asyncio.timeout(migration_timeout or max(self.timeout, 30.0)):
                    await upgrade(self.engine)
            except _UNAVAILABLE as exc:
                raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
            self.ready = True
            self._down_until = 0.0
            log.info("database ready")
        return True

    async def close(self) -> None:
        await self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def available(self) -> bool:
        """False while the database is known to be down (or not migrated yet)."""
        return self.ready and time.monotonic() >= self._down_until

    def _trip(self) -> None:
        # SQLite is a local file: a failure there (a lock held too long) is not an outage
        if self.engine.dialect.name != "sqlite":
            self._down_until = time.monotonic() + self.timeout

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if not self.ready:
            raise StoreUnavailable("database not ready")
        if time.monotonic() < self._down_until:
            raise StoreUnavailable("database unavailable (recent failure)")
        session = self._sessions()
        try:
            async with asyncio.timeout(self.timeout):
                yield session
                await session.commit()
        except _UNAVAILABLE as exc:
            # drop the connection without another round trip: a rollback on a hung
            # connection would wait out its own timeout after the deadline
            with contextlib.suppress(Exception):
                await session.invalidate()
            self._trip()
            raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except BaseException:
            with contextlib.suppress(Exception):
                await session.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                await session.close()
        self._down_until = 0.0

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
        """One atomic upsert: two workers saving a new person's first turn at once both land
        (the later one wins) instead of one failing on the primary key."""
        values: dict[str, object] = {
            "region": state.region,
            "notice_shown": state.notice_shown,
            "exercise": state.exercise,
            "exercise_step": state.exercise_step,
            "pending": state.pending,
            "recent_risk": int(state.recent_risk),
            "turns_since_risk": state.turns_since_risk,
            "open_case_id": state.open_case_id,
            "updated_at": utcnow(),
        }
        insert = pg_insert if self.is_postgres else sqlite_insert
        statement = insert(ConversationRow).values(key=state.key, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[ConversationRow.key], set_=values
        )
        async with self.session() as s:
            await s.execute(statement)

    async def forget(self, key: str) -> int:
        """Delete everything kept about one person. Returns the number of rows removed.

        Moderators of a case still open are told (`forget_notices`, set by the wiring): the
        notice names the case and its thread, nothing about the person."""
        async with self.session() as s:
            cases = list(
                (await s.scalars(select(CaseRow).where(CaseRow.conversation_key == key))).all()
            )
            case_ids = [case.id for case in cases]
            removed = 0
            if case_ids:
                removed += _count(
                    await s.execute(delete(OutboxRow).where(OutboxRow.case_id.in_(case_ids)))
                )
                still_open = [c for c in cases if c.status in OPEN_STATUSES]
                notices = self.forget_notices(still_open) if self.forget_notices else ()
                removed += _count(await s.execute(delete(CaseRow).where(CaseRow.id.in_(case_ids))))
                s.add_all(notices)
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
    async def add_case(self, case: CaseRow, outbox: Sequence[OutboxRow]) -> str | None:
        """Add a case and its first notices. If the person already has an open case of this
        kind in this community (the unique index, so also across workers), nothing is added and
        that case's id is returned; None when the new case was added."""
        try:
            async with self.session() as s:
                s.add(case)
                s.add_all(outbox)
        except sa_exc.IntegrityError:
            existing = await self.open_case_for(case.conversation_key, case.community, case.kind)
            if existing is None:  # closed in between: a genuine conflict elsewhere
                raise
            return existing.id
        return None

    async def open_case_for(
        self, conversation_key: str, community: str | None, kind: str = "risk"
    ) -> CaseRow | None:
        """The person's open case of `kind` in `community` (None: a private chat), if any."""
        async with self.session() as s:
            place = (
                CaseRow.community.is_(None) if community is None else CaseRow.community == community
            )
            return (
                await s.scalars(
                    select(CaseRow)
                    .where(
                        CaseRow.conversation_key == conversation_key,
                        place,
                        CaseRow.kind == kind,
                        CaseRow.status.in_(OPEN_STATUSES),
                    )
                    .limit(1)
                )
            ).first()

    async def latest_case(
        self, conversation_key: str, community: str | None, before: datetime
    ) -> CaseRow | None:
        """The person's most recent risk case in `community` opened before `before`."""
        async with self.session() as s:
            place = (
                CaseRow.community.is_(None) if community is None else CaseRow.community == community
            )
            return (
                await s.scalars(
                    select(CaseRow)
                    .where(CaseRow.conversation_key == conversation_key, place)
                    .where(CaseRow.kind == "risk", CaseRow.created_at < before)
                    .order_by(CaseRow.created_at.desc())
                    .limit(1)
                )
            ).first()

    async def set_thread_ref(self, case_id: str, thread_ref: str) -> None:
        """Remember a case's topic/thread as soon as it exists (before the ping is posted), so
        a retry after a crash posts into it instead of opening a second one."""
        async with self.session() as s:
            await s.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id, CaseRow.thread_ref.is_(None))
                .values(thread_ref=thread_ref)
            )

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
        """Detach a closed case from its conversation and drop the person's words: those
        already delivered and relays not delivered yet (they must not arrive after the close).
        """
        async with self.session() as s:
            await s.execute(
                delete(OutboxRow).where(
                    OutboxRow.case_id == case_id,
                    or_(OutboxRow.delivered_at.is_not(None), OutboxRow.priority == RELAY_PRIORITY),
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
                .order_by(OutboxRow.priority, OutboxRow.id)
                .limit(limit)
            )
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
                rows = list((await s.scalars(query)).all())
                for row in rows:
                    row.due_at = now + lease
                return rows
            # SQLite has no row locks: each lease is a guarded UPDATE, so of two workers that
            # read the same due row only the first to write takes it
            taken = []
            for row in (await s.scalars(query)).all():
                leased = await s.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row.id, OutboxRow.due_at == row.due_at)
                    .where(OutboxRow.delivered_at.is_(None))
                    .values(due_at=now + lease)
                    .execution_options(synchronize_session=False)
                )
                if _count(leased):
                    row.due_at = now + lease
                    taken.append(row)
            return taken

    async def renew_lease(self, entry_id: int, until: datetime) -> None:
        """Keep an entry hidden from other workers while this one is still sending it."""
        async with self.session() as s:
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == entry_id, OutboxRow.delivered_at.is_(None))
                .values(due_at=until)
            )

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

    # the durable inbox ---------------------------------------------------------------------
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]:
        """Record updates before they are acknowledged. Returns the ids that are new (an id
        already recorded, handled or not, was seen before and must not be handled again here).
        """
        ids = [update_id for update_id, _ in updates]
        async with self.session() as s:
            seen = set(
                (
                    await s.scalars(
                        select(InboxRow.update_id).where(
                            InboxRow.platform == platform, InboxRow.update_id.in_(ids)
                        )
                    )
                ).all()
            )
            now = utcnow()
            fresh = [(i, p) for i, p in updates if i not in seen]
            s.add_all(
                InboxRow(platform=platform, update_id=i, payload=p, received_at=now)
                for i, p in fresh
            )
            return {i for i, _ in fresh}

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]:
        """Updates recorded but not handled (a process stopped while handling them)."""
        async with self.session() as s:
            rows = (
                await s.scalars(
                    select(InboxRow)
                    .where(InboxRow.platform == platform, InboxRow.done_at.is_(None))
                    .order_by(InboxRow.update_id)
                )
            ).all()
            return [(row.update_id, dict(row.payload or {})) for row in rows]

    async def inbox_done(self, platform: str, update_id: int) -> None:
        """Handled: the payload (the person's words) is wiped at once."""
        async with self.session() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.platform == platform, InboxRow.update_id == update_id)
                .values(done_at=utcnow(), payload=None)
            )

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
            inbox = await s.execute(  # handled long ago, or stuck for a day
                delete(InboxRow).where(InboxRow.received_at < now - timedelta(days=1))
            )
            limits = await s.execute(  # an ended window holds nothing worth keeping
                delete(MessageLimitRow).where(MessageLimitRow.window_ends_at < now)
            )
            return {
                "conversations": _count(conv),
                "cases": _count(cases),
                "outbox": _count(out),
                "message limits": _count(limits),
                "inbox": _count(inbox),
            }
