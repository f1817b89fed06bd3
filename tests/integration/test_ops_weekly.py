"""The weekly report reaches each moderators' room once, through the outbox, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import build
from bot.config import ReportSettings, Settings
from bot.content import ContentPaths
from bot.ops.weekly import WEEKDAYS, last_schedule, post_if_due
from tests.conftest import ROOT, RecordingSink, ScriptedNlu
from tests.integration.test_ops_report import seed


def test_last_schedule_is_the_latest_weekday_and_hour_not_after_now() -> None:
    monday_9 = ReportSettings(weekly=True, weekday="mon", hour=9)
    wednesday = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    assert last_schedule(monday_9, wednesday) == datetime(2026, 11, 30, 9, tzinfo=UTC)
    monday_early = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)
    assert last_schedule(monday_9, monday_early) == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert last_schedule(monday_9, datetime(2026, 11, 30, 9, tzinfo=UTC)).day == 30


async def test_weekly_report_is_posted_once_per_room_even_after_a_restart(
    settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    now = await seed(db_url)
    report = ReportSettings(weekly=True, weekday=WEEKDAYS[now.weekday()], hour=now.hour)
    rooms = {"telegram": "-100500", "discord": "777"}
    sinks = {p: RecordingSink(p) for p in rooms}
    for attempt in range(2):  # the second process is a restart on the same database
        app = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
        try:
            for sink in sinks.values():
                app.register_sink(sink)
            queued = await post_if_due(app.store, app.texts, rooms, report, now)
            queued += await post_if_due(app.store, app.texts, rooms, report, now)
            assert queued == (2 if attempt == 0 else 0)
            await app.dispatcher.deliver_due(now + timedelta(seconds=1))
        finally:
            await app.close()
    for platform, sink in sinks.items():
        assert [r.chat.chat_id for r in sink.sent] == [rooms[platform]]
        text = sink.sent[0].text
        assert text.startswith("📊 Signpost report") and "Pings never claimed:" in text
        assert "person-" not in text and "alive" not in text


async def test_a_schedule_missed_by_more_than_a_day_is_skipped(
    settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    app = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    try:
        now = datetime(2026, 12, 3, 10, tzinfo=UTC)  # a Thursday; the Monday post is 3 days old
        report = ReportSettings(weekly=True, weekday="mon", hour=9)
        assert await post_if_due(app.store, app.texts, {"telegram": "1"}, report, now) == 0
        assert await app.store.pending_outbox() == 0
    finally:
        await app.close()
