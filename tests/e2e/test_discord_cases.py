"""Signpost on Discord end to end: the real `App` (SQLite or PostgreSQL) with its background
work (outbox, ladder), driven through the Discord adapter's handlers with fake discord objects
(tests/fakes/discord_fakes.py). Only the risk judgement is scripted (ScriptedNlu).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest

from bot.adapters.discord import attach
from bot.adapters.discord_receive import DiscordAdapter
from bot.app import App, build
from bot.config import DiscordSettings, Settings
from bot.content import ContentPaths
from bot.core.risk import RiskLevel
from tests.conftest import ROOT, ScriptedNlu
from tests.fakes.discord_fakes import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    Sent,
    http_error,
)
from tests.support import group_concern

SERVER = FakeGuild(1)
CRISIS = "i don't want to be alive anymore"


class Scene:
    """One Discord server: Alice (a member who DMs the bot), Mo (a moderator who can see the
    moderators' channel), Rando (a member who cannot), Ada (may manage the server)."""

    def __init__(self) -> None:
        self.world = FakeDiscord()
        self.alice = self.world.user(42, "Alice")
        self.mo = self.world.user(7, "Mo").as_member(SERVER)
        self.rando = self.world.user(99, "Rando").as_member(SERVER)
        self.ada = self.world.user(5, "Ada").as_member(SERVER, admin=True)
        self.mods = self.world.channel(SERVER, name="moderators", viewers={7, 5})
        self.general = self.world.channel(SERVER, name="general")
        self.dm = self.world.dm(self.alice)

    def texts_to_alice(self) -> list[str]:
        return self.world.texts_to(self.dm)

    def ping(self) -> Sent:
        return next(s for s in self.world.sent_to(self.mods) if s.custom_ids)

    def thread(self) -> FakeChannel:
        ping = self.ping()
        return next(
            self.world.channels[t] for t, start in self.world.threads.items() if start is ping
        )

    def in_thread(self) -> list[str]:
        return self.world.texts_to(self.thread())


@contextlib.asynccontextmanager
async def signpost(
    settings: Settings, nlu: ScriptedNlu, scene: Scene, url: str | None = None
) -> AsyncIterator[tuple[App, DiscordAdapter]]:
    """One Signpost process: App + its background work + the Discord adapter."""
    app = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=url)
    options = DiscordSettings(moderator_channel_id=scene.mods.id)
    adapter = attach(app, options, scene.world, backoff=0)
    adapter.bot_id = 1000
    stop = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop))
    try:
        yield app, adapter
    finally:
        stop.set()
        await background
        await app.close()


@pytest.fixture
def scene() -> Scene:
    return Scene()


async def press(adapter: DiscordAdapter, who: FakeUser, where: FakeChannel, custom_id: str) -> str:
    """Press a button; return the ephemeral answer the presser sees (or "")."""
    interaction = FakeInteraction(who, where, {"custom_id": custom_id})
    await adapter.on_interaction(interaction)
    assert interaction.response.deferred is not None  # Discord shows no "interaction failed"
    return " ".join(interaction.ephemeral)


async def open_case(scene: Scene, adapter: DiscordAdapter, nlu: ScriptedNlu) -> Sent:
    nlu.say(CRISIS, RiskLevel.HIGH)
    await adapter.on_message(FakeMessage(scene.dm, scene.alice, CRISIS))
    await scene.world.wait_until(lambda: any(s.custom_ids for s in scene.world.sent_to(scene.mods)))
    await scene.world.wait_until(lambda: scene.world.threads)
    return scene.ping()


async def test_outsiders_and_forged_buttons_change_nothing(
    settings: Settings, nlu: ScriptedNlu, scene: Scene
) -> None:
    async with signpost(settings, nlu, scene) as (app, adapter):
        ping = await open_case(scene, adapter, nlu)
        claim, resolve, _ = ping.custom_ids
        told_before = len(scene.texts_to_alice())

        # a member who cannot see the moderators' channel (e.g. a forwarded ping)
        outsider = await press(adapter, scene.rando, scene.mods, claim)
        assert outsider == app.texts.get("moderators.ack.not_moderator")
        # a payload edited to claim another case, and one with a made-up signature
        body, sig = claim.split("|")
        forged_case = await press(
            adapter, scene.mo, scene.mods, body.replace(body.split(":")[1], "0" * 10) + "|" + sig
        )
        forged_sig = await press(adapter, scene.mo, scene.mods, body + "|" + "A" * 16)
        assert forged_case == forged_sig == app.texts.get("moderators.ack.invalid")
        # a forged button in the DM is refused too: the person is offered the menu again
        await press(adapter, scene.alice, scene.dm, "/human|" + "B" * 16)
        assert scene.texts_to_alice()[-1] == app.texts.get("button_expired")
        assert not any(
            t == app.texts.get("human.claimed", moderator="Mo") for t in scene.texts_to_alice()
        )

        # the real moderator can claim; a second claim and a replayed resolve do nothing
        assert await press(adapter, scene.mo, scene.mods, claim) == app.texts.get(
            "moderators.ack.claimed"
        )
        assert await press(adapter, scene.ada, scene.mods, claim) == app.texts.get(
            "moderators.ack.already_taken", moderator="Mo"
        )
        assert await press(adapter, scene.mo, scene.mods, resolve) == app.texts.get(
            "moderators.ack.resolved"
        )
        assert await press(adapter, scene.mo, scene.mods, resolve) == app.texts.get(
            "moderators.ack.closed"
        )
        person_saw = scene.texts_to_alice()[told_before + 1 :]
        assert person_saw == [
            app.texts.get("human.claimed", moderator="Mo"),
            app.texts.get("human.resolved"),
        ]


async def test_a_watched_channel_at_high_risk(
    settings: Settings, nlu: ScriptedNlu, scene: Scene
) -> None:
    world = scene.world
    alice = scene.alice.as_member(SERVER)
    nlu.say("honestly i just want to die", RiskLevel.HIGH)
    async with signpost(settings, nlu, scene) as (app, adapter):
        # not watched yet: the bot says nothing
        await adapter.on_message(FakeMessage(scene.general, alice, "honestly i just want to die"))
        await adapter.on_message(FakeMessage(scene.general, alice, "/signpost_watch on"))
        await adapter.on_message(FakeMessage(scene.general, scene.ada, "/signpost_watch on"))
        assert world.texts_to(scene.general) == [
            app.texts.get("group.admins_only"),
            app.texts.get("group.watch_on"),
        ]
        # ordinary talk: no lecture; high risk: a brief reply without quoting, and a case
        await adapter.on_message(FakeMessage(scene.general, alice, "this homework is killing me"))
        await adapter.on_message(FakeMessage(scene.general, alice, "honestly i just want to die"))
        reply = world.sent_to(scene.general)[-1]
        assert reply.content == group_concern(app.texts, app.signposts.emergency(None))
        assert len(world.sent_to(scene.general)) == 3
        await world.wait_until(lambda: any(s.custom_ids for s in world.sent_to(scene.mods)))
        ping = scene.ping()
        assert "risk: high" in ping.content

        # "Talk privately": the bot opens the DM itself; only Alice is told, ephemerally
        [private] = reply.custom_ids
        assert await press(adapter, alice, scene.general, private) == app.texts.get(
            "discord.dm_sent"
        )
        assert scene.texts_to_alice(), "the DM was opened with a welcome"
        # a moderator claims: Alice hears it in the DM, the channel hears nothing more
        claim = ping.custom_ids[0]
        assert await press(adapter, scene.mo, scene.mods, claim) == app.texts.get(
            "moderators.ack.claimed"
        )
        assert scene.texts_to_alice()[-1] == app.texts.get("human.claimed", moderator="Mo")
        assert len(world.sent_to(scene.general)) == 3


async def test_restart_in_the_middle_of_a_claimed_case(
    settings: Settings, nlu: ScriptedNlu, scene: Scene, db_url: str
) -> None:
    """SQLite file and PostgreSQL: the case, its thread and the claim outlive the process,
    and buttons posted by the old process still work (they carry their own signed payload)."""
    async with signpost(settings, nlu, scene, db_url) as (app, adapter):
        ping = await open_case(scene, adapter, nlu)
        claim, resolve, _ = ping.custom_ids
        assert await press(adapter, scene.mo, scene.mods, claim) == app.texts.get(
            "moderators.ack.claimed"
        )
        thread = scene.thread()
        await scene.world.wait_until(lambda: any("claimed by Mo" in t for t in scene.in_thread()))

    async with signpost(settings, nlu, scene, db_url) as (app, adapter):
        await adapter.on_message(FakeMessage(scene.dm, scene.alice, "are you still there?"))
        await scene.world.wait_until(lambda: any("still there" in t for t in scene.in_thread()))
        await adapter.on_message(FakeMessage(thread, scene.mo, "Yes, still here."))
        relayed = app.texts.get("human.relay", moderator="Mo", text="Yes, still here.")
        assert scene.texts_to_alice()[-1] == relayed
        assert await press(adapter, scene.mo, scene.mods, resolve) == app.texts.get(
            "moderators.ack.resolved"
        )
        assert scene.texts_to_alice()[-1] == app.texts.get("human.resolved")
    assert len(scene.world.threads) == 1


async def test_a_ping_survives_discord_outages_without_doubling(
    settings: Settings, nlu: ScriptedNlu, scene: Scene
) -> None:
    async with signpost(settings, nlu, scene) as (app, adapter):
        # the crisis reply rides out a 503 and a dropped connection
        scene.world.failures = [http_error(503, discord.DiscordServerError), ConnectionResetError()]
        scene.world.thread_failures = 1  # the outbox retries the thread, not the ping
        ping = await open_case(scene, adapter, nlu)
        assert scene.texts_to_alice()[0].startswith(app.texts.lines("crisis.high")[0])
        await asyncio.sleep(0.3)
        assert ping.custom_ids
    assert [s for s in scene.world.sent_to(scene.mods) if s.custom_ids] == [ping]
    assert len(scene.world.threads) == 1
