"""The semantic risk heads: thresholds keep to the budget, a saved model judges the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.core.risk import RiskLevel
from bot.nlu.semantic import MIN_THRESHOLD, Labelled, SemanticRisk, _threshold, train


def test_threshold_keeps_ordinary_text_inside_the_budget() -> None:
    rng = np.random.default_rng(3)
    ordinary = rng.random(10_000)
    cut = _threshold(ordinary, 0.001)
    assert (ordinary >= cut).mean() <= 0.001
    assert _threshold(np.zeros(100), 0.01) == MIN_THRESHOLD  # never below even odds


def _toy() -> tuple[np.ndarray, list[Labelled]]:
    rng = np.random.default_rng(7)
    centres = {level: rng.normal(size=16) for level in RiskLevel}
    vectors, items = [], []
    for level, centre in centres.items():
        for i in range(60):
            v = centre + 0.3 * rng.normal(size=16)
            vectors.append(v / np.linalg.norm(v))
            items.append(Labelled(f"{level.label} {i}", level, f"family_{level.label}"))
    for i in range(200):
        v = centres[RiskLevel.NONE] + 0.3 * rng.normal(size=16)
        vectors.append(v / np.linalg.norm(v))
        items.append(Labelled(f"ordinary {i}", RiskLevel.NONE, "ordinary", ordinary=True))
    return np.array(vectors, dtype=np.float32), items


def test_heads_learn_levels_and_name_the_nearest_family(tmp_path: Path) -> None:
    vectors, items = _toy()
    model, figures = train(vectors, items, seed=1)
    assert figures["high_oof_false_alarms"] <= 0.01
    verdicts = model.judge(vectors)
    critical = [v for v, i in zip(verdicts, items, strict=True) if i.level == RiskLevel.CRITICAL]
    assert sum(v.level == RiskLevel.CRITICAL for v in critical) > 0.8 * len(critical)
    assert all(v.family == "family_critical" for v in critical if v.level == RiskLevel.CRITICAL)
    ordinary = [v for v, i in zip(verdicts, items, strict=True) if i.ordinary]
    assert all(v.level == RiskLevel.NONE for v in ordinary)

    model.save(tmp_path)
    again = SemanticRisk.load(tmp_path).judge(vectors)
    assert [v.level for v in again] == [v.level for v in verdicts]
    assert np.allclose([v.probability for v in again], [v.probability for v in verdicts])
