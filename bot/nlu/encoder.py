"""A sentence encoder that understands paraphrase: all-MiniLM-L6-v2, run in numpy.

The weights come from the PyPI package named in `nlu/encoder.yml`, installed without its
dependencies (no PyTorch: `tokenizers` splits words, `safetensors` reads the weights, numpy runs
the six BERT layers). Every file is checked against the SHA-256 pinned in `nlu/encoder.yml`
before use; a mismatch refuses to load, as a helpline number is checked against its source.

Output: one L2-normalised 384-dimensional vector per text (mean of the last layer over real
tokens), the same as sentence-transformers' pipeline for this model.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


def verify(pin: EncoderPin, folder: Path) -> None:
    """Refuse any file whose SHA-256 differs from the pin (or that is missing)."""
    for name, expected in sorted(pin.sha256.items()):
        path = folder / name
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise EncoderError(f"encoder file {path} cannot be read: {exc}") from exc
        if digest.hexdigest() != expected:
            raise EncoderError(
                f"encoder file {path} has SHA-256 {digest.hexdigest()}, expected {expected} "
                f"({pin.upstream} revision {pin.revision}); refusing to load it"
            )


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


class SentenceEncoder:
    """`encode(texts) -> (n, 384)` unit vectors. Thread-safe (no mutable state after load)."""

    def __init__(self, folder: Path, pin: EncoderPin, *, checked: bool = False) -> None:
        if not checked:
            verify(pin, folder)
        self.pin = pin
        self.dim = pin.dim
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
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

    def encode(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding per batch
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            out[chunk] = self._forward([ids[i] for i in chunk])
        return out

    def _forward(self, batch: list[list[int]]) -> Matrix:
        length = max(len(ids) for ids in batch)
        tokens = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
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


def load_encoder(nlu_dir: Path) -> SentenceEncoder:
    pin = load_pin(nlu_dir / "encoder.yml")
    return SentenceEncoder(model_files(pin), pin)


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

    def encode(self, encoder: SentenceEncoder, texts: Sequence[str]) -> Matrix:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        pairs = zip(keys, texts, strict=True)
        missing = sorted({k: t for k, t in pairs if k not in self._known}.items())
        if missing:
            fresh = encoder.encode([t for _, t in missing])
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
