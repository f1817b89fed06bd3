"""Community scenarios as one table, played on Telegram and on Discord end to end (the real
`App` on SQLite and PostgreSQL, each platform's real adapter and fake).

A step is: who writes in the community (a member or an admin), what, the answer the bot must
post there, and the community's region afterwards. Platform details (Telegram's
`/command@bot`, a Discord mention before it) are the driver's business.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from bot.app import App
from bot.config import Settings
from bot.core.risk import RiskLevel
from tests.conftest import ScriptedNlu
from tests.e2e import test_discord_cases as dc
from tests.e2e import test_telegram_cases as tc
from tests.fakes.discord_fakes import FakeMessage
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi
from tests.support import group_concern

CRISIS = "i don't want to be alive anymore"
ADMIN, MEMBER = "admin", "member"


@dataclass(frozen=True)
class Step:
    who: str
    text: str
    answer: str  # a response key, or "crisis" for the group reply to a crisis
    region: str | None  # the community's region after the step (for "crisis": its number)
    addressed: bool = False  # written as the platform writes a command meant for this bot
    region_name: str = ""


REGION_AND_WATCH = (
    Step(MEMBER, "/signpost_region UK", "group.admins_only", None),
    Step(ADMIN, "/signpost_region", "group.region_none", None),
    Step(ADMIN, "/signpost_region Narnia", "group.region_unknown", None),
    Step(ADMIN, "/signpost_region España", "group.region_set", "ES", True, "Spain"),
    Step(ADMIN, "/signpost_region germany", "group.region_set", "DE", region_name="Germany"),
    Step(ADMIN, "/signpost_region Atlantis", "group.region_unknown", "DE"),
    Step(ADMIN, "/signpost_region", "group.region_current", "DE", region_name="Germany"),
    Step(MEMBER, "/signpost_region off", "group.admins_only", "DE"),
    Step(MEMBER, CRISIS, "", "DE"),  # not watched yet: the bot says nothing
    Step(MEMBER, "/signpost_watch on", "group.admins_only", "DE"),
    Step(ADMIN, "/signpost_watch on", "group.watch_on", "DE"),
    Step(MEMBER, "this homework is killing me", "", "DE"),  # ordinary talk: no lecture
    Step(MEMBER, CRISIS, "crisis", "DE"),  # the community's emergency number, and a case
    Step(ADMIN, "/signpost_region off", "group.region_cleared", None),
    Step(ADMIN, "/signpost_region", "group.region_none", None),
    Step(MEMBER, CRISIS, "crisis", None),  # the local emergency number again
)


class Community(Protocol):
    app: App
    platform: str
    community: str

    async def say(self, who: str, text: str, *, addressed: bool = False) -> str | None:
        """Post in the community; the bot's answer there (None when it stays quiet)."""
        ...

    async def last_ping(self) -> str: ...


class OnTelegram:
    platform = "telegram"

    def __init__(self, app: App, api: FakeTelegramApi) -> None:
        self.app, self.api, self.community = app, api, str(tc.GROUP.id)

    async def say(self, who: str, text: str, *, addressed: bool = False) -> str | None:
        if addressed:
            command, _, rest = text.partition(" ")
            text = f"{command}@signpost_test_bot {rest}"
        before = len(self.api.sent_to(tc.GROUP.id))
        self.api.send_text(tc.GROUP, tc.ADMIN if who == ADMIN else tc.ALICE, text)
        with contextlib.suppress(TimeoutError):
            await self.api.wait_for_messages(tc.GROUP.id, before + 1, 1.5)
        sent = self.api.sent_to(tc.GROUP.id)
        return str(sent[-1]["text"]) if len(sent) > before else None

    async def last_ping(self) -> str:
        await self.api.wait_until(lambda: any("reply_markup" in p for p in self.pings()))
        return str(self.pings()[-1]["text"])

    def pings(self) -> list[dict[str, object]]:
        return [p for p in self.api.sent_to(tc.MODS_ID) if "reply_markup" in p]


class OnDiscord:
    platform = "discord"

    def __init__(self, app: App, adapter: dc.DiscordAdapter, scene: dc.Scene) -> None:
        self.app, self.adapter, self.scene = app, adapter, scene
        self.community = str(scene.general.id)

    async def say(self, who: str, text: str, *, addressed: bool = False) -> str | None:
        author = self.scene.ada if who == ADMIN else self.scene.alice.as_member(dc.SERVER)
        text = f"<@1000> {text}" if addressed else text
        before = len(self.scene.world.sent_to(self.scene.general))
        await self.adapter.on_message(FakeMessage(self.scene.general, author, text))
        sent = self.scene.world.texts_to(self.scene.general)
        return sent[-1] if len(sent) > before else None

    async def last_ping(self) -> str:
        world = self.scene.world
        await world.wait_until(lambda: any(s.custom_ids for s in world.sent_to(self.scene.mods)))
        return [s for s in world.sent_to(self.scene.mods) if s.custom_ids][-1].content


@contextlib.asynccontextmanager
async def community(
    platform: str, settings: Settings, nlu: ScriptedNlu, db_url: str
) -> AsyncIterator[Community]:
    if platform == "telegram":
        async with FakeTelegramApi() as api:
            api.add_chat(FakeChat(tc.MODS_ID, "supergroup", "Moderators", is_forum=True))
            api.add_chat(tc.GROUP)
            api.set_member(tc.MODS_ID, tc.MOD, "member")
            api.set_member(tc.GROUP.id, tc.ADMIN, "administrator")
            api.set_member(tc.GROUP.id, tc.ALICE, "member")
            async with tc.signpost(settings, nlu, api, db_url) as app:
                yield OnTelegram(app, api)
    else:
        scene = dc.Scene()
        async with dc.signpost(settings, nlu, scene, db_url) as (app, adapter):
            yield OnDiscord(app, adapter, scene)


def expected(app: App, step: Step) -> str | None:
    if step.answer == "crisis":
        return group_concern(app.texts, app.signposts.emergency(step.region))
    return app.texts.get(step.answer, region_name=step.region_name) if step.answer else None


@pytest.mark.parametrize("platform", ["telegram", "discord"])
async def test_an_admin_sets_the_communitys_region_and_watch(
    platform: str, settings: Settings, nlu: ScriptedNlu, db_url: str
) -> None:
    """`/signpost_region` and `/signpost_watch`: admins only; a place is resolved as typed,
    an unknown one changes nothing; a crisis in the watched community then gets the region's
    emergency number (never quoting the message) and the case carries the region."""
    nlu.say(CRISIS, RiskLevel.HIGH)
    async with community(platform, settings, nlu, db_url) as where:
        app = where.app
        assert app.signposts.emergency("DE") != app.signposts.emergency(None)
        for number, step in enumerate(REGION_AND_WATCH):
            said = await where.say(step.who, step.text, addressed=step.addressed)
            if step.answer == "crisis":
                expected: str | None = group_concern(
                    app.texts, app.signposts.emergency(step.region)
                )
            elif step.answer:
                expected = app.texts.get(step.answer, region_name=step.region_name)
            else:
                expected = None
            assert said == expected, f"step {number}: {step.text!r}"
            group = await app.store.group(platform, where.community)
            assert (group.default_region if group else None) == step.region, f"step {number}"
            if step.answer == "crisis" and step.region:
                ping = await where.last_ping()
                assert f"region: {step.region}" in ping and "risk: high" in ping
        group = await app.store.group(platform, where.community)
        assert group is not None and group.watched, "the region command left watching alone"
