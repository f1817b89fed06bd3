"""Scenarios played on Telegram and on Discord end to end (the real `App`, each platform's real
adapter and fake): one script, one driver per platform.

A step is: who writes in the community (a member or an admin), what, the answer the bot must
post there, and the community's region afterwards. Platform details (Telegram's
`/command@bot`, a Discord mention before it) are the driver's business.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
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
    # the local emergency number again (from someone else: the member's case is open, and
    # their public reply is not repeated within the cooldown)
    Step(ADMIN, CRISIS, "crisis", None),
)


class Community(Protocol):
    app: App
    platform: str
    community: str

    async def say(self, who: str, text: str, *, addressed: bool = False) -> str | None:
        """Post in the community; the bot's answer there (None when it stays quiet)."""
        ...

    async def last_ping(self) -> str: ...

    # a case: the person writes privately, a moderator (Mo) answers in the case's thread
    async def person_says(self, text: str) -> None: ...

    def to_person(self) -> list[str]: ...

    async def open_case(self, nlu: ScriptedNlu) -> tuple[str, list[str]]:
        """A crisis message from the person; the ping's text and its buttons."""
        ...

    async def press(self, button: str, *, in_case: bool = False) -> str: ...

    async def moderator_says(self, text: str) -> None: ...

    def in_case(self) -> list[str]: ...

    async def wait_until(self, check: Callable[[], object]) -> None: ...

    def check_one_thread(self) -> None:
        """Everything about the case stayed in one thread (topic) of the moderators' room."""
        ...


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

    async def person_says(self, text: str) -> None:
        self.api.send_text(self.api.private_chat(tc.ALICE), tc.ALICE, text)

    def to_person(self) -> list[str]:
        return tc.texts_to(self.api, tc.ALICE.id)

    async def open_case(self, nlu: ScriptedNlu) -> tuple[str, list[str]]:
        self.ping, self.thread = await tc.open_case(self.api, nlu)
        if tc.is_forum(self.api):
            assert self.ping["message_thread_id"] == self.thread
        buttons = tc.buttons(self.ping)
        assert all(len(b.encode()) <= 64 for b in buttons)  # Telegram's callback_data limit
        return str(self.ping["text"]), buttons

    async def press(self, button: str, *, in_case: bool = False) -> str:
        return await tc.press(self.api, tc.MOD, self.ping, button)

    async def moderator_says(self, text: str) -> None:
        await tc.moderator_says(self.api, text, self.thread)

    def in_case(self) -> list[str]:
        return [str(p["text"]) for p in tc.in_case(self.api, self.thread)()]

    async def wait_until(self, check: Callable[[], object]) -> None:
        await self.api.wait_until(lambda: bool(check()))

    def check_one_thread(self) -> None:
        sent = self.api.sent_to(tc.MODS_ID)
        if tc.is_forum(self.api):
            assert len(self.api.topics) == 1
            assert all(p.get("message_thread_id") == self.thread for p in sent)
        else:
            assert all(
                (p.get("reply_parameters") or {}).get("message_id") == self.thread for p in sent[1:]
            )


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

    async def person_says(self, text: str) -> None:
        await self.adapter.on_message(FakeMessage(self.scene.dm, self.scene.alice, text))

    def to_person(self) -> list[str]:
        return self.scene.texts_to_alice()

    async def open_case(self, nlu: ScriptedNlu) -> tuple[str, list[str]]:
        self.ping = await dc.open_case(self.scene, self.adapter, nlu)
        thread = self.scene.thread()
        assert thread.parent_id == self.scene.mods.id and "risk: high" in thread.name
        assert all(len(b) <= 100 for b in self.ping.custom_ids)  # Discord's custom_id limit
        return self.ping.content, list(self.ping.custom_ids)

    async def press(self, button: str, *, in_case: bool = False) -> str:
        where = self.scene.thread() if in_case else self.scene.mods
        return await dc.press(self.adapter, self.scene.mo, where, button)

    async def moderator_says(self, text: str) -> None:
        await self.adapter.on_message(FakeMessage(self.scene.thread(), self.scene.mo, text))
        # talk in the moderators' channel itself is never relayed
        await self.adapter.on_message(FakeMessage(self.scene.mods, self.scene.mo, "got this"))

    def in_case(self) -> list[str]:
        return self.scene.in_thread()

    async def wait_until(self, check: Callable[[], object]) -> None:
        await self.scene.world.wait_until(check)

    def check_one_thread(self) -> None:
        assert len(self.scene.world.threads) == 1
        assert self.scene.world.sent_to(self.scene.mods) == [self.ping]


@contextlib.asynccontextmanager
async def community(
    platform: str, settings: Settings, nlu: ScriptedNlu, db_url: str | None = None
) -> AsyncIterator[Community]:
    if platform.startswith("telegram"):
        async with FakeTelegramApi() as api:
            forum = platform != "telegram-plain"  # the moderators' room with topics, or without
            api.add_chat(FakeChat(tc.MODS_ID, "supergroup", "Moderators", is_forum=forum))
            api.add_chat(tc.GROUP)
            api.private_chat(tc.ALICE)
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


@pytest.mark.parametrize("platform", ["telegram", "telegram-plain", "discord"])
async def test_crisis_claim_relay_resolve(
    platform: str, settings: Settings, nlu: ScriptedNlu
) -> None:
    async with community(platform, settings, nlu) as where:
        texts = where.app.texts
        ping, (claim, resolve, _false_alarm) = await where.open_case(nlu)
        # the person got the crisis reply with helplines, before anything else
        assert where.to_person()[0].startswith(texts.lines("crisis.high")[0])
        # the ping names the risk and handle, and carries the message
        assert "risk: high" in ping and "person-" in ping and CRISIS in ping

        # claim: the moderator sees an ack, the person is told a human joined
        assert await where.press(claim) == texts.get("moderators.ack.claimed")
        joined = texts.get("human.claimed", moderator="Mo")
        await where.wait_until(lambda: joined in where.to_person())
        await where.wait_until(lambda: any("claimed by Mo" in t for t in where.in_case()))

        # relay: the person's words appear in the case's thread, the bot stays quiet...
        before = len(where.to_person())
        await where.person_says("it's been a really bad week")
        await where.wait_until(lambda: any("really bad week" in t for t in where.in_case()))
        # ...and the moderator's words in the thread reach the person through the bot
        await where.moderator_says("I'm here. What happened?")
        relayed = texts.get("human.relay", moderator="Mo", text="I'm here. What happened?")
        await where.wait_until(lambda: relayed in where.to_person())
        assert where.to_person()[before:] == [relayed]

        # resolve (pressed in the case's thread): the person is told, and the bot answers again
        assert await where.press(resolve, in_case=True) == texts.get("moderators.ack.resolved")
        await where.wait_until(lambda: texts.get("human.resolved") in where.to_person())
        count = len(where.to_person())
        await where.person_says("hello?")
        await where.wait_until(lambda: len(where.to_person()) > count)
        assert not where.to_person()[-1].startswith("Mo:")
        await where.wait_until(lambda: any("resolved by Mo" in t for t in where.in_case()))
    where.check_one_thread()
