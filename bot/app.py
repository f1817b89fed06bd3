"""Wiring: builds every part of Signpost from settings, in one place. Nothing runs at import."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from bot.config import Settings
from bot.content import ContentPaths
from bot.core.commands import GroupAdmin
from bot.core.compose import Composer
from bot.core.dialogue import Dialogue, DialogueSettings
from bot.core.limits import MessageLimit, MessageLimiter
from bot.core.messages import Inbound, ModeratorInbound, Outcome
from bot.core.ports import NluEngine, NoticeSink, Signposts
from bot.core.signing import PayloadSigner
from bot.core.texts import Texts
from bot.escalation.cases import CaseService
from bot.escalation.outbox import Dispatcher
from bot.ops.followups import FollowUpService
from bot.ops.metrics import MeteredNlu, Metrics
from bot.ops.probes import MeteredSink
from bot.storage.store import Store

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
        with self.metrics.message(inbound.chat.platform):
            outcome = await self.dialogue.handle(inbound)
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
        """Outbox delivery, the escalation ladder and retention, until `stop` is set."""
        dispatcher = self.dispatcher
        tick = self.settings.escalation.tick_seconds
        since_purge = PURGE_EVERY_SECONDS
        while not stop.is_set():
            try:
                await self.cases.tick()
                await dispatcher.deliver_due()
                since_purge += tick
                if since_purge >= PURGE_EVERY_SECONDS:
                    since_purge = 0.0
                    retention = self.settings.retention
                    await self.store.purge(retention.conversation_days, retention.case_days)
            except Exception:
                log.exception("background pass failed")
            await self._pause(stop, min(tick, 1.0))

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
) -> App:
    content = content or (
        ContentPaths(settings.content_dir) if settings.content_dir else ContentPaths.default()
    )
    texts = Texts.load(content.responses, settings.locale)
    secret = settings.secret_bytes()
    signer = PayloadSigner(secret + b":buttons")
    composer = Composer(texts, signer)
    nlu = nlu or load_nlu(settings, content)
    signposts = load_signposts(content, texts)
    store = await Store.open(database_url or settings.database_url, echo=settings.storage.echo)
    cases = CaseService(store, texts, composer, signposts, settings.escalation, set())
    metrics = Metrics()
    cases.on_case = metrics.case_event
    follow_ups = FollowUpService(store, composer, settings.follow_up)
    cases.offer_follow_up = follow_ups.offer
    dialogue = Dialogue(
        nlu=MeteredNlu(nlu, metrics),
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
        nlu=nlu,
        signposts=signposts,
        cases=cases,
        dialogue=dialogue,
        admin=GroupAdmin(store, texts, signposts),
        pepper=secret + b":ids",
        metrics=metrics,
        follow_ups=follow_ups,
    )
    cases.on_enqueue = app.wake.set
    return app
