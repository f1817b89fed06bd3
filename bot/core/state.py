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

    @classmethod
    def parse(cls, stored: str | None) -> Flow | None:
        """The stored form back as a member; anything unknown means nothing is pending."""
        if not stored:
            return None
        try:
            return cls(_LEGACY.get(stored, stored))
        except ValueError:
            return None


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
