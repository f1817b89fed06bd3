"""Lookup tables (nlu/lookups/) become classifier features: the kind of word, not the word."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import spacy

from bot.nlu.classifier import LOOKUPS_META, feature_doc, lookup_tagger
from bot.nlu.data import load_training_data
from bot.nlu.lookups import LookupTagger, tokenize_tables
from bot.nlu.text import normalise

ROOT = Path(__file__).resolve().parents[2]
NLP = spacy.blank("en")
TABLES = {
    "place": ["new york", "leeds", "são paulo", "sao paulo", "graz", "st. louis", "stoke-on-trent"],
    "greeting": ["hi", "ciao", "good morning"],
    "farewell": ["ciao", "bye"],
}


def features(text: str, tables: dict[str, list[str]] = TABLES) -> list[str]:
    tagger = LookupTagger(tokenize_tables(tables, lambda p: NLP.make_doc(normalise(p))))
    return tagger.features(NLP.make_doc(normalise(text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i'm in leeds", ["__lk_place", "__lkall_place"]),
        ("New York!", ["__lk_place", "__lkall_place"]),
        ("São Paulo", ["__lk_place", "__lkall_place"]),
        ("st louis", ["__lk_place", "__lkall_place"]),
        ("i live in stoke on trent now", ["__lk_place"]),
        ("leeds is where i study and it is grim", ["__lk_place"]),
        ("good morning", ["__lk_greeting", "__lkall_greeting"]),
        ("ciao", ["__lk_farewell", "__lk_greeting", "__lkall_farewell", "__lkall_greeting"]),
        ("hi, i'm in graz", ["__lk_greeting", "__lk_place", "__lkall_greeting", "__lkall_place"]),
        ("hi, i moved to graz last year", ["__lk_greeting", "__lk_place"]),
    ],
)
def test_phrases_found_on_whole_tokens(text: str, expected: list[str]) -> None:
    assert sorted(features(text)) == expected


@pytest.mark.parametrize("text", ["", "a new yorker", "leedsy", "history homework", "highway"])
def test_no_feature_without_a_whole_phrase(text: str) -> None:
    assert features(text) == []


def test_longest_phrase_wins() -> None:
    tables = {"place": ["york", "new york"], "word": ["new"]}
    assert features("new york", tables) == ["__lk_place", "__lkall_place"]


def test_features_sit_in_the_shape_part_of_the_classifier_input() -> None:
    nlp = spacy.blank("en")
    nlp.meta[LOOKUPS_META] = {"place": [["graz"]]}
    doc = feature_doc(nlp.make_doc("graz"), lookup_tagger(nlp))
    words = [t.text for t in doc]
    assert words[:3] == ["__len1", "__lk_place", "__lkall_place"]
    assert lookup_tagger(nlp) is lookup_tagger(nlp)  # compiled once per model


def test_shipped_tables_are_read(tmp_path: Path) -> None:
    data = load_training_data(ROOT / "nlu")
    assert {"place", "greeting", "farewell", "thanks", "agree", "refuse", "bot", "topic"} <= set(
        data.lookups
    )
    assert "ciao" in data.lookups["greeting"]
    assert "london" in data.lookups["place"]
    copy = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu", copy)
    (copy / "lookups" / "colour.yml").write_text(
        'version: "3.1"\nnlu:\n- lookup: colour\n  examples: |\n    - teal\n    - [mauve](x)\n'
    )
    assert load_training_data(copy).lookups["colour"] == ("teal", "mauve")
