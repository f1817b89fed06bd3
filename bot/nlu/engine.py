"""The NLU engine: load or train the cached model, then assess messages.

Cache layout: `<cache_dir>/nlu-<key>/` with `model/` (spaCy pipeline) and `meta.json`. The key
hashes every file under `nlu/` plus CODE_VERSION and the spaCy version, so a changed example,
pattern or classifier code gets a new model and an old one is never used by mistake.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import spacy
from spacy.about import __version__ as spacy_version
from threadpoolctl import threadpool_limits

from bot.core.ports import NluEngine
from bot.core.risk import RiskLevel
from bot.nlu.assessor import Assessor
from bot.nlu.classifier import INTENT_PIPE, lookup_tagger, train_classifiers
from bot.nlu.data import Example, load_ordinary, load_training_data, risk_training_examples
from bot.nlu.encoder import Encoder, VectorCache, load_encoder
from bot.nlu.patterns import PatternMatcher, load_pattern_set
from bot.nlu.semantic import Labelled, SemanticRisk, refit
from bot.nlu.semantic import train as train_semantic
from bot.nlu.text import component, normalise

KEEP_MODELS = 3  # newest models kept in the cache; older ones are removed after training
CODE_VERSION = "nlu-10"  # bump when training or feature code changes what a model means
DEFAULT_SEED = 13
PATTERNS_FILE = "patterns.json"


class ModelMissingError(RuntimeError):
    """No trained model matches the current `nlu/` and training was not allowed."""


def content_key(nlu_dir: Path) -> str:
    digest = hashlib.sha256(f"{CODE_VERSION}|spacy {spacy_version}".encode())
    for path in sorted(
        p for p in nlu_dir.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".tsv")
    ):
        digest.update(str(path.relative_to(nlu_dir)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def model_dir(nlu_dir: Path, cache_dir: Path) -> Path:
    return cache_dir / f"nlu-{content_key(nlu_dir)}"


def train(nlu_dir: Path, cache_dir: Path, *, seed: int = DEFAULT_SEED) -> Path:
    """Train on all of `nlu/` into the cache; returns the model folder. Deterministic."""
    target = model_dir(nlu_dir, cache_dir)
    patterns = load_pattern_set(nlu_dir / "patterns")
    data = load_training_data(nlu_dir)
    nlp = train_classifiers(
        patterns.lemma_overrides,
        data.intents,
        risk_training_examples(data),
        seed=seed,
        lookups=data.lookups,
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    semantic, figures = train_risk_model(
        load_encoder(nlu_dir, cache_dir),
        risk_training_examples(data),
        load_ordinary(nlu_dir),
        cache_dir,
        seed,
    )
    tmp = Path(tempfile.mkdtemp(prefix=".training-", dir=cache_dir))
    try:
        nlp.to_disk(tmp / "model")
        semantic.save(tmp)
        # compiled patterns travel with the model: loading skips YAML parsing and compiling
        compiled = PatternMatcher(patterns, nlp).compiled
        (tmp / PATTERNS_FILE).write_text(json.dumps(compiled), encoding="utf-8")
        meta = {
            "key": target.name,
            "seed": seed,
            "code_version": CODE_VERSION,
            "intent_examples": len(data.intents),
            "risk_examples": len(data.risks),
            "semantic": figures,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "model").is_dir():
                raise
            # another process finished first: same key, same data, same model

    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    prune(cache_dir, keep=KEEP_MODELS, current=target)
    return target


def train_risk_model(
    encoder: Encoder,
    examples: list[Example],
    ordinary: tuple[str, ...],
    cache_dir: Path,
    seed: int,
    base: SemanticRisk | None = None,
) -> tuple[SemanticRisk, dict[str, float]]:
    """The calibrated semantic heads, from our own examples and real ordinary talk.

    With `base`, only the networks are fitted again (its calibration and thresholds kept).
    """
    items = [Labelled(normalise(e.text), RiskLevel.parse(e.label), e.family) for e in examples]
    items += [Labelled(normalise(t), RiskLevel.NONE, "ordinary", ordinary=True) for t in ordinary]
    cache = VectorCache(cache_dir / f"vectors-{encoder.key}.npz", encoder.dim)
    vectors = cache.encode(encoder, [i.text for i in items])
    if base is not None:
        return refit(base, vectors, items, seed=seed), {}
    return train_semantic(vectors, items, seed=seed)


def prune(cache_dir: Path, *, keep: int, current: Path | None = None) -> list[Path]:
    """Remove all but the `keep` most recently used models (every change to nlu/ adds one).

    A model's use time is its `meta.json` mtime, touched on each load; the current model is
    never removed. A process that already loaded a removed model keeps working (it is in memory).
    """
    models = sorted(
        (p for p in cache_dir.glob("nlu-*") if (p / "meta.json").is_file()),
        key=lambda p: (p / "meta.json").stat().st_mtime,
        reverse=True,
    )
    removed = []
    for old in models[keep:]:
        if current is not None and old.resolve() == current.resolve():
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def load_engine(nlu_dir: Path, cache_dir: Path, *, train_if_missing: bool = True) -> NluEngine:
    """The engine for the current `nlu/`: cached model if it matches, else train (if allowed)."""
    target = model_dir(nlu_dir, cache_dir)
    if not (target / "model").is_dir():
        if not train_if_missing:
            raise ModelMissingError(
                f"no NLU model for the current nlu/ in {cache_dir} (expected {target.name}); "
                "run `signpost nlu train`"
            )
        target = train(nlu_dir, cache_dir)
    return load_from(target, nlu_dir)


def load_from(target: Path, nlu_dir: Path) -> Assessor:
    # One message is a chain of small matrix products: one BLAS thread is faster than a pool
    # that wakes for each, and leaves the other core to the event loop and the database.
    threadpool_limits(limits=1, user_api="blas")
    nlp = spacy.load(target / "model")
    with contextlib.suppress(OSError):  # a read-only cache still works
        (target / "meta.json").touch()  # marks it in use, for prune()
    patterns = load_pattern_set(nlu_dir / "patterns")
    saved = target / PATTERNS_FILE
    compiled = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else None
    matcher = PatternMatcher(patterns, nlp, compiled)
    intents = tuple(component(nlp, INTENT_PIPE).labels)
    lookup_tagger(nlp)  # built now, so the first message does not wait for it
    encoder = load_encoder(nlu_dir, target.parent)
    return Assessor(nlp, matcher, intents, encoder, SemanticRisk.load(target))
