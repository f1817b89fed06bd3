"""The check-in after a case, on real databases: offered when a moderator resolves a case, sent
exactly once after a "yes" and the delay (also across a restart), never after a "no", and
cancelled by /stop or /forget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.messages import Inbound, Reply
from tests.conftest import ROOT, RecordingSink, ScriptedNlu, person
from tests.integration.test_escalation import mod_press, open_case
from tests.support import assert_from_responses

LATER = timedelta(hours=25)


async def start(settings: Settings, nlu: ScriptedNlu, db_url: str, sink: RecordingSink) -> App:
    app = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    app.register_sink(sink)
    return app


async def resolved_with_offer(app: App, nlu: ScriptedNlu, sink: RecordingSink) -> Reply:
    """A crisis, a claim and a resolve; returns the check-in offer the person got."""
    _, ping = await open_case(app, nlu, sink)
    await app.handle_moderator(mod_press(app, ping.buttons[0].payload))
    done = await app.handle_moderator(mod_press(app, ping.buttons[1].payload))
    assert done.replies[0].text == app.texts.get("human.resolved")
    offer = done.replies[1]
    assert offer.text == app.texts.get("followup.offer", hours="24")
    assert [b.label for b in offer.buttons] == [
        app.texts.get("followup.buttons.accept"),
        app.texts.get("followup.buttons.decline"),
    ]
    assert_from_responses(done.replies, app.texts)
    return offer


async def answer(app: App, say: Callable[..., Inbound], offer: Reply, yes: bool) -> str:
    out = await app.handle(say(button=offer.buttons[0 if yes else 1].payload))
    return out.replies[0].text


def checkins(app: App, sink: RecordingSink) -> list[Reply]:
    return [r for r in sink.sent if r.text == app.texts.get("followup.checkin")]


async def test_yes_sends_exactly_one_check_in_after_the_delay_across_a_restart(
    settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    sink = RecordingSink()
    app = await start(settings, nlu, db_url, sink)
    try:
        offer = await resolved_with_offer(app, nlu, sink)
        said = await answer(app, person(app), offer, yes=True)
        assert said == app.texts.get("followup.accepted", hours="24")
        assert app.follow_ups is not None
        now = datetime.now(UTC)
        assert await app.follow_ups.tick(now + timedelta(hours=23)) == 0  # not yet
    finally:
        await app.close()

    for _restart in range(2):  # a new process on the same database, twice
        app = await start(settings, nlu, db_url, sink)
        try:
            assert app.follow_ups is not None
            await app.follow_ups.tick(now + LATER)
            await app.follow_ups.tick(now + LATER)
            await app.dispatcher.deliver_due(now + LATER)
        finally:
            await app.close()
    sent = checkins(app, sink)
    assert len(sent) == 1 and sent[0].chat == offer.chat
    assert_from_responses(sent, app.texts)


async def test_no_is_never_sent_and_cannot_be_flipped_by_a_replayed_yes(
    settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    sink = RecordingSink()
    app = await start(settings, nlu, db_url, sink)
    try:
        offer = await resolved_with_offer(app, nlu, sink)
        say = person(app)
        assert await answer(app, say, offer, yes=False) == app.texts.get("followup.declined")
        assert await answer(app, say, offer, yes=True) == app.texts.get("followup.nothing")
        assert app.follow_ups is not None
        later = datetime.now(UTC) + timedelta(days=3)
        assert await app.follow_ups.tick(later) == 0
        await app.dispatcher.deliver_due(later)
        assert checkins(app, sink) == []
    finally:
        await app.close()


async def test_forget_and_stop_cancel_an_accepted_check_in(
    settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    sink = RecordingSink()
    app = await start(settings, nlu, db_url, sink)
    try:
        assert app.follow_ups is not None
        say = person(app)
        offer = await resolved_with_offer(app, nlu, sink)
        await answer(app, say, offer, yes=True)
        stopped = await app.handle(say("/stop"))
        assert app.texts.get("followup.cancelled") in [r.text for r in stopped.replies]
        assert await app.follow_ups.tick(datetime.now(UTC) + LATER) == 0

        offer = await resolved_with_offer(app, nlu, sink)  # a second case, a new offer
        await answer(app, say, offer, yes=True)
        forgotten = await app.handle(say("/forget yes"))
        assert forgotten.replies[0].text == app.texts.get("forget.done")
        assert await app.follow_ups.tick(datetime.now(UTC) + LATER) == 0
        await app.dispatcher.deliver_due(datetime.now(UTC) + LATER)
        assert checkins(app, sink) == []
        # nothing about the person is left in the follow-up table either
        from sqlalchemy import func, select

        from bot.storage.models import FollowUpRow

        async with app.store.session() as s:
            assert await s.scalar(select(func.count(FollowUpRow.id))) == 0
    finally:
        await app.close()
