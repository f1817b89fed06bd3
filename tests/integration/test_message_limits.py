"""The per-person message limit on real databases: it holds back a flood, never a crisis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from bot.app import App, build
from bot.config import Settings, load_settings
from bot.content import ContentPaths
from bot.core.messages import Inbound, ModeratorInbound, NoticeKind, Outcome, ReplyKind
from bot.core.risk import RiskLevel
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import MessageLimitRow
from bot.storage.store import Store
from tests.conftest import ROOT, RecordingSink, ScriptedNlu, person
from tests.support import assert_from_responses, group_concern

LIMIT = 3
WINDOW = timedelta(seconds=60)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # through the environment, as an operator would tighten it
    return load_settings(
        ROOT / "config.yml",
        {
            "SIGNPOST_DATA_DIR": str(tmp_path),
            "SIGNPOST_SECRET_KEY": "test-secret-0123456789abcdef-0123456789",
            "SIGNPOST_LIMITS__MAX_MESSAGES": str(LIMIT),
            "SIGNPOST_LIMITS__WINDOW_SECONDS": str(int(WINDOW.total_seconds())),
        },
    )


@pytest.fixture
async def app(settings: Settings, nlu: ScriptedNlu, db_url: str) -> AsyncIterator[App]:
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    yield application
    await application.close()


def texts_of(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


def at(inbound: Inbound, when: datetime) -> Inbound:
    return replace(inbound, received_at=when)


def notice_text(app: App, region: str | None = "GB") -> str:
    return app.texts.get("limits.paused", emergency=app.signposts.emergency(region))


async def fill_up(app: App, say, when: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    """Use up the window: the region first (so helplines are known), then ordinary chat."""
    when = when or datetime.now(UTC)
    out = await app.handle(at(say("/region GB"), when))
    assert app.texts.get("region.set", region_name=app.signposts.region_name("GB")) in texts_of(out)
    for n in range(LIMIT - 1):
        out = await app.handle(at(say(f"what is the capital of peru {n}"), when))
        assert app.texts.get("fallback") in texts_of(out), "answered under the limit"


async def limit_rows(app: App, key: str | None = None) -> int:
    async with app.store.session() as s:
        query = select(func.count()).select_from(MessageLimitRow)
        if key is not None:
            query = query.where(MessageLimitRow.key == key)
        return int(await s.scalar(query) or 0)


def moderator(app: App, payload: str) -> ModeratorInbound:
    return ModeratorInbound(
        platform="console",
        moderator="mod-1",
        moderator_name="MOD-1",
        received_at=datetime.now(UTC),
        is_moderator=True,
        payload=payload,
    )


async def test_under_the_limit_every_message_is_answered(app: App) -> None:
    say = person(app)
    await fill_up(app, say)
    state = await app.store.load_conversation(f"console:{say().user}")
    assert state.region == "GB"


async def test_over_the_limit_one_kind_notice_then_silence(app: App) -> None:
    say = person(app)
    await fill_up(app, say)
    out = await app.handle(say("and another thing"))
    assert [r.text for r in out.replies] == [notice_text(app)]
    assert "999" in out.replies[0].text or "112" in out.replies[0].text
    assert_from_responses(out.replies, app.texts)
    commands = [app.composer.signer.verify(b.payload) for b in out.replies[0].buttons]
    assert commands == ["/helplines", "/human"]

    # the rest of the window: no reply and nothing done, not even a change of region
    for message in ("hello?", "/region DE", "/breathe", "hello??"):
        assert not (await app.handle(say(message))).replies, message
    state = await app.store.load_conversation(f"console:{say().user}")
    assert state.region == "GB" and state.exercise is None

    # the notice's buttons still lead to helplines and a person
    helplines = await app.handle(say(button=out.replies[0].buttons[0].payload))
    assert app.signposts.block("GB", datetime.now(UTC)) in texts_of(helplines)
    human = await app.handle(say(button=out.replies[0].buttons[1].payload))
    assert human.replies, "the way to a person was silenced"


async def test_crisis_message_over_the_limit_gets_the_full_crisis_path(
    app: App, nlu: ScriptedNlu
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say = person(app)
    await fill_up(app, say)
    await app.handle(say("one too many"))
    assert not (await app.handle(say("silenced"))).replies

    nlu.say("i have the pills here now", RiskLevel.CRITICAL)
    out = await app.handle(say("i have the pills here now"))
    assert out.replies and out.replies[0].kind is ReplyKind.CRISIS
    assert app.signposts.emergency("GB") in out.replies[0].text
    assert app.texts.get("crisis.case_opened") in texts_of(out)
    assert await app.dispatcher.deliver_due() == 1, "the moderators were not pinged"

    # while the crisis is recent, nothing the person says is held back
    for message in ("are you there", "please", "anyone"):
        assert (await app.handle(say(message))).replies, message


async def test_severe_distress_over_the_limit_is_still_answered(app: App, nlu: ScriptedNlu) -> None:
    say = person(app, "carol")
    await fill_up(app, say)
    await app.handle(say("one too many"))
    assert not (await app.handle(say("silenced"))).replies
    # someone falling apart types fast; medium risk is never held back by the limit
    nlu.say("i can't breathe everything is falling apart", RiskLevel.MEDIUM)
    out = await app.handle(say("i can't breathe everything is falling apart"))
    assert out.replies and notice_text(app) not in texts_of(out)
    assert_from_responses(out.replies, app.texts)


async def test_high_risk_from_a_silenced_person_is_answered(app: App, nlu: ScriptedNlu) -> None:
    say = person(app, "bob")
    await fill_up(app, say)
    for _ in range(3):
        await app.handle(say("spam"))
    nlu.say("i don't want to be here anymore", RiskLevel.HIGH)
    out = await app.handle(say("i don't want to be here anymore"))
    assert any(r.kind is ReplyKind.CRISIS for r in out.replies)


async def test_the_window_rolls_over(app: App) -> None:
    say = person(app)
    start = datetime.now(UTC)
    await fill_up(app, say, start)
    assert texts_of(await app.handle(at(say("more"), start))) == notice_text(app)
    almost = start + WINDOW - timedelta(seconds=1)
    assert not (await app.handle(at(say("still the same window"), almost))).replies

    later = start + WINDOW + timedelta(seconds=1)
    out = await app.handle(at(say("a new minute"), later))
    assert app.texts.get("fallback") in texts_of(out)
    for n in range(LIMIT - 1):
        assert (await app.handle(at(say(f"chat {n}"), later))).replies
    assert texts_of(await app.handle(at(say("too many again"), later))) == notice_text(app)
    assert not (await app.handle(at(say("and quiet again"), later))).replies


async def test_many_workers_counting_at_once_lose_nothing(db_url: str) -> None:
    workers = [await Store.open(db_url), await Store.open(db_url)]
    try:
        now = datetime.now(UTC)
        counts = await asyncio.gather(
            *(workers[n % 2].count_message("console:flood", now, WINDOW) for n in range(60))
        )
        assert sorted(counts) == list(range(1, 61))
        assert await workers[0].count_message("console:someone-else", now, WINDOW) == 1
    finally:
        for store in workers:
            await store.close()


async def test_a_concurrent_flood_gets_exactly_one_notice(app: App) -> None:
    say = person(app)
    await app.handle(say("/region GB"))
    outs = await asyncio.gather(*(app.handle(say(f"flood {n}")) for n in range(12)))
    notices = [o for o in outs if texts_of(o) == notice_text(app)]
    answered = [o for o in outs if app.texts.get("fallback") in texts_of(o)]
    silent = [o for o in outs if not o.replies]
    assert (len(notices), len(answered), len(silent)) == (1, LIMIT - 1, 12 - LIMIT)


async def test_relay_to_a_moderator_is_never_held_back(app: App) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say = person(app)
    out = await app.handle(say("/human"))
    assert app.texts.get("human.requested") in texts_of(out)
    await app.dispatcher.deliver_due()
    ping = sink.notices[-1][0]
    claimed = await app.handle_moderator(moderator(app, ping.buttons[0].payload))
    assert claimed.replies

    words = [f"it's been a hard week, part {n}" for n in range(LIMIT + 3)]
    for line in words:
        assert not (await app.handle(say(line))).replies
    await app.dispatcher.deliver_due()
    relayed = [n.text for n, _ in sink.notices if n.kind is NoticeKind.RELAY]
    assert len(relayed) == len(words)
    assert all(w in r for w, r in zip(words, relayed, strict=True))

    # talking to a person did not use up the limit: the bot answers again after resolve
    await app.handle_moderator(moderator(app, ping.buttons[1].payload))
    assert app.texts.get("fallback") in texts_of(await app.handle(say("thanks, bye bot")))


async def test_a_broken_counter_lets_messages_through(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    async with app.store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE message_limits"))
    say = person(app)
    await fill_up(app, say)
    for n in range(3):
        out = await app.handle(say(f"my secret worry number {n}"))
        assert app.texts.get("fallback") in texts_of(out)
    assert any("message limit unavailable" in r.getMessage() for r in caplog.records)
    assert "secret worry" not in caplog.text


async def test_counting_is_logged_without_message_text(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    say = person(app)
    await fill_up(app, say)
    for _ in range(3):
        await app.handle(say("my secret worry"))
    reached = [r for r in caplog.records if r.getMessage() == "message limit reached"]
    assert len(reached) == 1
    assert "secret worry" not in caplog.text
    assert say().user not in caplog.text


async def test_forget_removes_the_counter(app: App) -> None:
    say = person(app)
    key = f"console:{say().user}"
    await fill_up(app, say)
    await app.handle(say("over"))
    assert await limit_rows(app, key) == 1
    confirm = await app.handle(say("/forget"))
    done = await app.handle(say(button=confirm.replies[0].buttons[0].payload))
    assert done.replies[0].text == app.texts.get("forget.done")
    assert await limit_rows(app, key) == 0
    assert app.texts.get("fallback") in texts_of(await app.handle(say("hello again")))


async def test_purge_removes_ended_windows_only(app: App) -> None:
    now = datetime.now(UTC)
    await app.store.count_message("console:old", now - timedelta(hours=2), WINDOW)
    await app.store.count_message("console:live", now, WINDOW)
    counts = await app.store.purge(
        app.settings.retention.conversation_days, app.settings.retention.case_days
    )
    assert counts["message limits"] == 1
    assert await limit_rows(app, "console:old") == 0
    assert await limit_rows(app, "console:live") == 1


async def test_group_harassment_flags_are_limited_but_not_risk(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    await app.admin_command("console", "g1", "/signpost_watch")
    say = person(app)
    nlu.say("kys", RiskLevel.NONE, "harassment")
    for _ in range(LIMIT + 3):
        assert not (await app.handle(say("kys", is_private=False, community="g1"))).replies
    assert await app.dispatcher.deliver_due() == LIMIT, "the moderators' room was flooded"

    nlu.say("i want to kill myself", RiskLevel.HIGH)
    out = await app.handle(say("i want to kill myself", is_private=False, community="g1"))
    assert out.replies[0].text == group_concern(app.texts, app.signposts.emergency(None))
    assert await app.dispatcher.deliver_due() == 1


async def _tables(store: Store) -> set[str]:
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_migration_upgrades_and_downgrades(db_url: str) -> None:
    store = await Store.open(db_url)
    try:
        assert "message_limits" in await _tables(store)
        await downgrade(store.engine, "0001")
        tables = await _tables(store)
        assert "message_limits" not in tables and "conversations" in tables
        await upgrade(store.engine)
        assert "message_limits" in await _tables(store)
        assert await store.count_message("console:x", datetime.now(UTC), WINDOW) == 1
    finally:
        await store.close()


async def test_workers_starting_together_on_a_fresh_database_all_start(db_url: str) -> None:
    """Several workers of one deployment start at once (PostgreSQL: webhook workers behind a
    load balancer); each runs the migrations, and none of them may fail for it. (SQLite is for
    one process, so only PostgreSQL is asked to do this.)"""
    if db_url.startswith("sqlite"):
        pytest.skip("several workers need PostgreSQL")
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(3)))
    try:
        for store in stores:
            assert "message_limits" in await _tables(store)
        assert await stores[0].count_message("console:x", datetime.now(UTC), WINDOW) == 1
        assert await stores[2].count_message("console:x", datetime.now(UTC), WINDOW) == 2
    finally:
        for store in stores:
            await store.close()
