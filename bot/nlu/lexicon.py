"""The word lists the rules read, from `nlu/lexicon/*.yml`: one file per language, merged.

Each file (format in nlu/README.md, "Lexicon") names the words that let the rules in
`bot/nlu/rules.py` see a message's shape: negation and how far it reaches, first and third
person, people in general, clause and sentence breaks, quotation marks, recent time. A message
may mix languages, so the rules use the union of every file. `common.yml` holds punctuation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Words = list[str]


class LexiconError(ValueError):
    """A lexicon file is malformed (file, field and reason in the message)."""


class NegationWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # words or phrases ("no longer") that negate a statement starting at most `window` tokens
    # after them, in the same clause: "i don't want to die", "no quiero morir"
    before: Words = Field(default_factory=list)
    window: int = Field(default=0, ge=0, le=5)
    # pattern ids (or id prefixes such as "multi.") whose statements `before` can negate; empty:
    # any. Spanish "no" reaches only statements in other languages: "no kms", said in answer
    # to "are you safe?", is not a negation of "kms".
    reaches: Words = Field(default_factory=list)
    # particles that negate a statement when they sit inside it and its pattern does not spell
    # them: "je ne veux pas mourir", "ich will nicht sterben"
    inside: Words = Field(default_factory=list)
    # lemmas right after a negation that take it away from the statement ("can't stop ...")
    not_negating_next: Words = Field(default_factory=list)
    # fillers a negation belongs to ("not gonna lie, ..."), as the tokenizer splits them
    not_negating_fillers: Words = Field(default_factory=list)


class LanguageFile(BaseModel):
    """One `nlu/lexicon/<language>.yml`; every list is lower-case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1, le=1)
    language: str = Field(pattern=r"^[a-z]{2,3}$|^common$")
    description: str = ""
    negation: NegationWords = NegationWords()
    clause_breaks: Words = Field(default_factory=list)  # a new clause starts after these
    sentence_breaks: Words = Field(default_factory=list)  # ... and a new sentence
    quotes: Words = Field(default_factory=list)  # quotation marks (a song line, a title)
    about_words: Words = Field(default_factory=list)  # "a song about|called <statement>"
    recent_time: Words = Field(default_factory=list)  # "relapsed last night" stays recent
    first_person: Words = Field(default_factory=list)
    third_person: Words = Field(default_factory=list)  # he / she / they
    generic_people: Words = Field(default_factory=list)  # you, people, someone, god
    # a statement's subject when it is a thing, not a person ("this thread needs to die")
    thing_subjects: Words = Field(default_factory=list)
    # "who", "that": a subject that refers back ("a person who wants to die")
    relative_subjects: Words = Field(default_factory=list)
    # words skipped looking back from a statement for its subject ("may", "just", "does")
    subject_fillers: Words = Field(default_factory=list)
    # present-tense verb forms of someone else ("needs", "does"): "it needs to die"
    third_person_verbs: Words = Field(default_factory=list)
    # words that begin an object ("the", "a", "of"): "took a lot of work", "cut the heat"
    object_words: Words = Field(default_factory=list)
    # words that may follow a statement that must end its clause ("i've started again")
    closing_words: Words = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Every language file merged; `negations` keeps each language's words and reach apart."""

    negations: dict[str, NegationWords]  # language -> its negation words
    clause_breaks: frozenset[str]
    sentence_breaks: frozenset[str]
    quotes: frozenset[str]
    about_words: frozenset[str]
    recent_time: frozenset[str]
    first_person: frozenset[str]
    third_person: frozenset[str]
    generic_people: frozenset[str]
    thing_subjects: frozenset[str]
    relative_subjects: frozenset[str]
    subject_fillers: frozenset[str]
    third_person_verbs: frozenset[str]
    object_words: frozenset[str]
    closing_words: frozenset[str]
    negation_inside: frozenset[str]
    not_negating_next: frozenset[str]
    not_negating_fillers: tuple[tuple[str, ...], ...]

    def negation_reaches(self, language: str, pattern_id: str) -> bool:
        """Whether a language's `negation.before` words can negate the pattern `pattern_id`."""
        words = self.negations.get(language)
        return words is None or not words.reaches or pattern_id.startswith(tuple(words.reaches))


_WORD_LISTS = (
    "clause_breaks",
    "sentence_breaks",
    "quotes",
    "about_words",
    "recent_time",
    "first_person",
    "third_person",
    "generic_people",
    "thing_subjects",
    "subject_fillers",
    "relative_subjects",
    "third_person_verbs",
    "object_words",
    "closing_words",
)


def _read(path: Path) -> LanguageFile:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
        parsed = LanguageFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    if parsed.language != path.stem:
        raise LexiconError(f"{path}: language {parsed.language!r} differs from the file name")
    lists = [getattr(parsed, name) for name in _WORD_LISTS]
    lists += [parsed.negation.before, parsed.negation.inside]
    for words in lists:
        bad = [w for w in words if w != w.lower() or not w]
        if bad:
            raise LexiconError(f"{path}: words must be lower-case and not blank: {bad}")
    return parsed


def load_lexicon(lexicon_dir: Path) -> Lexicon:
    files = [_read(path) for path in sorted(lexicon_dir.glob("*.yml"))]
    if not any(f.language != "common" for f in files):
        raise LexiconError(f"{lexicon_dir}: no language files (expected e.g. en.yml)")

    def union(field: str) -> frozenset[str]:
        return frozenset(word for f in files for word in getattr(f, field))

    return Lexicon(
        negations={f.language: f.negation for f in files},
        clause_breaks=union("clause_breaks"),
        sentence_breaks=union("sentence_breaks"),
        quotes=union("quotes"),
        about_words=union("about_words"),
        recent_time=union("recent_time"),
        first_person=union("first_person"),
        third_person=union("third_person"),
        generic_people=union("generic_people"),
        thing_subjects=union("thing_subjects"),
        subject_fillers=union("subject_fillers"),
        relative_subjects=union("relative_subjects"),
        third_person_verbs=union("third_person_verbs"),
        object_words=union("object_words"),
        closing_words=union("closing_words"),
        negation_inside=frozenset(w for f in files for w in f.negation.inside),
        not_negating_next=frozenset(w for f in files for w in f.negation.not_negating_next),
        not_negating_fillers=tuple(
            tuple(filler.split()) for f in files for filler in f.negation.not_negating_fillers
        ),
    )
