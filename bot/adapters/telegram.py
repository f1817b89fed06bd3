"""Telegram adapter: translates Bot API updates into core messages and core replies into calls.

No dialogue, case or permission decisions are made here: the core gets every private message,
every group message (it decides whether to answer) and every moderator action, and says what to
send. Receiving lives in `telegram_receive`, sending in `telegram_send`; this module wires them
to python-telegram-bot: polling or webhook, per-chat ordering, the command menu, shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from functools import partial
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot.adapters.telegram_inbox import AcceptingQueue, DurablePoller
from bot.adapters.telegram_receive import TelegramAdapter
from bot.adapters.telegram_send import (
    TelegramNoticeSink,
    TelegramSender,
    with_retries,
)
from bot.config import TelegramSettings
from bot.core.ports import CoreFacade
from bot.core.texts import Texts

log = logging.getLogger(__name__)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat are handled in order; different chats concurrently.

    With python-telegram-bot's default (one update at a time) a reply waiting out a 429 in one
    chat would delay a crisis reply in every other chat.
    """

    # Updates waiting for their chat's turn hold a slot too (python-telegram-bot takes the slot
    # first), so the limit is high: a burst in one busy group waiting out a 429 must not use
    # up the slots other chats need. Real parallelism is bounded by the number of chats.
    def __init__(self, max_concurrent_updates: int = 4096) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else 0
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._pending[key] = self._pending.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._pending[key] -= 1
            if not self._pending[key]:  # forget idle chats so the table does not grow forever
                del self._pending[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


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
        .read_timeout(settings.answer_timeout)
        .write_timeout(settings.answer_timeout)
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
    sink = TelegramNoticeSink(
        sender, bot, settings.moderator_chat_id, remember_thread=app.remember_thread
    )
    adapter = TelegramAdapter(app, settings, sender, sink, bot)
    application.add_handler(TypeHandler(Update, adapter.on_update))
    application.add_error_handler(_log_error)
    app.register_sink(sink, moderated=settings.moderator_chat_id is not None)
    updater = application.updater
    assert updater is not None
    allowed = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
    polling: asyncio.Task[None] | None = None
    try:
        await application.start()
        poller = DurablePoller(
            application, app, poll_timeout=int(settings.poll_timeout), allowed_updates=allowed
        )
        if settings.mode == "webhook":
            await poller.resume()
            updater.update_queue = AcceptingQueue(poller)  # recorded before Telegram hears 200
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
            # our own polling loop: updates are recorded before they are acknowledged
            await with_retries(bot.delete_webhook, attempts=settings.send_attempts, backoff=backoff)
            polling = asyncio.create_task(poller.run(stop))
        await _publish_commands(bot, app.texts, sender)
        log.info("telegram: running (%s)", settings.mode)
        await stop.wait()
        if polling is not None:
            await polling
        else:
            await poller.drain()
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


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Never the update itself: it holds what the person wrote.
    error = context.error
    log.error("telegram: handling an update failed: %s", type(error).__name__, exc_info=error)
