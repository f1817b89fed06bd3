"""Discord output: replies and moderator notices as discord.py calls, split and retried.

Discord limits a message to 2000 characters, 5 buttons per row and 25 per message, and a
button's `custom_id` to 100 characters. discord.py waits out 429s by itself and retries a 5xx
a few times; a reply to a person at risk must survive a longer outage, so every call goes
through `with_retries` as well.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import aiohttp
import discord

from bot.adapters.common import CRISIS_PATIENCE, BoundedMap
from bot.adapters.common import split_message as split_text
from bot.core.messages import Button, ModeratorNotice, NoticeKind, Reply, ReplyKind
from bot.core.texts import Texts

PLATFORM = "discord"
MESSAGE_LIMIT = 2000
BUTTONS_PER_ROW = 5
BUTTONS_PER_VIEW = 25
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
THREAD_NAME_LIMIT = 100
T = TypeVar("T")
log = logging.getLogger(__name__)

# Nobody's words may ping a whole server: a relayed "@everyone" stays text. Only the re-ping
# mentions the moderators' role, and only that role.
NO_MENTIONS = discord.AllowedMentions.none()


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into chunks Discord accepts (see `bot.adapters.common.split_message`)."""
    return split_text(text, limit)


class RoutedView(discord.ui.View):
    """Buttons whose presses `on_interaction` routes by `custom_id`: discord.py need not keep
    the view in its view store (which would otherwise grow with every message sent)."""

    def is_dispatchable(self) -> bool:
        return False


def build_views(buttons: Sequence[Button]) -> list[discord.ui.View]:
    """Core buttons as views of at most 25 buttons (Discord's limit per message).

    Up to five buttons get a row each, readable on a phone; more fill rows of five. The
    `custom_id` is the signed payload itself, so presses need no memory of what was sent and
    keep working after a restart (`on_interaction` reads them; no view callbacks are used).
    """
    usable: list[Button] = []
    seen: set[str] = set()
    for button in buttons:
        if len(button.payload) > CUSTOM_ID_LIMIT or button.payload in seen:
            log.warning("discord: a button was left out (payload too long or repeated)")
            continue
        seen.add(button.payload)
        usable.append(button)
    views: list[discord.ui.View] = []
    for start in range(0, len(usable), BUTTONS_PER_VIEW):
        part = usable[start : start + BUTTONS_PER_VIEW]
        one_per_row = len(part) <= BUTTONS_PER_ROW
        view = RoutedView(timeout=None)
        for index, button in enumerate(part):
            view.add_item(
                discord.ui.Button(
                    label=button.label[:LABEL_LIMIT],
                    custom_id=button.payload,
                    style=discord.ButtonStyle.secondary,
                    row=index if one_per_row else index // BUTTONS_PER_ROW,
                )
            )
        views.append(view)
    return views


def role_mention(role_id: int) -> str:
    return f"<@&{role_id}>"


def _retryable(error: BaseException) -> bool:
    if isinstance(error, discord.DiscordServerError):
        return True
    if isinstance(error, discord.HTTPException):
        return False  # 4xx: Discord refused it (missing access, DMs closed); again won't help
    return isinstance(error, aiohttp.ClientError | OSError | asyncio.TimeoutError)


async def with_retries(
    call: Callable[[], Awaitable[T]], *, attempts: int, backoff: float, max_wait: float = 60.0
) -> T:
    """Run a Discord call until it succeeds: 5xx and network errors are retried with
    exponential backoff (at most 32 x `backoff` apart), `attempts` times; refusals are not."""
    failures = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            failures += 1
            if not _retryable(exc) or failures >= attempts:
                raise
            await asyncio.sleep(min(backoff * 2 ** min(failures - 1, 5), max_wait))


class Channels(Protocol):
    """The part of a discord.py client the sender needs."""

    def get_channel(self, id: int, /) -> Any: ...

    def get_partial_messageable(self, id: int, /) -> Any: ...


class DiscordSender:
    """Sends core replies and moderator notices, split and retried."""

    def __init__(
        self, channels: Channels, texts: Texts, *, attempts: int = 6, backoff: float = 0.5
    ) -> None:
        self._channels = channels
        self._texts = texts
        self._attempts = attempts
        self._backoff = backoff

    async def call(self, make: Callable[[], Awaitable[T]], *, patience: int = 1) -> T:
        return await with_retries(make, attempts=self._attempts * patience, backoff=self._backoff)

    async def send_text(
        self,
        channel_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        *,
        reply_to: int | None = None,
        mentions: discord.AllowedMentions = NO_MENTIONS,
        patience: int = 1,
    ) -> list[discord.Message]:
        """Post `text` (split) with the buttons on its last part; buttons beyond 25 follow in
        further messages. Returns the messages posted."""
        # A cached guild channel gives messages that know their server (needed to start a
        # thread); DM channels are not cached after a restart, and a partial one can still post.
        channel = self._channels.get_channel(channel_id)
        if channel is None:
            channel = self._channels.get_partial_messageable(channel_id)
        views = build_views(buttons)
        chunks = split_message(text) or [self._texts.get("discord.more_choices")]
        parts: list[tuple[str, discord.ui.View | None]] = [(c, None) for c in chunks]
        if views:
            parts[-1] = (parts[-1][0], views[0])
            parts.extend((self._texts.get("discord.more_choices"), v) for v in views[1:])
        reference = (
            discord.MessageReference(
                message_id=reply_to, channel_id=channel_id, fail_if_not_exists=False
            )
            if reply_to
            else None
        )
        sent: list[discord.Message] = []
        for content, view in parts:

            async def send(content: str = content, view: discord.ui.View | None = view) -> Any:
                kwargs: dict[str, Any] = {"allowed_mentions": mentions, "suppress_embeds": True}
                if view is not None:
                    kwargs["view"] = view
                if reference is not None:
                    kwargs["reference"] = reference
                return await channel.send(content, **kwargs)

            sent.append(await self.call(send, patience=patience))
        return sent

    async def send_reply(self, reply: Reply) -> list[discord.Message]:
        # A crisis reply keeps trying for minutes rather than seconds.
        patience = CRISIS_PATIENCE if reply.kind is ReplyKind.CRISIS else 1
        target = reply.chat.thread_id or reply.chat.chat_id
        return await self.send_text(int(target), reply.text, reply.buttons, patience=patience)


class DiscordNoticeSink:
    """Posts moderator notices in the moderators' channel: a PING is a message with the case
    buttons and a thread started on it; everything later about the case goes in that thread.
    The thread's id is the case's thread reference."""

    platform = PLATFORM

    def __init__(self, sender: DiscordSender, channel_id: int | None, role_id: int | None) -> None:
        self._sender = sender
        self._channel_id = channel_id
        self._role_id = role_id
        # Retries of a delivery that half-succeeded must not post twice (outbox is at-least-once).
        self._delivered: BoundedMap[str, str | None] = BoundedMap()
        self._pings: BoundedMap[str, discord.Message] = BoundedMap()

    def _require_channel(self) -> int:
        if self._channel_id is None:
            raise RuntimeError("discord.moderator_channel_id is not configured")
        return self._channel_id

    def _text(self, notice: ModeratorNotice) -> tuple[str, discord.AllowedMentions]:
        if notice.mention_role and self._role_id is not None:
            allowed = discord.AllowedMentions(
                everyone=False,
                users=False,
                roles=[discord.Object(id=self._role_id)],
                replied_user=False,
            )
            return f"{role_mention(self._role_id)} {notice.text}", allowed
        return notice.text, NO_MENTIONS

    async def _new_thread(self, notice: ModeratorNotice, text: str, mentions: Any) -> str:
        ping = self._pings.get(notice.case_id)
        if ping is None:  # a retry after the thread failed reuses the ping already posted
            sent = await self._sender.send_text(
                self._require_channel(), text, notice.buttons, mentions=mentions
            )
            ping = self._pings[notice.case_id] = sent[-1]
        name = (notice.text.splitlines() or [notice.case_id])[0][:THREAD_NAME_LIMIT]
        thread = await self._sender.call(lambda: ping.create_thread(name=name))
        return str(thread.id)

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        if notice.idempotency_key in self._delivered:
            return self._delivered[notice.idempotency_key]
        text, mentions = self._text(notice)
        if thread_ref is None and notice.kind is NoticeKind.PING:
            thread_ref = await self._new_thread(notice, text, mentions)
        else:
            target = int(thread_ref) if thread_ref else self._require_channel()
            await self._sender.send_text(target, text, notice.buttons, mentions=mentions)
        self._delivered[notice.idempotency_key] = thread_ref
        return thread_ref

    async def send(self, reply: Reply) -> None:
        await self._sender.send_reply(reply)
