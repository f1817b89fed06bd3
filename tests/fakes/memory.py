"""In-memory implementations of the core's ports, and one that always fails.

`InMemoryConversations` and `InMemoryCaseDesk` behave like `Store` and `CaseService` as the
dialogue sees them, so dialogue tests run without a database; `Broken` stands for a storage or
moderators' side that is down. `dialogue_on_fakes` wires a real `Dialogue` onto them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from bot.content import ContentPaths
from bot.core.compose import Composer
from bot.core.dialogue import Dialogue, DialogueSettings
from bot.core.identity import pseudonymise
from bot.core.limits import MessageLimit, MessageLimiter
from bot.core.messages import ChatRef, Inbound, Outcome
from bot.core.ports import GroupSettings, HeldCase, NluEngine, Signposts
from bot.core.risk import RiskLevel
from bot.core.signing import PayloadSigner
from bot.core.state import ConversationState
from bot.core.texts import Texts

ROOT = Path(__file__).resolve().parents[2]


class InMemoryConversations:
    """The `Conversations` port (and the `MessageCounter`) in dicts."""

    def __init__(self) -> None:
        self.states: dict[str, ConversationState] = {}
        self.groups: dict[tuple[str, str], GroupSettings] = {}
        self.counts: dict[str, tuple[int, datetime]] = {}

    async def load_conversation(self, key: str) -> ConversationState:
        return self.states.get(key) or ConversationState(key=key)

    async def save_conversation(self, state: ConversationState) -> None:
        self.states[state.key] = state

    async def forget(self, key: str) -> int:
        return int(self.states.pop(key, None) is not None) + int(
            self.counts.pop(key, None) is not None
        )

    async def group(self, platform: str, chat_id: str) -> GroupSettings | None:
        return self.groups.get((platform, chat_id))

    async def set_group_watch(self, platform: str, chat_id: str, watched: bool) -> None:
        current = self.groups.get((platform, chat_id), GroupSettings())
        self.groups[(platform, chat_id)] = replace(current, watched=watched)

    async def set_group_region(self, platform: str, chat_id: str, region: str | None) -> None:
        current = self.groups.get((platform, chat_id), GroupSettings())
        self.groups[(platform, chat_id)] = replace(current, default_region=region)

    async def count_message(self, key: str, at: datetime, window: timedelta) -> int:
        count, ends = self.counts.get(key, (0, at))
        count, ends = (count + 1, ends) if ends > at else (1, at + window)
        self.counts[key] = (count, ends)
        return count


@dataclass
class OpenedCase:
    conversation_key: str
    chat: ChatRef
    risk: RiskLevel
    text: str
    region: str | None
    community: str | None
    kind: str
    in_group: bool
    status: str = "pinged"
    relayed: list[str] = field(default_factory=list)


class InMemoryCaseDesk:
    """The `CaseDesk` port: cases in a dict; `claim` plays a moderator pressing Claim."""

    def __init__(self, *platforms: str) -> None:
        self.platforms = set(platforms)
        self.cases: dict[str, OpenedCase] = {}

    def has_team(self, platform: str) -> bool:
        return platform in self.platforms

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
        if not self.has_team(chat.platform):
            return None
        case_id = secrets.token_hex(5)
        self.cases[case_id] = OpenedCase(
            conversation_key, chat, risk, text, region, community, kind, in_group
        )
        return case_id

    async def adopt(self, conversation_key: str, chat: ChatRef) -> str | None:
        for case_id, case in self.cases.items():
            if case.conversation_key == conversation_key and case.in_group and case.kind == "risk":
                case.in_group, case.chat = False, chat
                return case_id
        return None

    async def claimed_case(self, case_id: str | None) -> HeldCase | None:
        case = self.cases.get(case_id or "")
        if case is None or case.status != "claimed":
            return None
        return HeldCase(case_id or "", case.chat.platform)

    async def relay_to_moderators(self, case: HeldCase, text: str, received_at: datetime) -> None:
        self.cases[case.id].relayed.append(text)

    def claim(self, case_id: str) -> None:
        self.cases[case_id].status = "claimed"


class Broken(InMemoryConversations, InMemoryCaseDesk):
    """Storage and the moderators' side both down: every call raises (a team is configured, so
    the dialogue tries to open cases)."""

    def __init__(self) -> None:
        InMemoryConversations.__init__(self)
        InMemoryCaseDesk.__init__(self, "console", "telegram", "discord")

    def __getattribute__(self, name: str) -> object:
        attribute = object.__getattribute__(self, name)
        if name in _PORT_CALLS:

            async def fail(*_args: object, **_kwargs: object) -> object:
                raise ConnectionError("database down")

            return fail
        return attribute


_PORT_CALLS = frozenset(
    {
        "load_conversation",
        "save_conversation",
        "forget",
        "group",
        "set_group_watch",
        "set_group_region",
        "count_message",
        "open",
        "adopt",
        "claimed_case",
        "relay_to_moderators",
    }
)


@cache
def real_signposts() -> Signposts:
    """The real helpline directory over resources/ (loaded once per test run)."""
    from bot.helplines.directory import HelplineDirectory
    from bot.signposts import DirectorySignposts

    content = ContentPaths(ROOT)
    texts = Texts.load(content.responses, "en")
    return DirectorySignposts(HelplineDirectory.load(content.helplines), texts)


@dataclass
class DialogueOnFakes:
    """A real `Dialogue` over the in-memory ports: what a dialogue test drives."""

    dialogue: Dialogue
    conversations: InMemoryConversations
    desk: InMemoryCaseDesk
    pepper: bytes = b"test-pepper"

    @property
    def texts(self) -> Texts:
        return self.dialogue.texts

    @property
    def composer(self) -> Composer:
        return self.dialogue.c

    @property
    def signposts(self) -> Signposts:
        return self.dialogue.signposts

    async def handle(self, inbound: Inbound) -> Outcome:
        return await self.dialogue.handle(inbound)

    def person(self, name: str = "alice", platform: str = "console") -> Person:
        return Person(ChatRef(platform, f"chat-{name}"), pseudonymise(self.pepper, platform, name))


@dataclass(frozen=True)
class Person:
    """Someone writing to the bot: `say("hi")` builds the Inbound."""

    chat: ChatRef
    user: str

    @property
    def key(self) -> str:
        return f"{self.chat.platform}:{self.user}"

    def __call__(self, text: str = "", *, button: str | None = None, **kw: object) -> Inbound:
        return Inbound(self.chat, self.user, text, datetime.now(UTC), button=button, **kw)  # type: ignore[arg-type]


def dialogue_on_fakes(
    nlu: NluEngine,
    *,
    conversations: InMemoryConversations | None = None,
    desk: InMemoryCaseDesk | None = None,
    limit: MessageLimit | None = None,
) -> DialogueOnFakes:
    content = ContentPaths(ROOT)
    texts = Texts.load(content.responses, "en")
    composer = Composer(texts, PayloadSigner(b"test-secret:buttons"))
    conversations = conversations if conversations is not None else InMemoryConversations()
    desk = desk if desk is not None else InMemoryCaseDesk()
    dialogue = Dialogue(
        nlu=nlu,
        texts=texts,
        composer=composer,
        signposts=real_signposts(),
        conversations=conversations,
        cases=desk,
        limiter=MessageLimiter(conversations, limit or MessageLimit()),
        settings=DialogueSettings(),
    )
    return DialogueOnFakes(dialogue, conversations, desk)
