"""The per-person message limit: how many messages one person may send per window.

The count lives in the database (see `Store.count_message`) so several workers share it. The
dialogue decides which messages are counted at all; a message at high risk never is. Here only
the verdict: under the limit a message is handled as usual, the first one over it gets one
short notice, the rest of the window gets silence. If the count cannot be taken the message is
let through: a broken database must never silence anyone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.core.ports import MessageCounter

log = logging.getLogger(__name__)


class Verdict(Enum):
    ALLOW = "allow"
    NOTICE = "notice"  # the first message over the limit in this window: tell the person once
    SILENT = "silent"  # later messages in the same window: no reply, no further work


@dataclass(frozen=True, slots=True)
class MessageLimit:
    max_messages: int = 20
    window_seconds: int = 60
    enabled: bool = True

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)


class MessageLimiter:
    def __init__(self, counter: MessageCounter, limit: MessageLimit) -> None:
        self.counter = counter
        self.limit = limit

    async def check(self, key: str, at: datetime) -> Verdict:
        """Count one message from `key` (a pseudonymous conversation key) and judge it."""
        if not self.limit.enabled:
            return Verdict.ALLOW
        try:
            count = await self.counter.count_message(key, at, self.limit.window)
        except Exception as exc:
            # the exception's type only: a driver error may carry statement details
            log.warning("message limit unavailable, letting it through: %s", type(exc).__name__)
            return Verdict.ALLOW
        over = count - self.limit.max_messages
        if over <= 0:
            return Verdict.ALLOW
        if over == 1:
            limit = self.limit
            log.info(
                "message limit reached",
                extra={"limit": limit.max_messages, "window_seconds": limit.window_seconds},
            )
            return Verdict.NOTICE
        log.debug("message over the limit dropped", extra={"over": over})
        return Verdict.SILENT
