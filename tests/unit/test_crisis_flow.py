"""The crisis conversation's states on in-memory ports, with a scripted assessor: what each
state makes of an answer, independent of the trained model (tests/e2e/test_conversations.py
plays whole conversations with it)."""

from __future__ import annotations

import pytest

from bot.core.risk import Assessment, RiskLevel
from bot.core.state import CRISIS_FLOWS, Flow
from tests.conftest import ScriptedNlu
from tests.fakes.memory import DialogueOnFakes, InMemoryCaseDesk, dialogue_on_fakes
from tests.support import assert_from_responses


@pytest.fixture
def team(nlu: ScriptedNlu) -> DialogueOnFakes:
    return dialogue_on_fakes(nlu, desk=InMemoryCaseDesk("console"))


def text(outcome) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(r.text for r in outcome.replies)


async def test_with_a_moderator_the_bot_is_quiet_and_listens_again_after(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    await team.handle(say("/region GB"))
    nlu.say("i want to die", RiskLevel.HIGH)
    await team.handle(say("i want to die"))
    state = team.conversations.states[say.key]
    assert state.pending is Flow.WAITING_MODERATOR and state.open_case_id
    team.desk.claim(state.open_case_id)
    out = await team.handle(say("hello?"))
    assert out.replies == ()  # the moderator answers, not the bot
    assert team.conversations.states[say.key].pending is Flow.WITH_MODERATOR
    assert team.desk.cases[state.open_case_id].relayed == ["hello?"]
    team.desk.cases[state.open_case_id].status = "resolved"
    nlu.say("still feel awful", RiskLevel.MEDIUM)
    out = await team.handle(say("still feel awful"))
    assert "?" in text(out)  # listening again: one open question
    assert team.texts.lines("crisis.high")[0] not in text(out)


async def test_no_to_are_you_safe_is_an_emergency_whatever_the_classifier_says(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    await team.handle(say("/region GB"))
    nlu.say("going to do it tonight", RiskLevel.CRITICAL)
    await team.handle(say("going to do it tonight"))
    assert team.conversations.states[say.key].pending is Flow.ASKED_IF_SAFE
    nlu.say("nope", RiskLevel.NONE, "out_of_scope")  # the classifier heard nothing
    out = await team.handle(say("nope"))
    assert team.texts.entries["crisis.not_safe"][0] in text(out)
    assert team.signposts.emergency("GB") in text(out)
    assert_from_responses(out.replies, team.texts)


async def test_a_typed_request_for_a_person_opens_a_case_even_if_the_intent_missed(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    out = await team.handle(say("can i talk to one of the moderators"))  # scripted: chit-chat
    assert team.texts.lines("human.requested")[0] in text(out)
    assert len(team.desk.cases) == 1


async def test_listening_replies_never_repeat_and_never_paste_the_block(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    await team.handle(say("/region GB"))
    nlu.say("i want to die", RiskLevel.HIGH)
    first = text(await team.handle(say("i want to die")))
    block_line = "116 123"
    assert block_line in first
    previous = first
    for message in ["i want to die", "i want to die", "everything hurts", "idk", "idk"]:
        nlu.say("everything hurts", RiskLevel.HIGH)
        nlu.say("idk", RiskLevel.MEDIUM, "out_of_scope")
        now = text(await team.handle(say(message)))
        assert now != previous, message
        assert block_line not in now, message
        assert team.signposts.emergency("GB") in now, message
        previous = now
    assert team.conversations.states[say.key].pending in CRISIS_FLOWS


async def test_means_safety_only_when_means_came_up(
    team: DialogueOnFakes, nlu: ScriptedNlu
) -> None:
    say = team.person()
    nlu.say("school is unbearable, i want to die", RiskLevel.HIGH)
    out = await team.handle(say("school is unbearable, i want to die"))
    assert team.texts.get("crisis.means_step") not in text(out)
    other = team.person("bob")
    nlu.script["i have them right here"] = Assessment(
        RiskLevel.CRITICAL, "acute_distress", 0.9, ("pattern:method.means_in_hand",)
    )
    out = await team.handle(other("i have them right here"))
    assert team.texts.get("crisis.means_step") in text(out)


async def test_other_language_notice_in_that_language(team: DialogueOnFakes) -> None:
    say = team.person()
    out = await team.handle(say("bonjour, j'ai besoin d'aide s'il vous plaît"))
    notice = team.texts.get("other_language.fr.notice", emergency="x").split("{")[0][:30]
    assert notice in text(out)
