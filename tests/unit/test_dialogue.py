"""The dialogue core on in-memory ports (no database), with a scripted assessor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.messages import ReplyKind
from bot.core.risk import RiskLevel
from tests.conftest import ScriptedNlu
from tests.fakes.memory import Broken, DialogueOnFakes, InMemoryCaseDesk, dialogue_on_fakes
from tests.support import assert_from_responses, group_concern


@pytest.fixture
def bot(nlu: ScriptedNlu) -> DialogueOnFakes:
    return dialogue_on_fakes(nlu)


@pytest.fixture
def team(nlu: ScriptedNlu) -> DialogueOnFakes:
    """A dialogue whose platform has a moderators' room."""
    return dialogue_on_fakes(nlu, desk=InMemoryCaseDesk("console"))


def texts_of(outcome) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(r.text for r in outcome.replies)


async def test_first_message_gets_welcome_and_privacy_notice(bot: DialogueOnFakes) -> None:
    say = bot.person()
    out = await bot.handle(say("hi"))
    joined = texts_of(out)
    assert bot.texts.get("welcome") in joined
    assert bot.texts.get("privacy") in joined
    assert_from_responses(out.replies, bot.texts)
    again = await bot.handle(say("hi"))
    assert bot.texts.get("privacy") not in texts_of(again)


async def test_crisis_reply_gives_emergency_number_and_region_lines(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = bot.person()
    await bot.handle(say("/region GB"))
    nlu.say("i want to die", RiskLevel.HIGH)
    out = await bot.handle(say("i want to die"))
    crisis = [r for r in out.replies if r.kind is ReplyKind.CRISIS]
    assert crisis, "no crisis reply"
    block = bot.signposts.block("GB", datetime.now(UTC), crisis=True)
    assert block in crisis[0].text
    assert any("/human" in (bot.composer.signer.verify(b.payload) or "") for b in crisis[0].buttons)
    assert_from_responses(out.replies, bot.texts, blocks=[block])


async def test_critical_asks_about_safety_and_puts_emergency_first(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = bot.person()
    await bot.handle(say("/region GB"))
    nlu.say("i took the pills an hour ago", RiskLevel.CRITICAL)
    out = await bot.handle(say("i took the pills an hour ago"))
    first = out.replies[0].text
    emergency = bot.signposts.emergency("GB")
    assert "Are you safe right now?" in first
    assert first.index(emergency) < first.index(
        bot.signposts.block("GB", datetime.now(UTC), crisis=True)
    )


async def test_crisis_reply_survives_a_broken_database(nlu: ScriptedNlu) -> None:
    broken = Broken()
    bot = dialogue_on_fakes(nlu, conversations=broken, desk=broken)
    say = bot.person()
    nlu.say("i want to end it all", RiskLevel.HIGH)
    out = await bot.handle(say("i want to end it all"))
    assert out.replies and out.replies[0].kind is ReplyKind.CRISIS
    assert bot.signposts.emergency(None) in out.replies[0].text


async def test_assessor_failure_counts_as_high(bot: DialogueOnFakes, nlu: ScriptedNlu) -> None:
    nlu.fail = True
    out = await bot.handle(bot.person()("anything at all"))
    assert any(r.kind is ReplyKind.CRISIS for r in out.replies)


async def test_crisis_opens_one_case(team: DialogueOnFakes, nlu: ScriptedNlu) -> None:
    say = team.person()
    nlu.say("kms", RiskLevel.HIGH)
    out = await team.handle(say("kms"))
    assert team.texts.get("crisis.case_opened") in texts_of(out)
    [case] = team.desk.cases.values()
    assert case.risk is RiskLevel.HIGH and case.text == "kms" and case.chat == say.chat
    # a second crisis message does not open a second case
    await team.handle(say("kms"))
    assert len(team.desk.cases) == 1


async def test_a_held_conversation_is_relayed_with_a_safety_net(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    nlu.say("kms", RiskLevel.HIGH)
    await team.handle(say("kms"))
    [case_id] = team.desk.cases
    team.desk.claim(case_id)
    assert not (await team.handle(say("thanks for being here"))).replies
    nlu.say("i have the pills in my hand", RiskLevel.CRITICAL)
    out = await team.handle(say("i have the pills in my hand"))
    assert [r.kind for r in out.replies] == [ReplyKind.CRISIS]
    assert team.desk.cases[case_id].relayed == [
        "thanks for being here",
        "i have the pills in my hand",
    ]


async def test_without_a_moderator_team_the_person_is_told_honestly(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    nlu.say("i want to die", RiskLevel.HIGH)
    out = await bot.handle(bot.person()("i want to die"))
    assert bot.texts.get("crisis.no_team") in texts_of(out)


async def test_box_breathing_can_be_completed_turn_by_turn(bot: DialogueOnFakes) -> None:
    say = bot.person()
    await bot.handle(say("hello"))
    steps = bot.dialogue.exercises["box"].steps
    out = await bot.handle(say("/breathe"))
    assert steps[0] in out.replies[0].text
    for step in steps[1:]:
        out = await bot.handle(say("next"))
        assert out.replies[0].text == step
    out = await bot.handle(say("next"))
    assert out.replies[0].text == bot.texts.get("exercise.feeling")
    better = out.replies[0].buttons[0]
    out = await bot.handle(say(button=better.payload))
    assert out.replies[0].text == bot.texts.get("support.feeling_better")


async def test_every_exercise_runs_through_its_buttons(bot: DialogueOnFakes) -> None:
    for key, exercise in bot.dialogue.exercises.items():
        # one person per exercise: this speed-run is faster than the per-person message limit
        say = bot.person(f"runner-{key}")
        await bot.handle(say("hi"))
        out = await bot.handle(say(f"/exercise {key}"))
        for _ in exercise.steps[1:]:
            nxt = out.replies[0].buttons[0]
            out = await bot.handle(say(button=nxt.payload))
            assert_from_responses(out.replies, bot.texts)
        out = await bot.handle(say(button=out.replies[0].buttons[0].payload))
        assert out.replies[0].text == bot.texts.get("exercise.feeling")
    assert len(bot.dialogue.exercises) >= 7


async def test_stop_ends_an_exercise(bot: DialogueOnFakes, nlu: ScriptedNlu) -> None:
    say = bot.person()
    await bot.handle(say("hi"))
    await bot.handle(say("/ground"))
    nlu.say("stop", RiskLevel.NONE, "stop")
    out = await bot.handle(say("stop"))
    assert out.replies[0].text == bot.texts.get("exercise.stopped")
    out = await bot.handle(say("next"))
    assert bot.texts.get("exercise.feeling") not in texts_of(out)


async def test_distress_during_an_exercise_leaves_it(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = bot.person()
    await bot.handle(say("hi"))
    await bot.handle(say("/breathe"))
    nlu.say("i can't do this i want to die", RiskLevel.HIGH)
    out = await bot.handle(say("i can't do this i want to die"))
    assert out.replies[0].kind is ReplyKind.CRISIS
    out = await bot.handle(say("next"))
    assert out.replies[0].text != bot.dialogue.exercises["box"].steps[1]


async def test_unknown_input_gets_a_helpful_fallback(bot: DialogueOnFakes) -> None:
    say = bot.person()
    await bot.handle(say("hi"))
    out = await bot.handle(say("what is the capital of peru"))
    assert bot.texts.get("fallback") in texts_of(out)
    assert out.replies[0].buttons


async def test_forged_button_is_refused_gracefully(bot: DialogueOnFakes) -> None:
    say = bot.person()
    out = await bot.handle(say(button="/forget yes|AAAAAAAAAAAAAAAA"))
    assert out.replies[0].text.startswith(bot.texts.get("button_expired"))
    out = await bot.handle(say(button="\x00\xff garbage"))
    assert out.replies[0].text.startswith(bot.texts.get("button_expired"))


async def test_forget_deletes_everything(bot: DialogueOnFakes) -> None:
    say = bot.person()
    await bot.handle(say("/region DE"))
    out = await bot.handle(say("/forget"))
    yes = out.replies[0].buttons[0]
    out = await bot.handle(say(button=yes.payload))
    assert out.replies[0].text == bot.texts.get("forget.done")
    state = await bot.conversations.load_conversation(say.key)
    assert state.region is None and not state.notice_shown


async def test_region_by_name_and_helplines(bot: DialogueOnFakes, nlu: ScriptedNlu) -> None:
    say = bot.person()
    out = await bot.handle(say("/region deutschland"))
    assert bot.texts.get("region.set", region_name=bot.signposts.region_name("DE")) in texts_of(out)
    out = await bot.handle(say("/helplines"))
    assert bot.signposts.block("DE", datetime.now(UTC)) in texts_of(out)


async def test_recent_risk_keeps_a_floor(bot: DialogueOnFakes, nlu: ScriptedNlu) -> None:
    say = bot.person()
    nlu.say("i want to die", RiskLevel.HIGH)
    await bot.handle(say("i want to die"))
    nlu.say("you misunderstood", RiskLevel.NONE, "deny")
    out = await bot.handle(say("you misunderstood"))
    assert nlu.calls[-1][1] is not None and nlu.calls[-1][1].recent_risk == RiskLevel.HIGH
    assert bot.texts.get("crisis.step_back") in texts_of(out)


async def test_bad_input_never_crashes(bot: DialogueOnFakes) -> None:
    say = bot.person()
    for text in ["", " ", "\x00\x01\x02", "🙂🙂🙂", "a" * 1_000_000, "\ud800", "ÿ" * 10]:
        out = await bot.handle(say(text))
        assert out.replies, f"no reply to {text[:10]!r}"
    out = await bot.handle(say("", attachment="sticker"))
    assert out.replies[0].text == bot.texts.get("non_text")


async def test_group_messages_are_ignored_unless_watched(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    bot = team
    say = bot.person()
    nlu.say("i want to die", RiskLevel.HIGH)
    quiet = await bot.handle(say("i want to die", is_private=False, community="g1"))
    assert not quiet.replies
    await bot.conversations.set_group_watch("console", "g1", True)
    out = await bot.handle(say("i want to die", is_private=False, community="g1"))
    local = bot.signposts.emergency(None)  # no community region, no locale: the local number
    assert out.replies[0].text == group_concern(bot.texts, local)
    assert out.replies[0].buttons[0].opens_private_chat
    assert "i want to die" not in out.replies[0].text
    [case] = bot.desk.cases.values()
    assert case.in_group and case.community == "g1"
    ordinary = await bot.handle(say("anyone up for a game", is_private=False, community="g1"))
    assert not ordinary.replies


async def test_in_a_group_the_persons_own_region_comes_before_the_communitys(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say, bea = bot.person(), bot.person("bea")
    nlu.say("i want to die", RiskLevel.HIGH)
    await bot.conversations.set_group_watch("console", "g1", True)
    await bot.conversations.set_group_region("console", "g1", "DE")
    await bot.handle(say("/region France"))  # Alice chose her own country privately
    mine = await bot.handle(say("i want to die", is_private=False, community="g1"))
    assert mine.replies[0].text == group_concern(bot.texts, bot.signposts.emergency("FR"))
    theirs = await bot.handle(bea("i want to die", is_private=False, community="g1"))
    assert theirs.replies[0].text == group_concern(bot.texts, bot.signposts.emergency("DE"))
    assert bot.signposts.emergency("FR") != bot.signposts.emergency("DE")


async def test_idiomatic_distress_gets_everyday_support(
    bot: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = bot.person()
    await bot.handle(say("hi"))
    nlu.say("this exam is killing me fr", RiskLevel.NONE, "acute_distress")
    out = await bot.handle(say("this exam is killing me fr"))
    assert out.replies[0].text == bot.texts.get("support.low")
    assert not any(r.kind is ReplyKind.CRISIS for r in out.replies)
