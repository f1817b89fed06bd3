"""Lookup tables as classifier features, as Rasa's RegexFeaturizer uses them.

A lookup table (`nlu/lookups/<name>.yml`, Rasa `lookup:` items) lists words or phrases of one
kind: places, greetings, yes-words. A message that contains one gets the feature token
`__lk_<name>`, and `__lkall_<name>` when such phrases are all it says ("berlin", "ciao!",
"yes please"). The classifier then learns from the *kind* of word, so a city or a greeting in
a language it never saw in training still counts: "i'm in tromsø" is a set_region message like
"i'm in leeds".

Matching is on whole tokens of the normalised text without punctuation, longest phrase first,
so "new york" is one place, "york" inside "new yorker" is not matched, and "st. louis" or
"stoke-on-trent" match however they are punctuated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from spacy.tokens import Doc, Span

FEATURE_PREFIX: Final = "__lk_"
WHOLE_PREFIX: Final = "__lkall_"
MAX_PHRASE_TOKENS: Final = 5
# Words that may surround a lookup phrase in a message that is "only" that phrase.
_FILLER: Final = frozenset(
    {"the", "a", "in", "im", "i'm", "i", "am", "'m", "from", "to", "and", "so", "just", "pls"}
)


def tokenize_tables(
    tables: Mapping[str, Iterable[str]], tokenize: Callable[[str], Doc]
) -> dict[str, list[list[str]]]:
    """`{name: phrases}` -> `{name: sorted token lists}`, done once at training and saved with
    the model, so loading a model does not tokenize thousands of phrases again."""
    out: dict[str, list[list[str]]] = {}
    for name, phrases in sorted(tables.items()):
        keys = {_words(tokenize(phrase)) for phrase in phrases}
        out[name] = sorted(list(k) for k in keys if k and len(k) <= MAX_PHRASE_TOKENS)
    return out


class LookupTagger:
    """Finds lookup phrases in a doc; built once per model from `tokenize_tables` output."""

    def __init__(self, tables: Mapping[str, Iterable[Sequence[str]]]) -> None:
        self._phrases: dict[tuple[str, ...], set[str]] = {}
        for name, phrases in tables.items():
            for words in phrases:
                self._phrases.setdefault(tuple(words), set()).add(name)
        self._longest = max((len(k) for k in self._phrases), default=0)

    def features(self, doc: Doc | Span) -> list[str]:
        words = list(_words(doc))
        found: dict[str, None] = {}
        covered = [False] * len(words)
        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                names = self._phrases.get(tuple(words[i : i + size]))
                if names:
                    found.update(dict.fromkeys(sorted(names)))
                    covered[i : i + size] = [True] * size
                    i += size
                    break
            else:
                i += 1
        if not found:
            return []
        out = [f"{FEATURE_PREFIX}{name}" for name in found]
        if all(c or w in _FILLER for c, w in zip(covered, words, strict=True)):
            out.extend(f"{WHOLE_PREFIX}{name}" for name in found)
        return out


def _words(doc: Doc | Span) -> tuple[str, ...]:
    """Lower-case words without punctuation, for phrases and messages alike ("st. louis")."""
    return tuple(tok.lower_ for tok in doc if not (tok.is_punct or tok.is_space))
