"""Text clean-up before anything else sees a message, and the shared spaCy pipeline.

Every path (patterns, classifier, training) goes through `normalise` and `build_nlp`, so what
the model was trained on is exactly what it sees at run time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import spacy
from spacy.language import Language

# Long messages: the classifier only needs the gist, patterns want both ends (a note often ends
# with the plan). Keeping the head and tail bounds the work for a 1 MB paste.
PATTERN_HEAD_CHARS = 4000
PATTERN_TAIL_CHARS = 2000
CLASSIFIER_CHARS = 1500

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd\u200b-\u200f\u2060\ufeff]+")
_SPACES = re.compile(r"[ \t]+")
# Digits and symbols used as letters ("k1ll", "su1c1de", "d!e") only inside words that also
# contain letters, so "I died 5 times" keeps its number.
_LEET_WORD = re.compile(
    r"\b(?=\w*[a-z])[a-z0-9@$!*]*[0-9@$!*][a-z0-9@$!*]*[a-z0-9]\b|\b[a-z]+[0-9@$]\b"
)
_LEET = str.maketrans(
    {
        "1": "i",
        "3": "e",
        "0": "o",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "*": "i",
    }
)
# Letters stretched for emphasis ("pleeeease", "dieeee") collapse to two, which the patterns
# and the lookup lemmatizer then handle with one spelling.
_STRETCH = re.compile(r"([a-z])\1{2,}")
# "kill my self" -> "kill myself", but "my self harm" / "my self-esteem" keep their noun
_MY_SELF = re.compile(r"\bmy\s+self\b(?!\s*-|\s+(?:harm|harming|injury|esteem|worth|care|image))")


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.isdigit() or re.fullmatch(r"\d+(st|nd|rd|th|s|am|pm|k|m|x)", word):
        return word
    return word.translate(_LEET)


def normalise(text: str) -> str:
    """Lower-case, NFKC, strip control characters, undo simple leetspeak and stretching."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("i\u0307", "i")  # Turkish capital İ lower-cases to i + combining dot
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _LEET_WORD.sub(_unleet, text)
    text = _STRETCH.sub(r"\1\1", text)
    text = _MY_SELF.sub("myself", text)
    return text.strip()


def clip_for_patterns(text: str) -> str:
    if len(text) <= PATTERN_HEAD_CHARS + PATTERN_TAIL_CHARS:
        return text
    return f"{text[:PATTERN_HEAD_CHARS]}\n{text[-PATTERN_TAIL_CHARS:]}"


def clip_for_classifier(text: str) -> str:
    return text[:CLASSIFIER_CHARS]


def build_nlp(lemma_overrides: Mapping[str, str]) -> Language:
    """Blank English tokenizer + lookup lemmatizer (tables from spacy-lookups-data, offline)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    apply_lemma_overrides(nlp, lemma_overrides)
    return nlp


def apply_lemma_overrides(nlp: Language, overrides: Mapping[str, str]) -> None:
    """Fix lookup-table lemmas that collide with risk words ("dying" -> "dye", "kms" -> "km")."""
    table = component(nlp, "lemmatizer").lookups.get_table("lemma_lookup")
    for word, lemma in overrides.items():
        table[word] = lemma


def component(nlp: Language, name: str) -> Any:
    """A pipeline component by name (spaCy types them as plain callables)."""
    return nlp.get_pipe(name)
