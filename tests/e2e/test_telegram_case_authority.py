"""On Telegram: another member of the moderators' group cannot close a case someone claimed;
an administrator of that group can (real python-telegram-bot, fake Bot API, SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.conftest import ScriptedNlu
from tests.e2e.test_telegram_cases import (
    ADMIN,
    ALICE,
    MOD,
    MODS_ID,
    buttons,
    open_case,
    press,
    signpost,
    texts_to,
)
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser

OTHER_MOD = FakeUser(id=8, first_name="Oz")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as api:
        api.add_chat(FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=True))
        api.private_chat(ALICE)
        api.set_member(MODS_ID, MOD, "member")
        api.set_member(MODS_ID, OTHER_MOD, "member")
        api.set_member(MODS_ID, ADMIN, "administrator")
        yield api


async def test_only_the_claimer_or_a_group_admin_closes_a_claimed_case(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi
) -> None:
    async with signpost(settings, nlu, fake) as app:
        ping, _ = await open_case(fake, nlu)
        claim, resolve, false_alarm = buttons(ping)
        assert await press(fake, MOD, ping, claim) == app.texts.get("moderators.ack.claimed")
        refused = app.texts.get("moderators.ack.claimed_by_other", moderator="Mo")
        assert await press(fake, OTHER_MOD, ping, resolve) == refused
        assert await press(fake, OTHER_MOD, ping, false_alarm) == refused
        assert app.texts.get("human.resolved") not in texts_to(fake, ALICE.id)
        assert await press(fake, ADMIN, ping, resolve) == app.texts.get("moderators.ack.resolved")
        await fake.wait_until(lambda: app.texts.get("human.resolved") in texts_to(fake, ALICE.id))
