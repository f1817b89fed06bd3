"""Curated risk patterns from `nlu/patterns/*.yml`, compiled into one spaCy Matcher.

The YAML format is documented in `nlu/README.md`. A phrase like `"want|wanna to? die"` is
compact syntax: space-separated slots, `a|b` alternatives, `x?` optional, `*` / `*3` up to one /
three tokens of anything, `=word` exact lower-case form instead of the lemma, `re:REGEX` a
regular expression on the lower-case form, `a_b` a multi-word alternative
("be_alive|live"). Each alternative is run through the same tokenizer
and lemmatizer as messages, so "wanna" or "can't" match however spaCy splits them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.core.risk import RiskLevel
from bot.nlu.lexicon import Lexicon, LexiconError, load_lexicon
from bot.nlu.text import component

MAX_EXPANSIONS = 256
# libyaml's safe loader when PyYAML was built with it (about 10x faster: pattern files are read
# on every model load); the same safe subset of YAML either way
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PatternError(ValueError):
    """A pattern file is malformed (file, pattern id and reason in the message)."""


class Kind(StrEnum):
    EXPLICIT = "explicit"  # a first-person statement of risk at `level`
    SLANG = "slang"  # the same, in slang or coded words ("kms", "unalive", "sewerslide")
    BURDEN = "burden"  # feeling a burden / others better off (high by design)
    SELF_HARM = "self_harm"  # self-harm urge, intent or act
    DISTRESS = "distress"  # low / medium cues the classifier may miss
    METHOD = "method"  # a method or means; raises a self-risk statement to critical
    INTENT = "intent"  # "going to", "planning to": with a method it is a plan (critical)
    TIMING = "timing"  # "tonight", "right now": raises a self-risk statement to critical
    ATTEMPT = "attempt"  # an attempt in progress ("already took"): critical on its own
    NEGATION = "negation"  # "i would never", "not": demotes a statement right after it
    PAST = "past"  # "used to", "years ago": demotes a statement in the same clause
    IDIOM = "idiom"  # exception: "this homework is killing me" cancels what it overlaps
    GAMING = "gaming"  # game talk: cancels ambiguous kill/die statements in the message
    TOPIC = "topic"  # an essay, the news, a film: cancels ambiguous statements in the message
    LYRICS = "lyrics"  # a song being quoted: cancels what it overlaps / marks the message
    LAUGHTER = "laughter"  # "lol", "💀": with a trivial trigger, high slang/explicit -> low
    TRIVIAL = "trivial"  # "exam", "meeting": the other half of that hyperbole rule
    THIRD_PARTY = "third_party"  # someone else at risk ("my friend wants to die")
    HARASSMENT = "harassment"  # telling someone else to kill themselves ("kys")
    MINIMISING = "minimising"  # "i'm fine", "you misunderstood", "jk" (used with context)
    SH_TERM = "sh_term"  # self-harm vocabulary: several distinct ones + "i"/"my" -> medium


STATEMENT_KINDS = frozenset({Kind.EXPLICIT, Kind.SLANG, Kind.BURDEN, Kind.SELF_HARM, Kind.DISTRESS})
EXCEPTION_KINDS = frozenset({Kind.IDIOM, Kind.LYRICS})


class PatternSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    kind: Kind
    level: Literal["none", "low", "medium", "high", "critical"] = "none"
    attr: Literal["lemma", "lower"] = "lemma"
    ambiguous: bool = False  # a game or a quoted song elsewhere in the message cancels it
    # an exclamation ("kill me now", "kms") about a trivial thing in the same sentence is
    # hyperbole even without a laughter marker: "kill me now, a 3 hour meeting" -> low
    exclamation: bool = False
    person: Literal["self", "any"] = "any"  # "any": a third-party subject before it wins
    # what may follow the phrase: "clause_end" (only the end of its clause: "i've started." but
    # not "i've started my vacation"), "no_object" (not an object: "need to cut" but not "need
    # to cut the heat"); the words are the lexicon's `closing_words` and `object_words`
    after: Literal["any", "clause_end", "no_object"] = "any"
    description: str = ""
    phrases: list[str] = Field(default_factory=list)
    tokens: list[list[dict[str, Any]]] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)  # must match (checked by tests)
    counter_examples: list[str] = Field(default_factory=list)  # must not match

    @field_validator("phrases")
    @classmethod
    def _phrases_not_blank(cls, value: list[str]) -> list[str]:
        if any(not phrase.strip() for phrase in value):
            raise ValueError("empty phrase")
        return value

    @property
    def risk(self) -> RiskLevel:
        return RiskLevel.parse(self.level)


class PatternFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    description: str = ""
    lemma_overrides: dict[str, str] = Field(default_factory=dict)
    patterns: list[PatternSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PatternSet:
    specs: dict[str, PatternSpec]
    lemma_overrides: dict[str, str]
    lexicon: Lexicon


@dataclass(frozen=True, slots=True)
class Hit:
    spec: PatternSpec
    start: int
    end: int


def negation_id(language: str) -> str:
    """The pattern id under which a language's lexicon negation words are matched."""
    return f"negation.{language}"


def _negation_specs(lexicon: Lexicon) -> list[PatternSpec]:
    """Each language's `negation.before` words as one lower-case negation pattern."""
    return [
        PatternSpec(
            id=negation_id(language),
            kind=Kind.NEGATION,
            attr="lower",
            description=f"negation words from nlu/lexicon/{language}.yml",
            phrases=list(words.before),
        )
        for language, words in lexicon.negations.items()
        if words.before
    ]


def load_pattern_set(patterns_dir: Path, lexicon_dir: Path | None = None) -> PatternSet:
    """Pattern files plus the lexicon (default: `lexicon/` beside `patterns_dir`)."""
    specs: dict[str, PatternSpec] = {}
    overrides: dict[str, str] = {}
    for path in sorted(patterns_dir.glob("*.yml")):
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
            parsed = PatternFile.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            raise PatternError(f"{path}: {exc}") from exc
        overrides.update(parsed.lemma_overrides)
        for spec in parsed.patterns:
            if spec.id in specs:
                raise PatternError(f"{path}: pattern id {spec.id!r} defined twice")
            if not spec.phrases and not spec.tokens:
                raise PatternError(f"{path}: {spec.id}: needs phrases or tokens")
            specs[spec.id] = spec
    try:
        lexicon = load_lexicon(lexicon_dir or patterns_dir.parent / "lexicon")
    except LexiconError as exc:
        raise PatternError(str(exc)) from exc
    for spec in _negation_specs(lexicon):
        if spec.id in specs:
            raise PatternError(f"{patterns_dir}: pattern id {spec.id!r} is the lexicon's")
        specs[spec.id] = spec
    return PatternSet(specs, overrides, lexicon)


def _analyse(text: str, nlp: Language) -> list[tuple[str, str]]:
    """(lower, lemma) per token, as messages get them: tokenizer + lookup table (no full pipe)."""
    table = component(nlp, "lemmatizer").lookups.get_table("lemma_lookup")
    return [(tok.lower_, table.get(tok.text, tok.text)) for tok in nlp.tokenizer(text)]


def _slot_alternatives(
    slot: str, attr: str, nlp: Language
) -> tuple[list[list[dict[str, Any]]], str | None]:
    """One phrase slot -> alternatives (each a list of token specs) and an OP for the slot."""
    op: str | None = None
    if slot.startswith("*"):
        count = slot[1:] or "1"
        return [[{"OP": f"{{0,{int(count)}}}"}]], None
    if slot.endswith("?") and len(slot) > 1 and not slot.startswith("re:"):
        slot, op = slot[:-1], "?"
    singles: dict[str, list[str]] = {}
    multis: list[list[dict[str, Any]]] = []
    for alt in slot.split("|"):
        if alt.startswith("re:"):
            multis.append([{"LOWER": {"REGEX": f"^(?:{alt[3:]})$"}}])
            continue
        key = "LOWER" if alt.startswith("=") or attr == "lower" else "LEMMA"
        words = _analyse(alt.lstrip("=").replace("_", " "), nlp)
        values = [lower if key == "LOWER" else lemma for lower, lemma in words]
        if len(values) == 1:
            singles.setdefault(key, []).append(values[0])
        else:
            multis.append([{key: value} for value in values])
    alternatives: list[list[dict[str, Any]]] = [
        [{key: {"IN": sorted(set(values))}}] for key, values in singles.items()
    ]
    alternatives.extend(multis)
    if op is not None:
        if any(len(alt) > 1 for alt in alternatives):
            alternatives.append([])  # optional multi-token slot: expand to "absent" as well
        else:
            alternatives = [[{**alt[0], "OP": "?"}] for alt in alternatives]
    return alternatives, op


def compile_phrase(phrase: str, attr: str, nlp: Language) -> Iterator[list[dict[str, Any]]]:
    slots = [_slot_alternatives(slot, attr, nlp)[0] for slot in phrase.split()]
    count = 1
    for slot in slots:
        count *= len(slot)
    if count > MAX_EXPANSIONS:
        raise PatternError(f"phrase {phrase!r} expands to {count} patterns; split it")
    for combo in itertools.product(*slots):
        pattern = [spec for part in combo for spec in part]
        # a pattern made only of optional slots would match nothing at all: skip it
        if any(spec.get("OP") in (None, "+") for spec in pattern):
            yield pattern


def _compile_all(
    pattern_set: PatternSet, nlp: Language
) -> dict[str, list[list[list[dict[str, Any]]]]]:
    """Phrases -> Matcher token patterns, per pattern id and phrase (saved with the model)."""
    out: dict[str, list[list[list[dict[str, Any]]]]] = {}
    for spec in pattern_set.specs.values():
        try:
            groups = [list(compile_phrase(phrase, spec.attr, nlp)) for phrase in spec.phrases]
        except (ValueError, KeyError, re.error) as exc:
            raise PatternError(f"{spec.id}: {exc}") from exc
        groups.extend([pattern] for pattern in spec.tokens)
        out[spec.id] = groups
    return out


# Words so common that indexing a pattern under them would select it for nearly every message.
_COMMON = frozenset(
    {
        "i",
        "be",
        "to",
        "the",
        "a",
        "an",
        "my",
        "me",
        "it",
        "you",
        "not",
        "and",
        "of",
        "in",
        "on",
        "at",
        "do",
        "have",
        "that",
        "this",
        "so",
        "just",
        "for",
        "'m",
        "m",
        "'s",
        "with",
        "is",
        "are",
        "was",
        "will",
        "would",
        "can",
        "no",
    }
)


def _slot_values(token: dict[str, Any]) -> set[tuple[str, str]] | None:
    """(attr, value) pairs a required token can match, or None when it cannot be indexed."""
    if token.get("OP") not in (None, "+"):
        return None
    for attr in ("LEMMA", "LOWER"):
        value = token.get(attr)
        if isinstance(value, str):
            return {(attr, value)}
        if isinstance(value, dict) and isinstance(value.get("IN"), list):
            return {(attr, str(v)) for v in value["IN"]}
    return None


def _anchor(pattern: list[dict[str, Any]]) -> set[tuple[str, str]] | None:
    """The most selective required slot: a message without any of its values cannot match."""
    slots = [v for v in (_slot_values(tok) for tok in pattern) if v]
    if not slots:
        return None
    return min(slots, key=lambda vals: (sum(v in _COMMON for _, v in vals) > 0, len(vals)))


class PatternMatcher:
    """Pattern files compiled into one spaCy Matcher per phrase, behind a word index.

    spaCy's Matcher tries every pattern at every token, which costs milliseconds with a
    thousand patterns. Each phrase is indexed under its most selective required word, and a
    message only runs the phrases whose required words it all contains (plus the few that
    cannot be indexed, such as regex-only phrases).
    """

    def __init__(
        self,
        pattern_set: PatternSet,
        nlp: Language,
        compiled: dict[str, list[list[list[dict[str, Any]]]]] | None = None,
    ) -> None:
        self._specs = pattern_set.specs
        self.lexicon = pattern_set.lexicon  # the rules read it with the hits
        # one Matcher per phrase: a message runs only the phrases whose anchor words it has
        self._groups: list[tuple[PatternSpec, Matcher]] = []
        # per group, per pattern: the word sets its required slots need (all of them present)
        self._needs: list[list[list[frozenset[int]]]] = []
        self._strings = nlp.vocab.strings
        self._index: dict[int, set[int]] = {}  # key: _key(attr, word)
        self._always: set[int] = set()
        self.compiled = compiled if compiled is not None else _compile_all(pattern_set, nlp)
        for spec in pattern_set.specs.values():
            try:
                for group in self.compiled[spec.id]:
                    if group:
                        self._add_group(spec, group, nlp)
            except (ValueError, KeyError, re.error) as exc:
                raise PatternError(f"{spec.id}: {exc}") from exc

    def _add_group(
        self, spec: PatternSpec, compiled: list[list[dict[str, Any]]], nlp: Language
    ) -> None:
        matcher = Matcher(nlp.vocab)
        matcher.add(spec.id, compiled)
        group = len(self._groups)
        self._groups.append((spec, matcher))
        needs = {
            tuple(
                frozenset(self._key(attr, word) for attr, word in values)
                for values in (_slot_values(t) for t in pattern)
                if values
            )
            for pattern in compiled
        }
        self._needs.append([list(n) for n in needs])
        for pattern in compiled:
            anchor = _anchor(pattern)
            if anchor is None:
                self._always.add(group)
            for attr, word in anchor or ():
                self._index.setdefault(self._key(attr, word), set()).add(group)

    def _key(self, attr: str, word: str) -> int:
        """Lemma and lower-case hashes share one key space: lower-case keys are negated."""
        value = int(self._strings.add(word))
        return value if attr == "LEMMA" else -value - 1

    def candidates(self, doc: Doc) -> list[int]:
        """Groups whose every required word is in the message (a cheap necessary condition)."""
        table = doc.to_array([LEMMA, LOWER])
        keys = set(table[:, 0].tolist())
        keys.update(-v - 1 for v in table[:, 1].tolist())
        found = set(self._always)
        index = self._index
        for key in keys:
            ids = index.get(key)
            if ids:
                found |= ids
        return [
            group
            for group in sorted(found)
            if any(
                all(not need.isdisjoint(keys) for need in pattern) for pattern in self._needs[group]
            )
        ]

    def find(self, doc: Doc) -> list[Hit]:
        hits = []
        seen: set[tuple[str, int, int]] = set()
        for group in self.candidates(doc):
            spec, matcher = self._groups[group]
            for _, start, end in matcher(doc):
                if (spec.id, start, end) not in seen:
                    seen.add((spec.id, start, end))
                    hits.append(Hit(spec, start, end))
        return hits
