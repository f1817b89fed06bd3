"""Commands: one registry in the core. Adapters only hand over the text (or a button's payload).

A person's commands (`/helplines`, `/forget yes`, a button replaying `/next`) are registered by
`Dialogue`; a community admin's (`/signpost_watch off`, `/signpost_region DE`) are answered by
`GroupAdmin` once the adapter has checked the sender may give them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.core.messages import Reply
from bot.core.ports import Conversations, Signposts
from bot.core.texts import Texts

T = TypeVar("T")
Handler = Callable[[T, str], "list[Reply] | Awaitable[list[Reply]]"]

WATCH_COMMAND = "signpost_watch"  # a group/channel admin opts in or out of being watched
REGION_COMMAND = "signpost_region"  # a group/channel admin sets the community's helpline region
WATCH_OFF_WORDS = frozenset({"off", "stop", "no", "0"})  # `/signpost_watch off`
REGION_OFF_WORDS = frozenset({"off", "clear", "none", "reset"})  # not "no": that is Norway


def parse_command(text: str) -> tuple[str, str] | None:
    """`/region de` → ("region", "de"); `/start@SignpostBot` → ("start", "")."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name.replace("_", "").isalnum():
        return None
    return name, rest.strip()


def is_admin_command(text: str) -> bool:
    """Whether a group message is a community admin's command (the adapter checks rights)."""
    command = parse_command(text)
    return command is not None and command[0] in (WATCH_COMMAND, REGION_COMMAND)


@dataclass(frozen=True, slots=True)
class Command(Generic[T]):
    """`run(turn, argument)` answers the command; `unlimited` ones (ways to a person or to
    one's own data) are never held back by the per-person message limit; an alias may fix the
    `argument` (`/breathe` is `/exercise box`)."""

    run: Handler[T]
    unlimited: bool = False
    argument: str | None = None


class CommandRegistry(Generic[T]):
    """Command names to handlers. `T` is the handler's working state (the dialogue's turn)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command[T]] = {}

    def add(
        self,
        handler: Handler[T],
        *names: str,
        unlimited: bool = False,
        argument: str | None = None,
    ) -> None:
        for name in names:
            self._commands[name] = Command(handler, unlimited, argument)

    async def run(self, name: str, turn: T, argument: str) -> list[Reply] | None:
        """The command's replies; None for a command nobody registered."""
        command = self._commands.get(name)
        if command is None:
            return None
        answer = command.run(turn, argument if command.argument is None else command.argument)
        return await answer if inspect.isawaitable(answer) else answer

    def unlimited(self, name: str) -> bool:
        command = self._commands.get(name)
        return command is not None and command.unlimited

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._commands)


class GroupAdmin:
    """A community admin's commands, answered with the sentence to post in the group."""

    def __init__(self, conversations: Conversations, texts: Texts, signposts: Signposts) -> None:
        self.conversations = conversations
        self.texts = texts
        self.signposts = signposts

    async def answer(self, platform: str, community: str, text: str) -> str:
        """`/signpost_watch [off]` or `/signpost_region [place | off]` for one community."""
        name, argument = parse_command(text) or ("", "")
        if name == WATCH_COMMAND:
            enabled = argument.lower() not in WATCH_OFF_WORDS
            await self.conversations.set_group_watch(platform, community, enabled)
            return self.texts.get("group.watch_on" if enabled else "group.watch_off")
        return await self._region(platform, community, argument)

    async def _region(self, platform: str, community: str, wanted: str) -> str:
        """With no place, what is set now; `off` clears it; else the place is resolved as people
        type it ("UK", "España", "DE"). An unknown place changes nothing."""
        if not wanted:
            group = await self.conversations.group(platform, community)
            current = group.default_region if group is not None else None
            if current is None:
                return self.texts.get("group.region_none")
            return self.texts.get("group.region_current", region_name=self._label(current))
        if wanted.lower() in REGION_OFF_WORDS:
            await self.conversations.set_group_region(platform, community, None)
            return self.texts.get("group.region_cleared")
        region = self.signposts.resolve(wanted)
        if region is None:
            return self.texts.get("group.region_unknown")
        await self.conversations.set_group_region(platform, community, region)
        return self.texts.get("group.region_set", region_name=self._label(region))

    def _label(self, code: str) -> str:
        """A region's name; the bare code for a country the directory has no file for (its
        helplines are the international page with that country's emergency number)."""
        return self.signposts.region_name(code) if self.signposts.known(code) else code
