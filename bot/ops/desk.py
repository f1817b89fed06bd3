"""Answers to `/cases` and `/case <id>` in the moderators' room, from the store. Shows what the
room already saw in pings (case id, risk, handle, status, who claimed it), never message text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.core.commands import parse_command
from bot.core.desk import CASE_COMMAND, CASES_COMMAND
from bot.core.risk import RiskLevel
from bot.core.texts import Texts
from bot.storage.models import CaseRow, OutboxRow
from bot.storage.store import OPEN_STATUSES, Store, aware, utcnow

MAX_LISTED = 20
STATUS_KEYS = {
    "open": "report.outcome.pinged",
    "pinged": "report.outcome.pinged",
    "claimed": "report.outcome.claimed",
    "resolved": "report.outcome.resolved",
    "false_alarm": "report.outcome.false_alarm",
    "expired": "report.outcome.expired",
}


class ModeratorDesk:
    def __init__(self, store: Store, texts: Texts) -> None:
        self.store = store
        self.texts = texts

    async def answer(self, platform: str, text: str, now: datetime | None = None) -> str | None:
        """The reply to a desk command, or None when `text` is not one."""
        command = parse_command(text.strip())
        if command is None:
            return None
        now = now or utcnow()
        if command[0] == CASES_COMMAND:
            return await self.open_cases(platform, now)
        if command[0] == CASE_COMMAND:
            case_id = command[1].split(" ", 1)[0].strip().lower()
            if not case_id:
                return self.texts.get("desk.usage", example="3f2a9c01bd")
            return await self.timeline(platform, case_id)
        return None

    def _status(self, case: CaseRow) -> str:
        status = self.texts.get(STATUS_KEYS.get(case.status, "report.outcome.pinged"))
        if case.status == "claimed" and case.moderator_name:
            return self.texts.get("desk.claimed_by", moderator=case.moderator_name)
        return status

    def _age(self, since: datetime, now: datetime) -> str:
        minutes = max(0, int((now - since).total_seconds() // 60))
        if minutes < 120:
            return self.texts.get("desk.age.minutes", count=minutes)
        if minutes < 48 * 60:
            return self.texts.get("desk.age.hours", count=minutes // 60)
        return self.texts.get("desk.age.days", count=minutes // (24 * 60))

    async def open_cases(self, platform: str, now: datetime) -> str:
        query = (
            select(CaseRow)
            .where(CaseRow.platform == platform, CaseRow.status.in_(OPEN_STATUSES))
            .order_by(CaseRow.risk.desc(), CaseRow.created_at)
        )
        async with self.store.session() as s:
            cases = list((await s.scalars(query)).all())
        if not cases:
            return self.texts.get("desk.none")
        lines = [self.texts.get("desk.title", count=len(cases))]
        for case in cases[:MAX_LISTED]:
            lines.append(
                self.texts.get(
                    "desk.line",
                    case_id=case.id,
                    risk=RiskLevel(case.risk).label,
                    status=self._status(case),
                    age=self._age(aware(case.created_at) or now, now),
                )
            )
        if len(cases) > MAX_LISTED:
            lines.append(self.texts.get("desk.more", count=len(cases) - MAX_LISTED))
        return "\n".join(lines)

    async def timeline(self, platform: str, case_id: str) -> str:
        async with self.store.session() as s:
            case = await s.get(CaseRow, case_id)
            if case is None or case.platform != platform:
                return self.texts.get("desk.unknown", case_id=case_id[:24])
            notices = list(
                (
                    await s.scalars(
                        select(OutboxRow)
                        .where(OutboxRow.case_id == case_id)
                        .order_by(OutboxRow.created_at, OutboxRow.id)
                    )
                ).all()
            )
        events: list[tuple[datetime, str]] = []
        created = aware(case.created_at) or utcnow()
        events.append((created, self.texts.get("desk.events.opened")))
        for row in notices:
            event = self._notice_event(row)
            if event is None:
                continue
            if row.delivered_at is None:
                event = self.texts.get("desk.not_delivered", event=event)
            events.append((aware(row.delivered_at) or aware(row.created_at) or created, event))
        who = case.moderator_name or ""
        if case.claimed_at is not None:
            at = aware(case.claimed_at) or created
            events.append((at, self.texts.get("desk.events.claimed", moderator=who)))
        if case.closed_at is not None and case.status in ("resolved", "false_alarm", "expired"):
            at = aware(case.closed_at) or created
            events.append((at, self.texts.get(f"desk.events.{case.status}", moderator=who)))
        events.sort(key=lambda e: e[0])
        lines = [
            self.texts.get(
                "desk.timeline_title",
                case_id=case.id,
                risk=RiskLevel(case.risk).label,
                status=self._status(case),
                handle=case.handle,
            )
        ]
        lines += [
            self.texts.get("desk.event", time=f"{at:%m-%d %H:%M} UTC", event=event)
            for at, event in events
        ]
        return "\n".join(lines)

    def _notice_event(self, row: OutboxRow) -> str | None:
        """Pings, re-pings and the ladder's steps; claims and closes come from the case row,
        relays (people's words) are never listed."""
        suffix = row.idempotency_key.split(":", 1)[-1]
        if suffix in ("ping", "reping", "unavailable"):
            return self.texts.get(f"desk.events.{suffix}")
        return None
