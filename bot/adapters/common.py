"""What every platform adapter shares: message splitting and a bounded memory."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

CRISIS_PATIENCE = 3  # a crisis reply retries this many times longer than any other message

K = TypeVar("K")
V = TypeVar("V")


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
