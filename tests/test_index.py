"""The chromadb index: incremental by content hash, rebuilt when corrupt, fast when unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evals.fault_harness import ROOT, file_hashes
from knowledge import KNOWLEDGE_DIR
from knowledge.chunking import chunk_file
from knowledge.index import PROBE, KnowledgeIndex
from tests.test_faults import _need_namespace

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


# -- a read-only data folder: search the index as it is, never write ---------------------------------

_READ_ONLY_CHILD = """
import json, sys
from pathlib import Path
import numpy as np
from knowledge.index import IndexReadOnly, KnowledgeIndex
index_dir, root = Path(sys.argv[1]), Path(sys.argv[2])
def no_model():
    raise AssertionError("the embedder must not load")
index = KnowledgeIndex(index_dir, no_model)
out = {"writable": index.writable()}
try:
    out["sync"] = index.sync(root).model_dump(include={"read_only", "added", "removed", "chunks"})
except IndexReadOnly as e:
    out["sync_error"] = str(e)
try:
    drift = index.drift(root)
    probe = json.loads(sys.argv[3])
    hits = index.dense_query(np.asarray(probe["vector"]), 1, None)
    out.update(stale=drift.summary() if drift.stale else "", hit=hits[0][0] if hits else None)
except IndexReadOnly as e:
    out["open_error"] = str(e)
print(json.dumps(out))
"""


def _run_read_only(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `python ARGV` with `folder` read-only: permission bits, or for root a read-only bind mount."""
    cmd = [sys.executable, *argv]
    if os.geteuid() == 0:  # root ignores permission bits: a private read-only mount of the folder instead
        _need_namespace()
        mount = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", mount, str(folder), *cmd]
    else:
        for p in [folder, *folder.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        for p in [folder, *folder.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.mark.parametrize("state", ["current", "stale", "missing"])
def test_read_only_folder_searches_the_index_as_it_is_and_writes_nothing(
    tmp_path: Path, embedder: Any, state: str
) -> None:
    folder = tmp_path / "ro"
    root = folder / "knowledge"
    for rel in SMALL[1:]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KNOWLEDGE_DIR / rel, root / rel)
    index_dir = folder / "data" / "index"
    probe: dict[str, Any] = {}
    full = 0
    if state == "missing":
        index_dir.parent.mkdir(parents=True)
    else:
        index, _ = _index(folder / "data", embedder)
        full = index.sync(root).chunks
        probe = json.loads((index_dir / PROBE).read_text(encoding="utf-8"))
        if state == "stale":  # a build killed mid-file: part of one file's chunks never made it
            col = index.collection()
            got = col.get(where={"source": "knowledge/framework/serving.md"})
            col.delete(ids=[i for i in got["ids"][len(got["ids"]) // 2 :] if i != probe["id"]])
        else:  # no lock file either: a read-only run must not need to create one
            (folder / "data" / "index.lock").unlink()
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    before = file_hashes(folder)
    child = _run_read_only(folder, ["-c", _READ_ONLY_CHILD, str(index_dir), str(root), json.dumps(probe)])
    assert child.returncode == 0, child.stderr[-2000:]
    got = json.loads(child.stdout)
    assert got["writable"] is False
    assert file_hashes(folder) == before  # not one byte written, no lock file created
    if state == "current":
        assert got["sync"] == {"read_only": True, "added": 0, "removed": 0, "chunks": full}
        assert got["stale"] == "" and got["hit"] == probe["id"]
    elif state == "stale":
        assert "is out of date (1 files changed or new, 0 removed)" in got["sync_error"]
        assert "read-only" in got["sync_error"] and "\n" not in got["sync_error"]
        assert got["stale"] == "1 files changed or new, 0 removed" and got["hit"] == probe["id"]
    else:
        assert "is missing" in got["sync_error"] and "read-only" in got["sync_error"]
        assert "is missing" in got["open_error"] and not index_dir.exists()
