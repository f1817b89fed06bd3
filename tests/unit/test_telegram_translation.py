"""Telegram translation helpers: message splitting, keyboards, deep links, commands, retries."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.adapters.telegram_receive import normalise_command
from bot.adapters.telegram_send import (
    deep_link,
    keyboard,
    split_message,
    with_retries,
)
from bot.config import TelegramSettings
from bot.core.messages import Button


def test_short_text_is_one_message() -> None:
    assert split_message("Thank you for telling me.") == ["Thank you for telling me."]


def test_long_text_splits_at_paragraphs_under_the_limit() -> None:
    paragraphs = [f"Line {i}: " + "word " * 40 for i in range(60)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_message(text)
    assert len(chunks) > 1
    assert all(len(chunk) <= 4096 for chunk in chunks)
    # nothing lost, and no paragraph cut in half
    assert "\n\n".join(chunks) == text
    assert all(chunk.startswith("Line ") for chunk in chunks)


def test_limit_counts_emoji_as_telegram_does() -> None:
    text = "🆘" * 3000  # 6000 UTF-16 units: Telegram would refuse it in one message
    chunks = split_message(text)
    assert len(chunks) == 2
    assert all(len(chunk.encode("utf-16-le")) // 2 <= 4096 for chunk in chunks)
    assert "".join(chunks) == text


def test_text_without_spaces_is_cut_hard() -> None:
    chunks = split_message("x" * 9000)
    assert [len(c) for c in chunks] == [4096, 4096, 808]


def test_keyboard_has_one_button_per_row_and_private_links() -> None:
    markup = keyboard(
        [Button("Helplines", "x:helplines|abc"), Button("Talk privately", "help", True)],
        "signpost_bot",
    )
    assert markup is not None
    rows = markup.inline_keyboard
    assert [len(row) for row in rows] == [1, 1]
    assert rows[0][0].callback_data == "x:helplines|abc"
    assert rows[1][0].url == "https://t.me/signpost_bot?start=help"
    assert keyboard([], "signpost_bot") is None


def test_deep_link_falls_back_when_payload_is_not_url_safe() -> None:
    assert deep_link("b", "case_ab12") == "https://t.me/b?start=case_ab12"
    assert deep_link("b", "g:1|sig") == "https://t.me/b?start=help"
    assert deep_link("b", "x" * 65) == "https://t.me/b?start=help"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/help@signpost_bot", "/help"),
        ("/region@Signpost_Bot de", "/region de"),
        ("/help@other_bot", "/help@other_bot"),
        ("/start", "/start"),
        ("hello", "hello"),
    ],
)
def test_commands_addressed_to_this_bot_are_normalised(text: str, expected: str) -> None:
    assert normalise_command(text, "signpost_bot") == expected


async def test_retries_respect_retry_after_then_succeed() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise RetryAfter(0)
        return "sent"

    assert await with_retries(flaky, attempts=1, backoff=0) == "sent"
    assert len(calls) == 3


async def test_server_errors_retry_a_bounded_number_of_times() -> None:
    calls: list[int] = []

    async def down() -> None:
        calls.append(1)
        raise NetworkError("Bad Gateway (502)")

    with pytest.raises(NetworkError):
        await with_retries(down, attempts=4, backoff=0)
    assert len(calls) == 4


async def test_refused_requests_are_not_retried() -> None:
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise BadRequest("chat not found")

    with pytest.raises(BadRequest):
        await with_retries(refused, attempts=5, backoff=0)
    assert len(calls) == 1


def test_settings_build_urls_for_a_self_hosted_api() -> None:
    settings = TelegramSettings(api_base_url="http://127.0.0.1:8081/", token="1:x")
    assert settings.enabled
    assert settings.bot_api_url == "http://127.0.0.1:8081/bot"
    assert settings.file_api_url == "http://127.0.0.1:8081/file/bot"
    assert not TelegramSettings().enabled


def test_webhook_mode_needs_a_public_url() -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        TelegramSettings(mode="webhook")
    with pytest.raises(ValueError):
        TelegramSettings(api_base_url="api.telegram.org")
    with pytest.raises(ValueError):
        TelegramSettings.model_validate({"tokn": "typo"})
