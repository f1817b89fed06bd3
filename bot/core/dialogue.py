"""The dialogue policy: one inbound message in, the replies to send out.

Risk is assessed first and the crisis reply is built before any database or network work, so it
goes out even when storage or a moderator ping fails. Then the conversation is loaded and the
command, the pending flow or the intent decides the rest. The core reaches storage and the
moderators only through its ports (`Conversations`, `CaseDesk`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.core.commands import CommandRegistry, parse_command
from bot.core.compose import Composer
from bot.core.exercises import COMMAND_ALIASES, Exercise, catalogue
from bot.core.limits import MessageLimiter, Verdict
from bot.core.messages import Button, ChatRef, Inbound, Outcome, Reply, ReplyKind
from bot.core.ports import CaseDesk, Conversations, HeldCase, NluEngine, Signposts
from bot.core.risk import RISK_FLOOR_TURNS, Assessment, RiskContext, RiskLevel
from bot.core.state import ConversationState, Flow
from bot.core.text_input import clean
from bot.core.texts import Texts

log = logging.getLogger(__name__)

NEXT_WORDS = {"next", "n", "ok", "okay", "done", "go", "continue", "k", "yes", "y", "ready"}
FEELINGS = ("better", "same", "worse")
OFFERED_EXERCISE = "box"  # what `support.low` offers to start on a "yes"

Answer = Callable[["Turn"], Awaitable[list[Reply] | None]]


@dataclass(frozen=True, slots=True)
class DialogueSettings:
    max_message_chars: int = 4000
    risk_floor_turns: int = RISK_FLOOR_TURNS
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class FlowAnswers:
    """What an answer means while a flow waits: `yes`/`no` (None: back to the menu) and
    `other` for any other message (returning None when the message is no answer)."""

    yes: Answer | None = None
    no: Answer | None = None
    other: Answer | None = None


@dataclass(frozen=True, slots=True)
class Lines:
    """The helplines for a person: the region guessed, its rendered block, its emergency no."""

    region: str | None
    block: str
    emergency: str


class Turn:
    """The working state of one message being handled."""

    __slots__ = ("assessment", "forgotten", "inbound", "state", "text")

    def __init__(
        self, inbound: Inbound, text: str, assessment: Assessment, state: ConversationState
    ) -> None:
        self.inbound = inbound
        self.text = text
        self.assessment = assessment
        self.state = state
        self.forgotten = False

    @property
    def chat(self) -> ChatRef:
        return self.inbound.chat


class Dialogue:
    def __init__(
        self,
        *,
        nlu: NluEngine,
        texts: Texts,
        composer: Composer,
        signposts: Signposts,
        conversations: Conversations,
        cases: CaseDesk,
        limiter: MessageLimiter,
        settings: DialogueSettings,
    ) -> None:
        self.nlu = nlu
        self.texts = texts
        self.c = composer
        self.signposts = signposts
        self.conversations = conversations
        self.cases = cases
        self.limiter = limiter
        self.settings = settings
        self.exercises: dict[str, Exercise] = catalogue(texts)
        self.commands = self._command_registry()
        self.flows: dict[Flow, FlowAnswers] = {
            Flow.EXERCISE_OFFERED: FlowAnswers(yes=self._start_offered),
            Flow.FEELING: FlowAnswers(),
            Flow.FORGET: FlowAnswers(yes=self._forget, no=self._forget_cancelled),
            Flow.HUMAN: FlowAnswers(yes=self._human),
            Flow.REGION: FlowAnswers(other=self._region_typed),
        }

    def _command_registry(self) -> CommandRegistry[Turn]:
        r: CommandRegistry[Turn] = CommandRegistry()
        r.add(self._cmd_start, "start")
        r.add(
            lambda turn, _: [self.c.reply(turn.chat, "help", buttons=self.c.menu())], "help", "menu"
        )
        r.add(self._cmd_region, "region")
        r.add(self._cmd_regions, "regions")
        r.add(self._cmd_exercise, "exercise")
        for alias, exercise in COMMAND_ALIASES.items():  # `/breathe` is `/exercise box`
            r.add(self._cmd_exercise, alias, argument=exercise)
        r.add(lambda turn, _: self._exercise_menu(turn), "exercises")
        r.add(self._cmd_next, "next")
        r.add(lambda turn, _: self._stop(turn), "stop", "cancel")
        r.add(self._cmd_feel, "feel")
        r.add(lambda turn, _: self._step_back(turn), "safe")
        # ways to a person or to one's own data: never limited, so the notice's buttons work
        r.add(lambda turn, _: self._helplines(turn), "helplines", unlimited=True)
        r.add(self._cmd_forget, "forget", unlimited=True)
        r.add(lambda turn, _: self._human(turn), "human", unlimited=True)
        return r

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
        if not inbound.is_private:
            return await self._group(inbound, text, first)
        provisional = (
            self._crisis_replies(inbound, first.risk, None) if first.risk >= RiskLevel.HIGH else []
        )

        # 2. the conversation
        key = f"{inbound.chat.platform}:{inbound.user}"
        try:
            state = await self.conversations.load_conversation(key)
        except Exception:
            log.exception("conversation load failed; answering without memory")
            if provisional:
                return Outcome(replies=tuple(provisional))
            return Outcome(replies=tuple(self._stateless(inbound, command, first)))

        held = await self._held_case(inbound, state)
        if held is not None and not (command and command[0] == "forget"):
            return await self._relay(inbound, held, text, first, state)

        # 3. the per-person limit, after the crisis and relay paths so it can never cut them off
        if self._limitable(first, command, state):
            verdict = await self.limiter.check(key, inbound.received_at)
            if verdict is Verdict.NOTICE:
                return Outcome(replies=(self._limit_notice(inbound, state),))
            if verdict is Verdict.SILENT:
                return Outcome()

        assessment = first
        if command is None and state.recent_risk > RiskLevel.NONE:
            assessment = self._assess(text, state.risk_context())
        turn = Turn(inbound, text, assessment, state)
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
                await self.conversations.save_conversation(turn.state)
            except Exception:
                log.exception("conversation save failed; replies still go out")
        return Outcome(replies=tuple(replies))

    def _assess(self, text: str, context: RiskContext | None) -> Assessment:
        try:
            return self.nlu.assess(text, context)
        except Exception as exc:  # an assessor must not fail, but if it does: count as high
            log.exception("assessment failed")
            return Assessment(RiskLevel.HIGH, "error", 0.0, (f"error:{type(exc).__name__}",))

    async def _held_case(self, inbound: Inbound, state: ConversationState) -> HeldCase | None:
        """The case a moderator holds for this conversation, adopting one raised in a group."""
        try:
            if state.open_case_id is None:
                adopted = await self.cases.adopt(state.key, inbound.chat)
                if adopted is not None:
                    state = replace(state, open_case_id=adopted)
                    await self.conversations.save_conversation(state)
            return await self.cases.claimed_case(state.open_case_id)
        except Exception:
            log.exception("case lookup failed")
            return None

    def _limitable(
        self, first: Assessment, command: tuple[str, str] | None, state: ConversationState
    ) -> bool:
        """Whether a private message counts towards the limit (and can be held back by it).

        Never a message at medium risk or above (someone in severe distress may type fast), a
        way to a person or to one's data, nor anything while the conversation still carries
        recent high risk: nobody in distress may be silenced by the limit.
        """
        if first.risk >= RiskLevel.MEDIUM or state.recent_risk >= RiskLevel.HIGH:
            return False
        return command is None or not self.commands.unlimited(command[0])

    # helplines ------------------------------------------------------------------------------
    def _region_guess(self, inbound: Inbound, state: ConversationState | None) -> str | None:
        if state is not None and state.region:
            return state.region
        if self.settings.default_region:
            return self.settings.default_region
        return self.signposts.from_locale(inbound.locale_hint)

    def _lines(
        self,
        inbound: Inbound,
        state: ConversationState | None,
        *,
        crisis: bool = False,
        asked: str = "",
    ) -> Lines:
        region = self._region_guess(inbound, state)
        block = self.signposts.block(region, inbound.received_at, crisis=crisis, asked=asked)
        return Lines(region, block, self.signposts.emergency(region))

    def _with_lines(
        self,
        inbound: Inbound,
        state: ConversationState | None,
        key: str,
        *,
        crisis: bool = False,
        asked: str = "",
        buttons: tuple[Button, ...] = (),
        kind: ReplyKind = ReplyKind.MESSAGE,
        **fields: object,
    ) -> Reply:
        """The reply `key` with the person's helpline block attached (the region guessed)."""
        lines = self._lines(inbound, state, crisis=crisis, asked=asked)
        return self.c.reply(
            inbound.chat,
            key,
            extra=(lines.block,),
            buttons=buttons,
            kind=kind,
            emergency=lines.emergency,
            **fields,
        )

    # crisis ---------------------------------------------------------------------------------
    def _crisis_replies(
        self, inbound: Inbound, risk: RiskLevel, state: ConversationState | None
    ) -> list[Reply]:
        lines = self._lines(inbound, state, crisis=True)
        critical = risk >= RiskLevel.CRITICAL
        extra = (self.texts.get("crisis.lines_intro"), lines.block) if critical else (lines.block,)
        buttons = [self.c.button("buttons.human", "/human")]
        if critical:
            buttons.insert(0, self.c.button("buttons.safe", "/safe"))
        if lines.region is None:
            buttons.append(self.c.button("buttons.region", "/region"))
        first = self.c.reply(
            inbound.chat,
            "crisis.critical" if critical else "crisis.high",
            extra=extra,
            buttons=tuple(buttons),
            kind=ReplyKind.CRISIS,
            emergency=lines.emergency,
        )
        return [first, self.c.reply(inbound.chat, "crisis.next_step", kind=ReplyKind.CRISIS)]

    async def _open_case(self, turn: Turn, risk: RiskLevel) -> str:
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
        case: HeldCase,
        text: str,
        first: Assessment,
        state: ConversationState,
    ) -> Outcome:
        replies: list[Reply] = []
        if first.risk >= RiskLevel.CRITICAL:
            safety_net = self._with_lines(
                inbound, state, "crisis.held_safety_net", crisis=True, kind=ReplyKind.CRISIS
            )
            replies.append(safety_net)
        shown = text or self.texts.get("non_text")
        try:
            await self.cases.relay_to_moderators(case, shown, inbound.received_at)
        except Exception:
            log.exception("relay to moderators failed")
        return Outcome(replies=tuple(replies))

    def _limit_notice(self, inbound: Inbound, state: ConversationState) -> Reply:
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
        )
        emergency = self.signposts.emergency(self._region_guess(inbound, state))
        return self.c.reply(inbound.chat, "limits.paused", buttons=buttons, emergency=emergency)

    # groups ---------------------------------------------------------------------------------
    async def _group(self, inbound: Inbound, text: str, first: Assessment) -> Outcome:
        community = inbound.community or inbound.chat.chat_id
        try:
            group = await self.conversations.group(inbound.chat.platform, community)
        except Exception:
            log.exception("group lookup failed")
            group = None
        if group is None or not group.watched:
            return Outcome()
        key = f"{inbound.chat.platform}:{inbound.user}"
        if first.risk >= RiskLevel.HIGH:
            # the person's own choice (made in a private chat) first, then the community's
            # default, then the bot's default or the locale
            try:
                own = (await self.conversations.load_conversation(key)).region
            except Exception:
                log.exception("conversation load failed; using the community's region")
                own = None
            region = own or group.default_region or self._region_guess(inbound, None)
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
                inbound, key, text, community, first.risk, group.default_region, "risk"
            )
            return Outcome(replies=(reply,))
        if first.intent == "harassment":
            # one person cannot flood the moderators' room with flags
            if await self.limiter.check(key, inbound.received_at) is not Verdict.ALLOW:
                return Outcome()
            await self._open_group_case(
                inbound, key, text, community, RiskLevel.NONE, None, "moderation"
            )
        return Outcome()

    async def _open_group_case(
        self,
        inbound: Inbound,
        key: str,
        text: str,
        community: str,
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
        self, inbound: Inbound, command: tuple[str, str] | None, first: Assessment
    ) -> list[Reply]:
        if first.risk >= RiskLevel.MEDIUM or (command and command[0] == "helplines"):
            return [self._with_lines(inbound, None, "support.medium")]
        return [self.c.reply(inbound.chat, "fallback", buttons=self.c.menu())]

    # the decision ---------------------------------------------------------------------------
    async def _decide(self, turn: Turn, command: tuple[str, str] | None) -> list[Reply]:
        if command is not None:
            answer = await self.commands.run(command[0], turn, command[1])
            return answer or [self.c.reply(turn.chat, "fallback", buttons=self.c.menu())]
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
            return [self._third_party(turn)]
        if a.risk >= RiskLevel.MEDIUM:
            if turn.state.recent_risk >= RiskLevel.HIGH and a.intent in ("deny", "affirm"):
                return self._step_back(turn)
            return self._support_medium(turn)
        answered = await self._answer_flow(turn)
        if answered is not None:
            return answered
        if a.intent == "set_region":
            region = self.signposts.resolve(turn.text)
            if region is not None:
                return self._set_region(turn, region)
            return self._region_prompt(turn, unknown=True)
        return self._intent(turn, a)

    async def _answer_flow(self, turn: Turn) -> list[Reply] | None:
        """The message as an answer to the pending flow's question, or None if it is none."""
        flow = turn.state.pending
        if flow is None:
            return None
        answers = self.flows.get(flow, FlowAnswers())
        if turn.assessment.intent in ("affirm", "deny"):
            turn.state = replace(turn.state, pending=None)
            handler = answers.yes if turn.assessment.intent == "affirm" else answers.no
            answer = await handler(turn) if handler is not None else None
            return answer or [self.c.reply(turn.chat, "menu_prompt", buttons=self.c.menu())]
        return await answers.other(turn) if answers.other is not None else None

    def _intent(self, turn: Turn, a: Assessment) -> list[Reply]:
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
            turn.state = replace(turn.state, pending=Flow.EXERCISE_OFFERED)
            return [self.c.reply(chat, "support.low", buttons=self._exercise_buttons())]
        if a.intent in ("affirm", "deny"):
            return [self.c.reply(chat, "menu_prompt", buttons=self.c.menu())]
        return [self.c.reply(chat, "fallback", buttons=self.c.menu())]

    # commands -------------------------------------------------------------------------------
    def _cmd_start(self, turn: Turn, arg: str) -> list[Reply]:
        turn.state = replace(turn.state, notice_shown=False)
        return [self.c.reply(turn.chat, "menu_prompt", buttons=self.c.menu())]

    def _cmd_region(self, turn: Turn, arg: str) -> list[Reply]:
        if not arg:
            return self._region_prompt(turn)
        region = self.signposts.resolve(arg)
        if region is None:
            return self._region_prompt(turn, unknown=True)
        return self._set_region(turn, region)

    def _cmd_regions(self, turn: Turn, continent: str) -> list[Reply]:
        countries = self.signposts.countries(continent)
        if not countries:
            return self._region_prompt(turn)
        buttons = tuple(self.c.label_button(name, f"/region {code}") for code, name in countries)
        return [self.c.reply(turn.chat, "region.pick_country", buttons=buttons)]

    def _cmd_exercise(self, turn: Turn, key: str) -> list[Reply]:
        if key in self.exercises:
            return self._start_exercise(turn, key)
        return self._exercise_menu(turn)

    def _cmd_next(self, turn: Turn, arg: str) -> list[Reply]:
        if turn.state.exercise is None:
            return [self.c.reply(turn.chat, "exercise.none_running", buttons=self.c.menu())]
        return self._exercise_turn(turn)

    def _cmd_feel(self, turn: Turn, how: str) -> list[Reply]:
        turn.state = replace(turn.state, pending=None)
        if how == "worse":
            buttons = (self.c.button("buttons.human", "/human"),)
            reply = self._with_lines(
                turn.inbound, turn.state, "support.feeling_worse", buttons=buttons
            )
            return [reply]
        if how == "same":
            return [
                self.c.reply(turn.chat, "support.feeling_same", buttons=self._exercise_buttons())
            ]
        return [self.c.reply(turn.chat, "support.feeling_better")]

    async def _cmd_forget(self, turn: Turn, arg: str) -> list[Reply]:
        if arg == "yes":
            return await self._forget(turn)
        if arg == "no":
            turn.state = replace(turn.state, pending=None)
            return await self._forget_cancelled(turn)
        return self._forget_confirm(turn)

    # flows ----------------------------------------------------------------------------------
    async def _crisis(self, turn: Turn, risk: RiskLevel) -> list[Reply]:
        replies = self._crisis_replies(turn.inbound, risk, turn.state)
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        told = await self._open_case(turn, risk)
        if told != "human.already":
            replies.append(self.c.reply(turn.chat, told, kind=ReplyKind.CRISIS))
        return replies

    def _support_medium(self, turn: Turn) -> list[Reply]:
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
            self.c.button("buttons.breathe", "/breathe"),
        )
        turn.state = replace(turn.state, pending=Flow.HUMAN)
        return [self.c.reply(turn.chat, "support.medium", buttons=buttons)]

    def _step_back(self, turn: Turn) -> list[Reply]:
        buttons = (
            self.c.button("buttons.helplines", "/helplines"),
            self.c.button("buttons.human", "/human"),
        )
        return [self.c.reply(turn.chat, "crisis.step_back", buttons=buttons)]

    def _third_party(self, turn: Turn) -> Reply:
        buttons = (self.c.button("buttons.region", "/region"),)
        return self._with_lines(turn.inbound, turn.state, "third_party", buttons=buttons)

    def _helplines(self, turn: Turn) -> list[Reply]:
        buttons = (self.c.button("buttons.region", "/region"),)
        replies = [
            self._with_lines(
                turn.inbound, turn.state, "crisis.lines_intro", asked=turn.text, buttons=buttons
            )
        ]
        if turn.state.region is None and self._region_guess(turn.inbound, turn.state) is None:
            replies.extend(self._region_prompt(turn))
        return replies

    def _region_prompt(self, turn: Turn, *, unknown: bool = False) -> list[Reply]:
        turn.state = replace(turn.state, pending=Flow.REGION)
        buttons = tuple(
            self.c.label_button(label, f"/regions {key}")
            for key, label in self.signposts.continents()
        )
        return [
            self.c.reply(turn.chat, "region.unknown" if unknown else "region.ask", buttons=buttons)
        ]

    async def _region_typed(self, turn: Turn) -> list[Reply] | None:
        region = self.signposts.resolve(turn.text)
        return self._set_region(turn, region) if region is not None else None

    def _set_region(self, turn: Turn, region: str) -> list[Reply]:
        turn.state = replace(turn.state, region=region, pending=None)
        name = self.signposts.region_name(region)
        return [self._with_lines(turn.inbound, turn.state, "region.set", region_name=name)]

    def _exercise_buttons(self) -> tuple[Button, ...]:
        return (
            self.c.button("buttons.breathe", "/breathe"),
            self.c.button("buttons.ground", "/ground"),
            self.c.button("buttons.exercises", "/exercises"),
        )

    def _exercise_menu(self, turn: Turn) -> list[Reply]:
        buttons = tuple(
            self.c.label_button(ex.title, f"/exercise {key}") for key, ex in self.exercises.items()
        )
        return [self.c.reply(turn.chat, "support.coping_offer", buttons=buttons)]

    async def _start_offered(self, turn: Turn) -> list[Reply] | None:
        if OFFERED_EXERCISE not in self.exercises:
            return None
        return self._start_exercise(turn, OFFERED_EXERCISE)

    def _start_exercise(self, turn: Turn, key: str) -> list[Reply]:
        turn.state = replace(turn.state, exercise=key, exercise_step=0, pending=None)
        return [self._step_reply(turn, key, 0)]

    def _step_reply(self, turn: Turn, key: str, step: int) -> Reply:
        exercise = self.exercises[key]
        buttons = (self.c.button("buttons.next", "/next"), self.c.button("buttons.stop", "/stop"))
        text = exercise.steps[step]
        if step == 0:
            text = f"{exercise.title}\n\n{text}"
        return Reply(turn.chat, text, buttons)

    def _exercise_turn(self, turn: Turn) -> list[Reply]:
        key = turn.state.exercise
        if key is None or key not in self.exercises:
            turn.state = replace(turn.state, exercise=None, exercise_step=0)
            return [self.c.reply(turn.chat, "exercise.none_running", buttons=self.c.menu())]
        word = turn.text.lower().strip(" .!") if turn.text else "next"
        moving_on = word in NEXT_WORDS or turn.assessment.intent == "affirm"
        if not moving_on and (turn.assessment.intent == "out_of_scope" or len(word.split()) > 3):
            return [self.c.reply(turn.chat, "exercise.hint")]
        step = turn.state.exercise_step + 1
        if step >= len(self.exercises[key].steps):
            turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=Flow.FEELING)
            buttons = tuple(self.c.button(f"buttons.{f}", f"/feel {f}") for f in FEELINGS)
            return [self.c.reply(turn.chat, "exercise.feeling", buttons=buttons)]
        turn.state = replace(turn.state, exercise_step=step)
        return [self._step_reply(turn, key, step)]

    def _stop(self, turn: Turn) -> list[Reply]:
        if turn.state.exercise is None:
            turn.state = replace(turn.state, pending=None)
            return [self.c.reply(turn.chat, "exercise.none_running")]
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        return [self.c.reply(turn.chat, "exercise.stopped", buttons=self.c.menu())]

    def _forget_confirm(self, turn: Turn) -> list[Reply]:
        turn.state = replace(turn.state, pending=Flow.FORGET)
        buttons = (
            self.c.button("buttons.yes_delete", "/forget yes"),
            self.c.button("buttons.no_keep", "/forget no"),
        )
        return [self.c.reply(turn.chat, "forget.confirm", buttons=buttons)]

    async def _forget_cancelled(self, turn: Turn) -> list[Reply]:
        return [self.c.reply(turn.chat, "forget.cancelled")]

    async def _forget(self, turn: Turn) -> list[Reply]:
        try:
            await self.conversations.forget(turn.state.key)
        except Exception:
            log.exception("forget failed")
            return [self.c.reply(turn.chat, "forget.failed")]
        turn.forgotten = True
        return [self.c.reply(turn.chat, "forget.done")]

    async def _human(self, turn: Turn) -> list[Reply]:
        turn.state = replace(turn.state, pending=None)
        if self.cases.has_team(turn.chat.platform):
            told = await self._open_case(turn, max(turn.state.recent_risk, RiskLevel.MEDIUM))
            if told == "human.already":
                return [self.c.reply(turn.chat, "human.already")]
            if told == "crisis.case_opened":
                return [self._with_lines(turn.inbound, turn.state, "human.requested")]
        return [self._with_lines(turn.inbound, turn.state, "human.no_team")]


def _quiet() -> Assessment:
    return Assessment(RiskLevel.NONE, "command", 1.0, ("command",))
