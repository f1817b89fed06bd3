"""The dialogue policy: one inbound message in, the replies to send out.

Risk is assessed first and the crisis reply is built before any database or network work, so it
goes out even when storage or a moderator ping fails. Then the conversation is loaded and the
intent decides the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.core.compose import Composer
from bot.core.exercises import COMMAND_ALIASES, Exercise, catalogue
from bot.core.limits import MessageLimiter, Verdict
from bot.core.messages import Button, ChatRef, Inbound, Outcome, Reply, ReplyKind
from bot.core.ports import NluEngine, Signposts
from bot.core.risk import RISK_FLOOR_TURNS, Assessment, RiskContext, RiskLevel
from bot.core.state import ConversationState
from bot.core.text_input import clean, parse_command
from bot.core.texts import Texts
from bot.escalation.cases import CaseService
from bot.storage.models import CaseRow
from bot.storage.store import Store

log = logging.getLogger(__name__)

NEXT_WORDS = {"next", "n", "ok", "okay", "done", "go", "continue", "k", "yes", "y", "ready"}
FEELINGS = ("better", "same", "worse")
# ways to a person or to one's own data: never limited, so the notice's buttons always work
UNLIMITED_COMMANDS = {"helplines", "human", "forget"}


@dataclass(frozen=True, slots=True)
class DialogueSettings:
    max_message_chars: int = 4000
    risk_floor_turns: int = RISK_FLOOR_TURNS
    default_region: str | None = None


class Dialogue:
    def __init__(
        self,
        *,
        nlu: NluEngine,
        texts: Texts,
        composer: Composer,
        signposts: Signposts,
        store: Store,
        cases: CaseService,
        limiter: MessageLimiter,
        settings: DialogueSettings,
    ) -> None:
        self.nlu = nlu
        self.texts = texts
        self.c = composer
        self.signposts = signposts
        self.store = store
        self.cases = cases
        self.limiter = limiter
        self.settings = settings
        self.exercises: dict[str, Exercise] = catalogue(texts)

    # entry point ----------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Outcome:
        cleaned = clean(inbound.text, self.settings.max_message_chars)
        text = cleaned.text
        command: tuple[str, str] | None = None
        if inbound.button is not None:
            body = self.c.signer.verify(inbound.button)
            if body is None:
                reply = self.c.reply(inbound.chat, "button_expired", buttons=self.c.menu())
                return Outcome(replies=(reply,))
            command, text = parse_command(body), ""
        elif text.startswith("/"):
            command = parse_command(text)

        # 1. risk first, before any I/O
        first = self._assess(text, None) if command is None else _quiet()
        guess = self._region_guess(inbound, None)
        provisional = (
            self._crisis_replies(inbound, first.risk, guess) if first.risk >= RiskLevel.HIGH else []
        )
        if not inbound.is_private:
            return await self._group(inbound, text, first)

        # 2. the conversation
        key = f"{inbound.chat.platform}:{inbound.user}"
        try:
            state = await self.store.load_conversation(key)
        except Exception:
            log.exception("conversation load failed; answering without memory")
            if provisional:
                return Outcome(replies=tuple(provisional))
            return Outcome(replies=tuple(self._stateless(inbound, text, command, first)))

        try:
            if state.open_case_id is None:
                adopted = await self.cases.adopt(key, inbound.chat)
                if adopted is not None:
                    state = replace(state, open_case_id=adopted)
                    await self.store.save_conversation(state)
            held = await self.cases.claimed_case(state.open_case_id)
        except Exception:
            log.exception("case lookup failed")
            held = None
        if held is not None and not (command and command[0] == "forget"):
            return await self._relay(inbound, held, text, first, state)

        # 3. the per-person limit, after the crisis and relay paths so it can never cut them off
        if _limitable(first, command, state):
            verdict = await self.limiter.check(key, inbound.received_at)
            if verdict is Verdict.NOTICE:
                return Outcome(replies=(self._limit_notice(inbound, state),))
            if verdict is Verdict.SILENT:
                return Outcome()

        assessment = first
        if command is None and state.recent_risk > RiskLevel.NONE:
            assessment = self._assess(text, state.risk_context())
        turn = _Turn(inbound, text, assessment, state)
        try:
            replies = await self._decide(turn, command)
        except Exception:
            log.exception("dialogue step failed")
            replies = provisional or [self.c.reply(inbound.chat, "fallback", buttons=self.c.menu())]
        if cleaned.truncated:
            replies.append(self.c.reply(inbound.chat, "too_long"))
        if not turn.state.notice_shown and not turn.forgotten:
            notice = self.c.reply(inbound.chat, "welcome", "privacy")
            at_risk = assessment.risk >= RiskLevel.HIGH
            replies = [*replies, notice] if at_risk else [notice, *replies]
            turn.state = replace(turn.state, notice_shown=True)
        if command is None:
            turn.state = turn.state.after_assessment(
                assessment.risk, self.settings.risk_floor_turns
            )
        if not turn.forgotten:
            try:
                await self.store.save_conversation(turn.state)
            except Exception:
                log.exception("conversation save failed; replies still go out")
        return Outcome(replies=tuple(replies))

    def _assess(self, text: str, context: RiskContext | None) -> Assessment:
        try:
            return self.nlu.assess(text, context)
        except Exception as exc:  # an assessor must not fail, but if it does: count as high
            log.exception("assessment failed")
            return Assessment(RiskLevel.HIGH, "error", 0.0, (f"error:{type(exc).__name__}",))

    def _region_guess(self, inbound: Inbound, state: ConversationState | None) -> str | None:
        if state is not None and state.region:
            return state.region
        if self.settings.default_region:
            return self.settings.default_region
        return self.signposts.from_locale(inbound.locale_hint)

    # crisis ---------------------------------------------------------------------------------
    def _crisis_replies(self, inbound: Inbound, risk: RiskLevel, region: str | None) -> list[Reply]:
        now = inbound.received_at
        block = self.signposts.block(region, now, crisis=True)
        emergency = self.signposts.emergency(region)
        key = "crisis.critical" if risk >= RiskLevel.CRITICAL else "crisis.high"
        extra = (
            (block,) if risk < RiskLevel.CRITICAL else (self.texts.get("crisis.lines_intro"), block)
        )
        buttons = [self.c.button("buttons.human", "/human")]
        if risk >= RiskLevel.CRITICAL:
            buttons.insert(0, self.c.button("buttons.safe", "/safe"))
        if region is None:
            buttons.append(self.c.button("buttons.region", "/region"))
        first = self.c.reply(
            inbound.chat,
            key,
            extra=extra,
            buttons=tuple(buttons),
            kind=ReplyKind.CRISIS,
            emergency=emergency,
        )
        return [first, self.c.reply(inbound.chat, "crisis.next_step", kind=ReplyKind.CRISIS)]

    async def _open_case(self, turn: _Turn, risk: RiskLevel) -> str:
        """Open a case if none is open. Returns the response key telling the person."""
        if turn.state.open_case_id is not None:
            return "human.already"
        if not self.cases.has_team(turn.inbound.chat.platform):
            return "crisis.no_team"
        try:
            case_id = await self.cases.open(
                conversation_key=turn.state.key,
                user=turn.inbound.user,
                chat=turn.inbound.chat,
                risk=risk,
                text=turn.text,
                region=turn.state.region,
                community=turn.inbound.community,
            )
        except Exception:
            log.exception("opening a case failed")
            return "crisis.no_team"
        turn.state = replace(turn.state, open_case_id=case_id)
        return "crisis.case_opened"

    async def _relay(
        self,
        inbound: Inbound,
        case: CaseRow,
        text: str,
        first: Assessment,
        state: ConversationState,
    ) -> Outcome:
        replies: list[Reply] = []
        if first.risk >= RiskLevel.CRITICAL:
            region = self._region_guess(inbound, state)
            replies.append(
                self.c.reply(
                    inbound.chat,
                    "crisis.held_safety_net",
                    extra=(self.signposts.block(region, inbound.received_at, crisis=True),),
                    kind=ReplyKind.CRISIS,
                    emergency=self.signposts.emergency(region),
                )
            )
        shown = text or self.texts.get("non_text")
        try:
            await self.cases.relay_to_moderators(case, shown, inbound.received_at)
        except Exception:
            log.exception("relay to moderators failed")
        return Outcome(replies=tuple(replies))

    def _limit_notice(self, inbound: Inbound, state: ConversationState) -> Reply:
        region = self._region_guess(inbound, state)
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
        )
        return self.c.reply(
            inbound.chat,
            "limits.paused",
            buttons=buttons,
            emergency=self.signposts.emergency(region),
        )

    # groups ---------------------------------------------------------------------------------
    async def _group(self, inbound: Inbound, text: str, first: Assessment) -> Outcome:
        community = inbound.community or inbound.chat.chat_id
        try:
            group = await self.store.group(inbound.chat.platform, community)
        except Exception:
            log.exception("group lookup failed")
            group = None
        watched = group is not None and group.watched
        if not watched:
            return Outcome()
        key = f"{inbound.chat.platform}:{inbound.user}"
        if first.risk >= RiskLevel.HIGH:
            # the person's own choice (made in a private chat) first, then the community's
            # default, then the bot's default or the locale
            community_region = group.default_region if group else None
            try:
                own = (await self.store.load_conversation(key)).region
            except Exception:
                log.exception("conversation load failed; using the community's region")
                own = None
            region = own or community_region or self._region_guess(inbound, None)
            button = self.c.button("buttons.private", "/start", private=True)
            reply = self.c.reply(
                inbound.chat,
                "group.concern",
                "group.emergency",
                buttons=(button,),
                kind=ReplyKind.CRISIS,
                emergency=self.signposts.emergency(region),
            )
            await self._open_group_case(
                inbound, key, text, community, risk=first.risk, region=community_region, kind="risk"
            )
            return Outcome(replies=(reply,))
        if first.intent == "harassment":
            # one person cannot flood the moderators' room with flags
            if await self.limiter.check(key, inbound.received_at) is not Verdict.ALLOW:
                return Outcome()
            await self._open_group_case(
                inbound, key, text, community, risk=RiskLevel.NONE, region=None, kind="moderation"
            )
        return Outcome()

    async def _open_group_case(
        self,
        inbound: Inbound,
        key: str,
        text: str,
        community: str,
        *,
        risk: RiskLevel,
        region: str | None,
        kind: str,
    ) -> None:
        """A case (kind "risk") or a moderation flag raised in a watched group; a failure is
        logged and never costs the group its reply."""
        try:
            await self.cases.open(
                conversation_key=key,
                user=inbound.user,
                chat=inbound.chat,
                risk=risk,
                text=text,
                region=region,
                community=community,
                kind=kind,
                in_group=True,
            )
        except Exception:
            log.exception("opening a group %s case failed", kind)

    def _stateless(
        self, inbound: Inbound, text: str, command: tuple[str, str] | None, first: Assessment
    ) -> list[Reply]:
        region = self._region_guess(inbound, None)
        if first.risk >= RiskLevel.MEDIUM or (command and command[0] == "helplines"):
            return [
                self.c.reply(
                    inbound.chat,
                    "support.medium",
                    extra=(self.signposts.block(region, inbound.received_at),),
                )
            ]
        return [self.c.reply(inbound.chat, "fallback", buttons=self.c.menu())]

    # the decision ---------------------------------------------------------------------------
    async def _decide(self, turn: _Turn, command: tuple[str, str] | None) -> list[Reply]:
        if command is not None:
            return await self._command(turn, *command)
        a = turn.assessment
        if turn.inbound.attachment and not turn.text:
            return [self.c.reply(turn.chat, "non_text", buttons=self.c.menu())]
        if not turn.text:
            return [self.c.reply(turn.chat, "unreadable")]
        if a.risk >= RiskLevel.HIGH:
            return await self._crisis(turn, a.risk)
        if turn.state.exercise is not None:
            if a.intent == "stop":
                return self._stop(turn)
            if a.risk < RiskLevel.MEDIUM:
                return self._exercise_turn(turn)
            turn.state = replace(turn.state, exercise=None, exercise_step=0)
        if a.intent == "third_party_concern":
            return self._third_party(turn)
        if a.risk >= RiskLevel.MEDIUM:
            if turn.state.recent_risk >= RiskLevel.HIGH and a.intent in ("deny", "affirm"):
                return self._step_back(turn)
            return self._support_medium(turn)
        if turn.state.pending is not None and a.intent in ("affirm", "deny"):
            return await self._answer_pending(turn, a.intent == "affirm")
        if a.intent in ("set_region",) or turn.state.pending == "region":
            region = self.signposts.resolve(turn.text)
            if region is not None:
                return self._set_region(turn, region)
            if a.intent == "set_region":
                return self._region_prompt(turn, unknown=True)
        return await self._intent(turn, a)

    async def _intent(self, turn: _Turn, a: Assessment) -> list[Reply]:
        chat = turn.chat
        match a.intent:
            case "greet":
                if not turn.state.notice_shown:
                    return [self.c.reply(chat, "menu_prompt", buttons=self.c.menu())]
                return [self.c.reply(chat, "greet_again", buttons=self.c.menu())]
            case "goodbye":
                return [self.c.reply(chat, "goodbye")]
            case "thanks":
                return [self.c.reply(chat, "thanks")]
            case "capabilities":
                return [self.c.reply(chat, "help", buttons=self.c.menu())]
            case "coping_request" | "mindfulness_request":
                return self._exercise_menu(turn)
            case "helplines_request":
                return self._helplines(turn)
            case "stop":
                return self._stop(turn)
            case "forget":
                return self._forget_confirm(turn)
            case "harassment":
                return [self.c.reply(chat, "harassment.private", buttons=self.c.menu())]
        # distress the assessor judged below medium ("this exam is killing me") gets everyday
        # support, not the severe-distress reply
        if a.risk >= RiskLevel.LOW or a.intent in ("venting", "acute_distress"):
            turn.state = replace(turn.state, pending="exercise:box")
            return [self.c.reply(chat, "support.low", buttons=self._exercise_buttons())]
        if a.intent in ("affirm", "deny"):
            return [self.c.reply(chat, "menu_prompt", buttons=self.c.menu())]
        return [self.c.reply(chat, "fallback", buttons=self.c.menu())]

    async def _command(self, turn: _Turn, name: str, arg: str) -> list[Reply]:
        chat = turn.chat
        match name:
            case "start":
                turn.state = replace(turn.state, notice_shown=False)
                return [self.c.reply(chat, "menu_prompt", buttons=self.c.menu())]
            case "help" | "menu":
                return [self.c.reply(chat, "help", buttons=self.c.menu())]
            case "helplines":
                return self._helplines(turn)
            case "region":
                if arg:
                    region = self.signposts.resolve(arg)
                    if region is None:
                        return self._region_prompt(turn, unknown=True)
                    return self._set_region(turn, region)
                return self._region_prompt(turn)
            case "regions":
                return self._country_picker(turn, arg)
            case "breathe" | "ground" | "exercise":
                key = COMMAND_ALIASES.get(name, arg)
                if key in self.exercises:
                    return self._start_exercise(turn, key)
                return self._exercise_menu(turn)
            case "exercises":
                return self._exercise_menu(turn)
            case "next":
                if turn.state.exercise is None:
                    return [self.c.reply(chat, "exercise.none_running", buttons=self.c.menu())]
                return self._exercise_turn(turn)
            case "stop" | "cancel":
                return self._stop(turn)
            case "feel":
                return self._feeling(turn, arg)
            case "forget":
                if arg == "yes":
                    return await self._forget(turn)
                if arg == "no":
                    turn.state = replace(turn.state, pending=None)
                    return [self.c.reply(chat, "forget.cancelled")]
                return self._forget_confirm(turn)
            case "human":
                return await self._human(turn)
            case "safe":
                return self._step_back(turn)
        return [self.c.reply(chat, "fallback", buttons=self.c.menu())]

    # pieces ---------------------------------------------------------------------------------
    async def _crisis(self, turn: _Turn, risk: RiskLevel) -> list[Reply]:
        region = self._region_guess(turn.inbound, turn.state)
        replies = self._crisis_replies(turn.inbound, risk, region)
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        told = await self._open_case(turn, risk)
        if told != "human.already":
            replies.append(self.c.reply(turn.chat, told, kind=ReplyKind.CRISIS))
        return replies

    def _support_medium(self, turn: _Turn) -> list[Reply]:
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
            self.c.button("buttons.breathe", "/breathe"),
        )
        turn.state = replace(turn.state, pending="human")
        return [self.c.reply(turn.chat, "support.medium", buttons=buttons)]

    def _step_back(self, turn: _Turn) -> list[Reply]:
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
        )
        return [self.c.reply(turn.chat, "crisis.step_back", buttons=buttons)]

    def _third_party(self, turn: _Turn) -> list[Reply]:
        region = self._region_guess(turn.inbound, turn.state)
        block = self.signposts.block(region, turn.inbound.received_at)
        return [
            self.c.reply(
                turn.chat,
                "third_party",
                extra=(block,),
                emergency=self.signposts.emergency(region),
                buttons=(self.c.button("buttons.region", "/region"),),
            )
        ]

    def _helplines(self, turn: _Turn) -> list[Reply]:
        region = self._region_guess(turn.inbound, turn.state)
        block = self.signposts.block(region, turn.inbound.received_at, asked=turn.text)
        replies = [
            self.c.reply(
                turn.chat,
                "crisis.lines_intro",
                extra=(block,),
                buttons=(self.c.button("buttons.region", "/region"),),
            )
        ]
        if turn.state.region is None and region is None:
            replies.extend(self._region_prompt(turn))
        return replies

    def _region_prompt(self, turn: _Turn, *, unknown: bool = False) -> list[Reply]:
        turn.state = replace(turn.state, pending="region")
        buttons = tuple(
            self.c.label_button(label, f"/regions {key}")
            for key, label in self.signposts.continents()
        )
        return [
            self.c.reply(turn.chat, "region.unknown" if unknown else "region.ask", buttons=buttons)
        ]

    def _country_picker(self, turn: _Turn, continent: str) -> list[Reply]:
        countries = self.signposts.countries(continent)
        if not countries:
            return self._region_prompt(turn)
        buttons = tuple(self.c.label_button(name, f"/region {code}") for code, name in countries)
        return [self.c.reply(turn.chat, "region.pick_country", buttons=buttons)]

    def _set_region(self, turn: _Turn, region: str) -> list[Reply]:
        turn.state = replace(turn.state, region=region, pending=None)
        name = self.signposts.region_name(region)
        block = self.signposts.block(region, turn.inbound.received_at)
        return [self.c.reply(turn.chat, "region.set", extra=(block,), region_name=name)]

    def _exercise_buttons(self) -> tuple[Button, ...]:
        return (
            self.c.button("buttons.breathe", "/breathe"),
            self.c.button("buttons.ground", "/ground"),
            self.c.button("buttons.exercises", "/exercises"),
        )

    def _exercise_menu(self, turn: _Turn) -> list[Reply]:
        buttons = tuple(
            self.c.label_button(ex.title, f"/exercise {key}") for key, ex in self.exercises.items()
        )
        return [self.c.reply(turn.chat, "support.coping_offer", buttons=buttons)]

    def _start_exercise(self, turn: _Turn, key: str) -> list[Reply]:
        turn.state = replace(turn.state, exercise=key, exercise_step=0, pending=None)
        return [self._step_reply(turn, key, 0)]

    def _step_reply(self, turn: _Turn, key: str, step: int) -> Reply:
        exercise = self.exercises[key]
        buttons = (self.c.button("buttons.next", "/next"), self.c.button("buttons.stop", "/stop"))
        text = exercise.steps[step]
        if step == 0:
            text = f"{exercise.title}\n\n{text}"
        return Reply(turn.chat, text, buttons)

    def _exercise_turn(self, turn: _Turn) -> list[Reply]:
        key = turn.state.exercise
        if key not in self.exercises:
            turn.state = replace(turn.state, exercise=None, exercise_step=0)
            return [self.c.reply(turn.chat, "exercise.none_running", buttons=self.c.menu())]
        assert key is not None
        word = turn.text.lower().strip(" .!") if turn.text else "next"
        moving_on = word in NEXT_WORDS or turn.assessment.intent == "affirm"
        if not moving_on and (turn.assessment.intent == "out_of_scope" or len(word.split()) > 3):
            return [self.c.reply(turn.chat, "exercise.hint")]
        step = turn.state.exercise_step + 1
        if step >= len(self.exercises[key].steps):
            turn.state = replace(turn.state, exercise=None, exercise_step=0, pending="feeling")
            buttons = tuple(self.c.button(f"buttons.{f}", f"/feel {f}") for f in FEELINGS)
            return [self.c.reply(turn.chat, "exercise.feeling", buttons=buttons)]
        turn.state = replace(turn.state, exercise_step=step)
        return [self._step_reply(turn, key, step)]

    def _feeling(self, turn: _Turn, how: str) -> list[Reply]:
        turn.state = replace(turn.state, pending=None)
        if how == "worse":
            region = self._region_guess(turn.inbound, turn.state)
            block = self.signposts.block(region, turn.inbound.received_at)
            buttons = (self.c.button("buttons.human", "/human"),)
            return [
                self.c.reply(turn.chat, "support.feeling_worse", extra=(block,), buttons=buttons)
            ]
        if how == "same":
            return [
                self.c.reply(turn.chat, "support.feeling_same", buttons=self._exercise_buttons())
            ]
        return [self.c.reply(turn.chat, "support.feeling_better")]

    def _stop(self, turn: _Turn) -> list[Reply]:
        if turn.state.exercise is None:
            turn.state = replace(turn.state, pending=None)
            return [self.c.reply(turn.chat, "exercise.none_running")]
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        return [self.c.reply(turn.chat, "exercise.stopped", buttons=self.c.menu())]

    def _forget_confirm(self, turn: _Turn) -> list[Reply]:
        turn.state = replace(turn.state, pending="forget")
        buttons = (
            self.c.button("buttons.yes_delete", "/forget yes"),
            self.c.button("buttons.no_keep", "/forget no"),
        )
        return [self.c.reply(turn.chat, "forget.confirm", buttons=buttons)]

    async def _forget(self, turn: _Turn) -> list[Reply]:
        try:
            await self.store.forget(turn.state.key)
        except Exception:
            log.exception("forget failed")
            return [self.c.reply(turn.chat, "forget.failed")]
        turn.forgotten = True
        return [self.c.reply(turn.chat, "forget.done")]

    async def _human(self, turn: _Turn) -> list[Reply]:
        region = self._region_guess(turn.inbound, turn.state)
        block = self.signposts.block(region, turn.inbound.received_at)
        turn.state = replace(turn.state, pending=None)
        if not self.cases.has_team(turn.chat.platform):
            return [self.c.reply(turn.chat, "human.no_team", extra=(block,))]
        risk = max(turn.state.recent_risk, RiskLevel.MEDIUM)
        told = await self._open_case(turn, risk)
        if told == "human.already":
            return [self.c.reply(turn.chat, "human.already")]
        if told == "crisis.no_team":
            return [self.c.reply(turn.chat, "human.no_team", extra=(block,))]
        return [self.c.reply(turn.chat, "human.requested", extra=(block,))]

    async def _answer_pending(self, turn: _Turn, yes: bool) -> list[Reply]:
        pending = turn.state.pending or ""
        turn.state = replace(turn.state, pending=None)
        if pending == "forget":
            return (
                await self._forget(turn) if yes else [self.c.reply(turn.chat, "forget.cancelled")]
            )
        if not yes:
            return [self.c.reply(turn.chat, "menu_prompt", buttons=self.c.menu())]
        if pending.startswith("exercise:") and pending[9:] in self.exercises:
            return self._start_exercise(turn, pending[9:])
        if pending == "human":
            return await self._human(turn)
        return [self.c.reply(turn.chat, "menu_prompt", buttons=self.c.menu())]


class _Turn:
    """The working state of one message being handled."""

    __slots__ = ("assessment", "forgotten", "inbound", "state", "text")

    def __init__(
        self,
        inbound: Inbound,
        text: str,
        assessment: Assessment,
        state: ConversationState,
    ) -> None:
        self.inbound = inbound
        self.text = text
        self.assessment = assessment
        self.state = state
        self.forgotten = False

    @property
    def chat(self) -> ChatRef:
        return self.inbound.chat


def _limitable(
    first: Assessment, command: tuple[str, str] | None, state: ConversationState
) -> bool:
    """Whether a private message counts towards the limit (and can be held back by it).

    Never a message at medium risk or above (someone in severe distress may type fast), a way
    to a person or to one's data, nor anything while the conversation still carries recent high
    risk: nobody in distress may be silenced by the limit.
    """
    if first.risk >= RiskLevel.MEDIUM or state.recent_risk >= RiskLevel.HIGH:
        return False
    return command is None or command[0] not in UNLIMITED_COMMANDS


def _quiet() -> Assessment:
    return Assessment(RiskLevel.NONE, "command", 1.0, ("command",))
