"""Optional intent backend: a Rasa server trained on the same `nlu/intents/` data.

Risk never depends on it. The built-in assessor judges risk (and the intents that carry risk:
acute distress, third-party concern, harassment); the Rasa server, when it answers in time and
confidently, only names the everyday intent. Any failure falls back to the built-in intent.
"""

from __future__ import annotations

import logging

import httpx

from bot.core.ports import NluEngine
from bot.core.risk import Assessment, RiskContext, RiskLevel

log = logging.getLogger(__name__)

RISK_BEARING_INTENTS = frozenset({"acute_distress", "third_party_concern", "harassment", "error"})


class RasaIntentEngine:
    """Implements `NluEngine` around the built-in one; see the module docstring."""

    def __init__(
        self,
        builtin: NluEngine,
        url: str,
        *,
        timeout: float = 0.3,
        min_confidence: float = 0.6,
        client: httpx.Client | None = None,
    ) -> None:
        self.builtin = builtin
        self.parse_url = url.rstrip("/") + "/model/parse"
        self.min_confidence = min_confidence
        self.client = client or httpx.Client(timeout=timeout)

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        base = self.builtin.assess(text, context)
        if base.risk >= RiskLevel.MEDIUM or base.intent in RISK_BEARING_INTENTS or not text:
            return base
        try:
            response = self.client.post(self.parse_url, json={"text": text[:2000]})
            response.raise_for_status()
            intent = response.json().get("intent") or {}
            name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        except Exception as exc:  # an optional backend: never let it break a reply
            log.warning("rasa parse failed: %s", type(exc).__name__)
            return base
        if not isinstance(name, str) or confidence < self.min_confidence:
            return base
        if name in RISK_BEARING_INTENTS:  # Rasa hears risk the assessor did not: keep ours
            return base
        return Assessment(base.risk, name, confidence, (*base.signals, "intent:rasa"))
