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

# Long messages are read whole, in overlapping windows of about what the encoder reads at once
# (256 word pieces); the highest window wins. A paste beyond ASSESS_CHARS (far above any
# platform's limit) is read at its head and its tail (a note often ends with the plan).
WINDOW_CHARS = 1000
ASSESS_CHARS = 60_000
ASSESS_TAIL_CHARS = 4000
CLASSIFIER_CHARS = 1500
# The encoder reads at most this many windows of one message (the first ones and the last
# two); patterns read every window. A platform's longest message (4,096 characters) is five.
ENCODED_WINDOWS = 8
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")

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


def windows(text: str) -> list[str]:
    """A message as overlapping windows of whole sentences, each at most about WINDOW_CHARS.

    Consecutive windows share one sentence, so a statement split across a boundary is still
    read with its neighbour. Short messages are one window.
    """
    if len(text) > ASSESS_CHARS:
        text = f"{text[: ASSESS_CHARS - ASSESS_TAIL_CHARS]}\n{text[-ASSESS_TAIL_CHARS:]}"
    if len(text) <= WINDOW_CHARS:
        return [text]
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > WINDOW_CHARS:  # one endless sentence: cut at a space
            cut = sentence.rfind(" ", WINDOW_CHARS // 2, WINDOW_CHARS)
            cut = cut if cut > 0 else WINDOW_CHARS
            sentences.append(sentence[:cut])
            sentence = sentence[cut:]
        if sentence.strip():
            sentences.append(sentence)
    out: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and sum(len(s) + 1 for s in current) + len(sentence) > WINDOW_CHARS:
            out.append(" ".join(current))
            current = [current[-1]] if len(current[-1]) + len(sentence) < WINDOW_CHARS else []
        current.append(sentence)
    if current:
        out.append(" ".join(current))
    return out or [text[:WINDOW_CHARS]]


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
