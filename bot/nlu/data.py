"""Training data in Rasa 3.x NLU YAML: `nlu/intents/<intent>.yml` and `nlu/risk/<level>.yml`.

Only the parts we use are read: `intent` + `examples` (entity annotations are stripped to their
text) and `lookup` tables (`nlu/lookups/`, classifier features, see `bot/nlu/lookups.py`);
`synonym` and `regex` blocks are validated and kept for maintainers' tools.
The held-out split is a hash of the normalised text, so it is stable across machines and runs
and a sentence written twice always lands on the same side.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bot.core.risk import RiskLevel
from bot.nlu.text import normalise

RISK_PREFIX = "risk_"
HELD_OUT_BUCKETS = 5  # one bucket in five (20 %) is held out for evaluation
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")

# Intents whose examples are also risk "none" examples for the risk classifier: ordinary chat
# teaches it what not to flag. venting is everyday distress, so "low".
RISK_FROM_INTENT: dict[str, RiskLevel] = {
    **{
        name: RiskLevel.NONE
        for name in (
            "greet",
            "goodbye",
            "thanks",
            "capabilities",
            "mindfulness_request",
            "set_region",
            "stop",
            "forget",
            "affirm",
            "deny",
            "out_of_scope",
            "harassment",
            "bot_identity",
            "privacy_question",
            "human_request",
            "insult",
            "other_language",
        )
    },
    "venting": RiskLevel.LOW,
}


class NluDataError(ValueError):
    """A training-data file is malformed (file and reason in the message)."""


class NluItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str | None = None
    synonym: str | None = None
    lookup: str | None = None
    regex: str | None = None
    examples: str | list[str]
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> NluItem:
        kinds = [k for k in (self.intent, self.synonym, self.lookup, self.regex) if k is not None]
        if len(kinds) != 1:
            raise ValueError("each item needs exactly one of intent / synonym / lookup / regex")
        return self

    def lines(self) -> list[str]:
        raw = self.examples if isinstance(self.examples, list) else self.examples.splitlines()
        out = []
        for line in raw:
            line = line.strip()
            if line.startswith("- "):
                line = line[2:].strip()
            elif line == "-":
                continue
            if line:
                out.append(_ENTITY.sub(r"\1", line))
        return out


class NluFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    nlu: list[NluItem] = []


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str  # intent name, or the risk level label for risk examples
    source: str  # relative file path, for reports

    @property
    def family(self) -> str:
        """The file stem: a level (`risk/high.yml`) or a family (`risk/families/goodbye.yml`)."""
        return Path(self.source).stem


@dataclass(frozen=True, slots=True)
class TrainingData:
    intents: tuple[Example, ...]
    risks: tuple[Example, ...]
    synonyms: dict[str, str]
    lookups: dict[str, tuple[str, ...]]  # lookup table name -> phrases (classifier features)


def _read(path: Path) -> NluFile:
    try:
        return NluFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
        raise NluDataError(f"{path}: {exc}") from exc


def load_training_data(nlu_dir: Path) -> TrainingData:
    intents: list[Example] = []
    risks: list[Example] = []
    synonyms: dict[str, str] = {}
    lookups: dict[str, list[str]] = {}
    for folder, is_risk in (("intents", False), ("risk", True), ("lookups", False)):
        # risk examples may sit in family folders (nlu/risk/families/<family>.yml): the family
        # is the file's stem, so evaluation can leave one family out
        pattern = "**/*.yml" if is_risk else "*.yml"
        for path in sorted((nlu_dir / folder).glob(pattern)):
            rel = str(path.relative_to(nlu_dir))
            for item in _read(path).nlu:
                if item.synonym is not None:
                    synonyms.update({line.lower(): item.synonym for line in item.lines()})
                if item.lookup is not None:
                    lookups.setdefault(item.lookup, []).extend(item.lines())
                if item.intent is None:
                    continue
                if is_risk:
                    if not item.intent.startswith(RISK_PREFIX):
                        raise NluDataError(f"{path}: risk intents are named risk_<level>")
                    try:
                        label = RiskLevel.parse(item.intent[len(RISK_PREFIX) :]).label
                    except ValueError as exc:
                        raise NluDataError(f"{path}: {exc}") from exc
                    risks.extend(Example(t, label, rel) for t in item.lines())
                else:
                    intents.extend(Example(t, item.intent, rel) for t in item.lines())
    tables = {name: tuple(dict.fromkeys(lines)) for name, lines in sorted(lookups.items())}
    return TrainingData(tuple(intents), tuple(risks), synonyms, tables)


def risk_training_examples(data: TrainingData) -> list[Example]:
    """Risk examples plus ordinary-chat intent examples mapped through RISK_FROM_INTENT."""
    extra = [
        Example(e.text, RISK_FROM_INTENT[e.label].label, e.source)
        for e in data.intents
        if e.label in RISK_FROM_INTENT
    ]
    return [*data.risks, *extra]


def load_ordinary(nlu_dir: Path) -> tuple[str, ...]:
    """Real ordinary talk (`nlu/corpora/*.tsv`, first column): silver "none" for the risk model.

    Lines starting with `#` are comments. See `nlu/corpora/README.md` for where it comes from.
    """
    texts: list[str] = []
    for path in sorted((nlu_dir / "corpora").glob("*.tsv")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise NluDataError(f"{path}: {exc}") from exc
        texts.extend(
            line.split("\t", 1)[0] for line in lines if line.strip() and not line.startswith("#")
        )
    return tuple(dict.fromkeys(texts))


def is_held_out(text: str) -> bool:
    digest = hashlib.sha256(normalise(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % HELD_OUT_BUCKETS == 0


def split(examples: list[Example] | tuple[Example, ...]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not is_held_out(e.text)]
    held = [e for e in examples if is_held_out(e.text)]
    return train, held
