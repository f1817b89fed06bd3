"""Typed answers understood from data, beside the classifier.

Where an answer is safety-critical ("no, I'm not safe", "I want a real person", something
already taken) the dialogue does not rely on the intent classifier alone: small lists of
patterns in `responses/<locale>/understand.yml` (`understand.<name>`, regular expressions
matched case-insensitively anywhere in the message) say what an answer means. The language
lists (`understand.languages.<code>`) are common words; a message with enough of one
language's words and few English ones is taken to be in that language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.texts import Texts

PREFIX = "understand."
LANGUAGE_PREFIX = "understand.languages."
MIN_LANGUAGE_WORDS = 2  # words of one language needed before a message counts as written in it
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _fold(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").casefold().split())


@dataclass(frozen=True, slots=True)
class Understanding:
    patterns: dict[str, tuple[re.Pattern[str], ...]]
    languages: dict[str, frozenset[str]]

    @classmethod
    def load(cls, texts: Texts) -> Understanding:
        patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
        languages: dict[str, frozenset[str]] = {}
        for key in texts.entries:
            if key.startswith(LANGUAGE_PREFIX):
                words = " ".join(texts.lines(key)).split()
                languages[key.removeprefix(LANGUAGE_PREFIX)] = frozenset(map(_fold, words))
            elif key.startswith(PREFIX):
                raw = texts.entries[key]
                items = (raw,) if isinstance(raw, str) else raw
                compiled = tuple(re.compile(item, re.IGNORECASE) for item in items)
                patterns[key.removeprefix(PREFIX)] = compiled
        return cls(patterns, languages)

    def means(self, name: str, text: str) -> bool:
        """Whether `text` says what the list `understand.<name>` stands for."""
        folded = _fold(text)
        return any(p.search(folded) for p in self.patterns.get(name, ()))

    def first(self, names: tuple[str, ...], text: str) -> str | None:
        return next((name for name in names if self.means(name, text)), None)

    def place(self, text: str) -> str | None:
        """The place named in "I'm in the UK" / "I actually live in Canada", if a phrase fits."""
        folded = _fold(text)
        for pattern in self.patterns.get("place_phrases", ()):
            found = pattern.search(folded)
            if found and found.groupdict().get("place"):
                return found.group("place").strip(" .!?,")
        return None

    def language(self, text: str) -> str | None:
        """The language of `text` when it is clearly not English, else None."""
        words = [_fold(w) for w in _WORD.findall(text)]
        if not words:
            return None
        english = sum(w in self.languages.get("en", frozenset()) for w in words)
        best, best_count = None, 0
        for code, vocabulary in self.languages.items():
            if code == "en":
                continue
            count = sum(w in vocabulary for w in words)
            if count > best_count:
                best, best_count = code, count
        needed = 1 if len(words) <= 2 else MIN_LANGUAGE_WORDS
        if best is None or best_count < needed or best_count <= english:
            return None
        return best
