"""Telegram input: one Bot API update becomes one core call, and the core's answer is sent.

Private messages, edits, attachments and button presses go to `App.handle`; group messages too
(the core decides whether to answer); presses and replies in the moderators' group go to
`App.handle_moderator`, with this module only checking what Telegram knows best: who is a
member or an admin of a chat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from telegram import (
    Bot,
    Chat,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.adapters.telegram_send import (
    PLATFORM,
    TelegramNoticeSink,
    TelegramSender,
    message_ref,
    topic_ref,
)
from bot.config import TelegramSettings
from bot.core.commands import is_admin_command
from bot.core.desk import is_desk_command
from bot.core.identity import pseudonymise
from bot.core.messages import (
    ChatRef,
    Inbound,
    ModeratorInbound,
    Outcome,
)
from bot.core.ports import CoreFacade

log = logging.getLogger(__name__)

_MEMBER_STATUSES = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)
_ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
_ATTACHMENTS = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "video",
    "audio",
    "animation",
    "document",
    "location",
    "contact",
    "poll",
)
_MEMBERSHIP_ENTRIES = 10_000


def normalise_command(text: str, bot_username: str) -> str:
    """`/help@signpost_bot args` -> `/help args` (groups address commands to one bot)."""
    if not text.startswith("/"):
        return text
    head, _, rest = text.partition(" ")
    command, _, target = head.partition("@")
    if target and target.lower() != bot_username.lower():
        return text
    return f"{command} {rest}".strip()


def attachment_kind(message: Message) -> str | None:
    for kind in _ATTACHMENTS:
        if getattr(message, kind, None):
            return kind
    return None


class MembershipCache:
    """Remembers getChatMember answers for a short while (every button press would ask)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[int, int], tuple[float, str]] = {}

    async def status(self, bot: Bot, chat_id: int, user_id: int) -> str:
        now = self._clock()
        cached = self._entries.get((chat_id, user_id))
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
            status = str(member.status)
        except BadRequest:
            status = str(ChatMemberStatus.LEFT)
        if len(self._entries) >= _MEMBERSHIP_ENTRIES:  # forget stale answers, keep memory flat
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self._ttl}
        self._entries[(chat_id, user_id)] = (now, status)
        return status


class TelegramAdapter:
    """Routes one update to the core and sends what the core answers."""

    def __init__(
        self,
        core: CoreFacade,
        settings: TelegramSettings,
        sender: TelegramSender,
        sink: TelegramNoticeSink,
        bot: Bot,
    ) -> None:
        self._core = core
        self._settings = settings
        self._pepper = core.pepper
        self._sender = sender
        self._sink = sink
        self._bot = bot
        self._members = MembershipCache(settings.moderator_cache_seconds)

    def _user_id(self, user_id: int) -> str:
        return pseudonymise(self._pepper, PLATFORM, str(user_id))

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await self._on_button(update)
        elif update.message is not None:
            await self._on_message(update.message, edited=False)
        elif update.edited_message is not None:
            await self._on_message(update.edited_message, edited=True)

    async def _send_outcome(self, outcome: Outcome) -> None:
        for reply in outcome.replies:
            try:
                await self._sender.send_reply(reply)
            except TelegramError as exc:
                # Keep going: one refused or undeliverable message (blocked bot, outage beyond
                # the retries) must not stop the next replies, which may carry the helplines.
                log.error(
                    "telegram: a %s reply could not be sent: %s", reply.kind, type(exc).__name__
                )

    # -- buttons

    async def _on_button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        user = query.from_user
        ack: str | None = None
        # The pressed message may be "inaccessible" (old or deleted): its chat is still known,
        # and that is all the translation needs.
        chat = query.message.chat if query.message is not None else None
        if chat is not None and query.data and not user.is_bot:
            if chat.id == self._settings.moderator_chat_id:
                outcome = await self._core.handle_moderator(
                    ModeratorInbound(
                        platform=PLATFORM,
                        moderator=self._user_id(user.id),
                        moderator_name=user.first_name,
                        received_at=datetime.now(UTC),
                        is_moderator=await self._is_moderator(user.id),
                        is_admin=await self._is_moderator(user.id, admin=True),
                        payload=query.data,
                    )
                )
                ack = outcome.ack
            else:
                message = query.message if isinstance(query.message, Message) else None
                thread = message.message_thread_id if message and message.is_topic_message else None
                inbound = self._inbound(
                    chat, user, "", thread, datetime.now(UTC), button=query.data
                )
                outcome = await self._core.handle(inbound)
            await self._send_outcome(outcome)
        # Always answer: otherwise the button keeps spinning on the presser's screen.
        await self._sender.call(lambda: query.answer(ack))

    async def _is_moderator(self, user_id: int, *, admin: bool = False) -> bool:
        chat_id = self._settings.moderator_chat_id
        if chat_id is None:
            return False
        status = await self._members.status(self._bot, chat_id, user_id)
        return status in (_ADMIN_STATUSES if admin else _MEMBER_STATUSES)

    # -- messages

    def _inbound(
        self,
        chat: Chat,
        user: User,
        text: str,
        thread: int | None,
        received_at: datetime,
        *,
        button: str | None = None,
        attachment: str | None = None,
    ) -> Inbound:
        private = chat.type == ChatType.PRIVATE
        return Inbound(
            chat=ChatRef(PLATFORM, str(chat.id), str(thread) if thread else None),
            user=self._user_id(user.id),
            text=text,
            received_at=received_at,
            is_private=private,
            locale_hint=user.language_code,
            community=None if private else str(chat.id),
            button=button,
            attachment=attachment,
        )

    def _message_inbound(
        self, message: Message, user: User, text: str, attachment: str | None = None
    ) -> Inbound:
        thread = message.message_thread_id if message.is_topic_message else None
        when = message.edit_date or message.date  # an edit is read as a new message, now
        return self._inbound(message.chat, user, text, thread, when, attachment=attachment)

    async def _on_message(self, message: Message, *, edited: bool) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        chat = message.chat
        text = normalise_command(message.text or message.caption or "", self._bot.username)
        if chat.id == self._settings.moderator_chat_id:
            if not edited and message.text:
                await self._on_moderator_text(message, text)
            return
        if chat.type == ChatType.PRIVATE:
            kind = None if message.text else attachment_kind(message)
            if not text and kind is None:
                return  # service messages (pinned, joined...) need no answer
            await self._send_outcome(
                await self._core.handle(self._message_inbound(message, user, text, kind))
            )
        elif chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) and text:
            if is_admin_command(text):
                await self._on_admin_command(message, user.id, text)
            else:
                await self._send_outcome(
                    await self._core.handle(self._message_inbound(message, user, text))
                )

    async def _on_admin_command(self, message: Message, user_id: int, text: str) -> None:
        """`/signpost_watch` and `/signpost_region`: group admins (creator or administrators)
        only, answered in the group."""
        chat = message.chat
        thread = message.message_thread_id if message.is_topic_message else None
        status = await self._members.status(self._bot, chat.id, user_id)
        if status not in _ADMIN_STATUSES:
            answer = self._core.texts.get("group.admins_only")
        else:
            answer = await self._core.admin_command(PLATFORM, str(chat.id), text)
        await self._sender.send_text(chat.id, answer, thread_id=thread)

    async def _on_moderator_text(self, message: Message, text: str) -> None:
        if is_desk_command(text):  # `/cases`, `/case <id>`: answered here, never relayed
            user = message.from_user
            assert user is not None
            answer = await self._core.moderator_command(
                PLATFORM, text, await self._is_moderator(user.id)
            )
            thread = message.message_thread_id if message.is_topic_message else None
            await self._sender.send_text(
                message.chat.id, answer, thread_id=thread, reply_to=message.message_id
            )
            return
        case_id = None
        for ref in self._thread_refs(message):
            case_id = await self._core.case_for_thread(PLATFORM, ref)
            if case_id is not None:
                break
        if case_id is None:
            return  # ordinary talk among moderators
        user = message.from_user
        assert user is not None
        outcome = await self._core.handle_moderator(
            ModeratorInbound(
                platform=PLATFORM,
                moderator=self._user_id(user.id),
                moderator_name=user.first_name,
                received_at=message.date,
                is_moderator=await self._is_moderator(user.id),
                case_id=case_id,
                text=text,
            )
        )
        await self._send_outcome(outcome)
        if outcome.ack:  # e.g. "claim the case before replying": said where they wrote
            thread = message.message_thread_id if message.is_topic_message else None
            await self._sender.send_text(
                message.chat.id, outcome.ack, thread_id=thread, reply_to=message.message_id
            )

    def _thread_refs(self, message: Message) -> list[str]:
        """Which case thread a moderator's message could belong to: its forum topic, and/or
        the bot's message it replies to."""
        refs = []
        if message.is_topic_message and message.message_thread_id:
            refs.append(topic_ref(message.message_thread_id))
        replied = message.reply_to_message
        author = replied.from_user if replied is not None else None
        if replied is not None and author is not None and author.id == self._bot.id:
            known = self._sink.thread_of_message.get(replied.message_id)
            refs.append(known or message_ref(replied.message_id))
        return refs
