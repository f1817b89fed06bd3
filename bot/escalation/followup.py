"""After a turn that sent a crisis reply: make sure a case exists, or will.

The dialogue builds the crisis reply before any database work and sends it even when the store
fails; this is the other half. If a case should exist and does not (the database was down or
hung during the turn), the escalation is deferred until the database answers and the person is
told honestly that the moderators could not be reached yet. In a watched group, the bot's
brief public reply to a member is not repeated within the cooldown after their last case.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core.compose import Composer
from bot.core.messages import Inbound, Outcome, Reply, ReplyKind
from bot.core.risk import RiskLevel
from bot.core.text_input import clean
from bot.core.texts import Texts
from bot.escalation.cases import CaseService
from bot.escalation.deferred import Deferred, DeferredEscalations
from bot.storage.store import Store, aware

log = logging.getLogger(__name__)

MAX_EXCERPT = 4000


class CrisisFollowUp:
    def __init__(
        self,
        store: Store,
        cases: CaseService,
        texts: Texts,
        composer: Composer,
        deferred: DeferredEscalations,
        *,
        group_cooldown: timedelta,
    ) -> None:
        self.store = store
        self.cases = cases
        self.texts = texts
        self.composer = composer
        self.deferred = deferred
        self.group_cooldown = group_cooldown

    async def after(self, inbound: Inbound, outcome: Outcome, started: datetime) -> Outcome:
        """`outcome` as the dialogue gave it, adjusted; never raises."""
        crisis = [r for r in outcome.replies if r.kind is ReplyKind.CRISIS]
        if not crisis or not self.cases.has_team(inbound.chat.platform):
            return outcome
        try:
            return await self._follow(inbound, outcome, started)
        except Exception:
            log.exception("crisis follow-up failed")
            return outcome

    async def _follow(self, inbound: Inbound, outcome: Outcome, started: datetime) -> Outcome:
        key = f"{inbound.chat.platform}:{inbound.user}"
        private = inbound.is_private
        if private and self._case_known(outcome):
            return outcome
        community = inbound.community if private else (inbound.community or inbound.chat.chat_id)
        if not private and await self._cooling_down(key, community, started):
            return replace(outcome, replies=())
        try:
            case = await self.store.open_case_for(key, community)
        except Exception:
            log.warning("database unavailable after a crisis reply; escalation deferred")
            return self._defer(inbound, outcome, key, community)
        if case is not None:
            return outcome
        # the database answers but the turn could not open the case (it failed mid-turn)
        try:
            case_id = await self.cases.open(
                conversation_key=key,
                user=inbound.user,
                chat=inbound.chat,
                risk=max(_risk_of(outcome, self.texts), RiskLevel.HIGH),
                text=clean(inbound.text, MAX_EXCERPT).text,
                region=None,
                community=community,
                in_group=not private,
            )
        except Exception:
            log.warning("opening a case after a crisis reply failed; escalation deferred")
            return self._defer(inbound, outcome, key, community)
        if case_id is None or not private:
            return outcome
        opened = self.composer.reply(inbound.chat, "crisis.case_opened", kind=ReplyKind.CRISIS)
        return self._replace_no_team(outcome, opened)

    def _case_known(self, outcome: Outcome) -> bool:
        """The turn itself opened the case, or the person is with a moderator already."""
        opened = self.texts.get("crisis.case_opened")
        held = self.texts.get("crisis.held_safety_net", emergency="").split("{", 1)[0][:40]
        return any(r.text == opened or r.text.startswith(held) for r in outcome.replies)

    async def _cooling_down(self, key: str, community: str | None, started: datetime) -> bool:
        if self.group_cooldown <= timedelta(0):
            return False
        try:
            last = await self.store.latest_case(key, community, before=started)
        except Exception:
            return False  # unknown: reply rather than stay silent
        created = aware(last.created_at) if last is not None else None
        return created is not None and started - created < self.group_cooldown

    def _defer(
        self, inbound: Inbound, outcome: Outcome, key: str, community: str | None
    ) -> Outcome:
        self.deferred.add(
            Deferred(
                conversation_key=key,
                user=inbound.user,
                chat=inbound.chat,
                risk=max(_risk_of(outcome, self.texts), RiskLevel.HIGH),
                text=clean(inbound.text, MAX_EXCERPT).text,
                community=community,
                in_group=not inbound.is_private,
                at=inbound.received_at,
            )
        )
        if not inbound.is_private:
            return outcome
        told = self.composer.reply(inbound.chat, "crisis.case_deferred", kind=ReplyKind.CRISIS)
        return self._replace_no_team(outcome, told)

    def _replace_no_team(self, outcome: Outcome, line: Reply) -> Outcome:
        """Drop a "no team here" or "moderators know" line the turn could not make true, and
        add `line` after the crisis reply."""
        wrong = {self.texts.get("crisis.no_team"), self.texts.get("crisis.case_opened")}
        kept = tuple(r for r in outcome.replies if r.text not in wrong)
        return replace(outcome, replies=(*kept, line))


def _risk_of(outcome: Outcome, texts: Texts) -> RiskLevel:
    """Critical when the turn sent the critical crisis reply, else high."""
    critical = texts.get("crisis.critical", emergency="")
    first_line = critical.split("\n\n", 1)[0]
    if any(r.text.startswith(first_line) for r in outcome.replies):
        return RiskLevel.CRITICAL
    return RiskLevel.HIGH
