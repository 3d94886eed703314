"""The chromadb index: incremental by content hash, rebuilt when corrupt, fast when unchanged."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge import KNOWLEDGE_DIR
from knowledge.chunking import chunk_file
from knowledge.index import KnowledgeIndex

SMALL = ["cases/fraud-detection.md", "failure_modes/no_baseline.md", "framework/serving.md"]


class CountingEmbedder:
    """Wraps the real embedder and records every text it embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.embed(texts, batch_size)


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    for rel in SMALL:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KNOWLEDGE_DIR / rel, root / rel)
    return root


def _index(tmp_path: Path, embedder: Any, messages: list[str] | None = None) -> tuple[KnowledgeIndex, CountingEmbedder]:
    counting = CountingEmbedder(embedder)
    sink = messages if messages is not None else []
    return KnowledgeIndex(tmp_path / "index", lambda: counting, notify=sink.append), counting


def test_build_then_unchanged_sync_embeds_nothing(tmp_path: Path, small_corpus: Path, embedder: Any) -> None:
    index, counting = _index(tmp_path, embedder)
    stats = index.sync(small_corpus)
    expected = sum(len(chunk_file(small_corpus / rel)) for rel in SMALL)
    assert stats.files == 3 and stats.chunks == expected == stats.added
    assert len(counting.seen) == expected
    again, counting2 = _index(tmp_path, embedder)
    stats2 = again.sync(small_corpus)
    assert stats2.added == stats2.removed == stats2.files_changed == 0
    assert counting2.seen == [] and again._embedder is None  # the model was never even loaded


def test_changed_file_reembeds_only_its_changed_chunks(tmp_path: Path, small_corpus: Path, embedder: Any) -> None:
    index, _ = _index(tmp_path, embedder)
    index.sync(small_corpus)
    path = small_corpus / "failure_modes/no_baseline.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("## Probe question", "## Probe question\n\nAsk which model ships on day one.\n"))
    index2, counting = _index(tmp_path, embedder)
    stats = index2.sync(small_corpus)
    assert stats.files_changed == 1 and stats.added == 1 and stats.removed == 1
    assert len(counting.seen) == 1 and "day one" in counting.seen[0]
    assert stats.chunks == index2.collection().count()


def test_deleted_file_drops_its_chunks(tmp_path: Path, small_corpus: Path, embedder: Any) -> None:
    index, _ = _index(tmp_path, embedder)
    index.sync(small_corpus)
    (small_corpus / "framework/serving.md").unlink()
    stats = index.sync(small_corpus)
    assert stats.removed == len(chunk_file(KNOWLEDGE_DIR / "framework/serving.md"))
    assert all(c.source != "knowledge/framework/serving.md" for c in index.all_chunks())


def test_corrupt_index_is_rebuilt_with_one_message(tmp_path: Path, small_corpus: Path, embedder: Any) -> None:
    index, _ = _index(tmp_path, embedder)
    expected = index.sync(small_corpus).chunks
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    for f in (tmp_path / "index").rglob("*"):
        if f.is_file():
            f.write_bytes(b"this is not a database" * 100)
    messages: list[str] = []
    fresh, _ = _index(tmp_path, embedder, messages)
    stats = fresh.sync(small_corpus)
    assert len(messages) == 1 and "rebuilding" in messages[0] and "\n" not in messages[0]
    assert stats.added == expected == fresh.collection().count()


def test_full_corpus_unchanged_resync_under_two_seconds(built_index: KnowledgeIndex, settings: Any) -> None:
    fresh = KnowledgeIndex(settings.index_dir, lambda: pytest.fail("embedder must not load"))  # type: ignore[arg-type,return-value]
    start = time.perf_counter()
    stats = fresh.sync()
    elapsed = time.perf_counter() - start
    assert stats.added == 0 and stats.chunks == built_index.collection().count()
    assert elapsed < 2.0, f"unchanged re-index took {elapsed:.2f} s"
