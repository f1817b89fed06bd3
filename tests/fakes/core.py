"""One fake of the core as adapters see it (`bot.core.ports.CoreFacade`).

It records what an adapter hands over and answers as told: `answer` None echoes the message
back (with `buttons`), a string is sent as the reply, an `Outcome` is returned as it is (also
to moderators). Admin commands are answered by the real `GroupAdmin` over in-memory storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
