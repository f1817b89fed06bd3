"""Cleaning what people send before anything reads it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_KEEP = {"\n", "\t"}


@dataclass(frozen=True, slots=True)
class CleanText:
    text: str
    truncated: bool


def clean(raw: str, limit: int) -> CleanText:
    """Drop control and format characters (keep newlines), trim, and cap the length."""
    if not raw:
        return CleanText("", False)
    truncated = len(raw) > limit
    head = raw[: limit * 2] if truncated else raw
    chars = [
        ch for ch in head if ch in _KEEP or unicodedata.category(ch)[0] != "C" or ch == "\u200d"
    ]
    text = "".join(chars).strip()
    if len(text) > limit:
        text, truncated = text[:limit], True
    return CleanText(text, truncated)
