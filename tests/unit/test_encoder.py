"""The sentence encoder: same vectors as the upstream pipeline, and refuses altered weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.nlu.encoder import EncoderError, load_encoder, load_pin, model_files, verify

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "encoder_reference.json"


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    return load_encoder(ROOT / "nlu")


def test_vectors_match_sentence_transformers(encoder) -> None:  # type: ignore[no-untyped-def]
    # made once with sentence-transformers + torch (see the fixture's "source"); torch is not
    # a dependency, so the numpy forward pass is held to these numbers
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    got = encoder.encode(reference["texts"])
    want = np.array(reference["embeddings"], dtype=np.float32)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5


def test_paraphrases_are_closer_than_unrelated_text(encoder) -> None:  # type: ignore[no-untyped-def]
    a, b, c = encoder.encode(
        ["i don't want to be alive anymore", "i wish i could stop existing", "the pasta was great"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_an_altered_file_is_refused(tmp_path: Path) -> None:
    pin = load_pin(ROOT / "nlu" / "encoder.yml")
    source = model_files(pin)
    shutil.copy(source / "vocab.txt", tmp_path / "vocab.txt")
    only_vocab = pin.model_copy(update={"sha256": {"vocab.txt": pin.sha256["vocab.txt"]}})
    verify(only_vocab, tmp_path)  # the untouched copy passes
    with (tmp_path / "vocab.txt").open("a", encoding="utf-8") as handle:
        handle.write("extra\n")
    with pytest.raises(EncoderError, match="refusing to load"):
        verify(only_vocab, tmp_path)


def test_a_missing_package_says_how_to_install_it() -> None:
    pin = load_pin(ROOT / "nlu" / "encoder.yml")
    absent = pin.model_copy(update={"module": "no_such_encoder_package"})
    with pytest.raises(EncoderError, match="pip install --no-deps"):
        model_files(absent)
