"""Assessment runs off the event loop: a slow assessment does not hold up other work."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.risk import Assessment, RiskContext, RiskLevel
from tests.conftest import ROOT, ScriptedNlu, person


class SlowNlu(ScriptedNlu):
    """CPU-bound work, as the real engine under a burst: busy for `seconds` per message."""

    seconds: float = 0.5
    threads: ClassVar[list[str]] = []

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        self.threads.append(threading.current_thread().name)
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        return super().assess(text, context)


@pytest.fixture
async def slow_app(settings: Settings) -> AsyncIterator[tuple[App, SlowNlu]]:
    nlu = SlowNlu()
    nlu.threads = []
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT))
    yield application, nlu
    await application.close()


async def test_the_event_loop_keeps_ticking_while_a_message_is_assessed(
    slow_app: tuple[App, SlowNlu],
) -> None:
    app, nlu = slow_app
    nlu.say("i feel awful", RiskLevel.LOW)
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    out = await app.handle(person(app)("i feel awful"))
    stop.set()
    await beat
    assert out.replies
    assert nlu.threads and all(name.startswith("assess") for name in nlu.threads)
    assert max(gaps) < 0.25, f"the event loop stalled for {max(gaps):.2f} s"
