"""Who may close a claimed case, what a moderator hears after a close, and what /forget tells
the moderators (real databases, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.messages import ModeratorInbound, NoticeKind
from bot.core.risk import RiskLevel
from bot.storage.models import OutboxRow
from tests.conftest import ROOT, RecordingSink, ScriptedNlu
from tests.integration.test_escalation import mod_press, open_case


@pytest.fixture
async def app(settings: Settings, nlu: ScriptedNlu, db_url: str) -> AsyncIterator[App]:
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    yield application
    await application.close()


def mod_text(case_id: str, text: str, who: str = "mod-1") -> ModeratorInbound:
    return ModeratorInbound(
        platform="console",
        moderator=who,
        moderator_name=who.upper(),
        received_at=datetime.now(UTC),
        is_moderator=True,
        case_id=case_id,
        text=text,
    )


async def test_only_the_claimer_or_an_admin_closes_a_claimed_case(
    app: App, nlu: ScriptedNlu
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    _, ping = await open_case(app, nlu, sink)
    claim, resolve, false_alarm = (b.payload for b in ping.buttons)
    await app.handle_moderator(mod_press(app, claim, who="mod-1"))

    for button in (resolve, false_alarm):
        refused = await app.handle_moderator(mod_press(app, button, who="mod-2"))
        assert refused.ack == app.texts.get("moderators.ack.claimed_by_other", moderator="MOD-1")
        assert not refused.replies, "the person was told their moderator left"
    case = await app.store.get_case(ping.case_id)
    assert case is not None and case.status == "claimed"
    # the claimer's words still reach the person
    back = await app.handle_moderator(mod_text(ping.case_id, "Still here with you."))
    assert back.replies and "Still here with you." in back.replies[0].text

    admin = replace(mod_press(app, resolve, who="lead"), is_admin=True)
    closed = await app.handle_moderator(admin)
    assert closed.ack == app.texts.get("moderators.ack.resolved")
    assert closed.replies[0].text == app.texts.get("human.resolved")


async def test_a_message_into_a_closed_case_is_acknowledged(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    _, ping = await open_case(app, nlu, sink)
    claim, resolve, _ = (b.payload for b in ping.buttons)
    await app.handle_moderator(mod_press(app, claim))
    await app.handle_moderator(mod_press(app, resolve))
    late = await app.handle_moderator(mod_text(ping.case_id, "one more thing"))
    assert not late.replies
    assert late.ack == app.texts.get("moderators.ack.case_closed")


async def test_forget_during_a_case_tells_the_moderators_and_leaves_no_words(
    app: App, nlu: ScriptedNlu
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say, ping = await open_case(app, nlu, sink)
    await app.handle_moderator(mod_press(app, ping.buttons[0].payload))
    nlu.say("it has been a really bad week", RiskLevel.LOW)
    await app.handle(say("it has been a really bad week"))  # a relay, not delivered yet
    confirm = await app.handle(say("/forget"))
    done = await app.handle(say(button=confirm.replies[0].buttons[0].payload))
    assert done.replies[0].text == app.texts.get("forget.done")

    await app.dispatcher.deliver_due()
    kinds = [n.kind for n, _ in sink.notices]
    assert NoticeKind.RELAY not in kinds, "the person's words arrived after /forget"
    told = [(n, ref) for n, ref in sink.notices if n.kind is NoticeKind.FORGOTTEN]
    assert len(told) == 1
    notice, thread = told[0]
    assert notice.text == app.texts.get("moderators.forgotten", case_id=ping.case_id)
    assert thread == sink.notices[0][1] or thread == f"thread-{ping.case_id}"
    assert "bad week" not in notice.text
    async with app.store.session() as s:
        left = await s.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))
        )
    assert left == 0


async def test_undelivered_relays_are_dropped_when_the_case_closes(
    app: App, nlu: ScriptedNlu
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say, ping = await open_case(app, nlu, sink)
    claim, resolve, _ = (b.payload for b in ping.buttons)
    await app.handle_moderator(mod_press(app, claim))
    await app.dispatcher.deliver_due()
    nlu.say("my sister knows where i live", RiskLevel.NONE)
    await app.handle(say("my sister knows where i live"))  # queued for the moderator
    await app.handle_moderator(mod_press(app, resolve))
    await app.dispatcher.deliver_due()
    assert not [n for n, _ in sink.notices if n.kind is NoticeKind.RELAY]
    assert [n for n, _ in sink.notices if n.kind is NoticeKind.RESOLVED]
