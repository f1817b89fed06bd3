"""Wiring: builds every part of Signpost from settings, in one place. Nothing runs at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.content import ContentPaths
from bot.core.compose import Composer
from bot.core.dialogue import Dialogue, DialogueSettings
from bot.core.limits import MessageLimit, MessageLimiter
from bot.core.messages import Inbound, ModeratorInbound, Outcome
from bot.core.ports import NluEngine, NoticeSink, Signposts
from bot.core.signing import PayloadSigner
from bot.core.text_input import clean
from bot.core.texts import Texts
from bot.escalation.cases import CaseService
from bot.escalation.deferred import DeferredEscalations
from bot.escalation.followup import CrisisFollowUp
from bot.escalation.outbox import Dispatcher
from bot.nlu.offloop import OffLoopAssessor
from bot.storage.store import Store, StoreUnavailable, utcnow

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
REGION_OFF_WORDS = frozenset({"off", "clear", "none", "reset"})  # not "no": that is Norway


@dataclass
class App:
    settings: Settings
    content: ContentPaths
    store: Store
    texts: Texts
    composer: Composer
    nlu: NluEngine
    signposts: Signposts
    cases: CaseService
    dialogue: Dialogue
    deferred: DeferredEscalations
    followup: CrisisFollowUp
    assessor: OffLoopAssessor | None = None
    sinks: dict[str, NoticeSink] = field(default_factory=dict)
    pepper: bytes = b""
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # set when the outbox has work

    @property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.sinks)

    # what adapters call ---------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Outcome:
        started = utcnow()
        if self.assessor is not None and inbound.button is None:
            text = clean(inbound.text, self.settings.max_message_chars).text
            if text and not text.startswith("/"):
                await self.assessor.prepare(text)  # CPU work off the event loop
        outcome = await self.dialogue.handle(inbound)
        return await self.followup.after(inbound, outcome, started)

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome:
        try:
            return await self.cases.handle_moderator(event)
        except Exception:
            log.exception("moderator action failed")
            return Outcome(ack=self.texts.get("moderators.ack.invalid"))

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None:
        case = await self.store.case_for_thread(platform, thread_ref)
        return case.id if case is not None else None

    async def remember_thread(self, case_id: str, thread_ref: str) -> None:
        await self.store.set_thread_ref(case_id, thread_ref)

    # the durable inbox (Telegram polling) ---------------------------------------------------
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]:
        return await self.store.inbox_record(platform, updates)

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]:
        return await self.store.inbox_pending(platform)

    async def inbox_done(self, platform: str, update_id: int) -> None:
        await self.store.inbox_done(platform, update_id)

    async def set_group_watch(self, platform: str, chat_id: str, enabled: bool) -> None:
        await self.store.set_group_watch(platform, chat_id, enabled)

    async def set_group_region(self, platform: str, chat_id: str, request: str) -> str:
        """An admin's `/signpost_region [place | off]` for one community: with no place, what is
        set now; `off` clears it; else the place is resolved as people type it ("UK",
        "España", "DE"). Returns the answer to post. An unknown place changes nothing."""
        wanted = request.strip()
        if not wanted:
            group = await self.store.group(platform, chat_id)
            current = group.default_region if group is not None else None
            if current is None:
                return self.texts.get("group.region_none")
            return self.texts.get("group.region_current", region_name=self._region_label(current))
        if wanted.lower() in REGION_OFF_WORDS:
            await self.store.set_group_region(platform, chat_id, None)
            return self.texts.get("group.region_cleared")
        region = self.signposts.resolve(wanted)
        if region is None:
            return self.texts.get("group.region_unknown")
        await self.store.set_group_region(platform, chat_id, region)
        return self.texts.get("group.region_set", region_name=self._region_label(region))

    def _region_label(self, code: str) -> str:
        """A region's name; the bare code for a country the directory has no file for (its
        helplines are the international page with that country's emergency number)."""
        return self.signposts.region_name(code) if self.signposts.known(code) else code

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None:
        """An adapter that can reach a moderators' room registers here as it starts."""
        self.sinks[sink.platform] = sink
        if moderated:
            self.cases.moderated_platforms.add(sink.platform)

    # background work ------------------------------------------------------------------------
    async def run_background(self, stop: asyncio.Event) -> None:
        """Outbox delivery, the escalation ladder and retention, until `stop` is set.

        Each step has its own `try`: a case row that breaks the ladder must not stop pings
        from being delivered, and a database outage only delays the steps that need it."""
        dispatcher = self.dispatcher
        tick = self.settings.escalation.tick_seconds
        since_purge = PURGE_EVERY_SECONDS
        while not stop.is_set():
            if await self._step("database start-up", self.store.ensure_ready):
                await self._step("deferred escalations", self.deferred.flush)
                await self._step("outbox delivery", dispatcher.deliver_due)
                await self._step("escalation ladder", self.cases.tick)
                since_purge += tick
                if since_purge >= PURGE_EVERY_SECONDS and await self._step(
                    "retention purge", self._purge
                ):
                    since_purge = 0.0
            await self._pause(stop, min(tick, 1.0))

    async def _step(self, name: str, run: Callable[[], Awaitable[object]]) -> bool:
        try:
            await run()
        except StoreUnavailable:
            log.warning("%s waits: database unavailable", name)
            return False
        except Exception:
            log.exception("%s failed", name)
            return False
        return True

    async def _purge(self) -> None:
        retention = self.settings.retention
        await self.store.purge(retention.conversation_days, retention.case_days)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        """Sleep until `seconds` pass, new outbox work arrives, or `stop` is set."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self.wake.clear()

    async def close(self) -> None:
        if self.assessor is not None:
            self.assessor.close()
        await self.store.close()


def load_nlu(settings: Settings, content: ContentPaths) -> NluEngine:
    from bot.nlu.engine import load_engine

    engine = load_engine(content.nlu, settings.cache_dir, train_if_missing=True)
    if settings.nlu.backend == "rasa":
        from bot.nlu.rasa import RasaIntentEngine

        return RasaIntentEngine(engine, settings.nlu.rasa_url)
    return engine


def load_signposts(content: ContentPaths, texts: Texts) -> Signposts:
    from bot.helplines.directory import HelplineDirectory
    from bot.helplines.regions import preload_names
    from bot.signposts import DirectorySignposts

    preload_names()  # so the first person who types a country does not wait for the index
    return DirectorySignposts(HelplineDirectory.load(content.helplines), texts)


async def build(
    settings: Settings,
    *,
    nlu: NluEngine | None = None,
    content: ContentPaths | None = None,
    database_url: str | None = None,
    degraded_ok: bool = False,
) -> App:
    """Everything, wired. With `degraded_ok` (what `signpost run` uses), a database that is
    down at start-up does not stop the bot: it answers (crisis replies included) and the
    database is migrated and used as soon as it answers."""
    content = content or (
        ContentPaths(settings.content_dir) if settings.content_dir else ContentPaths.default()
    )
    texts = Texts.load(content.responses, settings.locale)
    secret = settings.secret_bytes()
    signer = PayloadSigner(secret + b":buttons")
    composer = Composer(texts, signer)
    assessor = OffLoopAssessor(nlu or load_nlu(settings, content))
    signposts = load_signposts(content, texts)
    store = await Store.open(
        database_url or settings.database_url,
        echo=settings.storage.echo,
        timeout=settings.storage.timeout_seconds,
        degraded_ok=degraded_ok,
    )
    cases = CaseService(store, texts, composer, signposts, settings.escalation, set())
    deferred = DeferredEscalations(store, cases, composer)
    store.forget_notices = cases.forget_notices
    dialogue = Dialogue(
        nlu=assessor,
        texts=texts,
        composer=composer,
        signposts=signposts,
        store=store,
        cases=cases,
        limiter=MessageLimiter(
            store,
            MessageLimit(
                max_messages=settings.limits.max_messages,
                window_seconds=settings.limits.window_seconds,
                enabled=settings.limits.enabled,
            ),
        ),
        settings=DialogueSettings(
            max_message_chars=settings.max_message_chars,
            default_region=settings.default_region,
        ),
    )
    app = App(
        settings=settings,
        content=content,
        store=store,
        texts=texts,
        composer=composer,
        nlu=assessor,
        signposts=signposts,
        cases=cases,
        dialogue=dialogue,
        assessor=assessor,
        deferred=deferred,
        followup=CrisisFollowUp(
            store,
            cases,
            texts,
            composer,
            deferred,
            group_cooldown=timedelta(minutes=settings.escalation.group_cooldown_minutes),
        ),
        pepper=secret + b":ids",
    )
    cases.on_enqueue = app.wake.set
    return app
