"""The words services may use for `topics:` and `audiences:` (`vocabulary.yml`).

The same words are what people and the CLI filter by, so an unknown word is an error there, with
the valid ones listed, rather than a filter that silently matches everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.helplines.issues import from_validation_error
from bot.helplines.normalise import normalise
from bot.helplines.schema import Slug
from bot.helplines.yamlsafe import YamlFileError, load_yaml

FilterKind = Literal["topic", "audience"]


class UnknownFilterError(ValueError):
    """A topic or audience word that is not in `vocabulary.yml`."""

    def __init__(self, kind: FilterKind, word: str, valid: frozenset[str]) -> None:
        self.kind = kind
        self.word = word
        self.valid = tuple(sorted(valid))
        super().__init__(f"unknown {kind} {word!r}; use one of: {', '.join(self.valid)}")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a person asked for; every field optional. Build it with `Vocabulary.filters`, which
    checks the words."""

    topic: str | None = None
    audience: str | None = None
    language: str | None = None
    open_now: bool = False


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The allowed `topics:` and `audiences:` words; empty sets mean "not checked".

    `synonyms` maps what people type ("trans", "lgbt", "veteran") to a vocabulary word.
    """

    topics: frozenset[str] = frozenset()
    audiences: frozenset[str] = frozenset()
    synonyms: Mapping[str, str] = field(default_factory=dict)

    def check(self, kind: FilterKind, word: str | None) -> str | None:
        """The vocabulary word for `word` (a synonym is translated); raises if unknown."""
        if word is None:
            return None
        known = self.topics if kind == "topic" else self.audiences
        plain = normalise(word).replace(" ", "-")
        plain = self.synonyms.get(plain, plain)
        if known and plain not in known:
            raise UnknownFilterError(kind, word, known)
        return plain

    def filters(
        self,
        *,
        topic: str | None = None,
        audience: str | None = None,
        language: str | None = None,
        open_now: bool = False,
    ) -> Filters:
        """Checked filters; raises `UnknownFilterError` for a word not in the vocabulary."""
        return Filters(
            self.check("topic", topic),
            self.check("audience", audience),
            language.strip().lower() if language else None,
            open_now,
        )

    def word_in(self, text: str) -> tuple[FilterKind, str] | None:
        """The first topic or audience a message names ("a line for trans people" -> lgbtq)."""
        words = normalise(text).split()
        for size in (2, 1):
            for start in range(len(words) - size + 1):
                phrase = "-".join(words[start : start + size])
                found = self.synonyms.get(phrase, phrase)
                if found in self.audiences and found != "everyone":
                    return "audience", found
                if found in self.topics:
                    return "topic", found
        return None


class _VocabularyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: list[Slug]
    audiences: list[Slug]
    synonyms: dict[str, Slug] = {}


def load_vocabulary(path: Path) -> Vocabulary:
    """Allowed topic and audience words; a missing file means they are not checked."""
    if not path.exists():
        return Vocabulary()
    loaded = load_yaml(path)
    try:
        model = _VocabularyFile.model_validate(loaded.data)
    except ValidationError as exc:
        first = from_validation_error(loaded, exc)[0]
        raise YamlFileError(path, f"{first.field}: {first.message}", first.line) from exc
    topics, audiences = frozenset(model.topics), frozenset(model.audiences)
    synonyms = {normalise(key).replace(" ", "-"): word for key, word in model.synonyms.items()}
    for key, word in synonyms.items():
        if word not in topics | audiences:
            raise YamlFileError(path, f"synonyms: {key!r} names {word!r}, not a topic or audience")
    return Vocabulary(topics, audiences, synonyms)
