"""Cases end to end on real databases: claim, relay, resolve, the ladder and the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.messages import ModeratorInbound, NoticeKind, ReplyKind
from bot.core.risk import RiskLevel
from tests.conftest import ROOT, RecordingSink, ScriptedNlu, person


@pytest.fixture
async def app(settings: Settings, nlu: ScriptedNlu, db_url: str) -> AsyncIterator[App]:
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=db_url)
    yield application
    await application.close()


def mod_press(
    app: App, payload: str, *, who: str = "mod-1", member: bool = True
) -> ModeratorInbound:
    return ModeratorInbound(
        platform="console",
        moderator=who,
        moderator_name=who.upper(),
        received_at=datetime.now(UTC),
        is_moderator=member,
        payload=payload,
    )


async def open_case(app: App, nlu: ScriptedNlu, sink: RecordingSink):  # type: ignore[no-untyped-def]
    say = person(app)
    nlu.say("i don't want to be alive anymore", RiskLevel.HIGH)
    await app.handle(say("i don't want to be alive anymore"))
    await app.dispatcher.deliver_due()
    # crisis pings go out before other notices (issue 13), so the newest ping, not the last notice
    ping = [n for n, _ in sink.notices if n.kind == NoticeKind.PING][-1]
    return say, ping


async def test_claim_relay_resolve(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say, ping = await open_case(app, nlu, sink)
    claim = ping.buttons[0].payload

    out = await app.handle_moderator(mod_press(app, claim))
    assert out.ack == app.texts.get("moderators.ack.claimed")
    assert out.replies[0].text == app.texts.get("human.claimed", moderator="MOD-1")

    # the person's words now reach the moderator, and the bot stays quiet
    quiet = await app.handle(say("thank you, it's been a really bad week"))
    assert not quiet.replies
    await app.dispatcher.deliver_due()
    relayed = [n for n, _ in sink.notices if n.kind is NoticeKind.RELAY]
    assert "really bad week" in relayed[-1].text
    thread = sink.notices[0][1] or f"thread-{ping.case_id}"
    assert all(ref == thread for n, ref in sink.notices[1:])

    # the moderator's reply goes back to the person
    case_id = await app.case_for_thread("console", thread)
    assert case_id == ping.case_id
    back = await app.handle_moderator(
        ModeratorInbound(
            platform="console",
            moderator="mod-1",
            moderator_name="MOD-1",
            received_at=datetime.now(UTC),
            is_moderator=True,
            case_id=case_id,
            text="I'm here. Do you want to tell me what happened?",
        )
    )
    assert back.replies[0].kind is ReplyKind.RELAY
    assert "I'm here." in back.replies[0].text

    # a critical message during the hand-off still gets the emergency reply (safety net)
    nlu.say("i have the pills here now", RiskLevel.CRITICAL)
    net = await app.handle(say("i have the pills here now"))
    assert net.replies and net.replies[0].kind is ReplyKind.CRISIS

    resolve = ping.buttons[1].payload
    done = await app.handle_moderator(mod_press(app, resolve))
    assert done.replies[0].text == app.texts.get("human.resolved")
    again = await app.handle(say("hello?"))
    assert again.replies, "the bot answers again after resolve"
    case = await app.store.get_case(ping.case_id)
    assert case is not None and case.excerpt is None and case.chat_id is None
    assert await _stored_words(app, "really bad week") == 0, "relayed words outlive the case"


async def test_only_moderators_claim_and_only_once(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    _, ping = await open_case(app, nlu, sink)
    claim = ping.buttons[0].payload
    out = await app.handle_moderator(mod_press(app, claim, who="rando", member=False))
    assert out.ack == app.texts.get("moderators.ack.not_moderator") and not out.replies
    first = await app.handle_moderator(mod_press(app, claim, who="mod-1"))
    second = await app.handle_moderator(mod_press(app, claim, who="mod-2"))
    assert first.replies and not second.replies
    assert second.ack == app.texts.get("moderators.ack.already_taken", moderator="MOD-1")


async def test_forged_and_replayed_case_buttons(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    _, ping = await open_case(app, nlu, sink)
    body = app.composer.signer.verify(ping.buttons[0].payload)
    assert body is not None
    forged = body.replace(ping.case_id, "0000000000") + "|" + ping.buttons[0].payload.split("|")[1]
    out = await app.handle_moderator(mod_press(app, forged))
    assert out.ack == app.texts.get("moderators.ack.invalid")
    resolve = ping.buttons[1].payload
    await app.handle_moderator(mod_press(app, resolve))
    replay = await app.handle_moderator(mod_press(app, resolve))
    assert replay.ack == app.texts.get("moderators.ack.closed") and not replay.replies


async def test_ladder_repings_then_tells_the_person(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    _, ping = await open_case(app, nlu, sink)
    later = datetime.now(UTC) + timedelta(minutes=app.settings.escalation.reping_after_minutes + 1)
    assert await app.cases.tick(later) == 1
    await app.dispatcher.deliver_due(later)
    reping = sink.notices[-1][0]
    assert reping.kind is NoticeKind.REPING and reping.mention_role
    much_later = later + timedelta(minutes=app.settings.escalation.unavailable_after_minutes + 1)
    assert await app.cases.tick(much_later) == 1
    await app.dispatcher.deliver_due(much_later)
    assert sink.sent and sink.sent[0].text.startswith(app.texts.get("human.unavailable"))
    # still claimable after the person was told
    out = await app.handle_moderator(mod_press(app, ping.buttons[0].payload))
    assert out.ack == app.texts.get("moderators.ack.claimed")


async def test_failed_ping_is_retried_not_lost_nor_doubled(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    sink.fail_times = 2
    app.register_sink(sink)
    say = person(app)
    nlu.say("i want to die", RiskLevel.HIGH)
    await app.handle(say("i want to die"))
    now = datetime.now(UTC)
    assert await app.dispatcher.deliver_due(now) == 0
    assert await app.dispatcher.deliver_due(now + timedelta(minutes=1)) == 0
    assert await app.dispatcher.deliver_due(now + timedelta(minutes=10)) == 1
    assert await app.dispatcher.deliver_due(now + timedelta(minutes=20)) == 0
    assert len(sink.notices) == 1
    assert await app.store.pending_outbox() == 0


async def test_restart_in_the_middle_of_a_claimed_case(
    app: App, nlu: ScriptedNlu, settings: Settings
) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say, ping = await open_case(app, nlu, sink)
    await app.handle_moderator(mod_press(app, ping.buttons[0].payload))
    url = app.store.engine.url.render_as_string(hide_password=False)
    await app.close()
    fresh = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=url)
    try:
        fresh.pepper = app.pepper
        sink2 = RecordingSink()
        fresh.register_sink(sink2)
        quiet = await fresh.handle(say("are you still there?"))
        assert not quiet.replies
        await fresh.dispatcher.deliver_due()
        assert sink2.notices[-1][0].kind is NoticeKind.RELAY
    finally:
        await fresh.close()
        app.store = fresh.store  # the fixture closes it again harmlessly


async def test_group_case_never_relays_into_the_group(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    await app.admin_command("console", "g1", "/signpost_watch")
    say = person(app)
    nlu.say("i want to kill myself", RiskLevel.HIGH)
    await app.handle(say("i want to kill myself", is_private=False, community="g1"))
    await app.dispatcher.deliver_due()
    # crisis pings go out before other notices (issue 13), so the newest ping, not the last notice
    ping = [n for n, _ in sink.notices if n.kind == NoticeKind.PING][-1]
    claimed = await app.handle_moderator(mod_press(app, ping.buttons[0].payload))
    assert not claimed.replies, "nothing may be posted into the public group"
    # the person opens a private chat: the case follows them there
    quiet = await app.handle(say("hi, it's me from the group"))
    assert not quiet.replies
    await app.dispatcher.deliver_due()
    assert sink.notices[-1][0].kind is NoticeKind.RELAY
    back = await app.handle_moderator(
        ModeratorInbound(
            platform="console",
            moderator="mod-1",
            moderator_name="MOD-1",
            received_at=datetime.now(UTC),
            is_moderator=True,
            case_id=ping.case_id,
            text="Hi, thanks for reaching out.",
        )
    )
    assert back.replies[0].chat == say().chat


async def _stored_words(app: App, needle: str) -> int:
    """How many stored outbox payloads still contain `needle`."""
    from sqlalchemy import select

    from bot.storage.models import OutboxRow

    async with app.store.session() as s:
        rows = (await s.scalars(select(OutboxRow))).all()
    return sum(needle in str(row.payload) for row in rows)


async def test_crisis_opens_a_case_and_pings_moderators(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say = person(app)
    nlu.say("kms", RiskLevel.HIGH)
    await app.handle(say("kms"))
    assert await app.dispatcher.deliver_due() == 1
    notice, _ = sink.notices[0]
    assert notice.kind.value == "ping" and "kms" in notice.text
    assert [b.label for b in notice.buttons] == ["Claim", "Resolve", "False alarm"]
    await app.handle(say("kms"))  # a second crisis message does not open a second case
    assert await app.dispatcher.deliver_due() == 0


async def test_admin_commands_set_the_communitys_watch_and_region(app: App) -> None:
    assert await app.admin_command("console", "g1", "/signpost_region") == app.texts.get(
        "group.region_none"
    )
    assert await app.admin_command("console", "g1", "/signpost_region DE") == app.texts.get(
        "group.region_set", region_name="Germany"
    )
    assert await app.admin_command("console", "g1", "/signpost_watch") == app.texts.get(
        "group.watch_on"
    )
    group = await app.store.group("console", "g1")
    assert group is not None and group.watched and group.default_region == "DE"


async def test_a_new_case_wakes_the_outbox_at_once(app: App, nlu: ScriptedNlu) -> None:
    app.register_sink(RecordingSink())
    nlu.say("i want to die", RiskLevel.HIGH)
    assert not app.wake.is_set()
    await app.handle(person(app)("i want to die"))
    assert app.wake.is_set(), "the ping would wait for the next timer tick"


async def test_logs_never_contain_message_text(
    app: App, nlu: ScriptedNlu, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from bot.logs import quiet_payload_loggers

    quiet_payload_loggers()  # as `signpost` sets logging up
    caplog.set_level(logging.DEBUG)
    app.register_sink(RecordingSink())
    secret = "my neighbour hurts me and i want to die"
    nlu.say(secret, RiskLevel.HIGH)
    say = person(app)
    await app.handle(say(secret))
    # now break the case table so the failure is logged with its SQL error
    async with app.store.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("DROP TABLE cases"))
    await app.handle(person(app, "bob")(secret))
    assert any(r.levelno >= logging.ERROR for r in caplog.records), "the failure was not logged"
    logged = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info
    )
    assert "neighbour" not in logged
