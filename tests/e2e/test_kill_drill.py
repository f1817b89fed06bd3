"""kill -9 in the middle of a burst: `signpost run` as a separate process (real NLU, real
PostgreSQL, the fake Bot API), killed while it is answering, then started again. Every crisis
chat must get its crisis reply and exactly one moderator ping."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.core.texts import Texts
from tests.conftest import ROOT, model_cache_dir
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser

MODS_ID = -100500
PEOPLE = 30  # every other one in crisis
CRISIS = "i want to kill myself tonight"
TEXTS = Texts.load(ROOT / "responses")
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    name = f"signpost_kill_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def start(fake: FakeTelegramApi, url: str, tmp_path: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_MODERATOR_CHAT_ID": str(MODS_ID),
        "SIGNPOST_SECRET_KEY": "kill-drill-secret-0123456789abcdef-0123",
        "SIGNPOST_DATA_DIR": str(tmp_path),
        "SIGNPOST_NLU__CACHE_DIR": str(model_cache_dir()),
        "SIGNPOST_STORAGE__URL": url,
        "SIGNPOST_ESCALATION__TICK_SECONDS": "1",
        "SIGNPOST_TELEGRAM__POLL_TIMEOUT": "1",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(ROOT / "config.yml"), "run", env=env, cwd=ROOT
    )


@pytest.mark.slow
@pytest.mark.postgres
async def test_kill_9_mid_burst_loses_no_crisis_reply_and_doubles_no_ping(
    tmp_path: Path, pg_url: str
) -> None:
    critical = TEXTS.lines("crisis.critical", emergency="")[0].split("{", 1)[0][:40]
    async with FakeTelegramApi() as fake:
        fake.add_chat(FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=True))
        people = [FakeUser(id=1000 + n, first_name=f"P{n}") for n in range(PEOPLE)]
        chats = [fake.private_chat(p) for p in people]
        in_crisis = [chat for n, chat in enumerate(chats) if n % 2 == 0]

        def answered() -> int:
            return sum(1 for chat in chats if fake.sent_to(chat.id))

        process = await start(fake, pg_url, tmp_path)
        try:
            fake.send_text(chats[0], people[0], "/start")  # wait for the model to load
            await fake.wait_until(
                lambda: bool(fake.sent_to(chats[0].id)) or process.returncode is not None, 240
            )
            assert process.returncode is None, "signpost run exited early"
            for person, chat in zip(people, chats, strict=True):
                fake.send_text(chat, person, "hi there")
                fake.send_text(chat, person, CRISIS if chat in in_crisis else "thanks")
                fake.send_text(chat, person, "are you still there?")
            await fake.wait_until(lambda: answered() >= 5, 60)
            process.send_signal(signal.SIGKILL)  # mid-burst: most chats are still in flight
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        in_flight = PEOPLE - answered()
        assert in_flight > 0, "the burst was over before the kill: the drill proved nothing"

        process = await start(fake, pg_url, tmp_path)
        try:

            def crisis_answered(chat: FakeChat) -> bool:
                return any(str(m["text"]).startswith(critical) for m in fake.sent_to(chat.id))

            def pinged() -> list[str]:
                return [
                    str(m["text"])
                    for m in fake.sent_to(MODS_ID)
                    if str(m["text"]).startswith("🆘")
                ]

            await fake.wait_until(
                lambda: all(crisis_answered(c) for c in in_crisis)
                and len(pinged()) >= len(in_crisis),
                180,
            )
            await asyncio.sleep(3)  # anything doubled would show up now
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 60)
        assert code == 0
    missing = [c.id for c in in_crisis if not crisis_answered(c)]
    assert not missing, f"crisis chats without a crisis reply: {missing}"
    pings = pinged()
    assert len(pings) == len(in_crisis), f"{len(pings)} pings for {len(in_crisis)} people"
    handles = {p.split("Person: ", 1)[1].split(" ", 1)[0] for p in pings}
    assert len(handles) == len(in_crisis), "one person was pinged twice"
