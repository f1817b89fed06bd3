"""One fake of the core as adapters see it (`bot.core.ports.CoreFacade`).

It records what an adapter hands over and answers as told: `answer` None echoes the message
back (with `buttons`), a string is sent as the reply, an `Outcome` is returned as it is (also
to moderators). Admin commands are answered by the real `GroupAdmin` over in-memory storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.content import ContentPaths
from bot.core.commands import GroupAdmin
from bot.core.messages import Button, Inbound, ModeratorInbound, Outcome, Reply
from bot.core.ports import NoticeSink
from bot.core.texts import Texts
from tests.fakes.memory import InMemoryConversations, real_signposts


@dataclass
class FakeCore:
    answer: str | Outcome | None = None
    buttons: tuple[Button, ...] = ()
    pepper: bytes = b"test-pepper"
    texts: Texts = field(default_factory=lambda: Texts.load(ContentPaths.default().responses))
    inbound: list[Inbound] = field(default_factory=list)
    moderator: list[ModeratorInbound] = field(default_factory=list)
    admin: list[tuple[str, str, str]] = field(default_factory=list)
    threads: dict[str, str] = field(default_factory=dict)  # thread ref -> case id
    sinks: dict[str, NoticeSink] = field(default_factory=dict)
    groups: InMemoryConversations = field(default_factory=InMemoryConversations)
    inbox: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # None: handled

    async def handle(self, inbound: Inbound) -> Outcome:
        self.inbound.append(inbound)
        if isinstance(self.answer, Outcome):
            return self.answer
        text = self.answer or f"echo: {inbound.text or inbound.attachment or inbound.button}"
        return Outcome(replies=(Reply(inbound.chat, text, self.buttons),))

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome:
        self.moderator.append(event)
        return self.answer if isinstance(self.answer, Outcome) else Outcome()

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None:
        return self.threads.get(thread_ref)

    async def admin_command(self, platform: str, community: str, text: str) -> str:
        self.admin.append((platform, community, text))
        return await GroupAdmin(self.groups, self.texts, real_signposts()).answer(
            platform, community, text
        )

    async def moderator_command(self, platform: str, text: str, is_moderator: bool) -> str:
        self.admin.append((platform, "moderators", text))
        return f"desk: {text}" if is_moderator else self.texts.get("moderators.ack.not_moderator")

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None:
        self.sinks[sink.platform] = sink

    async def remember_thread(self, case_id: str, thread_ref: str) -> None:
        self.threads[thread_ref] = case_id

    # an in-memory inbox (the real one, in the store, is tested by the drills)
    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]:
        fresh = {i for i, _ in updates if i not in self.inbox}
        self.inbox.update({i: p for i, p in updates if i in fresh})
        return fresh

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, p) for i, p in self.inbox.items() if p is not None]

    async def inbox_done(self, platform: str, update_id: int) -> None:
        self.inbox[update_id] = None
