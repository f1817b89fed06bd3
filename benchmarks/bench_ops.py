"""Operations figures: what metrics add to one message, a /metrics render, and `signpost report`
over a seeded SQLite database of 5,000 cases.

Run: .venv/bin/python benchmarks/bench_ops.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from bot.content import ContentPaths
from bot.core.risk import Assessment, RiskContext, RiskLevel
from bot.core.texts import Texts
from bot.ops.metrics import MeteredNlu, Metrics
from bot.ops.report import gather, plot_time_to_claim, render
from bot.storage.models import CaseRow
from bot.storage.store import Store

REPEAT = 20_000
CASES = 5_000


class Instant:
    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        return Assessment(RiskLevel.HIGH, "acute_distress", 0.9, ())


def metrics_overhead() -> None:
    metrics = Metrics()
    nlu = MeteredNlu(Instant(), metrics)
    start = time.perf_counter()
    for _ in range(REPEAT):
        with metrics.message("telegram"):
            nlu.assess("x")
    per_message = (time.perf_counter() - start) / REPEAT * 1e6
    start = time.perf_counter()
    for _ in range(200):
        body = generate_latest(metrics.registry)
    render_ms = (time.perf_counter() - start) / 200 * 1000
    print(f"metrics per message (count + NLU timing): {per_message:.1f} µs")
    print(f"/metrics render: {render_ms:.2f} ms ({len(body)} bytes)")


async def report_speed(folder: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{folder / 'bench.db'}")
    now = datetime.now(UTC)
    statuses = ("resolved", "false_alarm", "expired", "pinged", "claimed")
    async with store.session() as s:
        for n in range(CASES):
            created = now - timedelta(minutes=n * 2)
            status = statuses[n % len(statuses)]
            claimed = status in ("resolved", "false_alarm", "claimed")
            s.add(
                CaseRow(
                    id=f"c{n:09d}",
                    conversation_key=f"k{n}",
                    platform="telegram",
                    status=status,
                    risk=3 + n % 2,
                    handle="person-x",
                    ladder_stage=0,
                    created_at=created,
                    claimed_at=created + timedelta(seconds=30 + n % 900) if claimed else None,
                )
            )
    texts = Texts.load(ContentPaths.default().responses)
    start = time.perf_counter()
    report = await gather(store, now - timedelta(days=7), now)
    text = render(report, texts)
    gathered = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    plot_time_to_claim(report, texts, folder / "claim.png")
    plotted = (time.perf_counter() - start) * 1000
    await store.close()
    print(f"report over {report.total} cases in 7 days: {gathered:.0f} ms, plot {plotted:.0f} ms")
    print(text.splitlines()[3])


def main() -> None:
    metrics_overhead()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(report_speed(Path(folder)))


if __name__ == "__main__":
    main()
