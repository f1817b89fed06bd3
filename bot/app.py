"""Wiring: builds every part of Signpost from settings, in one place. Nothing runs at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.content import ContentPaths
from bot.core.commands import GroupAdmin
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
from bot.ops.followups import FollowUpService
from bot.ops.metrics import MeteredNlu, Metrics
from bot.ops.probes import MeteredSink
from bot.storage.store import Store, StoreUnavailable, utcnow

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


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
    admin: GroupAdmin
    deferred: DeferredEscalations
    followup: CrisisFollowUp
    assessor: OffLoopAssessor | None = None
    sinks: dict[str, NoticeSink] = field(default_factory=dict)
    pepper: bytes = b""
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # set when the outbox has work
    metrics: Metrics = field(default_factory=Metrics)
    follow_ups: FollowUpService | None = None

    @property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.sinks)

    # what adapters call ---------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Outcome:
        started = utcnow()
        with self.metrics.message(inbound.chat.platform):
            if self.assessor is not None and inbound.button is None:
                text = clean(inbound.text, self.settings.max_message_chars).text
                if text and not text.startswith("/"):
                    await self.assessor.prepare(text)  # CPU work off the event loop
            outcome = await self.dialogue.handle(inbound)
            outcome = await self.followup.after(inbound, outcome, started)
        self.metrics.outcome(outcome)
        return outcome

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome:
        try:
            outcome = await self.cases.handle_moderator(event)
            self.metrics.outcome(outcome)
            return outcome
        except Exception:
            log.exception("moderator action failed")
            return Outcome(ack=self.texts.get("moderators.ack.invalid"))

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None:
        case = await self.store.case_for_thread(platform, thread_ref)
        return case.id if case is not None else None

    async def admin_command(self, platform: str, community: str, text: str) -> str:
        """A community admin's command (the adapter checked the sender's rights first)."""
        return await self.admin.answer(platform, community, text)

    async def moderator_command(self, platform: str, text: str, is_moderator: bool) -> str:
        """`/cases` or `/case <id>` in the moderators' room (`bot.core.desk.is_desk_command`)."""
        if not is_moderator:
            return self.texts.get("moderators.ack.not_moderator")
        from bot.ops.desk import ModeratorDesk

        answer = await ModeratorDesk(self.store, self.texts).answer(platform, text)
        return answer or self.texts.get("desk.usage", example="3f2a9c01bd")

    async def remember_thread(self, case_id: str, thread_ref: str) -> None:
        await self.store.set_thread_ref(case_id, thread_ref)

    # the durable inbox (Telegram) ---------------------------------------------------------------
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]:
        return await self.store.inbox_record(platform, updates)

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]:
        return await self.store.inbox_pending(platform)

    async def inbox_done(self, platform: str, update_id: int) -> None:
        await self.store.inbox_done(platform, update_id)

    async def set_region(self, platform: str, user: str, region: str) -> None:
        """Remember a person's region (the terminal chat's `--region`)."""
        key = f"{platform}:{user}"
        state = await self.store.load_conversation(key)
        await self.store.save_conversation(replace(state, region=region))

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None:
        """An adapter that can reach a moderators' room registers here as it starts."""
        self.sinks[sink.platform] = MeteredSink(sink, self.store, self.metrics)
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
    metrics = Metrics()
    cases.on_case = metrics.case_event
    follow_ups = FollowUpService(store, composer, settings.follow_up)
    cases.offer_follow_up = follow_ups.offer
    deferred = DeferredEscalations(store, cases, composer)
    store.forget_notices = cases.forget_notices
    dialogue = Dialogue(
        nlu=MeteredNlu(assessor, metrics),
        texts=texts,
        composer=composer,
        signposts=signposts,
        conversations=store,
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
        follow_ups=follow_ups,
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
        admin=GroupAdmin(store, texts, signposts),
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
        metrics=metrics,
        follow_ups=follow_ups,
    )
    cases.on_enqueue = app.wake.set
    return app
