"""What the bot remembers about one conversation between messages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.risk import RiskContext, RiskLevel

# forms written by earlier versions, still found in stored conversations
_LEGACY = {"exercise:box": "exercise_offered"}


class Flow(StrEnum):
    """What the conversation waits for: the question the bot asked last, which gives the next
    answer its meaning. `Dialogue` keeps one answer handler per member; a new state of the
    conversation is a new member and a new handler."""

    EXERCISE_OFFERED = "exercise_offered"  # "want to try box breathing?"
    FEELING = "feeling"  # "how do you feel now?" after an exercise
    FORGET = "forget"  # "delete everything?"
    HUMAN = "human"  # "want to talk to a person?"
    REGION = "region"  # "where are you?"
    # the crisis conversation (bot/core/crisis.py): each state says what an answer means there
    ASKED_IF_SAFE = "asked_if_safe"  # "are you safe right now?": "no" is an emergency
    CRISIS_REGION = "crisis_region"  # "which country are you in?" during a crisis
    MEDICAL_NOW = "medical_now"  # something taken or done: emergency care now
    MEDICAL_STILL = "medical_still"  # the next turn of it (the other wording)
    WAITING_MODERATOR = "waiting_moderator"  # a case is open, nobody has joined yet
    WITH_MODERATOR = "with_moderator"  # a moderator holds the case; the bot stays quiet
    STEPPING_DOWN = "stepping_down"  # after the crisis reply: listen, one open question
    LISTENING = "listening"  # the next listening turn (a different question, never a repeat)

    @property
    def in_crisis(self) -> bool:
        return self in CRISIS_FLOWS

    @classmethod
    def parse(cls, stored: str | None) -> Flow | None:
        """The stored form back as a member; anything unknown means nothing is pending."""
        if not stored:
            return None
        try:
            return cls(_LEGACY.get(stored, stored))
        except ValueError:
            return None


CRISIS_FLOWS = frozenset(
    {
        Flow.ASKED_IF_SAFE,
        Flow.CRISIS_REGION,
        Flow.MEDICAL_NOW,
        Flow.MEDICAL_STILL,
        Flow.WAITING_MODERATOR,
        Flow.WITH_MODERATOR,
        Flow.STEPPING_DOWN,
        Flow.LISTENING,
    }
)


@dataclass(frozen=True, slots=True)
class ConversationState:
    key: str
    region: str | None = None
    notice_shown: bool = False
    exercise: str | None = None
    exercise_step: int = 0
    pending: Flow | None = None
    recent_risk: RiskLevel = RiskLevel.NONE
    turns_since_risk: int = 0
    open_case_id: str | None = None

    def risk_context(self) -> RiskContext:
        return RiskContext(self.recent_risk, self.turns_since_risk)

    def after_assessment(self, risk: RiskLevel, floor_turns: int) -> ConversationState:
        """Remember the highest recent risk for `floor_turns` turns, then let it fade."""
        if risk >= RiskLevel.MEDIUM and risk >= self.recent_risk:
            return replace(self, recent_risk=risk, turns_since_risk=0)
        turns = self.turns_since_risk + 1
        if turns > floor_turns:
            return replace(self, recent_risk=RiskLevel.NONE, turns_since_risk=0)
        return replace(self, turns_since_risk=turns)
