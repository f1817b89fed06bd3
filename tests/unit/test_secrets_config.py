"""Secrets: a key long enough that pseudonymous ids cannot be brute-forced, and secrets only
from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", ["", "short", "x" * 31, "é" * 15])
def test_a_short_secret_key_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(ROOT / "config.yml", {"SIGNPOST_SECRET_KEY": key})
    assert "secret_key" in str(err.value) and "32 bytes" in str(err.value)
    if key:
        assert key not in str(err.value), "the key itself must never be printed"


def test_a_32_byte_key_is_accepted() -> None:
    settings = load_settings(ROOT / "config.yml", {"SIGNPOST_SECRET_KEY": "k" * 32})
    assert len(settings.secret_bytes()) == 32


@pytest.mark.parametrize("key", ["token", "webhook_secret_token"])
def test_telegram_secrets_in_the_file_are_refused(tmp_path: Path, key: str) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"telegram:\n  {key}: hunter2hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(config, {})
    assert f"telegram.{key}" in str(err.value) and "environment" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_the_webhook_secret_comes_from_the_environment() -> None:
    settings = load_settings(ROOT / "config.yml", {"TELEGRAM_WEBHOOK_SECRET": "s3cr3t-from-env"})
    secret = settings.telegram.webhook_secret_token
    assert secret is not None and secret.get_secret_value() == "s3cr3t-from-env"
