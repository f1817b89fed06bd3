"""Operations settings: the metrics port, JSON log lines, and DATABASE_URL."""

from __future__ import annotations

import json
import logging

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import JsonFormatter
from tests.conftest import ROOT


def test_metrics_are_off_by_default_and_on_with_the_environment() -> None:
    assert load_settings(ROOT / "config.yml", {}).metrics.port is None
    on = load_settings(ROOT / "config.yml", {"SIGNPOST_METRICS__PORT": "9464"})
    assert on.metrics.port == 9464 and on.metrics.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/signpost", "postgresql+asyncpg://u:p@db:5432/signpost"),
        ("postgresql://u@db/signpost", "postgresql+asyncpg://u@db/signpost"),
        ("postgresql+asyncpg://u@db/s", "postgresql+asyncpg://u@db/s"),
        ("sqlite+aiosqlite:////data/x.db", "sqlite+aiosqlite:////data/x.db"),
    ],
)
def test_database_url_is_an_alias_of_storage_url(given: str, used: str) -> None:
    assert load_settings(ROOT / "config.yml", {"DATABASE_URL": given}).database_url == used


def test_the_explicit_storage_url_wins_over_database_url() -> None:
    env = {"DATABASE_URL": "postgres://a@x/y", "SIGNPOST_STORAGE__URL": "sqlite+aiosqlite:///z"}
    assert load_settings(ROOT / "config.yml", env).database_url == "sqlite+aiosqlite:///z"


def test_json_log_lines_carry_the_event_and_its_fields() -> None:
    record = logging.LogRecord(
        "bot.escalation.cases", logging.INFO, __file__, 1, "case opened", None, None
    )
    record.case = "abc123"
    record.risk = "high"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == "case opened" and data["level"] == "info"
    assert data["case"] == "abc123" and data["risk"] == "high"
    assert data["logger"] == "bot.escalation.cases" and data["error"] == "ValueError"


def test_json_format_is_a_choice() -> None:
    assert (
        load_settings(ROOT / "config.yml", {"SIGNPOST_LOGGING__FORMAT": "json"}).logging.format
        == "json"
    )
    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_settings(ROOT / "config.yml", {"SIGNPOST_LOGGING__FORMAT": "xml"})


def test_an_empty_token_variable_is_the_same_as_none() -> None:
    """compose.yaml passes `TELEGRAM_BOT_TOKEN: ${TELEGRAM_BOT_TOKEN:-}` for a Discord-only
    community: the empty value must not start Telegram."""
    env = {"TELEGRAM_BOT_TOKEN": "", "DISCORD_BOT_TOKEN": "abc", "TELEGRAM_MODERATOR_CHAT_ID": ""}
    settings = load_settings(ROOT / "config.yml", env)
    assert settings.platforms_configured == ["discord"]
    assert settings.telegram.moderator_chat_id is None
