"""Helpline figures: load, no-change refresh, render and region resolution over the real data.

Run: .venv/bin/python benchmarks/bench_helplines.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from bot.content import ContentPaths
from bot.core.texts import Texts
from bot.helplines.directory import HelplineDirectory
from bot.helplines.regions import resolve_region
from bot.helplines.render import render_helplines
from bot.helplines.validate import validate_path


def per_call(action: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    content = ContentPaths.default()
    texts = Texts.load(content.responses)
    start = time.perf_counter()
    directory = HelplineDirectory.load(content.helplines)
    load_ms = (time.perf_counter() - start) * 1000
    codes = directory.codes()
    now = datetime.now(UTC)
    print(f"regions loaded: {len(codes)}")
    print(f"load (cold, all files): {load_ms:.1f} ms")
    print(f"refresh, nothing changed: {per_call(directory.refresh, 200):.3f} ms")
    print(
        f"for_region + render (GB): "
        f"{per_call(lambda: render_helplines(directory.for_region('GB'), texts, now), 500):.3f} ms"
    )
    start = time.perf_counter()
    resolve_region("warm up the name index", codes)
    print(
        f"resolve_region first call (builds the name index): "
        f"{(time.perf_counter() - start) * 1000:.0f} ms"
    )
    words = ["uk", "Deutschland", "méxico", "the states", "California", "hello there"]
    print(
        f"resolve_region (warm): "
        f"{per_call(lambda: [resolve_region(w, codes) for w in words], 200) / len(words):.3f} ms"
    )
    start = time.perf_counter()
    report = validate_path(content.helplines, date.today(), set(texts.entries))
    print(f"validate all: {(time.perf_counter() - start) * 1000:.0f} ms -> {report.summary()}")


if __name__ == "__main__":
    main()
