"""Discord adapter: translates gateway events into core messages and core replies into calls.

No dialogue, case or permission decisions are made here: the core gets every DM, every server
message (it decides whether a watched channel needs an answer) and every moderator action, and
says what to send. Receiving lives in `discord_receive`, sending in `discord_send`; this module
wires them to discord.py: an `AutoShardedClient`, login/connect in a task, shutdown on `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

import discord

from bot.adapters.discord_receive import ChannelLookup, DiscordAdapter
from bot.adapters.discord_send import (
    NO_MENTIONS,
    Channels,
    DiscordNoticeSink,
    DiscordSender,
    with_retries,
)
from bot.config import ConfigError, DiscordSettings
from bot.core.ports import CoreFacade

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """What Signpost reads: server and DM messages with their text. `message_content` is a
    privileged intent: it must be switched on for the bot in the developer portal."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    return wanted


class SignpostClient(discord.AutoShardedClient):
    """Hands every message and interaction to the adapter; holds no logic of its own."""

    def __init__(self, settings: DiscordSettings) -> None:
        super().__init__(
            intents=intents(),
            shard_count=settings.shard_count,
            allowed_mentions=NO_MENTIONS,
        )
        self.adapter: DiscordAdapter | None = None

    async def on_ready(self) -> None:
        if self.adapter is not None and self.user is not None:
            self.adapter.bot_id = self.user.id
        log.info("discord: connected (%s shards)", self.shard_count)

    async def on_message(self, message: discord.Message) -> None:
        if self.adapter is not None:
            await self.adapter.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        if self.adapter is not None:
            await self.adapter.on_edit(before, after)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if self.adapter is not None:
            await self.adapter.on_interaction(interaction)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # Never the event itself: it holds what the person wrote.
        log.exception("discord: handling %s failed", event_method)


class DiscordClient(Channels, ChannelLookup, Protocol):
    """What the adapter needs from a discord.py client (a fake in tests)."""


def attach(
    app: CoreFacade, options: DiscordSettings, client: DiscordClient, *, backoff: float = 0.5
) -> DiscordAdapter:
    """Build the adapter for `client` and register its notice sink with the app, so the outbox
    can reach the moderators' channel; cases are only opened for Discord when
    `moderator_channel_id` is configured."""
    sender = DiscordSender(client, app.texts, attempts=options.send_attempts, backoff=backoff)
    sink = DiscordNoticeSink(sender, options.moderator_channel_id, options.moderator_role_id)
    app.register_sink(sink, moderated=options.moderator_channel_id is not None)
    return DiscordAdapter(app, options, sender, client)


async def run_discord(
    app: CoreFacade, options: DiscordSettings, stop: asyncio.Event, *, backoff: float = 0.5
) -> None:
    """Run the bot until `stop` is set: log in, connect every shard, hand events to the adapter
    (see `attach`), close the connection on `stop`."""
    if options.token is None or not options.enabled:
        raise RuntimeError("DISCORD_BOT_TOKEN is not set")
    token = options.token.get_secret_value().strip()
    client = SignpostClient(options)
    client.adapter = attach(app, options, client, backoff=backoff)
    connection: asyncio.Task[None] | None = None
    try:
        # a Discord hiccup at start-up should delay the bot, not stop it (a bad token still does)
        await with_retries(
            lambda: client.login(token), attempts=options.send_attempts, backoff=backoff
        )
        connection = asyncio.create_task(client.connect(reconnect=True))
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if connection in done:
            connection.result()  # a fatal gateway error (bad token, missing intent): raise it
    except discord.LoginFailure:
        raise ConfigError("environment: DISCORD_BOT_TOKEN: Discord refused this token") from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "discord: the Message Content intent is off for this bot: switch it on in the "
            "developer portal (Bot → Privileged Gateway Intents), see docs/discord.md"
        ) from None
    finally:
        await client.close()
        if connection is not None and not connection.done():
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection
