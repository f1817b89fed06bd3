"""The crisis conversation: what happens after the first crisis reply.

Each state (`Flow.ASKED_IF_SAFE`, `CRISIS_REGION`, `MEDICAL_NOW`/`MEDICAL_STILL`,
`WAITING_MODERATOR`, `WITH_MODERATOR`, `STEPPING_DOWN`/`LISTENING`) says what an answer means
there, and is consulted before the risk level picks a reply, so "no" to "are you safe?" is an
emergency and a country typed after "where are you?" is a country. After the first reply the
bot listens: a short reply that points back to the lines already shown, the emergency number,
and one open question, alternating wordings so it never sends the same message twice in a row.
Typed answers are understood from data (`responses/<locale>/understand.yml`) as well as by
the classifier's intent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core.messages import Button, Reply, ReplyKind
from bot.core.risk import RiskLevel
from bot.core.state import Flow

if TYPE_CHECKING:
    from bot.core.dialogue import Dialogue, Turn

# the two wordings of a reply alternate with the state: (state for "a", state for "b")
_LISTEN_PAIR = (Flow.STEPPING_DOWN, Flow.LISTENING)
_MEDICAL_PAIR = (Flow.MEDICAL_NOW, Flow.MEDICAL_STILL)
MEDICAL_INTENT_CONFIDENCE = 0.6  # the classifier alone, without a pattern, must be this sure
MEDICAL_KINDS = ("medical_overdose", "medical_bleeding", "medical_chest")
# what a message in the listening states may be, besides something to listen to
LISTEN_KINDS = ("minimising", "still_there", "thanks", "dont_know")
# answers to the crisis questions (are you safe? will you get medical help?)
ANSWER_KINDS = ("not_safe", "safe", "no", "yes", "no_hospital")
# intents that keep their everyday meaning during the crisis conversation
PASS_THROUGH = frozenset(
    {
        "coping_request",
        "mindfulness_request",
        "helplines_request",
        "forget",
        "bot_identity",
        "privacy_question",
        "third_party_concern",
    }
)


class CrisisFlow:
    def __init__(self, dialogue: Dialogue) -> None:
        self.d = dialogue

    # the first crisis reply ---------------------------------------------------------------
    async def start(self, turn: Turn, risk: RiskLevel) -> list[Reply]:
        d = self.d
        replies = d._crisis_replies(turn.inbound, risk, turn.state)
        if self.means_mentioned(turn):
            replies.append(d.c.reply(turn.chat, "crisis.means_step", kind=ReplyKind.CRISIS))
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        told = await d._open_case(turn, risk)
        if told != "human.already":
            replies.append(d.c.reply(turn.chat, told, kind=ReplyKind.CRISIS))
        if risk >= RiskLevel.CRITICAL:
            pending = Flow.ASKED_IF_SAFE
        elif d._region_guess(turn.inbound, turn.state) is None:
            pending = Flow.CRISIS_REGION
        elif turn.state.open_case_id is not None:
            pending = Flow.WAITING_MODERATOR
        else:
            pending = Flow.STEPPING_DOWN
        turn.state = replace(turn.state, pending=pending)
        return replies

    def safe_now(self, turn: Turn) -> list[Reply]:
        """The "I'm safe right now" button: glad, and one open question."""
        if turn.state.recent_risk < RiskLevel.HIGH:
            return self.d._step_back(turn)
        turn.state = replace(turn.state, pending=Flow.LISTENING)
        return [self._msg(turn, "crisis.safe_now")]

    def means_mentioned(self, turn: Turn) -> bool:
        u = self.d.understanding
        return any(u.means("means_signals", s) for s in turn.assessment.signals)

    # something already taken or done ------------------------------------------------------
    def medical_kind(self, turn: Turn) -> str | None:
        u = self.d.understanding
        kind = u.first(MEDICAL_KINDS, turn.text)
        if kind is not None and kind != "medical_chest" and u.means("medical_past", turn.text):
            return None
        if (
            kind is None
            and turn.assessment.intent == "medical_emergency"
            and turn.assessment.confidence >= MEDICAL_INTENT_CONFIDENCE
            and not u.means("medical_past", turn.text)
        ):
            return "medical_overdose"
        return kind

    async def medical(self, turn: Turn, kind: str) -> list[Reply]:
        d = self.d
        key = f"medical.{kind.removeprefix('medical_')}"
        turn.state = replace(turn.state, exercise=None, exercise_step=0)
        if kind == "medical_chest":
            turn.state = replace(turn.state, pending=None)
            human = (d.c.button("buttons.human", "/human"),)
            return [d._with_lines(turn.inbound, turn.state, key, buttons=human)]
        turn.assessment = replace(turn.assessment, risk=RiskLevel.CRITICAL)
        told = await d._open_case(turn, RiskLevel.CRITICAL)
        buttons: tuple[Button, ...] = ()
        if turn.state.open_case_id is None:
            buttons = (d.c.button("buttons.human", "/human"),)
        reply = d._with_lines(
            turn.inbound, turn.state, key, crisis=True, buttons=buttons, kind=ReplyKind.CRISIS
        )
        replies = [reply]
        if told != "human.already":
            replies.append(d.c.reply(turn.chat, told, kind=ReplyKind.CRISIS))
        turn.state = replace(turn.state, pending=Flow.MEDICAL_NOW)
        return replies

    # an answer while the crisis conversation goes on ---------------------------------------
    async def answer(self, turn: Turn) -> list[Reply] | None:
        """The reply to a message in a crisis state, or None when it is not about the crisis
        (the crisis has faded, or the message asks for something the menu does)."""
        u, state = self.d.understanding, turn.state
        flow = state.pending
        if flow is None or not flow.in_crisis:
            return None
        if self._faded(turn):
            turn.state = replace(state, pending=None)  # the crisis has faded: everyday again
            return None
        if flow is Flow.WITH_MODERATOR:  # the moderator has left: listen again
            flow = Flow.STEPPING_DOWN
        text = turn.text
        intent = turn.assessment.intent
        if u.means("secrecy", text):
            after = self._after_reply(turn, flow)
            if flow in _MEDICAL_PAIR:  # still a medical emergency: stay in it
                after = _MEDICAL_PAIR[1] if flow is Flow.MEDICAL_NOW else _MEDICAL_PAIR[0]
            turn.state = replace(turn.state, pending=after)
            return [self._msg(turn, "crisis.secrecy", buttons=self._buttons(turn))]
        if flow in _MEDICAL_PAIR:
            return self._medical_again(turn, flow)
        if flow is Flow.ASKED_IF_SAFE:
            if u.means("not_safe", text) or (
                not u.means("safe", text) and (u.means("no", text) or intent == "deny")
            ):
                return await self._not_safe(turn)
            if u.means("safe", text) or u.means("yes", text) or intent == "affirm":
                turn.state = replace(turn.state, pending=Flow.LISTENING)
                return [self._msg(turn, "crisis.safe_now")]
        region = self._typed_region(turn, flow)
        if region is not None:
            return self._region_set(turn, region)
        kind = u.first(LISTEN_KINDS, text)
        if kind is None and intent in PASS_THROUGH and turn.assessment.risk < RiskLevel.HIGH:
            turn.state = replace(turn.state, pending=self._after_reply(turn, flow))
            if intent == "third_party_concern":
                return [self.d._third_party(turn)]
            return self.d._intent(turn, turn.assessment)
        return self._listen(turn, flow)

    def _faded(self, turn: Turn) -> bool:
        """The risk floor has run out and this message is no answer to the crisis
        conversation ("are you still there?" and "no" still are)."""
        if turn.state.recent_risk >= RiskLevel.HIGH or turn.assessment.risk >= RiskLevel.MEDIUM:
            return False
        if turn.state.pending is Flow.WITH_MODERATOR:  # the moderator has left, risk is gone
            return True
        answers = (*LISTEN_KINDS, *ANSWER_KINDS)
        return self.d.understanding.first(answers, turn.text) is None

    def _typed_region(self, turn: Turn, flow: Flow) -> str | None:
        d = self.d
        place = d.understanding.place(turn.text)
        whole = turn.text if flow is Flow.CRISIS_REGION or len(turn.text.split()) <= 3 else None
        if place is None and whole is None:
            return None
        for candidate in (whole, place):
            if candidate:
                region = d.signposts.resolve(candidate)
                if region is not None:
                    return region
        return None

    def _region_set(self, turn: Turn, region: str) -> list[Reply]:
        d = self.d
        turn.state = replace(turn.state, region=region)
        turn.state = replace(turn.state, pending=self._after_reply(turn))
        name = d.signposts.region_name(region)
        reply = d._with_lines(
            turn.inbound,
            turn.state,
            "crisis.region_set",
            crisis=True,
            buttons=self._buttons(turn),
            kind=ReplyKind.CRISIS,
            region_name=name,
        )
        return [reply]

    async def _not_safe(self, turn: Turn) -> list[Reply]:
        d = self.d
        turn.assessment = replace(turn.assessment, risk=RiskLevel.CRITICAL)
        told = await d._open_case(turn, RiskLevel.CRITICAL)
        lines = d._lines(turn.inbound, turn.state, crisis=True)
        reply = d.c.reply(
            turn.chat,
            "crisis.not_safe",
            buttons=self._buttons(turn),
            kind=ReplyKind.CRISIS,
            emergency=lines.emergency,
        )
        replies = [reply]
        if told == "crisis.case_opened":
            replies.append(d.c.reply(turn.chat, told, kind=ReplyKind.CRISIS))
        turn.state = replace(turn.state, pending=Flow.STEPPING_DOWN)
        return replies

    def _medical_again(self, turn: Turn, flow: Flow) -> list[Reply]:
        u = self.d.understanding
        phase = "a" if flow is Flow.MEDICAL_NOW else "b"
        refusing = u.means("no_hospital", turn.text) or u.means("minimising", turn.text)
        key = f"medical.no_hospital.{phase}" if refusing else f"medical.still.{phase}"
        turn.assessment = replace(turn.assessment, risk=max(turn.assessment.risk, RiskLevel.HIGH))
        other = _MEDICAL_PAIR[1] if flow is Flow.MEDICAL_NOW else _MEDICAL_PAIR[0]
        turn.state = replace(turn.state, pending=other)
        return [self._msg(turn, key, buttons=self._buttons(turn))]

    def _listen(self, turn: Turn, flow: Flow) -> list[Reply]:
        """The short reply that listens: never the whole block again."""
        d, u, text = self.d, self.d.understanding, turn.text
        if turn.assessment.risk >= RiskLevel.CRITICAL and flow is not Flow.ASKED_IF_SAFE:
            turn.state = replace(turn.state, pending=Flow.ASKED_IF_SAFE)
            replies = [self._msg(turn, "crisis.ask_safe_again", buttons=self._buttons(turn))]
            if self.means_mentioned(turn):
                replies.append(d.c.reply(turn.chat, "crisis.means_step", kind=ReplyKind.CRISIS))
            return replies
        phase = "b" if flow is Flow.LISTENING else "a"
        turn.state = replace(turn.state, pending=self._after_reply(turn, flow))
        kind = u.first(LISTEN_KINDS, text)
        if kind == "minimising":
            key = "crisis.step_back" if phase == "a" else "crisis.step_back_again"
            buttons = (
                d.c.button("buttons.helplines", "/helplines"),
                d.c.button("buttons.human", "/human"),
            )
            return [d.c.reply(turn.chat, key, buttons=buttons)]
        keys = [f"crisis.{kind}.{phase}" if kind else f"crisis.listen.{phase}"]
        if kind in (None, "still_there", "dont_know"):
            waiting = turn.state.open_case_id is not None
            keys.append("crisis.waiting" if waiting else "crisis.reminder")
        replies = [self._msg(turn, *keys, buttons=self._buttons(turn))]
        if self.means_mentioned(turn):
            replies.append(d.c.reply(turn.chat, "crisis.means_step", kind=ReplyKind.CRISIS))
        return replies

    def _after_reply(self, turn: Turn, flow: Flow | None = None) -> Flow:
        """The listening state after a reply: the other wording next time."""
        return _LISTEN_PAIR[0] if flow is Flow.LISTENING else _LISTEN_PAIR[1]

    def _buttons(self, turn: Turn) -> tuple[Button, ...]:
        d = self.d
        buttons = [d.c.button("buttons.helplines", "/helplines")]
        if turn.state.open_case_id is None:
            buttons.insert(0, d.c.button("buttons.human", "/human"))
        return tuple(buttons)

    def _msg(self, turn: Turn, *keys: str, buttons: tuple[Button, ...] = ()) -> Reply:
        d = self.d
        emergency = d.signposts.emergency(d._region_guess(turn.inbound, turn.state))
        return d.c.reply(
            turn.chat, *keys, buttons=buttons, kind=ReplyKind.CRISIS, emergency=emergency
        )
