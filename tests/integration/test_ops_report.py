"""`signpost report` on a seeded database (SQLite and PostgreSQL): counts only, and a PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.risk import RiskLevel
from bot.ops.report import parse_span
from bot.storage.models import CaseRow
from bot.storage.store import Store


def case(
    n: int,
    created: datetime,
    status: str,
    risk: RiskLevel = RiskLevel.HIGH,
    claim_after: float | None = None,
    kind: str = "risk",
) -> CaseRow:
    return CaseRow(
        id=f"case{n:04d}",
        conversation_key=f"telegram:person-{n}",
        platform="telegram",
        kind=kind,
        status=status,
        risk=int(risk),
        handle=f"person-secret{n}",
        excerpt="i don't want to be alive anymore" if status in ("pinged", "claimed") else None,
        ladder_stage=0,
        created_at=created,
        claimed_at=created + timedelta(seconds=claim_after) if claim_after is not None else None,
    )


async def seed(url: str) -> datetime:
    now = datetime.now(UTC)
    busy = (now - timedelta(days=2)).replace(hour=21, minute=5, second=0, microsecond=0)
    store = await Store.open(url)
    rows = [
        case(1, busy, "resolved", claim_after=120),
        case(2, busy, "resolved", claim_after=240),
        case(3, busy, "resolved", claim_after=600),
        case(4, busy - timedelta(hours=5), "false_alarm", RiskLevel.CRITICAL, claim_after=60),
        case(5, busy - timedelta(hours=6), "expired"),
        case(6, now - timedelta(hours=1), "pinged"),
        case(7, busy, "pinged", RiskLevel.HIGH, kind="moderation"),
        case(8, now - timedelta(days=10), "resolved", claim_after=5),  # before the period
    ]
    try:
        for row in rows:
            await store.add_case(row, [])
    finally:
        await store.close()
    return now


async def test_report_prints_counts_and_writes_the_plot(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(db_url)
    monkeypatch.setenv("SIGNPOST_STORAGE__URL", db_url)
    plot = tmp_path / "out" / "claim.png"
    assert await_main(["report", "--since", "7d", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "Cases: 6 (critical: 1, high: 5)" in printed
    assert (
        "resolved 3" in printed and "false alarm 1" in printed and "expired unclaimed 1" in printed
    )
    # claims after 60, 120, 240, 600 s: median 3 min, p90 (inclusive) 8.2 min
    assert "Time to claim: median 3 min, 90th percentile 8.2 min (4 claimed)" in printed
    assert "Pings never claimed: 2" in printed
    assert "False alarms: 20% of closed cases" in printed
    assert "Busiest hours (UTC): 21:00 (3)" in printed
    assert "Moderation flags: 1" in printed
    # counts only: no handle, case id or message text
    assert "person-" not in printed and "case0" not in printed and "alive" not in printed
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000


async def test_an_empty_period_and_a_bad_period(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNPOST_STORAGE__URL", db_url)
    assert await_main(["report", "--since", "24h", "--no-plot"]) == 0
    assert "No cases in this period." in capsys.readouterr().out
    assert await_main(["report", "--since", "a week"]) == 2
    assert "not a period" in capsys.readouterr().err


def await_main(argv: list[str]) -> int:
    """`signpost` runs its own event loop: run it in a thread from inside this async test."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, argv).result()


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("2w", timedelta(weeks=2)),
        (" 90m ", timedelta(minutes=90)),
    ],
)
def test_parse_span(text: str, span: timedelta) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize("text", ["", "7", "d7", "0d", "-1d", "7y"])
def test_parse_span_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_span(text)
