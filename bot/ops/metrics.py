"""Prometheus metrics for one Signpost process.

Every metric lives in a registry owned by the `Metrics` object (no module-level collectors),
so two apps in one test process never share counters. No label carries a user id, a chat id,
a case id or any text: labels are platforms, risk levels, reply kinds, case events and
exception class names only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.core.messages import Outcome, ReplyKind
from bot.core.ports import NluEngine
from bot.core.risk import Assessment, RiskContext, RiskLevel

# seconds: from a crisis message to its ping in the moderators' room, and to a moderator's claim
PING_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
CLAIM_BUCKETS = (30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 86400)
NLU_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
CASE_EVENTS = ("opened", "claimed", "resolved", "false_alarm", "expired")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "signpost_messages",
            "Messages received, by platform and assessed risk level",
            ["platform", "risk"],
            registry=r,
        )
        self.replies = Counter(
            "signpost_replies",
            "Replies sent to people, by platform and kind",
            ["platform", "kind"],
            registry=r,
        )
        self.crisis_replies = Counter(
            "signpost_crisis_replies",
            "Crisis replies (helplines at high or critical risk)",
            ["platform"],
            registry=r,
        )
        self.cases = Counter(
            "signpost_cases", "Case life-cycle events", ["platform", "event"], registry=r
        )
        self.ping_seconds = Histogram(
            "signpost_time_to_ping_seconds",
            "Seconds from the crisis message to its ping delivered in the moderators' room",
            ["platform"],
            buckets=PING_BUCKETS,
            registry=r,
        )
        self.claim_seconds = Histogram(
            "signpost_time_to_claim_seconds",
            "Seconds from the crisis message to a moderator's claim",
            ["platform"],
            buckets=CLAIM_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "signpost_outbox_depth", "Outbox entries not yet delivered", registry=r
        )
        self.outbox_oldest = Gauge(
            "signpost_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox entry (0 when empty)",
            registry=r,
        )
        self.delivery_failures = Counter(
            "signpost_delivery_failures",
            "Failed deliveries to a platform, by platform and error class",
            ["platform", "error"],
            registry=r,
        )
        self.nlu_seconds = Histogram(
            "signpost_nlu_seconds",
            "Time to assess one message (risk and intent)",
            buckets=NLU_BUCKETS,
            registry=r,
        )
        self._risk: ContextVar[RiskLevel | None] = ContextVar("signpost_risk", default=None)
        for event in CASE_EVENTS:  # so every series exists (at 0) from the start
            for platform in ("telegram", "discord"):
                self.cases.labels(platform, event)

    @contextmanager
    def message(self, platform: str) -> Iterator[None]:
        """Around one message's handling: counts it under the highest risk assessed inside."""
        token = self._risk.set(None)
        try:
            yield
        finally:
            risk = self._risk.get()
            self._risk.reset(token)
            self.messages.labels(platform, risk.label if risk is not None else "unassessed").inc()

    def assessed(self, assessment: Assessment, seconds: float) -> None:
        self.nlu_seconds.observe(seconds)
        seen = self._risk.get()
        if seen is None or assessment.risk > seen:
            self._risk.set(assessment.risk)

    def outcome(self, outcome: Outcome) -> None:
        """Replies (each platform message) and crisis replies (once per answer that has one)."""
        crisis: set[str] = set()
        for reply in outcome.replies:
            self.replies.labels(reply.chat.platform, reply.kind.value).inc()
            if reply.kind is ReplyKind.CRISIS:
                crisis.add(reply.chat.platform)
        for platform in crisis:
            self.crisis_replies.labels(platform).inc()

    def sent(self, platform: str, kind: ReplyKind) -> None:
        """A delayed reply delivered from the outbox (the ladder's "no one is free")."""
        self.replies.labels(platform, kind.value).inc()
        if kind is ReplyKind.CRISIS:
            self.crisis_replies.labels(platform).inc()

    def case_event(self, event: str, platform: str, created: datetime, at: datetime) -> None:
        self.cases.labels(platform, event).inc()
        if event == "claimed":
            self.claim_seconds.labels(platform).observe(max(0.0, (at - created).total_seconds()))

    def ping_delivered(self, platform: str, created: datetime, at: datetime) -> None:
        self.ping_seconds.labels(platform).observe(max(0.0, (at - created).total_seconds()))

    def delivery_failed(self, platform: str, error: BaseException) -> None:
        self.delivery_failures.labels(platform, type(error).__name__).inc()

    def outbox(self, depth: int, oldest_seconds: float) -> None:
        self.outbox_depth.set(depth)
        self.outbox_oldest.set(oldest_seconds)


class MeteredNlu:
    """The NLU engine with its latency (and each message's risk level) recorded."""

    def __init__(self, inner: NluEngine, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        started = time.perf_counter()
        assessment = self.inner.assess(text, context)
        self.metrics.assessed(assessment, time.perf_counter() - started)
        return assessment
