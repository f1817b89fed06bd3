"""Telegram adapter: translates Bot API updates into core messages and core replies into calls.

No dialogue, case or permission decisions are made here: the core gets every private message,
every group message (it decides whether to answer) and every moderator action, and says what to
send. This module only knows Telegram: chat types, forum topics, inline keyboards, deep links,
message length limits, and how the Bot API reports overload (429 retry_after, 5xx). Sending
lives in `telegram_send`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    Chat,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot.adapters.telegram_send import (
    PLATFORM,
    TelegramNoticeSink,
    TelegramSender,
    message_ref,
    topic_ref,
    with_retries,
)
from bot.adapters.telegram_settings import TelegramSettings
from bot.core.identity import pseudonymise
from bot.core.messages import (
    ChatRef,
    Inbound,
    ModeratorInbound,
    Outcome,
)
from bot.core.ports import NoticeSink
from bot.core.texts import Texts

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
_WATCH_COMMAND = "/signpost_watch"
_MEMBERSHIP_ENTRIES = 10_000


class CoreFacade(Protocol):
    """The part of `bot.app.App` the adapter uses."""

    pepper: bytes
    texts: Texts

    async def handle(self, inbound: Inbound) -> Outcome: ...

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome: ...

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None: ...

    async def set_group_watch(self, platform: str, chat_id: str, enabled: bool) -> object: ...

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None: ...


# ---- incoming --------------------------------------------------------------------------------


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


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat are handled in order; different chats concurrently.

    With python-telegram-bot's default (one update at a time) a reply waiting out a 429 in one
    chat would delay a crisis reply in every other chat.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else 0
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle chats so the table does not grow forever
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


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

    async def _is_moderator(self, user_id: int) -> bool:
        chat_id = self._settings.moderator_chat_id
        if chat_id is None:
            return False
        status = await self._members.status(self._bot, chat_id, user_id)
        return status in _MEMBER_STATUSES

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
            if text.split(" ", 1)[0] == _WATCH_COMMAND:
                await self._on_watch_command(message, user.id, text)
            else:
                await self._send_outcome(
                    await self._core.handle(self._message_inbound(message, user, text))
                )

    async def _on_watch_command(self, message: Message, user_id: int, text: str) -> None:
        chat = message.chat
        thread = message.message_thread_id if message.is_topic_message else None
        status = await self._members.status(self._bot, chat.id, user_id)
        if status not in _ADMIN_STATUSES:
            key = "group.admins_only"
        else:
            enabled = text.partition(" ")[2].strip().lower() not in ("off", "stop", "no", "0")
            await self._core.set_group_watch(PLATFORM, str(chat.id), enabled)
            key = "group.watch_on" if enabled else "group.watch_off"
        await self._sender.send_text(chat.id, self._core.texts.get(key), thread_id=thread)

    async def _on_moderator_text(self, message: Message, text: str) -> None:
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


# ---- wiring ----------------------------------------------------------------------------------


def build_application(settings: TelegramSettings) -> Application[Any, Any, Any, Any, Any, Any]:
    if settings.token is None:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    return (
        Application.builder()
        .token(settings.token.get_secret_value())
        .base_url(settings.bot_api_url)
        .base_file_url(settings.file_api_url)
        .get_updates_read_timeout(settings.poll_timeout + 10)
        .concurrent_updates(PerChatUpdateProcessor())
        .build()
    )


async def run_telegram(
    app: CoreFacade, settings: TelegramSettings, stop: asyncio.Event, *, backoff: float = 0.5
) -> None:
    """Run the bot until `stop` is set: long polling by default, or a webhook listener.

    Registers a `TelegramNoticeSink` with the app, so the outbox can reach the moderators'
    group; cases are only opened for Telegram when `moderator_chat_id` is configured.
    """
    # httpx logs every request URL at INFO, and Bot API URLs contain the token
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    application = build_application(settings)
    # getMe at start-up: a Bot API hiccup should delay the bot, not stop it
    await with_retries(application.initialize, attempts=settings.send_attempts, backoff=backoff)
    bot = application.bot
    sender = TelegramSender(bot, settings, backoff=backoff)
    sink = TelegramNoticeSink(sender, bot, settings.moderator_chat_id)
    adapter = TelegramAdapter(app, settings, sender, sink, bot)
    application.add_handler(TypeHandler(Update, adapter.on_update))
    application.add_error_handler(_log_error)
    app.register_sink(sink, moderated=settings.moderator_chat_id is not None)
    updater = application.updater
    assert updater is not None
    allowed = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
    try:
        await application.start()
        if settings.mode == "webhook":
            secret = settings.webhook_secret_token
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=allowed,
                bootstrap_retries=3,
            )
        else:
            await updater.start_polling(
                timeout=int(settings.poll_timeout),
                allowed_updates=allowed,
                bootstrap_retries=3,
                error_callback=_log_polling_error,
            )
        await _publish_commands(bot, app.texts, sender)
        log.info("telegram: running (%s)", settings.mode)
        await stop.wait()
    finally:
        if updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


async def _publish_commands(bot: Bot, texts: Texts, sender: TelegramSender) -> None:
    """The command menu beside the message box: every command for private chats, the opt-in
    switch for group admins. Descriptions live in responses/; a failure only costs the menu."""
    menus = (
        ("telegram.commands.private.", BotCommandScopeAllPrivateChats()),
        ("telegram.commands.admins.", BotCommandScopeAllChatAdministrators()),
    )
    for prefix, scope in menus:
        commands = [
            BotCommand(key.removeprefix(prefix), texts.get(key))
            for key in texts.entries
            if key.startswith(prefix)
        ]
        if not commands:
            continue
        try:
            await sender.call(partial(bot.set_my_commands, commands, scope=scope))
        except TelegramError as exc:
            log.warning("telegram: could not publish the command menu: %s", type(exc).__name__)


def _log_polling_error(error: Exception) -> None:
    log.warning("telegram: polling error %s (will retry)", type(error).__name__)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Never the update itself: it holds what the person wrote.
    error = context.error
    log.error("telegram: handling an update failed: %s", type(error).__name__, exc_info=error)
