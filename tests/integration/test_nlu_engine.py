"""Engine mechanics on a small nlu/ (real patterns, tiny examples): cache, training, safety,
and `signpost assess` as a process (one JSON line out for every line in, whatever the bytes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.risk import Assessment, RiskContext, RiskLevel
from bot.nlu.assessor import Assessor
from bot.nlu.engine import (
    KEEP_MODELS,
    ModelMissingError,
    content_key,
    load_engine,
    model_dir,
    prune,
    train,
)

REPO = Path(__file__).resolve().parents[2]

INTENTS = {
    "greet": ["hi", "hello there", "hey", "good morning", "hiya", "yo whats up"],
    "venting": [
        "today was rough",
        "i'm so stressed about work",
        "i feel lonely tonight",
        "my week has been awful",
        "school sucks",
        "i had a fight with my mum",
    ],
    "acute_distress": [
        "i want to die",
        "i can't go on",
        "i'm going to end it",
        "i don't want to be here anymore",
        "i feel like a burden",
        "kms",
    ],
    "third_party_concern": [
        "my friend wants to die",
        "i'm worried about my sister",
        "my brother talks about suicide",
        "my mate cuts himself",
        "how do i help a friend who is suicidal",
        "she said goodbye to us",
    ],
}
RISK = {
    "none": ["hi", "what can you do", "thanks", "lol nice", "see you later", "ok cool"],
    "low": [
        "i'm stressed",
        "bit sad today",
        "feeling lonely",
        "work is hard",
        "i'm tired",
        "exams are stressing me out",
    ],
    "medium": [
        "i feel hopeless",
        "nothing matters",
        "i'm breaking down",
        "i can't cope",
        "everything is falling apart",
        "i feel empty",
    ],
    "high": [
        "i want to die",
        "i wish i wasn't alive",
        "everyone is better off without me",
        "kms",
        "i cut myself last night",
        "i don't want to wake up",
    ],
    "critical": [
        "i took all the pills",
        "i'm on the bridge now",
        "tonight i end it",
        "i have the rope ready",
        "this is goodbye",
        "i'm doing it now",
    ],
}


def _examples(name: str, lines: list[str]) -> str:
    body = "\n".join(f"    - {line}" for line in lines)
    return f'version: "3.1"\nnlu:\n- intent: {name}\n  examples: |\n{body}\n'


@pytest.fixture(scope="module")
def small_nlu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nlu")
    shutil.copytree(REPO / "nlu" / "patterns", root / "patterns")
    shutil.copytree(REPO / "nlu" / "lexicon", root / "lexicon")
    (root / "intents").mkdir()
    (root / "risk").mkdir()
    for name, lines in INTENTS.items():
        (root / "intents" / f"{name}.yml").write_text(_examples(name, lines), "utf-8")
    for level, lines in RISK.items():
        (root / "risk" / f"{level}.yml").write_text(_examples(f"risk_{level}", lines), "utf-8")
    return root


@pytest.fixture(scope="module")
def engine(small_nlu: Path, tmp_path_factory: pytest.TempPathFactory) -> Assessor:
    loaded = load_engine(small_nlu, tmp_path_factory.mktemp("cache"))
    assert isinstance(loaded, Assessor)
    return loaded


def test_training_is_deterministic(small_nlu: Path, tmp_path: Path) -> None:
    first = train(small_nlu, tmp_path / "a")
    second = train(small_nlu, tmp_path / "b")
    assert first.name == second.name
    for name in ("intent", "risk"):
        assert (first / "model" / name / "model").read_bytes() == (
            second / "model" / name / "model"
        ).read_bytes()


def test_missing_model_is_an_error_when_training_is_not_allowed(
    small_nlu: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelMissingError, match="signpost nlu train"):
        load_engine(small_nlu, tmp_path, train_if_missing=False)


def test_cached_model_is_reused_and_a_data_change_needs_a_new_one(
    small_nlu: Path, tmp_path: Path
) -> None:
    train(small_nlu, tmp_path)
    load_engine(small_nlu, tmp_path, train_if_missing=False)  # no error: cache hit
    changed = tmp_path / "changed"
    shutil.copytree(small_nlu, changed)
    before = content_key(changed)
    with (changed / "intents" / "greet.yml").open("a", encoding="utf-8") as handle:
        handle.write("    - howdy\n")
    assert content_key(changed) != before
    assert not model_dir(changed, tmp_path).exists()
    with pytest.raises(ModelMissingError):
        load_engine(changed, tmp_path, train_if_missing=False)


def test_old_models_are_pruned_but_the_current_and_recent_ones_stay(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for age, name in enumerate(["nlu-a", "nlu-b", "nlu-c", "nlu-d", "nlu-e"]):
        (cache / name / "model").mkdir(parents=True)
        meta = cache / name / "meta.json"
        meta.write_text("{}", encoding="utf-8")
        os.utime(meta, (1_000_000 + age, 1_000_000 + age))  # nlu-e is the most recently used
    (cache / "notes.txt").write_text("not a model", encoding="utf-8")
    removed = prune(cache, keep=3, current=cache / "nlu-a")
    assert sorted(p.name for p in removed) == ["nlu-b"]
    left = {p.name for p in cache.iterdir()}
    assert left == {"notes.txt", "nlu-a", "nlu-c", "nlu-d", "nlu-e"}


def test_training_prunes_the_cache(small_nlu: Path, tmp_path: Path) -> None:
    for name in ("nlu-old1", "nlu-old2", "nlu-old3"):
        (tmp_path / name / "model").mkdir(parents=True)
        (tmp_path / name / "meta.json").write_text("{}", encoding="utf-8")
        os.utime(tmp_path / name / "meta.json", (1_000_000, 1_000_000))
    target = train(small_nlu, tmp_path)
    left = sorted(p.name for p in tmp_path.glob("nlu-*"))
    assert target.name in left and len(left) == KEEP_MODELS


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02",
        "\ufffd\ufffd",
        "🙂🙂🙂",
        "a" * 1_000_000,
        "i want to die " * 80_000,
        "\n\n\n",
        "ﷺ" * 50,
        "k" * 5000 + " kms",
    ],
)
def test_any_text_gets_an_answer_quickly(engine: Assessor, text: str) -> None:
    started = time.perf_counter()
    result = engine.assess(text)
    assert isinstance(result, Assessment)
    assert result.intent != "error"
    assert time.perf_counter() - started < 2.0


def test_a_risk_statement_at_the_end_of_a_long_paste_is_still_seen(engine: Assessor) -> None:
    text = "blah " * 200_000 + "i have the pills ready tonight"
    assert engine.assess(text).risk == RiskLevel.CRITICAL


def test_an_internal_error_counts_as_high(
    engine: Assessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(doc: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine._matcher, "find", broken)
    result = engine.assess("hello")
    assert result.risk == RiskLevel.HIGH
    assert result.intent == "error"
    assert result.signals == ("error:RuntimeError",)
    assert [a.risk for a in engine.assess_many(["hi", "there"])] == [RiskLevel.HIGH] * 2


def test_recent_high_risk_keeps_a_floor(engine: Assessor) -> None:
    recent = RiskContext(recent_risk=RiskLevel.HIGH, turns_since=1)
    calm = engine.assess("ok what's the weather like", recent)
    assert calm.risk == RiskLevel.MEDIUM
    assert "context:floor" in calm.signals
    later = engine.assess("ok what's the weather like", RiskContext(RiskLevel.HIGH, 10))
    assert later.risk < RiskLevel.MEDIUM


def test_you_misunderstood_does_not_close_the_crisis_path(engine: Assessor) -> None:
    result = engine.assess(
        "you misunderstood, i'm fine", RiskContext(recent_risk=RiskLevel.CRITICAL, turns_since=1)
    )
    assert result.risk == RiskLevel.HIGH
    assert "context:minimising" in result.signals


def test_third_party_and_harassment_get_their_own_intents(engine: Assessor) -> None:
    friend = engine.assess("my friend wants to kill herself")
    assert friend.intent == "third_party_concern"
    assert friend.risk <= RiskLevel.MEDIUM
    assert "third_party" in friend.signals
    kys = engine.assess("kys noob")
    assert kys.intent == "harassment"
    assert kys.risk == RiskLevel.NONE
    kms = engine.assess("kms")
    assert kms.risk >= RiskLevel.HIGH
    assert kms.intent != "harassment"


def test_batch_and_single_give_the_same_answers(engine: Assessor) -> None:
    texts = ["hi", "i want to die", "this homework is killing me", "my friend wants to die"]
    assert list(engine.assess_many(texts)) == [engine.assess(t) for t in texts]


# --- signpost assess as a process -------------------------------------------------------


@pytest.fixture(scope="module")
def trained(small_nlu: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    cache = tmp_path_factory.mktemp("signpost-cache")
    train(small_nlu, cache / "models")
    return small_nlu, cache


def _assess(trained: tuple[Path, Path], data: bytes, *extra: str) -> list[dict[str, object]]:
    nlu_dir, cache = trained
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.nlu",
            "assess",
            "--nlu-dir",
            str(nlu_dir),
            "--cache-dir",
            str(cache),
            "--no-train",
            *extra,
        ],
        input=data,
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]


def test_one_output_line_per_input_line_whatever_the_input(trained: tuple[Path, Path]) -> None:
    lines = [
        b"i want to die",
        b"",
        b"\xff\xfe broken utf-8 \xc3",
        b"\x01\x02 control",
        "🙂🙂".encode(),
        b"x" * 1_000_000,
        b"this homework is killing me",
        b"kys noob",
    ]
    out = _assess(trained, b"\n".join(lines) + b"\n")
    assert len(out) == len(lines)
    assert out[0]["risk"] == "high"
    assert out[1]["text"] == ""
    assert out[2]["text"] == "\ufffd\ufffd broken utf-8 \ufffd"
    assert out[4]["text"] == "🙂🙂"
    assert len(str(out[5]["text"])) == 1_000_000
    assert out[6]["risk"] == "none"
    assert out[7]["intent"] == "harassment"
    assert set(out[0]) == {"text", "risk", "intent", "confidence", "signals"}


def test_last_line_without_newline_and_unbuffered_mode(trained: tuple[Path, Path]) -> None:
    out = _assess(trained, b"hello\ni took all the pills", "--unbuffered")
    assert [o["risk"] for o in out][-1] == "critical"
    assert len(out) == 2


def test_no_model_and_no_training_is_a_clear_failure(small_nlu: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.nlu",
            "assess",
            "--nlu-dir",
            str(small_nlu),
            "--cache-dir",
            str(tmp_path),
            "--no-train",
        ],
        input=b"hi\n",
        capture_output=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    assert b"signpost nlu train" in proc.stderr
