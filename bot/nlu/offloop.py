"""Assessment off the event loop.

Assessing a message is CPU work (spaCy, the classifiers) and, with the Rasa backend, a blocking
HTTP call. Done on the event loop it holds up every other chat and the outbox, so under a burst
pings trailed replies. `prepare` runs the assessment in one worker thread before the turn; the
dialogue's own (synchronous) call then finds the answer ready. One lock keeps the engine to one
caller at a time, whichever thread calls it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from bot.core.ports import NluEngine
from bot.core.risk import Assessment, RiskContext

READY_LIMIT = 1024  # prepared answers never collected (a turn that failed first) age out


class OffLoopAssessor:
    def __init__(self, engine: NluEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assess")
        self._ready: OrderedDict[str, Assessment] = OrderedDict()

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        if context is None:
            ready = self._ready.pop(text, None)
            if ready is not None:
                return ready
        with self._lock:
            return self.engine.assess(text, context)

    async def prepare(self, text: str) -> None:
        """Assess `text` (without context) in the worker thread, for the turn about to run."""
        if text in self._ready:
            return
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._assess_locked, text)
        except Exception:  # the turn assesses again itself and handles the failure there
            return
        self._ready[text] = result
        while len(self._ready) > READY_LIMIT:
            self._ready.popitem(last=False)

    def _assess_locked(self, text: str) -> Assessment:
        with self._lock:
            return self.engine.assess(text, None)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
