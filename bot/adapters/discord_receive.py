"""Discord input: one gateway event becomes one core call, and the core's answer is sent.

DMs, attachments and button presses go to `App.handle`; messages in server channels too (the
core decides whether to answer a watched channel); presses and messages in the moderators'
channel and its case threads go to `App.handle_moderator`. This module only checks what Discord
knows best: who may see the moderators' channel, who may manage a server.

Objects are read by attribute (`guild`, `parent_id`, `guild_permissions`), not by class, so the
translation is the same for cached channels, partial ones and the test fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

import discord

from bot.adapters.discord_send import PLATFORM, DiscordSender
from bot.config import DiscordSettings
from bot.core.commands import is_admin_command
from bot.core.desk import is_desk_command
from bot.core.identity import pseudonymise
from bot.core.messages import ChatRef, Inbound, ModeratorInbound, Outcome
from bot.core.ports import CoreFacade

log = logging.getLogger(__name__)


class ChannelLookup(Protocol):
    def get_channel(self, id: int, /) -> Any: ...


def normalise_command(text: str, bot_id: int | None) -> str:
    """`<@bot> /help` -> `/help`: in servers people often address the bot by mention first."""
    stripped = text.strip()
    if bot_id is not None:
        for mention in (f"<@{bot_id}>", f"<@!{bot_id}>"):
            if stripped.startswith(mention):
                return stripped[len(mention) :].strip()
    return stripped


def display_name(user: Any) -> str:
    return str(getattr(user, "display_name", None) or getattr(user, "name", "") or "moderator")


class ChannelOrder:
    """Events of one channel are handled in order; different channels concurrently.

    discord.py runs every event handler as its own task, so two quick messages from one person
    could otherwise reach the core (and its conversation state) out of order."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, channel_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        self._pending[channel_id] = self._pending.get(channel_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._pending[channel_id] -= 1
            if not self._pending[channel_id]:  # forget idle channels: the table stays small
                del self._pending[channel_id], self._locks[channel_id]


class DiscordAdapter:
    """Routes one message or button press to the core and sends what the core answers."""

    def __init__(
        self,
        core: CoreFacade,
        settings: DiscordSettings,
        sender: DiscordSender,
        channels: ChannelLookup,
        bot_id: int | None = None,
    ) -> None:
        self._core = core
        self._settings = settings
        self._sender = sender
        self._channels = channels
        self.bot_id = bot_id
        self._order = ChannelOrder()

    def _user_id(self, user_id: int) -> str:
        return pseudonymise(self._core.pepper, PLATFORM, str(user_id))

    def _in_moderators_room(self, channel: Any) -> bool:
        room = self._settings.moderator_channel_id
        if room is None or channel is None:
            return False
        return bool(channel.id == room or getattr(channel, "parent_id", None) == room)

    def is_moderator(self, user: Any) -> bool:
        """Has the moderator role (when one is configured), else may view the moderators'
        channel. A user object from a DM or another server has no roles there: not a moderator."""
        room = self._settings.moderator_channel_id
        channel = self._channels.get_channel(room) if room is not None else None
        guild = getattr(user, "guild", None)
        if channel is None or guild is None or guild.id != channel.guild.id:
            return False
        role = self._settings.moderator_role_id
        if role is not None:
            return any(r.id == role for r in getattr(user, "roles", ()))
        return bool(channel.permissions_for(user).view_channel)

    async def send_outcome(self, outcome: Outcome) -> bool:
        """Send every reply; True when all arrived."""
        delivered = True
        for reply in outcome.replies:
            try:
                await self._sender.send_reply(reply)
            except Exception as exc:
                # Keep going: one refused or undeliverable message (DMs closed, outage beyond
                # the retries) must not stop the next replies, which may carry the helplines.
                delivered = False
                log.error(
                    "discord: a %s reply could not be sent: %s", reply.kind, type(exc).__name__
                )
        return delivered

    def _inbound(
        self,
        channel: Any,
        user: Any,
        text: str,
        received_at: datetime,
        *,
        private: bool,
        button: str | None = None,
        attachment: str | None = None,
    ) -> Inbound:
        parent = getattr(channel, "parent_id", None)
        return Inbound(
            chat=ChatRef(PLATFORM, str(channel.id)),
            user=self._user_id(user.id),
            text=text,
            received_at=received_at,
            is_private=private,
            community=None if private else str(parent or channel.id),
            button=button,
            attachment=attachment,
        )

    async def _handle(self, channel_id: int, inbound: Inbound) -> bool:
        async with self._order.turn(channel_id):
            return await self.send_outcome(await self._core.handle(inbound))

    # -- messages

    async def on_message(self, message: Any) -> None:
        author = message.author
        if author.bot or getattr(message, "webhook_id", None):
            return
        text = normalise_command(message.content or "", self.bot_id)
        channel = message.channel
        if message.guild is None:
            attachment = "file" if not text and message.attachments else None
            if not text and attachment is None:
                return  # calls, pins and other service messages need no answer
            inbound = self._inbound(
                channel, author, text, message.created_at, private=True, attachment=attachment
            )
            await self._handle(channel.id, inbound)
        elif self._in_moderators_room(channel):
            if is_desk_command(text):  # `/cases`, `/case <id>`: answered here, never relayed
                answer = await self._core.moderator_command(
                    PLATFORM, text, self.is_moderator(author)
                )
                await self._sender.send_text(channel.id, answer, reply_to=message.id)
            elif text and getattr(channel, "parent_id", None) is not None:
                await self._on_moderator_text(message, text)
        elif is_admin_command(text):
            await self._on_admin_command(message, text)
        elif text:
            inbound = self._inbound(channel, author, text, message.created_at, private=False)
            await self._handle(channel.id, inbound)

    async def on_edit(self, before: Any, after: Any) -> None:
        """An edited message is read again, as on Telegram: someone may turn "I'm fine" into
        what they really meant. Edits in the moderators' room are never relayed (the person
        already has the first version)."""
        if before.content == after.content or self._in_moderators_room(after.channel):
            return
        await self.on_message(after)

    async def _on_admin_command(self, message: Any, text: str) -> None:
        """`/signpost_watch` and `/signpost_region`: members with Manage Server only. Typed in
        a thread, either applies to the thread's channel (threads share their channel's
        settings, as they share its `community`)."""
        permissions = getattr(message.author, "guild_permissions", None)
        channel = message.channel
        community = str(getattr(channel, "parent_id", None) or channel.id)
        if permissions is None or not permissions.manage_guild:
            answer = self._core.texts.get("group.admins_only")
        else:
            answer = await self._core.admin_command(PLATFORM, community, text)
        await self._sender.send_text(channel.id, answer)

    async def _on_moderator_text(self, message: Any, text: str) -> None:
        case_id = await self._core.case_for_thread(PLATFORM, str(message.channel.id))
        if case_id is None:
            return  # a thread that is not a case: ordinary talk among moderators
        author = message.author
        outcome = await self._core.handle_moderator(
            ModeratorInbound(
                platform=PLATFORM,
                moderator=self._user_id(author.id),
                moderator_name=display_name(author),
                received_at=message.created_at,
                is_moderator=self.is_moderator(author),
                case_id=case_id,
                text=text,
            )
        )
        await self.send_outcome(outcome)
        if outcome.ack:  # e.g. "claim the case before replying": said where they wrote
            await self._sender.send_text(message.channel.id, outcome.ack, reply_to=message.id)

    # -- buttons

    async def on_interaction(self, interaction: Any) -> None:
        if interaction.type is not discord.InteractionType.component:
            return
        data = interaction.data or {}
        custom_id = data.get("custom_id")
        user = interaction.user
        if not isinstance(custom_id, str) or user is None or user.bot:
            return
        if self._in_moderators_room(interaction.channel):
            await self._on_case_button(interaction, custom_id)
        elif interaction.guild_id is None:
            # Acknowledge at once (Discord allows 3 s): the answer comes as ordinary messages.
            await interaction.response.defer()
            inbound = self._inbound(
                interaction.channel, user, "", datetime.now(UTC), private=True, button=custom_id
            )
            await self._handle(interaction.channel.id, inbound)
        else:
            await self._on_server_button(interaction, custom_id)

    async def _on_case_button(self, interaction: Any, custom_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = interaction.user
        outcome = await self._core.handle_moderator(
            ModeratorInbound(
                platform=PLATFORM,
                moderator=self._user_id(user.id),
                moderator_name=display_name(user),
                received_at=datetime.now(UTC),
                is_moderator=self.is_moderator(user),
                is_admin=self.is_moderator(user) and _manages_server(user),
                payload=custom_id,
            )
        )
        await self.send_outcome(outcome)
        ack = outcome.ack or self._core.texts.get("moderators.ack.invalid")
        await interaction.followup.send(ack, ephemeral=True)

    async def _on_server_button(self, interaction: Any, custom_id: str) -> None:
        """A button under a reply in a server channel: only "talk privately" is ever sent there.

        Discord has no link that opens a DM with a bot, so the bot opens the DM itself and
        handles the press there, as if it had been pressed in the DM; the presser alone is
        told (ephemerally) where to look. Nothing more is said in the channel."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = interaction.user
        delivered = False
        try:
            dm = await self._sender.call(user.create_dm)
            inbound = self._inbound(dm, user, "", datetime.now(UTC), private=True, button=custom_id)
            delivered = await self._handle(dm.id, inbound)
        except discord.HTTPException as exc:
            log.warning("discord: could not open a DM: %s", type(exc).__name__)
        key = "discord.dm_sent" if delivered else "discord.dm_closed"
        await interaction.followup.send(self._core.texts.get(key), ephemeral=True)


def _manages_server(user: Any) -> bool:
    """Manage Server: the server's admins, who may close a case another moderator claimed."""
    permissions = getattr(user, "guild_permissions", None)
    return bool(permissions is not None and permissions.manage_guild)
