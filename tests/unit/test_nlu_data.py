"""Training-data loader, held-out split and text clean-up."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.core.risk import RiskLevel
from bot.nlu.classifier import risk_from_scores
from bot.nlu.data import NluDataError, is_held_out, load_training_data, split
from bot.nlu.text import ASSESS_CHARS, WINDOW_CHARS, normalise, windows

REPO_NLU = Path(__file__).resolve().parents[2] / "nlu"
REQUIRED_INTENTS = {
    "greet",
    "goodbye",
    "thanks",
    "capabilities",
    "coping_request",
    "mindfulness_request",
    "venting",
    "acute_distress",
    "third_party_concern",
    "harassment",
    "set_region",
    "helplines_request",
    "stop",
    "forget",
    "affirm",
    "deny",
    "out_of_scope",
    "bot_identity",
    "privacy_question",
    "other_language",
    "human_request",
    "insult",
    "medical_emergency",
    "harassment_target",
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_rasa_yaml_is_read_with_entities_stripped(tmp_path: Path) -> None:
    _write(
        tmp_path / "intents" / "set_region.yml",
        'version: "3.1"\nnlu:\n- intent: set_region\n  examples: |\n'
        '    - i live in [scotland](region)\n    - i\'m in [france]{"entity": "region"}\n'
        "- synonym: uk\n  examples: |\n    - united kingdom\n",
    )
    _write(
        tmp_path / "risk" / "high.yml",
        'version: "3.1"\nnlu:\n- intent: risk_high\n  examples: |\n    - i want to die\n',
    )
    data = load_training_data(tmp_path)
    assert [e.text for e in data.intents] == ["i live in scotland", "i'm in france"]
    assert data.risks[0].label == "high"
    assert data.synonyms == {"united kingdom": "uk"}


def test_a_misnamed_risk_intent_is_refused_with_the_file_name(tmp_path: Path) -> None:
    _write(
        tmp_path / "risk" / "high.yml",
        'version: "3.1"\nnlu:\n- intent: very_high\n  examples: |\n    - x\n',
    )
    with pytest.raises(NluDataError, match=r"high\.yml"):
        load_training_data(tmp_path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path / "intents" / "greet.yml",
        'version: "3.1"\nnlu:\n- intent: greet\n  exmaples: |\n    - hi\n',
    )
    with pytest.raises(NluDataError, match=r"greet\.yml"):
        load_training_data(tmp_path)


def test_our_data_has_every_intent_and_level_with_enough_examples() -> None:
    data = load_training_data(REPO_NLU)
    counts: dict[str, int] = {}
    for example in data.intents:
        counts[example.label] = counts.get(example.label, 0) + 1
    assert set(counts) >= REQUIRED_INTENTS
    assert min(counts[name] for name in REQUIRED_INTENTS) >= 40
    levels = {example.label for example in data.risks}
    assert levels == {level.label for level in RiskLevel}


def test_held_out_split_is_stable_and_about_a_fifth() -> None:
    data = load_training_data(REPO_NLU)
    train, held = split(data.risks)
    assert 0.1 < len(held) / len(data.risks) < 0.3
    assert len(train) + len(held) == len(data.risks)
    assert is_held_out("I want to die") == is_held_out("i want to die")


def test_normalise_undoes_leetspeak_but_keeps_numbers() -> None:
    assert normalise("I WANT TO K1LL MYSELF") == "i want to kill myself"
    assert normalise("su1c1de") == "suicide"
    assert normalise("i died 5 times at 3am") == "i died 5 times at 3am"
    assert normalise("kill my self\x00\x07") == "kill myself"
    assert normalise("my self harm got worse") == "my self harm got worse"
    assert normalise("my self-esteem") == "my self-esteem"
    assert normalise("ÖLMEK İSTİYORUM") == "ölmek istiyorum"  # Turkish dotted capital I


def test_a_huge_paste_keeps_both_ends() -> None:
    text = "start " + "x " * 100_000 + " the end"
    parts = windows(text)
    assert parts[0].startswith("start") and parts[-1].endswith("the end")
    assert sum(len(p) for p in parts) < 2 * ASSESS_CHARS


def test_long_posts_are_read_whole_in_overlapping_windows() -> None:
    sentences = [f"sentence number {i} is here." for i in range(300)]
    parts = windows(" ".join(sentences))
    assert all(len(p) <= WINDOW_CHARS for p in parts)
    joined = " ".join(parts)
    assert all(s in joined for s in sentences)  # nothing after character 4,000 is lost
    for before, after in itertools.pairwise(parts):
        assert before.split(". ")[-1].rstrip(".") in after  # neighbours share a sentence


def test_classifier_level_is_the_highest_cumulative_level_over_threshold() -> None:
    # "none" is the single most likely class, but half the mass says high or worse: high wins.
    level, p = risk_from_scores(
        {"none": 0.45, "low": 0.05, "medium": 0.0, "high": 0.35, "critical": 0.15}
    )
    assert level == RiskLevel.HIGH
    assert p == pytest.approx(0.5)
    assert risk_from_scores({"none": 0.9, "low": 0.1})[0] == RiskLevel.NONE
    assert risk_from_scores({"critical": 0.95, "none": 0.05})[0] == RiskLevel.CRITICAL
