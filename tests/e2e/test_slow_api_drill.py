"""A slow Bot API: Telegram posts a message but its answer arrives late (beyond
python-telegram-bot's default 5 s). Nothing may be posted twice: one crisis reply, one forum
topic and one ping (real python-telegram-bot against the fake Bot API, real SQLite)."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from bot.core.risk import RiskLevel
from tests.conftest import ScriptedNlu
from tests.e2e.test_telegram_cases import ALICE, CRISIS, MOD, MODS_ID, signpost
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi

LATE = 5.5  # seconds: longer than the library's default read timeout


@pytest.mark.slow
async def test_a_late_answer_never_becomes_a_second_post(
    settings: Settings, nlu: ScriptedNlu
) -> None:
    nlu.say(CRISIS, RiskLevel.HIGH)
    async with FakeTelegramApi() as fake:
        fake.add_chat(FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=True))
        fake.set_member(MODS_ID, MOD, "member")
        chat = fake.private_chat(ALICE)
        async with signpost(settings, nlu, fake):
            fake.slow_answers.update({"sendMessage": LATE, "createForumTopic": LATE})
            fake.send_text(chat, ALICE, CRISIS)
            await fake.wait_until(
                lambda: any(str(m["text"]).startswith("🆘") for m in fake.sent_to(MODS_ID)), 90
            )
            await asyncio.sleep(LATE * 3)  # time for any retry to show itself
            fake.slow_answers.clear()
        to_alice = [str(m["text"]) for m in fake.sent_to(chat.id)]
        pings = [m for m in fake.sent_to(MODS_ID) if str(m["text"]).startswith("🆘")]
        assert len(pings) == 1, f"{len(pings)} pings"
        assert len(fake.topics) == 1, f"{len(fake.topics)} topics"
        assert len(to_alice) == len(set(to_alice)), "a reply to the person was posted twice"
