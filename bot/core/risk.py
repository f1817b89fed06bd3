"""Risk levels and the result of assessing one message."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

RISK_FLOOR_TURNS = 3  # after a high/critical message, this many later turns keep a floor


class RiskLevel(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> RiskLevel:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown risk level {value!r}") from None


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the conversation remembers about recent risk, passed to the assessor."""

    recent_risk: RiskLevel = RiskLevel.NONE
    turns_since: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    """Risk first, then intent. `signals` names what fired (pattern ids, classifier, context)."""

    risk: RiskLevel
    intent: str
    confidence: float
    signals: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self, text: str) -> dict[str, object]:
        return {
            "text": text,
            "risk": self.risk.label,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "signals": list(self.signals),
        }
