"""What every platform adapter shares: the core facade it calls and message splitting."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from bot.core.messages import Inbound, ModeratorInbound, Outcome
from bot.core.ports import NoticeSink
from bot.core.texts import Texts

WATCH_COMMAND = "/signpost_watch"  # a group/channel admin opts in or out of being watched
REGION_COMMAND = "/signpost_region"  # a group/channel admin sets the community's helpline region
ADMIN_COMMANDS = (WATCH_COMMAND, REGION_COMMAND)
WATCH_OFF_WORDS = frozenset({"off", "stop", "no", "0"})  # `/signpost_watch off`
CRISIS_PATIENCE = 3  # a crisis reply retries this many times longer than any other message

K = TypeVar("K")
V = TypeVar("V")


class CoreFacade(Protocol):
    """The part of `bot.app.App` an adapter uses."""

    pepper: bytes
    texts: Texts

    async def handle(self, inbound: Inbound) -> Outcome: ...

    async def handle_moderator(self, event: ModeratorInbound) -> Outcome: ...

    async def case_for_thread(self, platform: str, thread_ref: str) -> str | None: ...

    async def set_group_watch(self, platform: str, chat_id: str, enabled: bool) -> object: ...

    async def set_group_region(self, platform: str, chat_id: str, request: str) -> str: ...

    def register_sink(self, sink: NoticeSink, *, moderated: bool = True) -> None: ...

    async def remember_thread(self, case_id: str, thread_ref: str) -> None: ...

    async def inbox_record(
        self, platform: str, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> set[int]: ...

    async def inbox_pending(self, platform: str) -> list[tuple[int, dict[str, Any]]]: ...

    async def inbox_done(self, platform: str, update_id: int) -> None: ...


async def answer_admin_command(core: CoreFacade, platform: str, community: str, text: str) -> str:
    """Carry out an admin's `/signpost_watch [off]` or `/signpost_region [place | off]` for one
    community and return the answer to post. The adapter checks the permission first."""
    command, _, argument = text.partition(" ")
    if command == WATCH_COMMAND:
        enabled = argument.strip().lower() not in WATCH_OFF_WORDS
        await core.set_group_watch(platform, community, enabled)
        return core.texts.get("group.watch_on" if enabled else "group.watch_off")
    return await core.set_group_region(platform, community, argument)


def utf16_len(text: str) -> int:
    """Length as Telegram and Discord count it (UTF-16 code units: an emoji counts double)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` UTF-16 units, preferring paragraph, then
    line, then word boundaries so a helpline entry is not cut in half."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        window = rest[:limit]
        while utf16_len(window) > limit:
            window = window[:-1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:
            cut = len(window)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


class BoundedMap(OrderedDict[K, V]):
    """A dict that forgets its oldest entries beyond `limit`: a sink's memories only need to
    outlive a retry or a conversation, not the process."""

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self._limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self._limit:
            self.popitem(last=False)
