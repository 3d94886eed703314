"""Build an ONNX graph of a BERT encoder with mean pooling from a safetensors checkpoint, no torch needed."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

GRAPH_VERSION = 1
"""Bump when the graph layout changes so cached .onnx files are rebuilt."""

OPSET = 17
"""LayerNormalization needs opset 17."""

INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "sentence_embedding"
"""Mean-pooled (not yet normalised) embeddings, float32 [batch, hidden]."""

_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4"}


@dataclass(frozen=True)
class BertConfig:
    """The few BertModel hyper-parameters the graph needs."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    layer_norm_eps: float
    max_positions: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        """Read a Hugging Face config.json of a BERT model with absolute positions and erf GELU."""
        cfg = json.loads(path.read_text(encoding="utf-8"))
        if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only BERT with exact GELU and absolute positions is supported")
        return cls(
            hidden_size=int(cfg["hidden_size"]),
            num_layers=int(cfg["num_hidden_layers"]),
            num_heads=int(cfg["num_attention_heads"]),
            intermediate_size=int(cfg["intermediate_size"]),
            layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),
            max_positions=int(cfg.get("max_position_embeddings", 512)),
        )


def safetensors_header(path: Path) -> bytes:
    """Return the raw JSON header of a safetensors file (cheap; used for cache keys)."""
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return f.read(n)


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Load every tensor of a safetensors file as a numpy array, float16/bfloat16 widened to float32."""
    header_bytes = safetensors_header(path)
    header: dict[str, Any] = json.loads(header_bytes)
    header.pop("__metadata__", None)
    data = path.read_bytes()[8 + len(header_bytes) :]
    out: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        kind = info["dtype"]
        if kind not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {kind}")
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=_DTYPES[kind]).reshape(info["shape"])
        if kind == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(np.float32) if kind in ("F16", "BF16") else arr.copy()
    return out


class _Graph:
    """Accumulates ONNX nodes and initializers with unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def const(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=f"n{self._n}_{op_type}", **attrs))
        return out

    def linear(self, x: str, weight: npt.NDArray[Any], bias: npt.NDArray[Any], name: str) -> str:
        """x @ weight.T + bias, with weight in torch's [out, in] layout."""
        w = self.const(f"{name}.weight_t", weight.T)
        b = self.const(f"{name}.bias", bias)
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def layer_norm(self, x: str, weights: dict[str, npt.NDArray[Any]], name: str, eps: float) -> str:
        g = self.const(f"{name}.weight", weights[f"{name}.weight"])
        b = self.const(f"{name}.bias", weights[f"{name}.bias"])
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)


def _strip_prefix(weights: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """Accept checkpoints saved from BertModel ("embeddings...") or a wrapper ("bert.embeddings...")."""
    if "embeddings.word_embeddings.weight" in weights:
        return weights
    for prefix in ("bert.", "model.", "0.auto_model."):
        if f"{prefix}embeddings.word_embeddings.weight" in weights:
            return {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
    raise ValueError("safetensors file holds no BERT embeddings.word_embeddings.weight tensor")


def build_model(weights_path: Path, config_path: Path) -> Any:
    """Return an onnx.ModelProto: (input_ids, attention_mask) int64 [B, S] -> mean-pooled float32 [B, hidden]."""
    from onnx import TensorProto, checker, helper

    cfg = BertConfig.from_file(config_path)
    w = _strip_prefix(read_safetensors(weights_path))
    g = _Graph()
    hidden, heads = cfg.hidden_size, cfg.num_heads
    head_dim = hidden // heads
    eps = cfg.layer_norm_eps

    # Embeddings: token type ids are always 0, so fold that row into the position table.
    word = g.const("word_embeddings", w["embeddings.word_embeddings.weight"])
    pos_table = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    pos = g.const("position_plus_type_embeddings", pos_table)
    seq_len = g.op("Gather", [g.op("Shape", [INPUT_IDS]), g.const("one", [1], np.int64)])
    pos_slice = g.op("Slice", [pos, g.const("zero", [0], np.int64), seq_len, g.const("zero_axis", [0], np.int64)])
    x = g.op("Add", [g.op("Gather", [word, INPUT_IDS]), pos_slice])
    x = g.layer_norm(x, w, "embeddings.LayerNorm", eps)

    # Additive attention mask [B, 1, 1, S]: 0 for tokens, float32 min for padding (as Hugging Face does).
    mask_f = g.op("Cast", [ATTENTION_MASK], to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.const("one_f", 1.0), mask_f])
    bias = g.op("Mul", [inv, g.const("neg_big", np.finfo(np.float32).min)])
    bias = g.op("Unsqueeze", [bias, g.const("axes_1_2", [1, 2], np.int64)])

    split_heads = g.const("split_heads", [0, 0, heads, head_dim], np.int64)
    merge_heads = g.const("merge_heads", [0, 0, hidden], np.int64)
    scale = 1.0 / math.sqrt(head_dim)
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}"
        a = f"{p}.attention"
        q = g.linear(x, w[f"{a}.self.query.weight"] * scale, w[f"{a}.self.query.bias"] * scale, f"{a}.self.query")
        k = g.linear(x, w[f"{a}.self.key.weight"], w[f"{a}.self.key.bias"], f"{a}.self.key")
        v = g.linear(x, w[f"{a}.self.value.weight"], w[f"{a}.self.value.bias"], f"{a}.self.value")
        q = g.op("Transpose", [g.op("Reshape", [q, split_heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, split_heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, split_heads])], perm=[0, 2, 1, 3])
        probs = g.op("Softmax", [g.op("Add", [g.op("MatMul", [q, k]), bias])], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_heads])
        attn = g.linear(ctx, w[f"{a}.output.dense.weight"], w[f"{a}.output.dense.bias"], f"{a}.output.dense")
        x = g.layer_norm(g.op("Add", [attn, x]), w, f"{a}.output.LayerNorm", eps)

        h = g.linear(x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], f"{p}.intermediate")
        erf = g.op("Erf", [g.op("Mul", [h, g.const(f"{p}.inv_sqrt2", 1.0 / math.sqrt(2.0))])])
        h = g.op("Mul", [g.op("Mul", [h, g.const(f"{p}.half", 0.5)]), g.op("Add", [erf, g.const(f"{p}.one", 1.0)])])
        out = g.linear(h, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", [out, x]), w, f"{p}.output.LayerNorm", eps)

    # Mean pooling over real tokens.
    m = g.op("Unsqueeze", [mask_f, g.const("axis_last", [-1], np.int64)])
    axis1 = g.const("axis_1", [1], np.int64)
    summed = g.op("ReduceSum", [g.op("Mul", [x, m]), axis1], keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [m, axis1], keepdims=0), g.const("min_count", 1e-9)])
    g.nodes.append(helper.make_node("Div", [summed, count], [OUTPUT], name="mean_pool"))

    graph = helper.make_graph(
        g.nodes,
        "bert_mean_pooling",
        [
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.inits,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="knowledge.onnx_bert")
    model.ir_version = 8
    checker.check_model(model)
    return model
