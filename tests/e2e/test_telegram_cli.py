"""`signpost run` with TELEGRAM_BOT_TOKEN set starts the Telegram bot: the whole product, real
NLU included, as a separate process talking to the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, model_cache_dir
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser

ALICE = FakeUser(id=42, first_name="Alice")
MODS_ID = -100500


@pytest.mark.slow
async def test_signpost_run_serves_telegram(tmp_path: Path) -> None:
    # the model `make test` trained; trains here only when nlu/ changed since
    models = model_cache_dir()
    async with FakeTelegramApi() as fake:
        chat = fake.private_chat(ALICE)
        fake.add_chat(FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=True))
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_MODERATOR_CHAT_ID": str(MODS_ID),
            "SIGNPOST_SECRET_KEY": "cli-test-secret-0123456789abcdef-012345",
            "SIGNPOST_DATA_DIR": str(tmp_path),
            "SIGNPOST_NLU__CACHE_DIR": str(models),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(ROOT / "config.yml"),
            "run",
            env=env,
            cwd=ROOT,
        )
        try:
            fake.send_text(chat, ALICE, "/start")
            await fake.wait_until(
                lambda: bool(fake.sent_to(chat.id)) or process.returncode is not None, 240
            )
            assert process.returncode is None, "signpost run exited early"
            fake.send_text(chat, ALICE, "i want to kill myself tonight")
            await fake.wait_until(lambda: bool(fake.sent_to(MODS_ID)), timeout=30)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 30)
        assert code == 0, "SIGTERM stops the bot cleanly"
    ping = fake.sent_to(MODS_ID)[0]
    assert "i want to kill myself tonight" in ping["text"]
    assert [row[0]["text"] for row in ping["reply_markup"]["inline_keyboard"]] == [
        "Claim",
        "Resolve",
        "False alarm",
    ]
    assert fake.topics, "a forum topic per case"
