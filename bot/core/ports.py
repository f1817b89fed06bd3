"""The few interfaces the core depends on. Implementations live beside the core."""

from __future__ import annotations

from typing import Protocol

from bot.core.risk import Assessment, RiskContext


class NluEngine(Protocol):
    """Assesses one message: risk first, then intent. Must never raise for any text."""

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment: ...
