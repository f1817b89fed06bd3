"""The case life cycle: open → pinged → claimed → resolved | false_alarm | expired.

Every change is a guarded transition in the store, so two moderators pressing Claim at once
(or a replayed button) cannot both win. Notices go through the durable outbox.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.config import EscalationSettings
from bot.core.compose import Composer
from bot.core.identity import handle_for
from bot.core.messages import (
    Button,
    ChatRef,
    ModeratorAction,
    ModeratorInbound,
    ModeratorNotice,
    NoticeKind,
    Outcome,
    Reply,
    ReplyKind,
)
from bot.core.ports import HeldCase, Signposts
from bot.core.risk import RiskLevel
from bot.core.texts import Texts
from bot.escalation.outbox import notice_entry, reply_entry
from bot.storage.models import CaseRow, OutboxRow
from bot.storage.store import OPEN_STATUSES, Store, aware, utcnow

log = logging.getLogger(__name__)

CLOSED = ("resolved", "false_alarm", "expired")
EXPIRE_AFTER = timedelta(hours=24)


def new_case_id() -> str:
    return secrets.token_hex(5)


class CaseService:
    def __init__(
        self,
        store: Store,
        texts: Texts,
        composer: Composer,
        signposts: Signposts,
        settings: EscalationSettings,
        moderated_platforms: set[str],
    ) -> None:
        self.store = store
        self.texts = texts
        self.composer = composer
        self.signposts = signposts
        self.settings = settings
        self.moderated_platforms = moderated_platforms
        self.on_enqueue: Callable[[], None] = lambda: None  # wakes the outbox dispatcher
        # (event, platform, case created, event time): metrics; never ids or text
        self.on_case: Callable[[str, str, datetime, datetime], None] = lambda *_: None
        # a resolved case's person may be offered a check-in (bot.ops.followups)
        self.offer_follow_up: Callable[[CaseRow, ChatRef], Awaitable[tuple[Reply, ...]]] | None = (
            None
        )

    async def _transition(self, case_id: str, **kwargs: Any) -> bool:
        won = await self.store.transition(case_id, **kwargs)
        if won and kwargs.get("outbox"):
            self.on_enqueue()
        return won

    def has_team(self, platform: str) -> bool:
        return platform in self.moderated_platforms

    # opening -------------------------------------------------------------------------------
    async def open(
        self,
        *,
        conversation_key: str,
        user: str,
        chat: ChatRef,
        risk: RiskLevel,
        text: str,
        region: str | None,
        community: str | None,
        kind: str = "risk",
        in_group: bool = False,
    ) -> str | None:
        """Open a case and queue its ping. None when this platform has no moderators' room.

        A case raised from a group keeps no chat to relay to: moderators' words must never land
        in a public group. It is bound to the person's private chat when they open one
        (`adopt`)."""
        if not self.has_team(chat.platform):
            return None
        now = utcnow()
        case = CaseRow(
            id=new_case_id(),
            conversation_key=conversation_key,
            platform=chat.platform,
            chat_id=chat.chat_id if kind == "risk" and not in_group else None,
            chat_thread=chat.thread_id if kind == "risk" and not in_group else None,
            community=community,
            kind=kind,
            status="pinged",
            risk=int(risk),
            handle=handle_for(user),
            excerpt=text[: self.settings.excerpt_chars],
            region=region,
            ladder_stage=0,
            next_action_at=now + timedelta(minutes=self.settings.reping_after_minutes),
            created_at=now,
        )
        key = "moderators.ping" if kind == "risk" else "moderators.ping_moderation"
        notice = self._notice(case, NoticeKind.PING, key, buttons=self._case_buttons(case))
        existing = await self.store.add_case(case, [notice_entry(notice, now)])
        if existing is not None:  # already open (maybe opened by another worker just now)
            log.info("case already open", extra={"case": existing, "kind": kind})
            return existing
        self.on_enqueue()
        self.on_case("opened", case.platform, now, now)
        log.info("case opened", extra={"case": case.id, "risk": risk.label, "kind": kind})
        return case.id

    def _case_buttons(self, case: CaseRow) -> tuple[Button, ...]:
        return (
            self.composer.button("moderators.buttons.claim", f"c:{case.id}:claim"),
            self.composer.button("moderators.buttons.resolve", f"c:{case.id}:resolve"),
            self.composer.button("moderators.buttons.false_alarm", f"c:{case.id}:false_alarm"),
        )

    def _notice(
        self,
        case: CaseRow,
        kind: NoticeKind,
        key: str,
        *,
        buttons: tuple[Button, ...] = (),
        suffix: str = "",
        mention_role: bool = False,
        **fields: object,
    ) -> ModeratorNotice:
        text = self.texts.get(
            key,
            case_id=case.id,
            risk=RiskLevel(case.risk).label,
            handle=case.handle,
            platform=case.platform,
            region=case.region or self.texts.get("moderators.no_region"),
            excerpt=case.excerpt or "",
            community=case.community or "",
            moderator=case.moderator_name or "",
            **fields,
        )
        return ModeratorNotice(
            case_id=case.id,
            kind=kind,
            text=text,
            platform=case.platform,
            risk=RiskLevel(case.risk),
            idempotency_key=f"{case.id}:{kind.value}{suffix}",
            buttons=buttons,
            mention_role=mention_role,
        )

    async def adopt(self, conversation_key: str, chat: ChatRef) -> str | None:
        """Bind an open case raised in a group to the person's private chat, if there is one."""
        return await self.store.adopt_case(conversation_key, chat.chat_id, chat.thread_id)

    # while a moderator holds the conversation -----------------------------------------------
    async def claimed_case(self, case_id: str | None) -> HeldCase | None:
        if case_id is None:
            return None
        case = await self.store.get_case(case_id)
        if case is None or case.status != "claimed":
            return None
        return HeldCase(case.id, case.platform)

    async def relay_to_moderators(self, held: HeldCase, text: str, received_at: datetime) -> None:
        case = await self.store.get_case(held.id)
        if case is None:
            return
        stamp = f":{received_at.timestamp():.6f}:{secrets.token_hex(3)}"
        notice = self._notice(case, NoticeKind.RELAY, "moderators.relay", suffix=stamp, text=text)
        await self._transition(
            case.id, from_statuses=("claimed",), changes={}, outbox=[notice_entry(notice, utcnow())]
        )

    # moderators' actions --------------------------------------------------------------------
    async def handle_moderator(self, event: ModeratorInbound) -> Outcome:
        if event.payload is not None:
            return await self._button(event)
        if event.case_id is not None and event.text:
            return await self._moderator_text(event)
        return Outcome()

    async def _button(self, event: ModeratorInbound) -> Outcome:
        body = self.composer.signer.verify(event.payload or "")
        parts = body.split(":") if body else []
        if len(parts) != 3 or parts[0] != "c" or parts[2] not in set(ModeratorAction):
            return Outcome(ack=self.texts.get("moderators.ack.invalid"))
        if not event.is_moderator:
            return Outcome(ack=self.texts.get("moderators.ack.not_moderator"))
        case_id, action = parts[1], ModeratorAction(parts[2])
        case = await self.store.get_case(case_id)
        if case is None or case.platform != event.platform:
            return Outcome(ack=self.texts.get("moderators.ack.invalid"))
        if action is ModeratorAction.CLAIM:
            return await self._claim(case, event)
        return await self._close(case, event, action)

    async def _claim(self, case: CaseRow, event: ModeratorInbound) -> Outcome:
        now = utcnow()
        if case.status == "claimed":
            return Outcome(
                ack=self.texts.get("moderators.ack.already_taken", moderator=case.moderator_name),
            )
        case.moderator, case.moderator_name = event.moderator, event.moderator_name
        notice = self._notice(case, NoticeKind.CLAIMED, "moderators.claimed")
        won = await self._transition(
            case.id,
            from_statuses=("open", "pinged"),
            changes={
                "status": "claimed",
                "moderator": event.moderator,
                "moderator_name": event.moderator_name,
                "claimed_at": now,
                "next_action_at": None,
            },
            outbox=[notice_entry(notice, now)],
        )
        if not won:
            return Outcome(ack=self.texts.get("moderators.ack.closed"))
        self.on_case("claimed", case.platform, aware(case.created_at) or now, now)
        replies: tuple[Reply, ...] = ()
        if case.chat_id is not None and case.kind == "risk":
            chat = ChatRef(case.platform, case.chat_id, case.chat_thread)
            replies = (self.composer.reply(chat, "human.claimed", moderator=event.moderator_name),)
        return Outcome(replies=replies, ack=self.texts.get("moderators.ack.claimed"))

    async def _close(
        self, case: CaseRow, event: ModeratorInbound, action: ModeratorAction
    ) -> Outcome:
        if case.status in CLOSED:
            return Outcome(ack=self.texts.get("moderators.ack.closed"))
        if case.status == "claimed" and case.moderator != event.moderator and not event.is_admin:
            return Outcome(
                ack=self.texts.get(
                    "moderators.ack.claimed_by_other", moderator=case.moderator_name or ""
                )
            )
        status = "resolved" if action is ModeratorAction.RESOLVE else "false_alarm"
        kind = NoticeKind.RESOLVED if status == "resolved" else NoticeKind.FALSE_ALARM
        case.moderator_name = event.moderator_name
        notice = self._notice(case, kind, f"moderators.{status}")
        was_claimed = case.status == "claimed"
        won = await self._transition(
            case.id,
            from_statuses=OPEN_STATUSES,
            changes={
                "status": status,
                "closed_at": utcnow(),
                "next_action_at": None,
                "excerpt": None,
                "chat_id": None,
                "moderator_name": event.moderator_name,
            },
            outbox=[notice_entry(notice, utcnow())],
        )
        if not won:
            return Outcome(ack=self.texts.get("moderators.ack.closed"))
        await self.store.close_conversation_case(case.conversation_key, case.id)
        closed_at = utcnow()
        self.on_case(status, case.platform, aware(case.created_at) or closed_at, closed_at)
        replies: tuple[Reply, ...] = ()
        if was_claimed and case.chat_id is not None:
            chat = ChatRef(case.platform, case.chat_id, case.chat_thread)
            replies = (self.composer.reply(chat, "human.resolved"),)
            if status == "resolved" and self.offer_follow_up is not None:
                try:
                    replies += await self.offer_follow_up(case, chat)
                except Exception:
                    log.exception("follow-up offer failed")
        return Outcome(replies=replies, ack=self.texts.get(f"moderators.ack.{status}"))

    async def _moderator_text(self, event: ModeratorInbound) -> Outcome:
        case = await self.store.get_case(event.case_id or "")
        if case is None or case.platform != event.platform or not event.is_moderator:
            return Outcome()
        if case.status in CLOSED:  # said, so a moderator never talks into a closed case unaware
            return Outcome(ack=self.texts.get("moderators.ack.case_closed"))
        if case.status != "claimed" or case.moderator != event.moderator or case.chat_id is None:
            return Outcome(ack=self.texts.get("moderators.ack.not_claimed_by_you"))
        chat = ChatRef(case.platform, case.chat_id, case.chat_thread)
        text = (event.text or "")[:4000]
        relay = Reply(
            chat,
            self.texts.get("human.relay", moderator=case.moderator_name, text=text),
            kind=ReplyKind.RELAY,
        )
        return Outcome(replies=(relay,))

    def forget_notices(self, cases: Sequence[CaseRow]) -> list[OutboxRow]:
        """Tell the moderators of each open case that the person deleted their data (only
        where the case has a thread to say it in)."""
        now = utcnow()
        return [
            notice_entry(
                self._notice(case, NoticeKind.FORGOTTEN, "moderators.forgotten"),
                now,
                thread_ref=case.thread_ref,
            )
            for case in cases
            if case.thread_ref is not None
        ]

    # the ladder -----------------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> int:
        """Advance due timers: re-ping, then tell the person, then expire. Returns steps taken."""
        now = now or utcnow()
        steps = 0
        for case in await self.store.due_cases(now):
            try:
                steps += await self._advance(case, now)
            except Exception:  # one bad row is logged and skipped; the others still advance
                log.exception("escalation step failed", extra={"case": case.id})
        return steps

    async def _advance(self, case: CaseRow, now: datetime) -> int:
        stage = case.ladder_stage
        if stage == 0:
            notice = self._notice(
                case,
                NoticeKind.REPING,
                "moderators.reping",
                buttons=self._case_buttons(case),
                mention_role=True,
                minutes=int(self.settings.reping_after_minutes),
            )
            changes: dict[str, object] = {
                "ladder_stage": 1,
                "next_action_at": now + timedelta(minutes=self.settings.unavailable_after_minutes),
            }
            entries = [notice_entry(notice, now)]
        elif stage == 1:
            notice = self._notice(case, NoticeKind.EXPIRED, "moderators.unavailable")
            entries = [notice_entry(notice, now)]
            if case.chat_id is not None and case.kind == "risk":
                chat = ChatRef(case.platform, case.chat_id, case.chat_thread)
                block = self.signposts.block(case.region, now, crisis=True)
                reply = self.composer.reply(
                    chat, "human.unavailable", extra=(block,), kind=ReplyKind.CRISIS
                )
                entries.append(reply_entry(reply, f"{case.id}:unavailable", case.id, now))
            created = aware(case.created_at) or now
            changes = {"ladder_stage": 2, "next_action_at": created + EXPIRE_AFTER}
        else:
            notice = self._notice(case, NoticeKind.EXPIRED, "moderators.expired", suffix=":final")
            entries = [notice_entry(notice, now)]
            changes = {
                "status": "expired",
                "closed_at": now,
                "next_action_at": None,
                "excerpt": None,
                "chat_id": None,
            }
        won = await self._transition(
            case.id, from_statuses=("open", "pinged"), changes=changes, outbox=entries
        )
        if won and stage >= 2:
            await self.store.close_conversation_case(case.conversation_key, case.id)
            self.on_case("expired", case.platform, aware(case.created_at) or now, now)
        return 1 if won else 0
