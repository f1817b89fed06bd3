"""The encoder as an ONNX graph: built from the verified weights, then quantised to int8.

`build(weights)` writes all-MiniLM-L6-v2's forward pass (embeddings, six BERT layers, mean
pooling over real tokens, L2 normalisation) with standard ONNX operators; `quantise` turns the
weight products into int8 with one scale per output channel (ONNX Runtime's dynamic
quantisation). Both steps are deterministic: the same weights and the same pinned onnx /
onnxruntime versions give the same bytes, so the result is pinned by SHA-256 in
`nlu/encoder.yml` like the weights it came from.

Inputs: `input_ids` (n, t) int64 and `mask` (n, t) float32 (1 for a real token). Output:
`vectors` (n, 384) float32, unit length.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
HEADS = 12
LAYERS = 6
OPSET = 20  # Gelu and LayerNormalization are standard operators from here
_EPS = 1e-12


class _Graph:
    """Collects nodes and initialisers; every node is named after its output."""

    def __init__(self) -> None:
        from onnx import numpy_helper

        self._to_tensor = numpy_helper.from_array
        self.nodes: list[object] = []
        self.inits: list[object] = []

    def const(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        array: npt.NDArray[Any] = np.array(value, dtype=dtype, order="C")  # a scalar stays one
        self.inits.append(self._to_tensor(array, name))
        return name

    def op(self, kind: str, inputs: list[str], name: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = name or f"{kind.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, name: str, weight: Matrix, bias: Matrix) -> str:
        """x @ weight.T + bias (torch's Linear layout); the MatMul is what int8 quantises."""
        product = self.op("MatMul", [x, self.const(f"{name}.w", weight.T)], name=f"{name}.mm")
        return self.op("Add", [product, self.const(f"{name}.b", bias)])

    def dense(self, x: str, name: str, w: dict[str, Matrix], key: str) -> str:
        return self.linear(x, name, w[f"{key}.weight"], w[f"{key}.bias"])

    def layer_norm(self, x: str, name: str, w: dict[str, Matrix], key: str) -> str:
        scale = self.const(f"{name}.g", w[f"{key}.weight"])
        shift = self.const(f"{name}.beta", w[f"{key}.bias"])
        return self.op("LayerNormalization", [x, scale, shift], axis=-1, epsilon=_EPS)


def build(weights: dict[str, Matrix], path: Path) -> None:
    """Write the float32 graph for these (already verified) weights to `path`."""
    import onnx
    from onnx import TensorProto, helper

    w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
    dim = w["embeddings.word_embeddings.weight"].shape[1]
    g = _Graph()
    one = g.const("one", [1], np.int64)
    zero = g.const("zero", [0], np.int64)
    length = g.op("Slice", [g.op("Shape", ["input_ids"]), one, g.const("two", [2], np.int64)])
    positions = g.op(
        "Slice", [g.const("positions", w["embeddings.position_embeddings.weight"]), zero, length]
    )
    words = g.op("Gather", [g.const("words", w["embeddings.word_embeddings.weight"]), "input_ids"])
    token_type = g.const("token_type", w["embeddings.token_type_embeddings.weight"][0])
    x = g.op("Add", [g.op("Add", [words, positions]), token_type])
    x = g.layer_norm(x, "embeddings", w, "embeddings.LayerNorm")
    # padding gets -1e9 before the softmax: (n, 1, 1, t)
    unmasked = g.op("Sub", [g.const("f1", 1.0), "mask"])
    blocked = g.op("Mul", [unmasked, g.const("minus_inf", -1e9)])
    blocked = g.op("Unsqueeze", [blocked, g.const("axes_1_2", [1, 2], np.int64)])
    for i in range(LAYERS):
        x = _layer(g, w, f"encoder.layer.{i}.", x, blocked, dim)
    mask3 = g.op("Unsqueeze", ["mask", g.const("axis_last", [-1], np.int64)])
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask3]), one], keepdims=0)
    pooled = g.op("Div", [summed, g.op("ReduceSum", ["mask", one], keepdims=1)])
    norm = g.op("ReduceL2", [pooled, g.const("axis_m1", [-1], np.int64)], keepdims=1)
    g.op("Div", [pooled, g.op("Max", [norm, g.const("tiny", 1e-12)])], name="vectors")

    graph = helper.make_graph(
        g.nodes,  # type: ignore[arg-type]
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["n", "t"]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", "t"]),
        ],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["n", dim])],
        g.inits,  # type: ignore[arg-type]
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="signpost"
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _layer(g: _Graph, w: dict[str, Matrix], p: str, x: str, blocked: str, dim: int) -> str:
    att = p + "attention."
    names = ("query", "key", "value")
    qkv_weight = np.concatenate([w[f"{att}self.{n}.weight"] for n in names], axis=0)
    qkv_bias = np.concatenate([w[f"{att}self.{n}.bias"] for n in names])
    qkv = g.linear(x, f"{p}qkv", qkv_weight, qkv_bias)
    split = g.const(f"{p}split", [0, 0, 3, HEADS, dim // HEADS], np.int64)
    qkv = g.op("Transpose", [g.op("Reshape", [qkv, split])], perm=[2, 0, 3, 1, 4])
    # a scalar index drops the axis: (3, n, h, t, dh) -> three (n, h, t, dh)
    q, k, v = (g.op("Gather", [qkv, g.const(f"{p}i{j}", j, np.int64)], axis=0) for j in range(3))
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])], name=f"{p}scores")
    scores = g.op("Mul", [scores, g.const(f"{p}scale", 1.0 / np.sqrt(dim // HEADS))])
    weights = g.op("Softmax", [g.op("Add", [scores, blocked])], axis=-1)
    context = g.op("MatMul", [weights, v], name=f"{p}context")
    merge = g.const(f"{p}merge", [0, 0, dim], np.int64)
    context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge])
    attended = g.dense(context, f"{p}out", w, f"{att}output.dense")
    x = g.layer_norm(g.op("Add", [x, attended]), f"{p}norm1", w, f"{att}output.LayerNorm")
    up = g.dense(x, f"{p}up", w, f"{p}intermediate.dense")
    down = g.dense(g.op("Gelu", [up]), f"{p}down", w, f"{p}output.dense")
    return g.layer_norm(g.op("Add", [x, down]), f"{p}norm2", w, f"{p}output.LayerNorm")


def quantise(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel, for the weight products only.

    The two attention products (scores, context) multiply activations by activations and
    stay in float32; quantising them too costs accuracy for little speed.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    attention = [n.name for n in model.graph.node if n.name.endswith((".scores", ".context"))]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's advice on the root logger is not for users
    try:
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=attention,
            per_channel=True,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)
