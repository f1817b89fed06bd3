"""What the bot remembers about one conversation between messages."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.core.risk import RiskContext, RiskLevel


@dataclass(frozen=True, slots=True)
class ConversationState:
    key: str
    region: str | None = None
    notice_shown: bool = False
    exercise: str | None = None
    exercise_step: int = 0
    pending: str | None = None  # an offer waiting for yes/no ("exercise:box", "forget", "human")
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
