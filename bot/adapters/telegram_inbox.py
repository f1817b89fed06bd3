"""A durable inbox for Telegram: an update is recorded before Telegram is told it arrived.

python-telegram-bot's own polling acknowledges a batch (the next getUpdates carries the new
offset) while the batch is still being handled, so a crash loses whatever was in flight. Here a
batch is written to the inbox first, then acknowledged, and each update is marked done once
handled; a restart handles what is still open. A redelivered update that was already recorded
is skipped. If the database cannot record a batch, the updates are still handled (a crisis
reply never waits on the database), without the guarantee. In webhook mode the same happens
before the webhook answers (`AcceptingQueue`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

PLATFORM = "telegram"
RETRY_SECONDS = 1.0
DRAIN_SECONDS = 10.0


class Inbox(Protocol):
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]: ...

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]: ...

    async def inbox_done(self, platform: str, update_id: int) -> None: ...


class DurablePoller:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        inbox: Inbox,
        *,
        poll_timeout: int,
        allowed_updates: list[str],
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.poll_timeout = poll_timeout
        self.allowed_updates = allowed_updates
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        bot = self.application.bot
        await self.resume()
        offset: int | None = None
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=self.allowed_updates
                )
            )
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():  # stopped during a long poll: nothing was fetched
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except InvalidToken:
                raise
            except TelegramError as exc:
                log.warning("telegram: polling error %s (will retry)", type(exc).__name__)
                await _sleep_or_stop(stop, RETRY_SECONDS)
                continue
            if not updates:
                continue
            fresh = await self._record(updates)
            offset = updates[-1].update_id + 1  # the next getUpdates acknowledges this batch
            for update in updates:
                if fresh is None or update.update_id in fresh:
                    self._handle(update, recorded=fresh is not None)
        await self.drain()

    async def accept(self, update: Update) -> None:
        """One update from the webhook: recorded (and then handled) before the webhook answers
        Telegram, so a crash after the answer cannot lose it."""
        fresh = await self._record([update])
        if fresh is None or update.update_id in fresh:
            self._handle(update, recorded=fresh is not None)

    async def _record(self, updates: Sequence[Update]) -> set[int] | None:
        try:
            return await self.inbox.inbox_record(
                PLATFORM, [(u.update_id, u.to_dict()) for u in updates]
            )
        except Exception:
            log.warning("telegram: inbox unavailable; handling updates without it")
            return None

    async def resume(self) -> None:
        """Handle what a previous process recorded and did not finish."""
        try:
            pending = await self.inbox.inbox_pending(PLATFORM)
        except Exception:
            log.warning("telegram: inbox unavailable at start; nothing resumed")
            return
        if pending:
            log.info("telegram: resuming %d updates left in flight", len(pending))
        for _, payload in pending:
            update = Update.de_json(payload, self.application.bot)
            if update is not None:
                self._handle(update, recorded=True)

    def _handle(self, update: Update, *, recorded: bool) -> None:
        task = asyncio.create_task(self._process(update, recorded))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, update: Update, recorded: bool) -> None:
        app = self.application
        # the same path (and per-chat ordering) as python-telegram-bot's own fetcher
        await app.update_processor.process_update(update, app.process_update(update))
        if recorded:
            try:
                await self.inbox.inbox_done(PLATFORM, update.update_id)
            except Exception:  # handled again after a restart: at least once
                log.warning("telegram: could not mark an update handled")

    async def drain(self) -> None:
        """On shutdown, give updates being handled a moment to finish (the rest resume)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=DRAIN_SECONDS)
        for task in list(self._tasks):
            task.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class AcceptingQueue(asyncio.Queue[object]):
    """Stands in for python-telegram-bot's update queue in webhook mode: the webhook handler
    awaits `put` before it answers Telegram, so recording happens before the acknowledgement."""

    def __init__(self, poller: DurablePoller) -> None:
        super().__init__()
        self._poller = poller

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            await self._poller.accept(item)
        else:
            await super().put(item)
