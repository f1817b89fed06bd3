"""`/cases` and `/case <id>` in the moderators' room, on Telegram and on Discord end to end:
open cases with age and status, one case's timeline, never relayed to the person, and only
for the moderators' team."""

from __future__ import annotations

import re

import pytest

from bot.config import Settings
from tests.conftest import ScriptedNlu
from tests.e2e import test_telegram_cases as tc
from tests.e2e.test_case_scenarios import CRISIS, Community, OnDiscord, OnTelegram, community
from tests.fakes.discord_fakes import FakeMessage
from tests.fakes.telegram_api import FakeChat


async def command(
    where: Community, text: str, *, in_case: bool = False, outsider: bool = False
) -> str:
    """A moderator (or someone without the role) types `text` in the moderators' room, or in
    the case's thread; returns the bot's answer there."""
    if isinstance(where, OnTelegram):
        api, forum = where.api, tc.is_forum(where.api)
        mods = FakeChat(tc.MODS_ID, "supergroup", "Moderators", is_forum=forum)
        who = tc.OUTSIDER if outsider else tc.MOD
        before = len(api.sent_to(tc.MODS_ID))
        if in_case and forum:
            api.send_text(mods, who, text, thread_id=where.thread)
        elif in_case:
            api.send_text(mods, who, text, reply_to=api.sent_message(tc.MODS_ID, where.thread))
        else:
            api.send_text(mods, who, text)
        await api.wait_for_messages(tc.MODS_ID, before + 1, 10)
        return str(api.sent_to(tc.MODS_ID)[-1]["text"])
    assert isinstance(where, OnDiscord)
    scene = where.scene
    channel = scene.thread() if in_case else scene.mods
    who = scene.rando if outsider else scene.mo
    before = len(scene.world.sent_to(channel))
    await where.adapter.on_message(FakeMessage(channel, who, text))
    await scene.world.wait_until(lambda: len(scene.world.sent_to(channel)) > before)
    return scene.world.texts_to(channel)[-1]


@pytest.mark.parametrize("platform", ["telegram", "telegram-plain", "discord"])
async def test_cases_and_case_timeline_in_the_moderators_room(
    platform: str, settings: Settings, nlu: ScriptedNlu
) -> None:
    async with community(platform, settings, nlu) as where:
        texts = where.app.texts
        assert await command(where, "/cases") == texts.get("desk.none")

        ping, (claim, _resolve, _false) = await where.open_case(nlu)
        case_id = re.search(r"New case (\w+)", ping)
        assert case_id is not None
        listed = await command(where, "/cases")
        assert listed.startswith(texts.get("desk.title", count=1))
        assert f"{case_id.group(1)} · risk: high · waiting for a moderator · 0 min" in listed
        assert CRISIS not in listed

        await where.press(claim)
        await where.wait_until(lambda: any("claimed by Mo" in t for t in where.in_case()))
        to_person = len(where.to_person())
        timeline = await command(where, f"/case {case_id.group(1)}", in_case=True)
        lines = timeline.splitlines()
        assert lines[0].startswith(f"Case {case_id.group(1)} · risk: high · with Mo · person-")
        events = [line.split(" · ", 1)[1] for line in lines[1:]]
        assert events == [
            texts.get("desk.events.opened"),
            texts.get("desk.events.ping"),
            texts.get("desk.events.claimed", moderator="Mo"),
        ]
        assert CRISIS not in timeline
        # the command was answered in the thread and never relayed to the person
        assert len(where.to_person()) == to_person

        assert await command(where, "/case 0000000000") == texts.get(
            "desk.unknown", case_id="0000000000"
        )
        assert await command(where, "/case") == texts.get("desk.usage", example="3f2a9c01bd")
        if platform == "discord":  # on Telegram, anyone in the room is on the team
            assert await command(where, "/cases", outsider=True) == texts.get(
                "moderators.ack.not_moderator"
            )
