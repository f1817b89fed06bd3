"""The sentence encoder: same vectors as the upstream pipeline, and refuses altered files.

Three forward passes are checked against vectors made once with sentence-transformers + torch
(tests/fixtures/encoder_reference.json): the numpy reference, the float32 ONNX graph built from
the weights, and the int8 graph the bot runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from bot.nlu import graph
from bot.nlu.encoder import (
    EncoderError,
    ReferenceEncoder,
    SentenceEncoder,
    build_graph,
    graph_path,
    load_encoder,
    load_pin,
    model_files,
    verify,
)
from tests.conftest import model_cache_dir

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "encoder_reference.json"
PIN = load_pin(ROOT / "nlu" / "encoder.yml")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder(ROOT / "nlu", model_cache_dir())


@pytest.fixture(scope="module")
def upstream() -> tuple[list[str], np.ndarray]:
    # made once with sentence-transformers + torch (see the fixture's "source"); torch is not
    # a dependency, so our forward passes are held to these numbers
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return reference["texts"], np.array(reference["embeddings"], dtype=np.float32)


def test_reference_matches_sentence_transformers(upstream: tuple[list[str], np.ndarray]) -> None:
    texts, want = upstream
    got = ReferenceEncoder(model_files(PIN), PIN).encode(texts)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5


def test_the_float_graph_matches_sentence_transformers(
    tmp_path: Path, upstream: tuple[list[str], np.ndarray]
) -> None:
    texts, want = upstream
    graph.build(load_file(str(model_files(PIN) / "model.safetensors")), tmp_path / "f32.onnx")
    got = SentenceEncoder(model_files(PIN), PIN, tmp_path / "f32.onnx").encode(texts)
    assert np.abs(got - want).max() < 1e-5


def test_the_int8_graph_keeps_the_direction_of_every_vector(
    encoder: SentenceEncoder, upstream: tuple[list[str], np.ndarray]
) -> None:
    texts, want = upstream
    cosine = (encoder.encode(texts) * want).sum(axis=1)
    assert cosine.min() > 0.95
    assert cosine.mean() > 0.98


def test_one_text_or_a_batch_give_the_same_vector(encoder: SentenceEncoder) -> None:
    texts = ["short", "a somewhat longer line of chat to pad the batch with", "mid length one"]
    batch = encoder.encode(texts)
    alone = np.concatenate([encoder.encode([t]) for t in texts])
    assert np.abs(batch - alone).max() < 1e-4


def test_an_altered_graph_is_refused(tmp_path: Path, encoder: SentenceEncoder) -> None:
    built = graph_path(PIN, model_cache_dir())
    copy = graph_path(PIN, tmp_path)
    copy.parent.mkdir(parents=True)
    shutil.copy(built, copy)
    with copy.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(EncoderError, match="refusing to load"):
        load_encoder(ROOT / "nlu", tmp_path)


def test_other_tool_versions_are_refused_before_building(tmp_path: Path) -> None:
    other = PIN.runtime.model_copy(update={"onnxruntime": "0.0.1"})
    pin = PIN.model_copy(update={"runtime": other})
    with pytest.raises(EncoderError, match="pinned for"):
        build_graph(pin, model_files(pin), tmp_path / "graph.onnx")
    assert not (tmp_path / "graph.onnx").exists()


def test_a_build_with_other_bytes_is_refused(tmp_path: Path) -> None:
    other = PIN.runtime.model_copy(update={"sha256": "0" * 64})
    pin = PIN.model_copy(update={"runtime": other})
    with pytest.raises(EncoderError, match="refusing to use it"):
        build_graph(pin, model_files(pin), tmp_path / "graph.onnx")
    assert not (tmp_path / "graph.onnx").exists()


def test_paraphrases_are_closer_than_unrelated_text(encoder: SentenceEncoder) -> None:
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
