"""The dialogue core, driven through the real App with a scripted assessor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import App
from bot.core.messages import ReplyKind
from bot.core.risk import RiskLevel
from tests.conftest import RecordingSink, ScriptedNlu, person
from tests.support import assert_from_responses, group_concern


def texts_of(outcome) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(r.text for r in outcome.replies)


async def test_first_message_gets_welcome_and_privacy_notice(app: App) -> None:
    say = person(app)
    out = await app.handle(say("hi"))
    joined = texts_of(out)
    assert app.texts.get("welcome") in joined
    assert app.texts.get("privacy") in joined
    assert_from_responses(out.replies, app.texts)
    again = await app.handle(say("hi"))
    assert app.texts.get("privacy") not in texts_of(again)


async def test_crisis_reply_gives_emergency_number_and_region_lines(
    app: App, nlu: ScriptedNlu
) -> None:
    say = person(app)
    await app.handle(say("/region GB"))
    nlu.say("i want to die", RiskLevel.HIGH)
    out = await app.handle(say("i want to die"))
    crisis = [r for r in out.replies if r.kind is ReplyKind.CRISIS]
    assert crisis, "no crisis reply"
    block = app.signposts.block("GB", datetime.now(UTC), crisis=True)
    assert block in crisis[0].text
    assert any("/human" in (app.composer.signer.verify(b.payload) or "") for b in crisis[0].buttons)
    assert_from_responses(out.replies, app.texts, blocks=[block])


async def test_critical_asks_about_safety_and_puts_emergency_first(
    app: App, nlu: ScriptedNlu
) -> None:
    say = person(app)
    await app.handle(say("/region GB"))
    nlu.say("i took the pills an hour ago", RiskLevel.CRITICAL)
    out = await app.handle(say("i took the pills an hour ago"))
    first = out.replies[0].text
    emergency = app.signposts.emergency("GB")
    assert "Are you safe right now?" in first
    assert first.index(emergency) < first.index(
        app.signposts.block("GB", datetime.now(UTC), crisis=True)
    )


async def test_crisis_reply_survives_a_broken_database(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    nlu.say("i want to end it all", RiskLevel.HIGH)
    await app.store.engine.dispose()

    async def broken(*_a: object, **_k: object) -> object:
        raise ConnectionError("database down")

    app.store.load_conversation = broken  # type: ignore[method-assign]
    out = await app.handle(say("i want to end it all"))
    assert out.replies and out.replies[0].kind is ReplyKind.CRISIS
    assert app.signposts.emergency(None) in out.replies[0].text


async def test_assessor_failure_counts_as_high(app: App, nlu: ScriptedNlu) -> None:
    nlu.fail = True
    out = await app.handle(person(app)("anything at all"))
    assert any(r.kind is ReplyKind.CRISIS for r in out.replies)


async def test_crisis_opens_a_case_and_pings_moderators(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say = person(app)
    nlu.say("kms", RiskLevel.HIGH)
    out = await app.handle(say("kms"))
    assert app.texts.get("crisis.case_opened") in texts_of(out)
    assert await app.dispatcher.deliver_due() == 1
    notice, _ = sink.notices[0]
    assert notice.kind.value == "ping" and "kms" in notice.text
    assert [b.label for b in notice.buttons] == ["Claim", "Resolve", "False alarm"]
    # a second crisis message does not open a second case
    await app.handle(say("kms"))
    assert await app.dispatcher.deliver_due() == 0


async def test_without_a_moderator_team_the_person_is_told_honestly(
    app: App, nlu: ScriptedNlu
) -> None:
    nlu.say("i want to die", RiskLevel.HIGH)
    out = await app.handle(person(app)("i want to die"))
    assert app.texts.get("crisis.no_team") in texts_of(out)


async def test_box_breathing_can_be_completed_turn_by_turn(app: App) -> None:
    say = person(app)
    await app.handle(say("hello"))
    steps = app.dialogue.exercises["box"].steps
    out = await app.handle(say("/breathe"))
    assert steps[0] in out.replies[0].text
    for step in steps[1:]:
        out = await app.handle(say("next"))
        assert out.replies[0].text == step
    out = await app.handle(say("next"))
    assert out.replies[0].text == app.texts.get("exercise.feeling")
    better = out.replies[0].buttons[0]
    out = await app.handle(say(button=better.payload))
    assert out.replies[0].text == app.texts.get("support.feeling_better")


async def test_every_exercise_runs_through_its_buttons(app: App) -> None:
    for key, exercise in app.dialogue.exercises.items():
        # one person per exercise: this speed-run is faster than the per-person message limit
        say = person(app, f"runner-{key}")
        await app.handle(say("hi"))
        out = await app.handle(say(f"/exercise {key}"))
        for _ in exercise.steps[1:]:
            nxt = out.replies[0].buttons[0]
            out = await app.handle(say(button=nxt.payload))
            assert_from_responses(out.replies, app.texts)
        out = await app.handle(say(button=out.replies[0].buttons[0].payload))
        assert out.replies[0].text == app.texts.get("exercise.feeling")
    assert len(app.dialogue.exercises) >= 7


async def test_stop_ends_an_exercise(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    await app.handle(say("hi"))
    await app.handle(say("/ground"))
    nlu.say("stop", RiskLevel.NONE, "stop")
    out = await app.handle(say("stop"))
    assert out.replies[0].text == app.texts.get("exercise.stopped")
    out = await app.handle(say("next"))
    assert app.texts.get("exercise.feeling") not in texts_of(out)


async def test_distress_during_an_exercise_leaves_it(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    await app.handle(say("hi"))
    await app.handle(say("/breathe"))
    nlu.say("i can't do this i want to die", RiskLevel.HIGH)
    out = await app.handle(say("i can't do this i want to die"))
    assert out.replies[0].kind is ReplyKind.CRISIS
    out = await app.handle(say("next"))
    assert out.replies[0].text != app.dialogue.exercises["box"].steps[1]


async def test_unknown_input_gets_a_helpful_fallback(app: App) -> None:
    say = person(app)
    await app.handle(say("hi"))
    out = await app.handle(say("what is the capital of peru"))
    assert app.texts.get("fallback") in texts_of(out)
    assert out.replies[0].buttons


async def test_forged_button_is_refused_gracefully(app: App) -> None:
    say = person(app)
    out = await app.handle(say(button="/forget yes|AAAAAAAAAAAAAAAA"))
    assert out.replies[0].text.startswith(app.texts.get("button_expired"))
    out = await app.handle(say(button="\x00\xff garbage"))
    assert out.replies[0].text.startswith(app.texts.get("button_expired"))


async def test_forget_deletes_everything(app: App) -> None:
    say = person(app)
    await app.handle(say("/region DE"))
    out = await app.handle(say("/forget"))
    yes = out.replies[0].buttons[0]
    out = await app.handle(say(button=yes.payload))
    assert out.replies[0].text == app.texts.get("forget.done")
    state = await app.store.load_conversation(f"console:{say().user}")
    assert state.region is None and not state.notice_shown


async def test_region_by_name_and_helplines(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    out = await app.handle(say("/region deutschland"))
    assert app.texts.get("region.set", region_name=app.signposts.region_name("DE")) in texts_of(out)
    out = await app.handle(say("/helplines"))
    assert app.signposts.block("DE", datetime.now(UTC)) in texts_of(out)


async def test_recent_risk_keeps_a_floor(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    nlu.say("i want to die", RiskLevel.HIGH)
    await app.handle(say("i want to die"))
    nlu.say("you misunderstood", RiskLevel.NONE, "deny")
    out = await app.handle(say("you misunderstood"))
    assert nlu.calls[-1][1] is not None and nlu.calls[-1][1].recent_risk == RiskLevel.HIGH
    assert app.texts.get("crisis.step_back") in texts_of(out)


async def test_bad_input_never_crashes(app: App) -> None:
    say = person(app)
    for text in ["", " ", "\x00\x01\x02", "🙂🙂🙂", "a" * 1_000_000, "\ud800", "ÿ" * 10]:
        out = await app.handle(say(text))
        assert out.replies, f"no reply to {text[:10]!r}"
    out = await app.handle(say("", attachment="sticker"))
    assert out.replies[0].text == app.texts.get("non_text")


async def test_group_messages_are_ignored_unless_watched(app: App, nlu: ScriptedNlu) -> None:
    sink = RecordingSink()
    app.register_sink(sink)
    say = person(app)
    nlu.say("i want to die", RiskLevel.HIGH)
    quiet = await app.handle(say("i want to die", is_private=False, community="g1"))
    assert not quiet.replies
    await app.set_group_watch("console", "g1", True)
    out = await app.handle(say("i want to die", is_private=False, community="g1"))
    local = app.signposts.emergency(None)  # no community region, no locale: the local number
    assert out.replies[0].text == group_concern(app.texts, local)
    assert out.replies[0].buttons[0].opens_private_chat
    assert "i want to die" not in out.replies[0].text
    assert await app.dispatcher.deliver_due() == 1
    ordinary = await app.handle(say("anyone up for a game", is_private=False, community="g1"))
    assert not ordinary.replies


async def test_in_a_group_the_persons_own_region_comes_before_the_communitys(
    app: App, nlu: ScriptedNlu
) -> None:
    app.register_sink(RecordingSink())
    say, bea = person(app), person(app, "bea")
    nlu.say("i want to die", RiskLevel.HIGH)
    await app.set_group_watch("console", "g1", True)
    assert await app.set_group_region("console", "g1", "DE") == app.texts.get(
        "group.region_set", region_name="Germany"
    )
    await app.handle(say("/region France"))  # Alice chose her own country privately
    mine = await app.handle(say("i want to die", is_private=False, community="g1"))
    assert mine.replies[0].text == group_concern(app.texts, app.signposts.emergency("FR"))
    theirs = await app.handle(bea("i want to die", is_private=False, community="g1"))
    assert theirs.replies[0].text == group_concern(app.texts, app.signposts.emergency("DE"))
    assert app.signposts.emergency("FR") != app.signposts.emergency("DE")


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


async def test_idiomatic_distress_gets_everyday_support(app: App, nlu: ScriptedNlu) -> None:
    say = person(app)
    await app.handle(say("hi"))
    nlu.say("this exam is killing me fr", RiskLevel.NONE, "acute_distress")
    out = await app.handle(say("this exam is killing me fr"))
    assert out.replies[0].text == app.texts.get("support.low")
    assert not any(r.kind is ReplyKind.CRISIS for r in out.replies)
