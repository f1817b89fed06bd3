"""The rules' word lists as data (nlu/lexicon/): loading, validation, negation per language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.core.risk import RiskLevel
from bot.nlu.lexicon import LexiconError, load_lexicon
from bot.nlu.patterns import PatternMatcher, load_pattern_set
from bot.nlu.rules import PIPELINE, PatternVerdict, assess_hits
from bot.nlu.text import build_nlp, normalise

ROOT = Path(__file__).resolve().parents[2]
LEXICON = ROOT / "nlu" / "lexicon"
CASES = yaml.safe_load((ROOT / "tests" / "data" / "negation_cases.yml").read_text("utf-8"))["cases"]


@pytest.fixture(scope="module")
def judge():  # type: ignore[no-untyped-def]
    pattern_set = load_pattern_set(ROOT / "nlu" / "patterns")
    nlp = build_nlp(pattern_set.lemma_overrides)
    matcher = PatternMatcher(pattern_set, nlp)

    def verdict(text: str) -> PatternVerdict:
        doc = nlp(normalise(text))
        return assess_hits(doc, matcher.find(doc), matcher.lexicon)

    return verdict


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_negation_reads_the_same_in_every_language(judge, case: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    verdict = judge(str(case["text"]))
    assert verdict.risk == RiskLevel.parse(str(case["level"])), verdict.signals
    negated = any(signal.startswith("negated:") for signal in verdict.signals)
    assert negated is case["negated"], verdict.signals


def test_a_negated_wish_to_die_is_as_negated_as_in_english(judge) -> None:  # type: ignore[no-untyped-def]
    english = judge("i dont want to die")
    for text in ("no quiero morir", "je ne veux pas mourir", "ich will nicht sterben",
                 "não quero morrer", "non voglio morire"):  # fmt: skip
        other = judge(text)
        assert (other.risk, other.softened, other.matched) == (
            english.risk,
            english.softened,
            english.matched,
        ), text


def test_every_language_file_loads_and_english_keeps_its_words() -> None:
    lexicon = load_lexicon(LEXICON)
    assert {"en", "es", "fr", "de", "pt", "it", "common"} <= set(lexicon.negations)
    assert {"i", "me", "my"} <= lexicon.first_person
    assert {"but", "."} <= lexicon.clause_breaks
    assert "she" in lexicon.third_person and "someone" in lexicon.generic_people
    assert lexicon.negations["en"].window == 3 and lexicon.negations["es"].window == 0


def test_the_pipeline_order_is_visible_and_each_step_says_what_it_does() -> None:
    names = [step.__name__ for step in PIPELINE]
    assert names.index("_drop_explained_away") < names.index("_weigh_statements")
    assert names.index("_weigh_statements") < names.index("_escalate_plans")
    assert all(step.__doc__ and len(step.__doc__.splitlines()) == 1 for step in PIPELINE)


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "lexicon"
    shutil.copytree(LEXICON, copy)
    return copy


def test_an_unknown_field_names_the_file_and_field(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "es.yml").write_text("language: es\nnegaton:\n  before: [no]\n", "utf-8")
    with pytest.raises(LexiconError, match=r"(?s)es\.yml.*negaton"):
        load_lexicon(copy)


def test_a_bad_window_names_the_file_and_field(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "pt.yml").write_text("language: pt\nnegation:\n  window: many\n", "utf-8")
    with pytest.raises(LexiconError, match=r"(?s)pt\.yml.*negation\.window"):
        load_lexicon(copy)


def test_a_file_must_say_its_own_language_in_lower_case(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "it.yml").write_text("language: fr\n", "utf-8")
    with pytest.raises(LexiconError, match=r"it\.yml.*file name"):
        load_lexicon(copy)
    (copy / "it.yml").write_text("language: it\nfirst_person: [Io]\n", "utf-8")
    with pytest.raises(LexiconError, match=r"it\.yml.*lower-case"):
        load_lexicon(copy)


def test_a_missing_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="no language files"):
        load_lexicon(tmp_path / "nowhere")
