"""The moderators' report: cases by level and outcome, time to claim, unclaimed pings,
false-alarm rate and busiest hours over a period. Counts only: no text, no ids, no handles."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.core.risk import RiskLevel
from bot.core.texts import Texts
from bot.storage.models import CaseRow
from bot.storage.store import Store, aware

CLOSED = ("resolved", "false_alarm", "expired")
OUTCOMES = ("pinged", "open", "claimed", "resolved", "false_alarm", "expired")
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta:
    """`7d`, `24h`, `2w`, `90m` → a timedelta. Raises ValueError for anything else."""
    found = _SPAN.match(text.lower())
    if not found or int(found.group(1)) <= 0:
        raise ValueError(f"not a period: {text!r} (use for example 7d, 24h, 2w)")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@dataclass(frozen=True, slots=True)
class CaseReport:
    since: datetime
    until: datetime
    by_level: dict[str, int]  # risk cases by level label, highest first
    by_outcome: dict[str, int]  # risk cases by status
    claim_seconds: tuple[float, ...]  # sorted
    unclaimed: int  # pings that were never claimed (expired, or still waiting)
    false_alarm_rate: float | None  # of closed risk cases; None when none closed
    busiest_hours: tuple[tuple[int, int], ...]  # (UTC hour, cases), busiest first
    moderation_flags: int

    @property
    def total(self) -> int:
        return sum(self.by_level.values())

    def claim_quantiles(self) -> tuple[float, float] | None:
        """(median, 90th percentile) of time to claim, in seconds."""
        values = self.claim_seconds
        if not values:
            return None
        p90 = (
            statistics.quantiles(values, n=10, method="inclusive")[-1]
            if len(values) > 1
            else values[0]
        )
        return statistics.median(values), p90


async def gather(store: Store, since: datetime, until: datetime) -> CaseReport:
    query = select(
        CaseRow.kind, CaseRow.risk, CaseRow.status, CaseRow.created_at, CaseRow.claimed_at
    ).where(CaseRow.created_at >= since, CaseRow.created_at < until)
    async with store.session() as s:
        rows = (await s.execute(query)).all()
    levels: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    hours: Counter[int] = Counter()
    claims: list[float] = []
    unclaimed = flags = 0
    for kind, risk, status, created_at, claimed_at in rows:
        if kind != "risk":
            flags += 1
            continue
        created, claimed = aware(created_at), aware(claimed_at)
        levels[int(risk)] += 1
        outcomes[str(status)] += 1
        if created is not None:
            hours[created.hour] += 1
        if claimed is not None and created is not None:
            claims.append(max(0.0, (claimed - created).total_seconds()))
        elif status in ("open", "pinged", "expired"):
            unclaimed += 1
    closed = sum(outcomes[s] for s in CLOSED)
    return CaseReport(
        since=since,
        until=until,
        by_level={RiskLevel(r).label: levels[r] for r in sorted(levels, reverse=True)},
        by_outcome={o: outcomes[o] for o in OUTCOMES if outcomes[o]},
        claim_seconds=tuple(sorted(claims)),
        unclaimed=unclaimed,
        false_alarm_rate=outcomes["false_alarm"] / closed if closed else None,
        busiest_hours=tuple(sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))[:3]),
        moderation_flags=flags,
    )


def _minutes(texts: Texts, seconds: float) -> str:
    return texts.get("report.minutes", minutes=f"{seconds / 60:.1f}".rstrip("0").rstrip("."))


def render(report: CaseReport, texts: Texts) -> str:
    """The report as the moderators read it (every sentence from responses/)."""
    stamp = "%Y-%m-%d %H:%M"
    out = [
        texts.get(
            "report.title", since=report.since.strftime(stamp), until=report.until.strftime(stamp)
        )
    ]
    if report.total == 0 and report.moderation_flags == 0:
        return "\n".join([*out, texts.get("report.empty")])
    join = ", ".join
    levels = join(texts.get("report.level", level=k, count=v) for k, v in report.by_level.items())
    out.append(texts.get("report.cases", total=report.total, levels=levels))
    if report.by_outcome:
        outcomes = join(
            texts.get("report.count", what=texts.get(f"report.outcome.{k}"), count=v)
            for k, v in report.by_outcome.items()
        )
        out.append(texts.get("report.outcomes", outcomes=outcomes))
    quantiles = report.claim_quantiles()
    if quantiles is None:
        out.append(texts.get("report.claim_none"))
    else:
        out.append(
            texts.get(
                "report.claim",
                median=_minutes(texts, quantiles[0]),
                p90=_minutes(texts, quantiles[1]),
                count=len(report.claim_seconds),
            )
        )
    out.append(texts.get("report.unclaimed", count=report.unclaimed))
    if report.false_alarm_rate is not None:
        out.append(texts.get("report.false_alarms", rate=f"{report.false_alarm_rate:.0%}"))
    if report.busiest_hours:
        hours = join(
            texts.get("report.hour", hour=f"{h:02d}", count=n) for h, n in report.busiest_hours
        )
        out.append(texts.get("report.busiest", hours=hours))
    if report.moderation_flags:
        out.append(texts.get("report.moderation", count=report.moderation_flags))
    return "\n".join(out)


def plot_time_to_claim(report: CaseReport, texts: Texts, path: Path) -> Path:
    """A PNG histogram of time to claim (minutes), with the median and p90 marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        minutes = [s / 60 for s in report.claim_seconds]
        if minutes:
            axes.hist(minutes, bins=min(20, max(5, len(minutes))), color="#4477aa")
            quantiles = report.claim_quantiles()
            assert quantiles is not None
            for value, style in zip(quantiles, ("-", "--"), strict=True):
                axes.axvline(value / 60, color="#cc3311", linestyle=style)
        else:
            axes.text(
                0.5,
                0.5,
                texts.get("report.plot_none"),
                ha="center",
                va="center",
                transform=axes.transAxes,
            )
        axes.set_title(texts.get("report.plot_title"))
        axes.set_xlabel(texts.get("report.plot_x"))
        axes.set_ylabel(texts.get("report.plot_y"))
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path


async def report_command(
    database_url: str, texts: Texts, span: timedelta, plot: Path | None, now: datetime
) -> tuple[str, Path | None]:
    """What `signpost report` prints, and the plot it wrote (None when not asked for)."""
    store = await Store.open(database_url)
    try:
        report = await gather(store, now - span, now)
    finally:
        await store.close()
    written = plot_time_to_claim(report, texts, plot) if plot is not None else None
    return render(report, texts), written
