"""Small fakes of the discord.py objects the Discord adapter touches.

The adapter reads users, channels, messages and interactions by attribute, so these stand in
for the real models: `FakeDiscord` plays the client (channels by id) and records everything
the bot posts, with the buttons it attached (real `discord.ui.View`s) and who it allowed to be
mentioned. Errors are real discord.py exceptions, so retry behaviour is tested for real.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import discord

_ids = itertools.count(10_000)


def http_error(status: int, cls: type[discord.HTTPException] = discord.HTTPException) -> Any:
    response = SimpleNamespace(status=status, reason="fake")
    return cls(response, {"code": 50007 if status == 403 else 0, "message": "fake"})  # type: ignore[arg-type]


@dataclass
class FakeGuild:
    id: int


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False
    guild: FakeGuild | None = None  # set: this is a member of that server
    roles: list[SimpleNamespace] = field(default_factory=list)
    manage_guild: bool = False
    world: FakeDiscord | None = None

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def guild_permissions(self) -> SimpleNamespace | None:
        return SimpleNamespace(manage_guild=self.manage_guild) if self.guild else None

    def as_member(
        self, guild: FakeGuild, *, role: int | None = None, admin: bool = False
    ) -> FakeUser:
        roles = [SimpleNamespace(id=role)] if role is not None else []
        return FakeUser(self.id, self.name, self.bot, guild, roles, admin, self.world)

    async def create_dm(self) -> FakeChannel:
        assert self.world is not None
        return self.world.dm(self)


@dataclass
class Sent:
    """One message the bot posted."""

    channel: FakeChannel
    id: int
    content: str
    view: discord.ui.View | None
    allowed_mentions: discord.AllowedMentions | None
    reference: discord.MessageReference | None

    @property
    def custom_ids(self) -> list[str]:
        if self.view is None:
            return []
        return [
            b.custom_id
            for b in self.view.children
            if isinstance(b, discord.ui.Button) and b.custom_id
        ]

    async def create_thread(self, *, name: str) -> FakeChannel:
        world = self.channel.world
        if world.thread_failures:
            world.thread_failures -= 1
            raise http_error(503, discord.DiscordServerError)
        thread = world.add_channel(
            FakeChannel(next(_ids), world, self.channel.guild, parent_id=self.channel.id, name=name)
        )
        world.threads[thread.id] = self
        return thread


@dataclass(eq=False)
class FakeChannel:
    id: int
    world: FakeDiscord
    guild: FakeGuild | None = None
    parent_id: int | None = None
    name: str = ""
    viewers: set[int] = field(default_factory=set)  # who may view it (moderators' channel)

    def permissions_for(self, member: FakeUser) -> SimpleNamespace:
        return SimpleNamespace(view_channel=member.id in self.viewers)

    async def send(self, content: str, **kwargs: Any) -> Sent:
        return await self.world.post(self, content, **kwargs)


class FakeResponse:
    def __init__(self) -> None:
        self.deferred: dict[str, Any] | None = None

    async def defer(self, **kwargs: Any) -> None:
        assert self.deferred is None, "an interaction is acknowledged once"
        self.deferred = kwargs


class FakeFollowup:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    async def send(self, content: str, *, ephemeral: bool = False) -> None:
        self.sent.append((content, ephemeral))


@dataclass
class FakeInteraction:
    user: FakeUser
    channel: FakeChannel
    data: dict[str, Any]
    type: discord.InteractionType = discord.InteractionType.component
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)

    @property
    def guild_id(self) -> int | None:
        return self.channel.guild.id if self.channel.guild else None

    @property
    def ephemeral(self) -> list[str]:
        return [text for text, private in self.followup.sent if private]


@dataclass
class FakeMessage:
    """A message somebody wrote (what `on_message` receives)."""

    channel: FakeChannel
    author: FakeUser
    content: str
    attachments: list[object] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    webhook_id: int | None = None

    @property
    def guild(self) -> FakeGuild | None:
        return self.channel.guild


class FakeDiscord:
    """The client side of Discord: channels by id, and a record of all the bot posted."""

    def __init__(self) -> None:
        self.channels: dict[int, FakeChannel] = {}
        self.sent: list[Sent] = []
        self.threads: dict[int, Sent] = {}  # thread id -> the message it was started on
        self.failures: list[BaseException] = []  # raised by the next sends, in order
        self.thread_failures = 0
        self._dms: dict[int, FakeChannel] = {}
        self.closed_dms: set[int] = set()  # users who do not accept DMs from the bot

    def add_channel(self, channel: FakeChannel) -> FakeChannel:
        self.channels[channel.id] = channel
        return channel

    def channel(self, guild: FakeGuild | None = None, **kw: Any) -> FakeChannel:
        return self.add_channel(FakeChannel(next(_ids), self, guild, **kw))

    def user(self, id: int, name: str) -> FakeUser:
        return FakeUser(id, name, world=self)

    def dm(self, user: FakeUser) -> FakeChannel:
        if user.id not in self._dms:
            self._dms[user.id] = self.channel(name=f"dm-{user.name}")
        return self._dms[user.id]

    # the client API the adapter uses
    def get_channel(self, id: int, /) -> FakeChannel | None:
        channel = self.channels.get(id)
        return channel if channel is not None and channel.guild is not None else None

    def get_partial_messageable(self, id: int, /) -> FakeChannel:
        return self.channels.get(id) or self.add_channel(FakeChannel(id, self))

    async def post(self, channel: FakeChannel, content: str, **kwargs: Any) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        owner = next((uid for uid, dm in self._dms.items() if dm is channel), None)
        if owner in self.closed_dms:
            raise http_error(403, discord.Forbidden)
        assert len(content) <= 2000, "Discord refuses messages over 2000 characters"
        sent = Sent(
            channel,
            next(_ids),
            content,
            kwargs.get("view"),
            kwargs.get("allowed_mentions"),
            kwargs.get("reference"),
        )
        self.sent.append(sent)
        return sent

    # reading back
    def sent_to(self, channel: FakeChannel | int) -> list[Sent]:
        cid = channel if isinstance(channel, int) else channel.id
        return [s for s in self.sent if s.channel.id == cid]

    def texts_to(self, channel: FakeChannel | int) -> list[str]:
        return [s.content for s in self.sent_to(channel)]

    async def wait_until(self, check: Callable[[], object], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
