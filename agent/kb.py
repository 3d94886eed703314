"""Glue between settings and the knowledge index: open it, keep it in sync, search it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from agent.settings import Settings
from knowledge import KNOWLEDGE_DIR
from knowledge.index import Embedder, IndexReadOnly, IndexStats, KnowledgeIndex, Notify
from knowledge.retrieval import Retriever
from knowledge.tokens import seed_tiktoken_cache


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def embedder_factory(settings: Settings) -> Callable[[], Embedder]:
    """A loader for the packaged MiniLM embedder, caching its ONNX graph in the data folder."""

    def load() -> Embedder:
        from knowledge.embedder import load_embedder

        return load_embedder(settings.cache_dir / "onnx")

    return load


def open_index(settings: Settings, notify: Notify = _stderr) -> KnowledgeIndex:
    """The persistent index of the configured data folder (opened lazily, nothing embedded yet)."""
    seed_tiktoken_cache(settings.cache_dir / "tiktoken")
    return KnowledgeIndex(settings.index_dir, embedder_factory(settings), notify=notify)


def sync_index(
    index: KnowledgeIndex, root: Path = KNOWLEDGE_DIR, rebuild: bool = False, show_progress: bool = True
) -> IndexStats:
    """Sync the index with the corpus, showing a progress bar on stderr while chunks are embedded."""
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_progress:
            return
        if bar is None:
            bar = tqdm(total=total, desc="embedding chunks", unit="chunk", file=sys.stderr, leave=False)
        bar.n = done
        bar.refresh()

    try:
        return index.sync(root, progress=progress, rebuild=rebuild)
    finally:
        if bar is not None:
            bar.close()


def ready_retriever(settings: Settings, show_progress: bool = True, notify: Notify = _stderr) -> Retriever:
    """A retriever over an index that has just been brought up to date.

    In a read-only data folder the index is searched as it is: an out-of-date one with a one-line warning,
    a missing, empty or damaged one raises IndexReadOnly (nothing can be written there).
    """
    index = open_index(settings, notify=notify)
    if index.writable():
        sync_index(index, show_progress=show_progress)
        return Retriever(index)
    if index.is_empty():
        raise IndexReadOnly(index.index_dir, "is empty")
    drift = index.drift()
    if drift.stale:
        notify(
            f"interviewer: warning: the index at {index.index_dir} is out of date ({drift.summary()}) and its "
            "folder is read-only: searching it as it is"
        )
    return Retriever(index)
