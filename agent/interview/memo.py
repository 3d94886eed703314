"""A memoising wrapper around the sentence embedder, so an interview embeds each sentence once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agent.grading.coverage import Embedder

MAX_TEXTS = 8_192
"""Embeddings kept per wrapped embedder (least recently used dropped first; about 12 MB for MiniLM)."""


class MemoEmbedder:
    """Embeds texts through `inner`, remembering each text's row; same rows, fewer model calls."""

    def __init__(self, inner: Embedder, max_texts: int = MAX_TEXTS) -> None:
        self.inner = inner
        self.max_texts = max_texts
        self._rows: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Unit-length rows for texts, embedding only the ones not seen before."""
        if not texts:
            return self.inner.embed([], batch_size=batch_size)
        with self._lock:
            found = {t: self._rows[t] for t in texts if t in self._rows}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = self.inner.embed(missing, batch_size=batch_size)
            found.update(zip(missing, fresh, strict=True))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._rows[text] = found[text]
                self._rows.move_to_end(text)
            while len(self._rows) > self.max_texts:
                self._rows.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


_WRAPPED: dict[int, MemoEmbedder] = {}
_WRAP_LOCK = threading.Lock()


def memo(embedder: Embedder) -> Embedder:
    """The one memoising wrapper of `embedder` (stable identity, so per-embedder caches keep working)."""
    if isinstance(embedder, MemoEmbedder):
        return embedder
    with _WRAP_LOCK:
        wrapped = _WRAPPED.get(id(embedder))
        if wrapped is None or wrapped.inner is not embedder:
            wrapped = MemoEmbedder(embedder)
            _WRAPPED[id(embedder)] = wrapped
        return wrapped


__all__ = ["MAX_TEXTS", "MemoEmbedder", "memo"]
