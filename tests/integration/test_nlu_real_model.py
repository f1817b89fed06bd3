"""The shipped nlu/ trained for real: what a person in the chat would notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.risk import RiskContext, RiskLevel
from bot.nlu.engine import load_engine
from tests.conftest import model_cache_dir

REPO_NLU = Path(__file__).resolve().parents[2] / "nlu"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    # the model `make train` / `signpost nlu train` left in the cache (trained here if absent)
    return load_engine(REPO_NLU, model_cache_dir())


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        ("honestly i just want to stop existing", RiskLevel.HIGH),
        ("everyone would be happier if i wasn't here", RiskLevel.HIGH),
        ("gonna kms tonight, i have the pills", RiskLevel.CRITICAL),
        ("i just swallowed the whole bottle", RiskLevel.CRITICAL),
        ("i keep cutting myself and i can't stop", RiskLevel.HIGH),
        ("everything feels hopeless and i'm falling apart", RiskLevel.MEDIUM),
    ],
)
def test_crisis_messages_are_flagged(engine, text: str, at_least: RiskLevel) -> None:  # type: ignore[no-untyped-def]
    assert engine.assess(text).risk >= at_least


@pytest.mark.parametrize(
    "text",
    [
        "this commute is killing me",
        "i'd kill for a nap right now",
        "we died to the final boss like ten times",
        "hi, what can you do?",
        "thanks, that helped",
    ],
)
def test_everyday_talk_is_not_flagged(engine, text: str) -> None:  # type: ignore[no-untyped-def]
    assert engine.assess(text).risk <= RiskLevel.LOW


def test_intents_for_plain_requests(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.assess("hello there").intent == "greet"
    assert engine.assess("can you give me a helpline number").intent == "helplines_request"


def test_a_crisis_keeps_its_floor_after_i_am_fine(engine) -> None:  # type: ignore[no-untyped-def]
    after = engine.assess("nvm i'm fine", RiskContext(RiskLevel.HIGH, turns_since=1))
    assert after.risk >= RiskLevel.HIGH


@pytest.mark.parametrize(
    "text",
    [
        "baked sourdough this morning and it actually rose, so proud",
        "i've got two rabbits and a very grumpy parrot",
        "only 20 minutes left on my lunch break",
        "four essays due friday and i haven't written a word lol",
        "took up crochet last month, it's so relaxing",
    ],
)
def test_ordinary_shapes_with_numbers_and_plans_are_not_a_crisis(engine, text: str) -> None:  # type: ignore[no-untyped-def]
    # each was once judged high or critical by the bag-of-words model alone
    assert engine.assess(text).risk <= RiskLevel.LOW


def test_a_level_from_the_semantic_heads_names_its_family(engine) -> None:  # type: ignore[no-untyped-def]
    got = engine.assess("i'm a weight dragging everyone down, they'd breathe easier without me")
    assert got.risk >= RiskLevel.MEDIUM
    assert any(s.startswith("near:") for s in got.signals) or any(
        s.startswith("pattern:") for s in got.signals
    )


def test_a_long_post_is_read_to_its_end(engine) -> None:  # type: ignore[no-untyped-def]
    chatter = "we played cards and talked about the match for hours. " * 120
    got = engine.assess(chatter + "anyway i have the pills here and tonight is the night.")
    assert got.risk >= RiskLevel.HIGH
    assert any(s.startswith("window:") for s in got.signals)


def test_skipping_the_encoder_never_changes_an_answer(engine) -> None:  # type: ignore[no-untyped-def]
    # the heads only confirm what the bag-of-words model proposes, so messages it calls low
    # or less are not encoded; asking the heads about every message must give the same answers
    from bot.nlu.data import load_ordinary, load_training_data

    data = load_training_data(REPO_NLU)
    texts = [e.text for e in data.risks[::7]] + list(load_ordinary(REPO_NLU)[::97])
    quick = [(a.risk, a.intent) for a in engine.assess_many(texts)]
    engine.consult_all = True
    try:
        full = [(a.risk, a.intent) for a in engine.assess_many(texts)]
    finally:
        engine.consult_all = False
    assert quick == full
