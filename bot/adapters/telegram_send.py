"""Telegram output: replies and moderator notices as Bot API calls, split and retried.

Telegram limits a message to 4096 UTF-16 code units and answers overload with 429 and a
`retry_after`; its servers occasionally answer 5xx. A reply to a person at risk must not be
dropped because of either, so every call goes through `with_retries`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.adapters.common import CRISIS_PATIENCE, BoundedMap
from bot.adapters.common import split_message as split_text
from bot.config import TelegramSettings
from bot.core.messages import Button, ModeratorNotice, NoticeKind, Reply, ReplyKind

PLATFORM = "telegram"
T = TypeVar("T")
log = logging.getLogger(__name__)

_DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOPIC_NAME_LIMIT = 128
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # helpline links would each add a card


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split `text` into chunks Telegram accepts (see `bot.adapters.common.split_message`)."""
    return split_text(text, limit)


def deep_link(bot_username: str, payload: str) -> str:
    """A t.me link that opens a private chat with the bot; Telegram only carries short,
    URL-safe start parameters, so anything else becomes the generic `help` start."""
    start = payload if _DEEP_LINK.fullmatch(payload) else "help"
    return f"https://t.me/{bot_username}?start={start}"


def keyboard(buttons: Sequence[Button], bot_username: str) -> InlineKeyboardMarkup | None:
    """One button per row: labels stay readable on a phone."""
    if not buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.label, url=deep_link(bot_username, b.payload))]
        if b.opens_private_chat
        else [InlineKeyboardButton(b.label, callback_data=b.payload)]
        for b in buttons
    ]
    return InlineKeyboardMarkup(rows)


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore")
        value: int | float | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retries(
    call: Callable[[], Awaitable[T]], *, attempts: int, backoff: float, max_wait: float = 60.0
) -> T:
    """Run a Bot API call until it succeeds.

    429: wait what Telegram asks and try again (these waits do not use up attempts, but are
    capped so a misbehaving server cannot stall us forever). 5xx / network errors: exponential
    backoff (at most 32 x `backoff` apart), `attempts` times. Requests Telegram refuses (400,
    403, bad token) are not retried: sending them again cannot succeed.
    """
    failures = 0
    waited = 0.0
    while True:
        try:
            return await call()
        except RetryAfter as exc:
            delay = _retry_seconds(exc)
            waited += delay
            if waited > max_wait * attempts:
                raise
            await asyncio.sleep(delay)
        except (BadRequest, Forbidden, InvalidToken):
            raise
        except NetworkError:
            failures += 1
            if failures >= attempts:
                raise
            await asyncio.sleep(min(backoff * 2 ** min(failures - 1, 5), max_wait))


# ---- outgoing --------------------------------------------------------------------------------


class TelegramSender:
    """Sends core replies and moderator notices, split and retried."""

    def __init__(self, bot: Bot, settings: TelegramSettings, *, backoff: float = 0.5) -> None:
        self._bot = bot
        self._attempts = settings.send_attempts
        self._backoff = backoff

    async def call(self, make: Callable[[], Awaitable[T]], *, patience: int = 1) -> T:
        return await with_retries(make, attempts=self._attempts * patience, backoff=self._backoff)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        patience: int = 1,
    ) -> list[Message]:
        chunks = split_message(text)
        markup = keyboard(buttons, self._bot.username)
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        sent: list[Message] = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1

            async def send(chunk: str = chunk, last: bool = last) -> Message:
                return await self._bot.send_message(
                    chat_id,
                    chunk,
                    message_thread_id=thread_id,
                    reply_markup=markup if last else None,
                    reply_parameters=reply,
                    link_preview_options=_NO_PREVIEW,
                )

            sent.append(await self.call(send, patience=patience))
        return sent

    async def send_reply(self, reply: Reply) -> list[Message]:
        thread = int(reply.chat.thread_id) if reply.chat.thread_id else None
        # A crisis reply keeps trying for minutes rather than seconds: by then the other
        # replies can wait, and it is being retried without holding up other chats.
        patience = CRISIS_PATIENCE if reply.kind is ReplyKind.CRISIS else 1
        return await self.send_text(
            int(reply.chat.chat_id),
            reply.text,
            reply.buttons,
            thread_id=thread,
            patience=patience,
        )


def topic_ref(topic_id: int) -> str:
    """Thread reference of a case that has its own forum topic."""
    return f"topic:{topic_id}"


def message_ref(message_id: int) -> str:
    """Thread reference of a case whose thread is the replies to its ping message."""
    return f"msg:{message_id}"


class TelegramNoticeSink:
    """Posts moderator notices in the moderators' supergroup, one forum topic per case (or, in
    a group without topics, one ping message whose replies form the case's thread).

    The thread reference says which of the two a case got ("topic:12" / "msg:345"), so a case
    keeps working if the group turns topics on or off, or the bot lacks the right to create
    topics (it then falls back to a ping message)."""

    platform = PLATFORM

    def __init__(
        self,
        sender: TelegramSender,
        bot: Bot,
        chat_id: int | None,
        *,
        remember_thread: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._sender = sender
        self._bot = bot
        self._chat_id = chat_id
        # stores a new topic with its case before the ping is posted in it, so a retry after a
        # crash posts into that topic instead of opening a second one
        self._remember_thread = remember_thread
        self._is_forum: bool | None = None
        # Retries of a delivery that half-succeeded must not post twice (outbox is at-least-once).
        self._delivered: BoundedMap[str, str | None] = BoundedMap()
        self._topics: BoundedMap[str, int] = BoundedMap()
        # message id of anything posted for a case -> the case's thread ref, so a moderator can
        # answer by replying to any of them (not only to the ping); lost on restart, when only
        # replies to the ping itself are recognised
        self.thread_of_message: BoundedMap[int, str] = BoundedMap()

    async def is_forum(self) -> bool:
        if self._is_forum is None:
            chat = await self._sender.call(lambda: self._bot.get_chat(self._require_chat()))
            self._is_forum = bool(chat.is_forum)
        return self._is_forum

    def _require_chat(self) -> int:
        if self._chat_id is None:
            raise RuntimeError("telegram.moderator_chat_id is not configured")
        return self._chat_id

    async def _new_topic(self, chat_id: int, notice: ModeratorNotice) -> str | None:
        topic = self._topics.get(notice.case_id)
        if topic is None:
            name = notice.text.splitlines()[0][:_TOPIC_NAME_LIMIT] or notice.case_id
            try:
                created = await self._sender.call(
                    lambda: self._bot.create_forum_topic(chat_id, name)
                )
            except BadRequest as exc:  # typically: the bot may not manage topics
                log.warning("telegram: no topic for a case (%s); using a reply thread", exc)
                return None
            topic = self._topics[notice.case_id] = created.message_thread_id
            if self._remember_thread is not None:
                try:
                    await self._remember_thread(notice.case_id, topic_ref(topic))
                except Exception:  # the ping matters more; this process still remembers it
                    log.warning("telegram: could not store a new topic with its case")
        return topic_ref(topic)

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        if notice.idempotency_key in self._delivered:
            return self._delivered[notice.idempotency_key]
        chat_id = self._require_chat()
        if thread_ref is None and notice.kind is NoticeKind.PING and await self.is_forum():
            thread_ref = await self._new_topic(chat_id, notice)
        kind, _, number = (thread_ref or "").partition(":")
        sent = await self._sender.send_text(
            chat_id,
            notice.text,
            notice.buttons,
            thread_id=int(number) if kind == "topic" else None,
            reply_to=int(number) if kind == "msg" else None,
        )
        if thread_ref is None and notice.kind is NoticeKind.PING:
            thread_ref = message_ref(sent[0].message_id)
        if thread_ref is not None:
            for message in sent:
                self.thread_of_message[message.message_id] = thread_ref
        self._delivered[notice.idempotency_key] = thread_ref
        return thread_ref

    async def send(self, reply: Reply) -> None:
        await self._sender.send_reply(reply)
