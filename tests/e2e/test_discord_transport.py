"""Signpost's Discord adapter through the real discord.py client: `run_discord` logs in and
connects to a fake Discord (REST + gateway websocket on 127.0.0.1), receives gateway events as
Discord sends them, and answers with REST calls whose payloads are checked here.

This covers what the object-level fakes cannot: the intents identified with, discord.py's own
models (DM and guild messages, members, interactions with their channel), permissions computed
from overwrites, interaction callbacks and followups, thread creation, and shutdown on `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from pydantic import SecretStr

from bot.adapters.discord import run_discord
from bot.app import App, build
from bot.config import ConfigError, Settings, load_settings
from bot.content import ContentPaths
from bot.core.risk import RiskLevel
from tests.conftest import ROOT, ScriptedNlu
from tests.fakes.discord_server import (
    ADMINS,
    ALICE,
    DM,
    GENERAL,
    GUILD,
    MO,
    MODS,
    RANDO,
    FakeDiscordServer,
    JsonDict,
    fake_discord,
    member,
    text_channel,
    user,
)
from tests.support import group_concern

CRISIS = "i don't want to be alive anymore"


@contextlib.asynccontextmanager
async def signpost_on_discord(
    settings: Settings, nlu: ScriptedNlu, fake: FakeDiscordServer, url: str | None = None
) -> AsyncIterator[App]:
    options = settings.model_copy(
        update={
            "discord": settings.discord.model_copy(
                update={"moderator_channel_id": MODS, "token": SecretStr("fake-token")}
            ),
        }
    )
    app = await build(options, nlu=nlu, content=ContentPaths(ROOT), database_url=url)
    stop = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop))
    bot = asyncio.create_task(run_discord(app, options.discord, stop, backoff=0))
    try:
        await fake.wait_until(lambda: fake.identify or bot.done())
        assert not bot.done(), bot.exception()
        await asyncio.sleep(0.2)  # READY and GUILD_CREATE processed
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(bot, 10)  # run_discord returns once stopped
        await background
        await app.close()


async def test_a_crisis_dm_a_ping_with_a_thread_and_a_claim(
    settings: Settings, nlu: ScriptedNlu, monkeypatch: pytest.MonkeyPatch
) -> None:
    nlu.say(CRISIS, RiskLevel.HIGH)
    async with fake_discord(monkeypatch) as fake, signpost_on_discord(settings, nlu, fake) as app:
        intents = discord.Intents._from_value(fake.identify["intents"])
        assert intents.message_content and intents.guilds and intents.guild_messages
        assert intents.dm_messages and not intents.members and not intents.presences

        # Alice writes in her DM (no guild id): the crisis reply comes back first
        fake.write(DM, user(ALICE, "Alice"), CRISIS)
        await fake.wait_until(lambda: fake.posted(DM))
        first = fake.posted(DM)[0]
        assert first["content"].startswith(app.texts.lines("crisis.high")[0])
        assert first["allowed_mentions"]["parse"] == []

        # the ping: in the moderators' channel, with three buttons, and a thread started on it
        await fake.wait_until(lambda: fake.posted(MODS))
        ping = fake.posted(MODS)[0]
        assert "risk: high" in ping["content"] and CRISIS in ping["content"]
        buttons = [b for row in ping["components"] for b in row["components"]]
        assert [b["label"] for b in buttons] == ["Claim", "Resolve", "False alarm"]
        assert all(len(b["custom_id"]) <= 100 for b in buttons)
        await fake.wait_until(lambda: any(c.path.endswith("/threads") for c in fake.calls))
        thread_call = next(c for c in fake.calls if c.path.endswith("/threads"))
        assert thread_call.path.startswith(f"/channels/{MODS}/messages/")
        assert "risk: high" in thread_call.body["name"]

        # someone who cannot see the moderators' channel presses Claim: refused, privately
        mods_channel = text_channel(MODS, "moderators")
        rando = fake.press(member(RANDO, "Rando"), mods_channel, buttons[0]["custom_id"])
        await fake.wait_until(lambda: fake.ephemeral_answer(rando))
        assert fake.ephemeral_answer(rando) == app.texts.get("moderators.ack.not_moderator")
        # Mo (allowed by the channel's overwrites) claims
        claim = fake.press(member(MO, "Mo"), mods_channel, buttons[0]["custom_id"])
        await fake.wait_until(lambda: fake.ephemeral_answer(claim))
        assert fake.ephemeral_answer(claim) == app.texts.get("moderators.ack.claimed")
        joined = app.texts.get("human.claimed", moderator="Mo")
        await fake.wait_until(lambda: any(p["content"] == joined for p in fake.posted(DM)))
        # the claim is noted in the case's thread, not in the channel
        thread = next(c.path.split("/")[2] for c in fake.calls if c.path.endswith("/threads"))
        [thread_id] = fake.thread_ids
        await fake.wait_until(
            lambda: any("claimed by Mo" in p["content"] for p in fake.posted(thread_id))
        )
        assert thread == str(MODS)
        assert len(fake.posted(MODS)) == 1, "one ping, posted once"


async def test_a_button_in_a_dm_and_talk_privately_from_a_channel(
    settings: Settings, nlu: ScriptedNlu, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_discord(monkeypatch) as fake, signpost_on_discord(settings, nlu, fake) as app:
        fake.write(DM, user(ALICE, "Alice"), "/start")
        # the welcome (and whatever follows it) offers buttons
        await fake.wait_until(lambda: any(p.get("components") for p in fake.posted(DM)))
        await asyncio.sleep(0.2)  # every reply to /start has arrived
        offer = next(p for p in fake.posted(DM) if p.get("components"))
        ids = [b["custom_id"] for row in offer["components"] for b in row["components"]]
        dm_channel = {"id": str(DM), "type": 1}
        before = len(fake.posted(DM))
        pressed = fake.press(user(ALICE, "Alice"), dm_channel, ids[0])
        await fake.wait_until(lambda: len(fake.posted(DM)) > before)
        # acknowledged without a visible answer of its own (type 6: deferred update)
        assert any(
            c.path.startswith(f"/interactions/{pressed}/") and c.body.get("type") == 6
            for c in fake.calls
        )

        # #general: only someone with Manage Server can switch watching on
        nlu.say("honestly i just want to die", RiskLevel.HIGH)
        alice, ada = member(ALICE, "Alice"), member(5, "Ada") | {"roles": [str(ADMINS)]}
        in_general = {"guild_id": str(GUILD)}
        fake.write(GENERAL, alice["user"], "/signpost_watch on", **in_general, member=alice)
        await fake.wait_until(lambda: fake.posted(GENERAL))
        fake.write(GENERAL, ada["user"], "/signpost_watch on", **in_general, member=ada)
        await fake.wait_until(lambda: len(fake.posted(GENERAL)) == 2)
        assert [p["content"] for p in fake.posted(GENERAL)] == [
            app.texts.get("group.admins_only"),
            app.texts.get("group.watch_on"),
        ]
        # Alice's high-risk message: a brief reply with a "Talk privately" button
        fake.write(
            GENERAL, alice["user"], "honestly i just want to die", **in_general, member=alice
        )
        await fake.wait_until(lambda: len(fake.posted(GENERAL)) == 3)
        concern = fake.posted(GENERAL)[-1]
        assert concern["content"] == group_concern(app.texts, app.signposts.emergency(None))
        [private] = [b for row in concern["components"] for b in row["components"]]
        # pressing it: the bot opens the DM and writes there; only Alice is told, ephemerally
        dm_count = len(fake.posted(DM))
        general = text_channel(GENERAL, "general")
        pressed = fake.press(alice, general, private["custom_id"])
        await fake.wait_until(lambda: fake.ephemeral_answer(pressed))
        assert fake.ephemeral_answer(pressed) == app.texts.get("discord.dm_sent")
        assert any(c.path == "/users/@me/channels" for c in fake.calls)
        assert len(fake.posted(DM)) > dm_count
        assert len(fake.posted(GENERAL)) == 3, "nothing more is said in the channel"


async def test_a_channel_region_set_by_a_server_manager(
    settings: Settings, nlu: ScriptedNlu, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """Through discord.py: Manage Server (from the member's roles) may set the channel's
    region; a crisis in the watched channel then gets that region's emergency number."""
    nlu.say(CRISIS, RiskLevel.HIGH)
    async with (
        fake_discord(monkeypatch) as fake,
        signpost_on_discord(settings, nlu, fake, db_url) as app,
    ):
        alice, ada = member(ALICE, "Alice"), member(5, "Ada") | {"roles": [str(ADMINS)]}
        in_general = {"guild_id": str(GUILD)}

        async def answer(who: JsonDict, text: str) -> str:
            before = len(fake.posted(GENERAL))
            fake.write(GENERAL, who["user"], text, **in_general, member=who)
            await fake.wait_until(lambda: len(fake.posted(GENERAL)) > before)
            return str(fake.posted(GENERAL)[-1]["content"])

        assert await answer(alice, "/signpost_region UK") == app.texts.get("group.admins_only")
        assert await answer(ada, "/signpost_region Narnia") == app.texts.get("group.region_unknown")
        assert await answer(ada, "/signpost_region uk") == app.texts.get(
            "group.region_set", region_name="United Kingdom"
        )
        assert await answer(ada, "/signpost_region") == app.texts.get(
            "group.region_current", region_name="United Kingdom"
        )
        assert await answer(ada, "/signpost_watch on") == app.texts.get("group.watch_on")
        concern = await answer(alice, CRISIS)
        assert concern == group_concern(app.texts, app.signposts.emergency("GB"))
        assert "999" in concern
        await fake.wait_until(lambda: fake.posted(MODS))
        assert "region: GB" in fake.posted(MODS)[0]["content"]
        assert await answer(ada, "/signpost_region off") == app.texts.get("group.region_cleared")
        assert await answer(ada, "/signpost_region") == app.texts.get("group.region_none")


async def test_signpost_run_starts_telegram_and_discord_together(
    nlu: ScriptedNlu, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`signpost run` with both tokens: one process, both platforms, one stop for both."""
    from bot import runner
    from tests.fakes.telegram_api import FakeTelegramApi
    from tests.fakes.telegram_api import FakeUser as TelegramUser

    async def scripted_build(settings: Settings, **options: bool) -> App:
        return await build(settings, nlu=nlu, content=ContentPaths(ROOT), **options)

    monkeypatch.setattr(runner, "build", scripted_build)
    async with fake_discord(monkeypatch) as fake, FakeTelegramApi() as telegram:
        alice = TelegramUser(id=42, first_name="Alice")
        chat = telegram.private_chat(alice)
        both = load_settings(
            ROOT / "config.yml",
            {
                "SIGNPOST_DATA_DIR": str(tmp_path),
                "SIGNPOST_SECRET_KEY": "test-secret-0123456789abcdef-0123456789",
                "SIGNPOST_TELEGRAM__POLL_TIMEOUT": "1",
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
                "DISCORD_BOT_TOKEN": "fake-token",
                "DISCORD_MODERATOR_CHANNEL_ID": str(MODS),
            },
        )
        assert both.platforms_configured == ["telegram", "discord"]
        assert both.discord.moderator_channel_id == MODS
        task = asyncio.create_task(runner.run_platforms(both, both.platforms_configured))
        await fake.wait_until(lambda: fake.identify or task.done())
        await telegram.wait_until(lambda: bool(telegram.calls_of("deleteWebhook")) or task.done())
        assert not task.done(), task.exception()

        telegram.send_text(chat, alice, "/start")
        fake.write(DM, user(ALICE, "Alice"), "/start")
        await fake.wait_until(lambda: fake.posted(DM))
        await telegram.wait_until(lambda: bool(telegram.sent_to(chat.id)))
        assert fake.posted(DM)[0]["content"] == telegram.sent_to(chat.id)[0]["text"]

        # SIGTERM (what a container stop sends) ends both adapters and the process cleanly
        assert not task.done()  # the handler run_platforms installed is in place
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 20) == 0


@pytest.mark.parametrize("problem", ["bad token", "intent off"])
async def test_a_refused_token_or_a_missing_intent_is_a_clear_configuration_error(
    problem: str, nlu: ScriptedNlu, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot import runner

    async def scripted_build(settings: Settings, **options: bool) -> App:
        return await build(settings, nlu=nlu, content=ContentPaths(ROOT), **options)

    monkeypatch.setattr(runner, "build", scripted_build)
    async with fake_discord(monkeypatch) as fake:
        fake.refuse_intents = problem == "intent off"
        settings = load_settings(
            ROOT / "config.yml",
            {
                "SIGNPOST_DATA_DIR": str(tmp_path),
                "SIGNPOST_SECRET_KEY": "test-secret-0123456789abcdef-0123456789",
                "DISCORD_BOT_TOKEN": "bad-token" if problem == "bad token" else "fake-token",
            },
        )
        with pytest.raises(ConfigError) as refused:
            await asyncio.wait_for(runner.run_platforms(settings, ["discord"]), 20)
    expected = "DISCORD_BOT_TOKEN" if problem == "bad token" else "Message Content intent"
    assert expected in str(refused.value)
