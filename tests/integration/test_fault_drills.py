"""Fault drills: the delivery path when the database hangs, is down, or holds a bad row, and
when two workers race. Real PostgreSQL (behind a proxy that can hang) and real SQLite.

Each drill is one of the findings of issue 13; docs/reliability.md lists them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.messages import ModeratorNotice, NoticeKind, Outcome, Reply
from bot.core.risk import RiskLevel
from bot.escalation.outbox import Dispatcher
from bot.storage.models import CaseRow
from bot.storage.store import Store, StoreUnavailable
from tests.conftest import ROOT, RecordingSink, ScriptedNlu, person
from tests.fakes.tcp_proxy import HangableProxy

CRISIS = "i don't want to be alive anymore"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def texts_of(outcome: Outcome) -> list[str]:
    return [r.text for r in outcome.replies]


def crisis_opening(app: App) -> str:
    return app.texts.get("crisis.high", emergency="").split("\n\n", 1)[0]


def pings(sink: RecordingSink) -> list[ModeratorNotice]:
    return [n for n, _ in sink.notices if n.kind is NoticeKind.PING]


@pytest.fixture
async def pg_name() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"signpost_drill_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield name
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run_background_until(app: App, done: object, timeout: float = 20.0) -> None:
    """Run the app's background work (outbox, ladder, deferred escalations) until `done()`."""
    stop = asyncio.Event()
    task = asyncio.create_task(app.run_background(stop))
    try:
        deadline = time.monotonic() + timeout
        while not done():  # type: ignore[operator]
            assert time.monotonic() < deadline, "background work did not catch up in time"
            app.wake.set()
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task


# -- finding 1 and 4: a hung database ----------------------------------------------------------


@pytest.mark.postgres
async def test_crisis_reply_within_seconds_while_the_database_hangs_then_the_case_opens(
    settings: Settings, nlu: ScriptedNlu, pg_name: str
) -> None:
    nlu.say(CRISIS, RiskLevel.HIGH)
    async with HangableProxy() as proxy:
        app = await build(
            settings, nlu=nlu, content=ContentPaths(ROOT), database_url=proxy.url(pg_name)
        )
        try:
            sink = RecordingSink()
            app.register_sink(sink)
            alice, bob = person(app, "alice"), person(app, "bob")
            assert (await app.handle(alice("hello"))).replies  # a pooled connection exists

            proxy.hang()
            started = time.monotonic()
            out = await asyncio.wait_for(app.handle(alice(CRISIS)), timeout=30)
            elapsed = time.monotonic() - started
            assert elapsed < 5, f"crisis reply took {elapsed:.1f} s while the database hung"
            said = texts_of(out)
            assert said[0].startswith(crisis_opening(app))
            assert app.texts.get("crisis.case_deferred") in said, "the person was not told"
            assert app.texts.get("crisis.case_opened") not in said, "a false promise"

            started = time.monotonic()  # the next person does not wait out a deadline again
            out = await asyncio.wait_for(app.handle(bob(CRISIS)), timeout=30)
            assert time.monotonic() - started < 1.0
            assert app.texts.get("crisis.case_deferred") in texts_of(out)
            assert len(app.deferred) == 2

            proxy.restore()
            late = app.texts.get("crisis.case_opened_late")
            await run_background_until(
                app, lambda: len(pings(sink)) == 2 and len(sink.sent) == 2, timeout=30
            )
            assert sorted(r.chat.chat_id for r in sink.sent) == ["chat-alice", "chat-bob"]
            assert all(r.text == late for r in sink.sent)
            # nothing doubles later: one case and one ping per person
            await run_background_until(app, lambda: True)
            assert len(pings(sink)) == 2 and len(sink.sent) == 2
            assert not app.deferred
        finally:
            proxy.restore()
            await app.close()


@pytest.mark.postgres
async def test_signpost_starts_while_the_database_is_down_and_catches_up(
    settings: Settings, nlu: ScriptedNlu, pg_name: str
) -> None:
    nlu.say(CRISIS, RiskLevel.CRITICAL)
    async with HangableProxy() as proxy:
        proxy.refuse()
        with pytest.raises(StoreUnavailable):  # `signpost chat` and tests still fail loudly
            await build(
                settings, nlu=nlu, content=ContentPaths(ROOT), database_url=proxy.url(pg_name)
            )
        started = time.monotonic()
        app = await build(
            settings,
            nlu=nlu,
            content=ContentPaths(ROOT),
            database_url=proxy.url(pg_name),
            degraded_ok=True,
        )
        try:
            assert time.monotonic() - started < 10
            sink = RecordingSink()
            app.register_sink(sink)
            alice = person(app)
            out = await app.handle(alice(CRISIS))
            said = texts_of(out)
            critical = app.texts.get("crisis.critical", emergency="").split("\n\n", 1)[0]
            assert said[0].startswith(critical)
            assert app.texts.get("crisis.case_deferred") in said

            proxy.restore()
            await run_background_until(app, lambda: bool(pings(sink)) and bool(sink.sent))
            assert app.store.ready
            (ping,) = pings(sink)
            assert ping.risk is RiskLevel.CRITICAL
            assert sink.sent[0].text == app.texts.get("crisis.case_opened_late")
            # the person's conversation is usable again, the case already known
            again = await app.handle(alice(CRISIS))
            assert app.texts.get("crisis.case_deferred") not in texts_of(again)
            await run_background_until(app, lambda: True)
            assert len(pings(sink)) == 1
        finally:
            await app.close()


@pytest.mark.postgres
async def test_db_upgrade_on_a_down_database_says_so_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import cli

    async with HangableProxy() as proxy:
        proxy.refuse()
        monkeypatch.setenv("SIGNPOST_STORAGE__URL", proxy.url("test"))
        code = await asyncio.to_thread(cli.main, ["db", "upgrade"])
    err = capsys.readouterr().err
    assert code == 1
    assert "did not answer" in err and "storage.url" in err
    assert "Traceback" not in err


# -- finding 3: one bad row ----------------------------------------------------------------------


@pytest.fixture
async def app(settings: Settings, nlu: ScriptedNlu, db_url: str) -> AsyncIterator[App]:
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    yield application
    await application.close()


async def test_one_bad_case_row_does_not_stop_pings(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    past = datetime.now(UTC) - timedelta(hours=1)
    bad = CaseRow(
        id="badbadbad0",
        conversation_key="console:someone",
        platform="console",
        kind="risk",
        status="pinged",
        risk=99,  # no such level: advancing this case raises
        handle="x",
        ladder_stage=0,
        next_action_at=past,
        created_at=past,
    )
    await app.store.add_case(bad, [])
    nlu.say(CRISIS, RiskLevel.HIGH)
    out = await app.handle(person(app)(CRISIS))
    assert app.texts.get("crisis.case_opened") in texts_of(out)
    await run_background_until(app, lambda: bool(pings(sink)))
    assert len(pings(sink)) == 1


# -- finding 5: two workers, one person; one member posting again and again -----------------------


async def test_two_workers_one_person_at_once_open_one_case(
    settings: Settings, nlu: ScriptedNlu, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    nlu.say(CRISIS, RiskLevel.HIGH)
    nlu.say("please, i mean it, i want to die", RiskLevel.HIGH)
    workers = [
        await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
        for _ in range(2)
    ]
    try:
        sinks = [RecordingSink(), RecordingSink()]
        for worker, sink in zip(workers, sinks, strict=True):
            worker.register_sink(sink)
        people = [f"p{n}" for n in range(5)]
        await asyncio.gather(
            *(
                worker.handle(person(worker, name)(text))
                for name in people
                for worker, text in zip(
                    workers, (CRISIS, "please, i mean it, i want to die"), strict=True
                )
            )
        )
        await asyncio.gather(*(w.dispatcher.deliver_due() for w in workers))
        delivered = pings(sinks[0]) + pings(sinks[1])
        assert len({n.case_id for n in delivered}) == len(people), "more than one case"
        assert len(delivered) == len(people), "a ping was delivered twice"
        failed = [r for r in caplog.records if "save failed" in r.getMessage()]
        assert not failed, "a worker lost its conversation state to the race"
    finally:
        for worker in workers:
            await worker.close()


async def test_a_member_posting_ten_times_in_a_watched_group_gets_one_reply_and_one_ping(
    app: App, nlu: ScriptedNlu
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    await app.store.set_group_watch("console", "g1", True)
    nlu.say(CRISIS, RiskLevel.HIGH)
    say = person(app)
    outs = [await app.handle(say(CRISIS, is_private=False, community="g1")) for _ in range(10)]
    assert [len(o.replies) for o in outs] == [1] + [0] * 9
    other = await app.handle(person(app, "bea")(CRISIS, is_private=False, community="g1"))
    assert len(other.replies) == 1, "the cooldown is per member"
    await app.dispatcher.deliver_due()
    assert len(pings(sink)) == 2


# -- finding 5: the lease outlives a slow send ----------------------------------------------------


class SlowSink(RecordingSink):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        await asyncio.sleep(self.seconds)
        return await super().deliver(notice, thread_ref)

    async def send(self, reply: Reply) -> None:
        await asyncio.sleep(self.seconds)
        await super().send(reply)


async def test_a_second_worker_never_resends_a_row_still_being_sent(
    app: App, nlu: ScriptedNlu, db_url: str
) -> None:
    nlu.say(CRISIS, RiskLevel.HIGH)
    app.register_sink(RecordingSink())  # so the case is opened
    await app.handle(person(app)(CRISIS))
    slow = SlowSink(seconds=2.0)  # the platform waits out a rate limit: far beyond the lease
    lease = timedelta(seconds=0.45)
    other_store = await Store.open(db_url)
    try:
        first = Dispatcher(app.store, {"console": slow}, lease=lease)
        second = Dispatcher(other_store, {"console": slow}, lease=lease)

        async def later() -> int:
            total = 0
            for _ in range(6):  # keeps looking while the first worker is still sending
                await asyncio.sleep(0.3)
                total += await second.deliver_due()
            return total

        counts = await asyncio.gather(first.deliver_due(), later())
    finally:
        await other_store.close()
    assert sum(counts) == 1
    assert len(pings(slow)) == 1


# -- finding 8: SQLite overwrites what it deletes ----------------------------------------------


async def test_sqlite_overwrites_deleted_text(settings: Settings, tmp_path: object) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/secure.db")
    try:
        async with store.engine.connect() as conn:
            value = (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar_one()
        assert value == 1
    finally:
        await store.close()
