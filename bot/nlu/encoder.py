"""A sentence encoder that understands paraphrase: all-MiniLM-L6-v2, int8, in ONNX Runtime.

The weights come from the PyPI package named in `nlu/encoder.yml`, installed without its
dependencies (no PyTorch: `tokenizers` splits words, `safetensors` reads the weights). Every
file is checked against the SHA-256 pinned in `nlu/encoder.yml` before use; a mismatch refuses
to load, as a helpline number is checked against its source.

Two forward passes of the same model:
- `ReferenceEncoder`: float32 in numpy, written from the model's definition; it matches
  sentence-transformers to 6e-7 (tests/fixtures/encoder_reference.json). It is the yardstick.
- `SentenceEncoder`: what the bot runs. The graph is built from the verified weights
  (`bot/nlu/graph.py`), quantised to int8 per output channel, and its bytes must have the
  SHA-256 pinned under `runtime:` in `nlu/encoder.yml`; on first build it must also agree with
  the reference on probe sentences. About four times faster on one core.

Output: one L2-normalised 384-dimensional vector per text (mean of the last layer over real
tokens), the same as sentence-transformers' pipeline for this model.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.numpy import load_file
from tokenizers import Tokenizer

Matrix = npt.NDArray[np.float32]
MAX_TOKENS = 256  # as upstream (max_seq_length); longer texts are read in windows by the assessor
BATCH_SIZE = 64
_LAYER_NORM_EPS = 1e-12


class EncoderError(RuntimeError):
    """The encoder's files are missing, or differ from the pinned hashes."""


class RuntimePin(BaseModel):
    """The int8 graph built from the weights: the tools that build it and the bytes they give."""

    model_config = ConfigDict(extra="forbid")

    onnx: str = Field(description="onnx version that writes the graph")
    onnxruntime: str = Field(description="onnxruntime version that quantises and runs it")
    sha256: str = Field(description="SHA-256 of the quantised graph")


class EncoderPin(BaseModel):
    """`nlu/encoder.yml`: which model, from where, and the hashes its files must have."""

    model_config = ConfigDict(extra="forbid")

    name: str
    package: str = Field(description="PyPI distribution that carries the files")
    version: str
    module: str = Field(description="import name of the package (files under <module>/model)")
    upstream: str
    revision: str
    sha256: dict[str, str]
    dim: int = 384
    runtime: RuntimePin


def load_pin(path: Path) -> EncoderPin:
    try:
        return EncoderPin.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise EncoderError(f"{path}: {exc}") from exc


def model_files(pin: EncoderPin) -> Path:
    """The folder holding the pinned model files, without importing the package."""
    spec = importlib.util.find_spec(pin.module)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"{pin.package}=={pin.version} is not installed; `make install` installs it "
            f"(pip install --no-deps {pin.package}=={pin.version})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise EncoderError(f"encoder file {path} cannot be read: {exc}") from exc
    return digest.hexdigest()


def verify(pin: EncoderPin, folder: Path) -> None:
    """Refuse any file whose SHA-256 differs from the pin (or that is missing)."""
    for name, expected in sorted(pin.sha256.items()):
        path = folder / name
        found = sha256_of(path)
        if found != expected:
            raise EncoderError(
                f"encoder file {path} has SHA-256 {found}, expected {expected} "
                f"({pin.upstream} revision {pin.revision}); refusing to load it"
            )


class Encoder(Protocol):
    """What the risk model needs from an encoder."""

    pin: EncoderPin
    dim: int
    key: str  # names the vectors it gives (for caches): model revision and graph

    def encode(self, texts: Sequence[str], *, workers: int = 1) -> Matrix: ...


def _tokenizer(folder: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def _padded(batch: list[list[int]]) -> tuple[npt.NDArray[np.int64], Matrix]:
    length = max(len(ids) for ids in batch)
    tokens = np.zeros((len(batch), length), dtype=np.int64)
    mask = np.zeros((len(batch), length), dtype=np.float32)
    for row, ids in enumerate(batch):
        tokens[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1.0
    return tokens, mask


def _in_batches(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    forward: Callable[[list[list[int]]], Matrix],
    dim: int,
) -> Matrix:
    """Encode in length-sorted batches (little padding), results in the order given."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    ids = [enc.ids for enc in tokenizer.encode_batch(list(texts))]
    out = np.empty((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        out[chunk] = forward([ids[i] for i in chunk])
    return out


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: Matrix  # (384, 1152): query, key and value projections side by side
    qkv_bias: Matrix
    out: Matrix
    out_bias: Matrix
    norm1: tuple[Matrix, Matrix]
    up: Matrix
    up_bias: Matrix
    down: Matrix
    down_bias: Matrix
    norm2: tuple[Matrix, Matrix]


class ReferenceEncoder:
    """float32 forward pass in numpy: the yardstick the int8 graph is checked against."""

    def __init__(self, folder: Path, pin: EncoderPin, *, checked: bool = False) -> None:
        if not checked:
            verify(pin, folder)
        self.pin = pin
        self.dim = pin.dim
        self.key = f"{pin.revision[:12]}-f32"
        self._tokenizer = _tokenizer(folder)
        weights = load_file(str(folder / "model.safetensors"))
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._type0 = w["embeddings.token_type_embeddings.weight"][0]
        self._norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._heads = 12
        self._layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(6)]

    @staticmethod
    def _layer(w: dict[str, Matrix], p: str) -> _Layer:
        att = p + "attention."
        qkv = [w[f"{att}self.{n}.weight"].T for n in ("query", "key", "value")]
        bias = [w[f"{att}self.{n}.bias"] for n in ("query", "key", "value")]
        return _Layer(
            qkv=np.ascontiguousarray(np.concatenate(qkv, axis=1)),
            qkv_bias=np.concatenate(bias),
            out=np.ascontiguousarray(w[f"{att}output.dense.weight"].T),
            out_bias=w[f"{att}output.dense.bias"],
            norm1=(w[f"{att}output.LayerNorm.weight"], w[f"{att}output.LayerNorm.bias"]),
            up=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
            up_bias=w[p + "intermediate.dense.bias"],
            down=np.ascontiguousarray(w[p + "output.dense.weight"].T),
            down_bias=w[p + "output.dense.bias"],
            norm2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
        )

    def encode(self, texts: Sequence[str], *, workers: int = 1) -> Matrix:
        return _in_batches(self._tokenizer, texts, self._forward, self.dim)

    def _forward(self, batch: list[list[int]]) -> Matrix:
        tokens, mask = _padded(batch)
        length = tokens.shape[1]
        x = self._words[tokens] + self._positions[:length] + self._type0
        x = _layer_norm(x, *self._norm)
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in self._layers:
            x = self._block(x, layer, blocked)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Matrix = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def _block(self, x: Matrix, layer: _Layer, blocked: Matrix) -> Matrix:
        n, t, d = x.shape
        h = self._heads
        qkv = x @ layer.qkv + layer.qkv_bias  # (n, t, 3d)
        qkv = qkv.reshape(n, t, 3, h, d // h).transpose(2, 0, 3, 1, 4)  # (3, n, h, t, dh)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d // h)) + blocked
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
        x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1)
        hidden = _gelu(x @ layer.up + layer.up_bias)
        result: Matrix = _layer_norm(x + hidden @ layer.down + layer.down_bias, *layer.norm2)
        return result


def _layer_norm(x: Matrix, weight: Matrix, bias: Matrix) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: Matrix = (x - mean) / np.sqrt(var + _LAYER_NORM_EPS) * weight + bias
    return result


def _gelu(x: Matrix) -> Matrix:
    """BERT's exact gelu, 0.5 x (1 + erf(x / sqrt 2))."""
    result: Matrix = 0.5 * x * (1.0 + _erf(x * np.float32(1 / np.sqrt(2.0))))
    return result


def _erf(x: Matrix) -> Matrix:
    """Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, float32's own precision."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * 1.061405429))
        )
    )
    result: Matrix = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


# Sentences the built graph must place where the reference does (cosine), before first use.
PROBES = (
    "i made the best pasta tonight",
    "i don't want to be alive anymore",
    "found a good spot on the bridge",
    "what's the number for a helpline in my country?",
)
PROBE_AGREEMENT = 0.95  # int8 keeps about 0.99 on chat lines; a miswired graph falls far below


class SentenceEncoder:
    """The int8 graph in ONNX Runtime, one thread. Thread-safe (ONNX Runtime's `run` is).

    Each text is run on its own: dynamic quantisation scales the activations of the whole
    input, so in a batch one text's vector would depend on its neighbours. One at a time, a
    text always gets the same vector, in training, in `assess_many` and in a chat.
    """

    def __init__(self, folder: Path, pin: EncoderPin, graph: Path) -> None:
        import onnxruntime as ort

        self.pin = pin
        self.dim = pin.dim
        self.key = f"{pin.revision[:12]}-{pin.runtime.sha256[:12]}"
        self._tokenizer = _tokenizer(folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one message is small; the other core serves chats
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], *, workers: int = 1) -> Matrix:
        """`workers` > 1 runs texts side by side (training: thousands of texts, every core)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))

        def run(rows: range) -> None:
            for row in rows:
                tokens = np.array([encoded[row].ids], dtype=np.int64)
                mask = np.ones(tokens.shape, dtype=np.float32)
                (vectors,) = self._session.run(["vectors"], {"input_ids": tokens, "mask": mask})
                out[row] = vectors[0]

        if workers <= 1 or len(texts) < 2 * workers:
            run(range(len(texts)))
            return out
        with ThreadPoolExecutor(max_workers=workers) as pool:  # onnxruntime frees the GIL
            list(pool.map(run, [range(w, len(texts), workers) for w in range(workers)]))
        return out


def graph_path(pin: EncoderPin, cache_dir: Path) -> Path:
    return cache_dir / "encoder" / f"minilm-{pin.revision[:12]}-int8-{pin.runtime.sha256[:12]}.onnx"


def load_encoder(nlu_dir: Path, cache_dir: Path) -> SentenceEncoder:
    """The verified int8 encoder; builds its graph into `cache_dir` the first time."""
    pin = load_pin(nlu_dir / "encoder.yml")
    folder = model_files(pin)
    verify(pin, folder)
    graph = graph_path(pin, cache_dir)
    if not graph.is_file():
        build_graph(pin, folder, graph)
    found = sha256_of(graph)
    if found != pin.runtime.sha256:
        raise EncoderError(
            f"encoder graph {graph} has SHA-256 {found}, expected {pin.runtime.sha256}; "
            "refusing to load it (delete it to rebuild from the verified weights)"
        )
    return SentenceEncoder(folder, pin, graph)


def build_graph(pin: EncoderPin, folder: Path, target: Path) -> None:
    """Build, quantise, check against the pin and the reference, then move into place."""
    from bot.nlu import graph

    tools = {n: importlib.metadata.version(n) for n in ("onnx", "onnxruntime")}
    wanted = {"onnx": pin.runtime.onnx, "onnxruntime": pin.runtime.onnxruntime}
    if tools != wanted:
        raise EncoderError(
            f"the encoder graph is pinned for {wanted} but {tools} is installed; "
            "`make install` installs the pinned versions"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        f32, int8 = Path(tmp) / "f32.onnx", Path(tmp) / "int8.onnx"
        graph.build(load_file(str(folder / "model.safetensors")), f32)
        graph.quantise(f32, int8)
        found = sha256_of(int8)
        if found != pin.runtime.sha256:
            raise EncoderError(
                f"the int8 graph built from the verified weights has SHA-256 {found}, "
                f"expected {pin.runtime.sha256}; refusing to use it"
            )
        built = SentenceEncoder(folder, pin, int8).encode(PROBES)
        reference = ReferenceEncoder(folder, pin, checked=True).encode(PROBES)
        agreement = float((built * reference).sum(axis=1).min())
        if agreement < PROBE_AGREEMENT:
            raise EncoderError(
                f"the int8 graph disagrees with the reference (cosine {agreement:.3f} < "
                f"{PROBE_AGREEMENT}); refusing to use it"
            )
        os.replace(int8, target)


class VectorCache:
    """Encoded texts kept on disk between trainings (keyed by the pinned model and the text)."""

    def __init__(self, path: Path, dim: int) -> None:
        self._path = path
        self._dim = dim
        self._known: dict[str, Matrix] = {}
        if path.is_file():
            try:
                with np.load(path) as saved:
                    keys = [str(k) for k in saved["keys"]]
                    self._known = dict(zip(keys, saved["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                self._known = {}  # a damaged cache is only slower, never wrong

    def encode(self, encoder: Encoder, texts: Sequence[str]) -> Matrix:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        pairs = zip(keys, texts, strict=True)
        missing = sorted({k: t for k, t in pairs if k not in self._known}.items())
        if missing:
            fresh = encoder.encode([t for _, t in missing], workers=os.cpu_count() or 1)
            self._known.update({k: v for (k, _), v in zip(missing, fresh, strict=True)})
            self._save()
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._known[k] for k in keys]).astype(np.float32)

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp.npz")
        vectors = np.stack(list(self._known.values()))
        np.savez(tmp, keys=np.array(list(self._known)), vectors=vectors)
        tmp.replace(self._path)
