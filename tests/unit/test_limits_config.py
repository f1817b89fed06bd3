"""The `limits:` settings: defaults, environment overrides, and refused values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.core.limits import MessageLimit, MessageLimiter, Verdict
from tests.conftest import ROOT


def test_defaults_come_from_config_yml() -> None:
    limits = load_settings(ROOT / "config.yml", {}).limits
    assert (limits.enabled, limits.max_messages, limits.window_seconds) == (True, 20, 60)


def test_environment_overrides_the_limit() -> None:
    env = {"SIGNPOST_LIMITS__MAX_MESSAGES": "5", "SIGNPOST_LIMITS__ENABLED": "false"}
    limits = load_settings(ROOT / "config.yml", env).limits
    assert limits.max_messages == 5 and not limits.enabled


@pytest.mark.parametrize(
    ("key", "value"), [("MAX_MESSAGES", "0"), ("WINDOW_SECONDS", "-1"), ("MAX_MESSAGES", "lots")]
)
def test_a_bad_limit_names_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"limits.{key.lower()}"):
        load_settings(ROOT / "config.yml", {f"SIGNPOST_LIMITS__{key}": value})


class CountingStore:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def count_message(self, key: str, at: datetime, window: timedelta) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


async def test_a_disabled_limit_counts_nothing() -> None:
    store = CountingStore()
    limiter = MessageLimiter(store, MessageLimit(max_messages=1, enabled=False))
    now = datetime.now(UTC)
    assert [await limiter.check("k", now) for _ in range(3)] == [Verdict.ALLOW] * 3
    assert store.counts == {}


async def test_verdicts_allow_then_one_notice_then_silence() -> None:
    limiter = MessageLimiter(CountingStore(), MessageLimit(max_messages=2))
    now = datetime.now(UTC)
    verdicts = [await limiter.check("k", now) for _ in range(5)]
    allow, notice, silent = Verdict.ALLOW, Verdict.NOTICE, Verdict.SILENT
    assert verdicts == [allow, allow, notice, silent, silent]
    assert await limiter.check("someone else", now) is Verdict.ALLOW
