"""Negation across languages through the whole engine (patterns, rules and the trained model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.risk import RiskLevel
from bot.nlu.engine import load_engine
from tests.conftest import model_cache_dir

ROOT = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((ROOT / "tests" / "data" / "negation_cases.yml").read_text("utf-8"))["cases"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return load_engine(ROOT / "nlu", model_cache_dir())


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_the_person_gets_the_same_level_for_a_negation_in_any_language(engine, case) -> None:  # type: ignore[no-untyped-def]
    result = engine.assess(str(case["text"]))
    assert result.risk == RiskLevel.parse(str(case["level"])), result.signals
    negated = any(signal.startswith("negated:") for signal in result.signals)
    assert negated is case["negated"], result.signals
