"""The trained part: two spaCy text classifiers (intent, risk) sharing one tokenizer.

Both are bag-of-n-grams models (spacy.TextCatBOW.v3): small, fast on one core, and
deterministic with a fixed seed. They learn from `nlu/intents` and `nlu/risk`; the patterns
handle what needs rules (negation, idioms, escalation), the classifiers fill the gaps.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example as SpacyExample
from thinc.api import fix_random_seed

from bot.core.risk import RiskLevel
from bot.nlu.data import Example
from bot.nlu.lookups import LookupTagger, tokenize_tables
from bot.nlu.text import apply_lemma_overrides, build_nlp, component, normalise

INTENT_PIPE = "intent"
RISK_PIPE = "risk"
RISK_LABELS = tuple(level.label for level in RiskLevel)
EPOCHS = 12
BATCH_SIZE = 32
MAX_FEATURE_TOKENS = 400
DROPOUT = 0.2
LOOKUPS_META = "signpost_lookups"  # tokenized lookup tables travel in the model's meta.json
# Classifier-only decision: the highest level whose cumulative probability P(risk >= level)
# reaches its threshold. Lower thresholds for high favour recall, as the design asks.
RISK_THRESHOLDS: Mapping[RiskLevel, float] = {
    RiskLevel.LOW: 0.5,
    RiskLevel.MEDIUM: 0.5,
    RiskLevel.HIGH: 0.3,  # chosen on a validation bucket of the training split, not held-out
    RiskLevel.CRITICAL: 0.35,
}


def _bow(ngram_size: int) -> dict[str, object]:
    return {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "ngram_size": ngram_size,
        "no_output_layer": False,
        "length": 2**16,
    }


def build(lemma_overrides: Mapping[str, str]) -> Language:
    nlp = build_nlp(lemma_overrides)
    nlp.add_pipe("textcat", name=INTENT_PIPE, config={"model": _bow(2)})
    nlp.add_pipe("textcat", name=RISK_PIPE, config={"model": _bow(3)})
    return nlp


def analyse(nlp: Language, text: str) -> Doc:
    """Tokenizer + lookup lemmas only: what the patterns see (the classifiers run separately)."""
    lemmatized: Doc = component(nlp, "lemmatizer")(nlp.make_doc(text))
    return lemmatized


_taggers: weakref.WeakKeyDictionary[Language, LookupTagger] = weakref.WeakKeyDictionary()


def lookup_tagger(nlp: Language) -> LookupTagger:
    """The model's lookup tables (saved with it at training), compiled once per loaded model."""
    tagger = _taggers.get(nlp)
    if tagger is None:
        tagger = LookupTagger(nlp.meta.get(LOOKUPS_META) or {})
        _taggers[nlp] = tagger
    return tagger


def feature_doc(doc: Doc, tagger: LookupTagger | None = None) -> Doc:
    """What the classifiers see: message-shape tokens, lemmas, then character 3-grams of each word.

    spaCy's bag-of-n-grams model hashes token texts, so handing it lemmas and word pieces
    lets it generalise to spellings and words it never saw ("suicidel", "wana", "yass"). The
    shape tokens (length bucket, first and last word, a question mark) help short replies:
    "ciao" alone is a greeting or a goodbye by where it stands, "why not?" is a yes. Lookup
    features (`bot/nlu/lookups.py`) follow the length bucket, so "short + a place" is a bigram.
    """
    words = [tok.lemma_ or tok.lower_ for tok in doc[:MAX_FEATURE_TOKENS]]
    if not words:
        return Doc(doc.vocab, words=["|"])
    content = [w for w in words if w.strip()] or words
    shape = [
        _length_bucket(len(content)),
        *(tagger.features(doc[:MAX_FEATURE_TOKENS]) if tagger else ()),
        f"__first_{content[0]}",
        f"__last_{content[-1]}",
    ]
    if any(tok.text == "?" for tok in doc[:MAX_FEATURE_TOKENS]):
        shape.append("__question")
    pieces: list[str] = []
    for tok in doc[:MAX_FEATURE_TOKENS]:
        if not (tok.is_punct or tok.is_space):
            pieces.extend(_trigrams(tok.lower_))
    return Doc(doc.vocab, words=[*shape, "|", *words, "|", *pieces])


def _length_bucket(n: int) -> str:
    return f"__len{n if n < 4 else 4 if n < 8 else 8 if n < 16 else 16}"


@lru_cache(maxsize=65536)
def _trigrams(word: str) -> tuple[str, ...]:
    padded = f"<{word}>"
    return tuple(f"#{padded[i : i + 3]}" for i in range(len(padded) - 2))


def classify(nlp: Language, docs: list[Doc]) -> list[Doc]:
    tagger = lookup_tagger(nlp)
    feats = [feature_doc(doc, tagger) for doc in docs]
    for name in (INTENT_PIPE, RISK_PIPE):
        feats = list(component(nlp, name).pipe(feats, batch_size=256))
    for doc, feat in zip(docs, feats, strict=True):
        doc.cats = feat.cats
    return docs


def _examples(nlp: Language, data: Iterable[Example], labels: Sequence[str]) -> list[SpacyExample]:
    tagger = lookup_tagger(nlp)
    out = []
    for ex in data:
        doc = feature_doc(analyse(nlp, normalise(ex.text)), tagger)
        out.append(
            SpacyExample.from_dict(doc, {"cats": {lb: float(lb == ex.label) for lb in labels}})
        )
    return out


def train_classifiers(
    lemma_overrides: Mapping[str, str],
    intent_data: Sequence[Example],
    risk_data: Sequence[Example],
    *,
    seed: int,
    lookups: Mapping[str, Sequence[str]] | None = None,
    epochs: int = EPOCHS,
) -> Language:
    """Train both classifiers from scratch; same data + seed -> same weights."""
    fix_random_seed(seed)
    rng = random.Random(seed)
    intents = sorted({e.label for e in intent_data})
    nlp = build(lemma_overrides)
    nlp.meta[LOOKUPS_META] = tokenize_tables(
        lookups or {}, lambda phrase: nlp.make_doc(normalise(phrase))
    )
    intent_examples = _examples(nlp, intent_data, intents)
    risk_examples = _examples(nlp, risk_data, RISK_LABELS)
    # Labels per component: without them each textcat would take every label it sees.
    nlp.config["initialize"]["components"] = {
        INTENT_PIPE: {"labels": intents},
        RISK_PIPE: {"labels": list(RISK_LABELS)},
    }
    optimizer = nlp.initialize(lambda: [*intent_examples[:50], *risk_examples[:50]])
    apply_lemma_overrides(nlp, lemma_overrides)  # initialize() reloaded the stock tables
    for _ in range(epochs):
        for pipe, examples in ((INTENT_PIPE, intent_examples), (RISK_PIPE, risk_examples)):
            rng.shuffle(examples)
            other = [name for name in (INTENT_PIPE, RISK_PIPE) if name != pipe]
            for start in range(0, len(examples), BATCH_SIZE):
                batch = examples[start : start + BATCH_SIZE]
                nlp.update(batch, sgd=optimizer, drop=DROPOUT, exclude=other)
    return nlp


def risk_from_scores(cats: Mapping[str, float]) -> tuple[RiskLevel, float]:
    """Classifier risk level and P(risk >= that level)."""
    chosen, chosen_p = RiskLevel.NONE, 1.0
    cumulative = 0.0
    for level in sorted(RiskLevel, reverse=True):
        cumulative += cats.get(level.label, 0.0)
        if level != RiskLevel.NONE and cumulative >= RISK_THRESHOLDS[level]:
            return level, cumulative
    return chosen, chosen_p


def load_model(path: str) -> Language:
    return spacy.load(path)
