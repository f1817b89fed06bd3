"""A message's shape for the risk rules: clauses, sentences, quotations, told as a story.

The words that mark each (breaks, quotation marks, pronouns) come from the lexicon.
"""

from __future__ import annotations

from spacy.tokens import Doc

from bot.nlu.lexicon import Lexicon

# A long post told only in the third person ("she sat down. she had written a goodbye letter")
# is a story or a report about someone else: its statements are that person's, not the sender's.
NARRATIVE_MIN_TOKENS = 40
NARRATIVE_MIN_THIRD_PERSON = 3


def clauses(doc: Doc, lex: Lexicon) -> list[int]:
    ids, current = [], 0
    for tok in doc:
        if tok.lower_ in lex.clause_breaks or tok.text.count("\n"):
            current += 1
        ids.append(current)
    return ids


def sentences(doc: Doc, lex: Lexicon) -> list[int]:
    ids, current = [], 0
    for tok in doc:
        ids.append(current)
        if tok.text in lex.sentence_breaks or "\n" in tok.text:
            current += 1
    return ids


def outside_quotes(doc: Doc, lex: Lexicon) -> list[bool]:
    inside, out = False, []
    for tok in doc:
        if tok.text in lex.quotes:
            inside = not inside
            out.append(False)
            continue
        out.append(not inside)
    return out


def is_narrative(doc: Doc, lex: Lexicon) -> bool:
    """A long text that tells rather than asks: no first person and no question outside quotes,
    and a recurring he/she/they. A worried member's report ("she posted a goodbye, can a mod
    check on her?") asks something, so it stays third-party concern."""
    if len(doc) < NARRATIVE_MIN_TOKENS:
        return False
    outside = [tok for tok, out in zip(doc, outside_quotes(doc, lex), strict=True) if out]
    if any(tok.lower_ in lex.first_person or tok.text == "?" for tok in outside):
        return False
    third = sum(1 for tok in outside if tok.lower_ in lex.third_person)
    return third >= NARRATIVE_MIN_THIRD_PERSON


def sentence_words(doc: Doc, sentence: list[int]) -> dict[int, frozenset[str]]:
    words: dict[int, set[str]] = {}
    for tok, sid in zip(doc, sentence, strict=True):
        words.setdefault(sid, set()).add(tok.lower_)
    return {sid: frozenset(found) for sid, found in words.items()}
