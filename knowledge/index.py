"""The persistent chromadb collection over the knowledge base, kept in sync incrementally."""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from knowledge import KNOWLEDGE_DIR
from knowledge.chunking import Chunk, chunk_file, file_digest, knowledge_files, source_path

COLLECTION = "knowledge"
MANIFEST = "vector-files.json"
"""Checksums of chromadb's vector (HNSW) files as the last sync left them: chromadb does not check them, and a
damaged one crashes the process or silently empties dense search, so a mismatch means a rebuild."""
PROBE = "vector-probe.json"
"""One stored vector and its id, to check in a child process that changed vector files still work."""
CHECKED_FILES = ("data_level0.bin", "header.bin", "link_lists.bin")
"""The HNSW files that only a write changes (chromadb rewrites `length.bin` on reads: it is not checked)."""
METADATA_KEYS = ("source", "heading", "kind", "doc_title", "case_id", "failure_mode", "step")

Notify = Callable[[str], None]
"""Receives one-line messages (rebuilds, warnings) meant for the user."""


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts into L2-normalised rows."""
        ...


class IndexStats(BaseModel):
    """What a sync did: counts and wall time."""

    files: int
    chunks: int
    files_changed: int
    added: int
    removed: int
    seconds: float
    rebuilt: bool
    read_only: bool = False
    """The folder is read-only and the index was already up to date: nothing was written."""


class IndexReadOnly(OSError):
    """The index needs writing (missing, stale, damaged) but its folder is read-only; str() is one line."""

    def __init__(self, index_dir: Path, problem: str) -> None:
        """`problem` says what is wrong with the index at `index_dir`, e.g. "is missing"."""
        message = (
            f"the index at {index_dir} {problem} but its folder is read-only, so it cannot be written there "
            "(point INTERVIEWER_DATA_DIR at a writable folder and run `interviewer index`)"
        )
        super().__init__(errno.EROFS, message)

    def __str__(self) -> str:
        return str(self.strerror)


Mark = tuple[str, str]
"""What a stored chunk says about its file: (file digest, number of chunks the file had)."""


@dataclass
class Drift:
    """How the stored chunks differ from the markdown on disk (computed without writing anything)."""

    files: int = 0
    unchanged_chunks: int = 0
    changed: list[tuple[Path, str]] = field(default_factory=list)
    """(file, digest) of files that are new, edited, or stored incompletely (a build killed mid-file)."""
    stored: dict[str, dict[str, Mark]] = field(default_factory=dict)
    """source -> chunk id -> mark, for every stored chunk."""
    gone: list[str] = field(default_factory=list)
    """Sources stored in the index whose file no longer exists."""

    @property
    def stale(self) -> bool:
        """Whether a sync would change anything."""
        return bool(self.changed or self.gone)

    def summary(self) -> str:
        """The drift in a few words, e.g. "2 files changed or new, 1 removed"."""
        return f"{len(self.changed)} files changed or new, {len(self.gone)} removed"


def _to_metadata(chunk: Chunk, digest: str, file_chunks: int) -> dict[str, str]:
    data = chunk.model_dump(include=set(METADATA_KEYS))
    meta = {k: ("" if v is None else str(v)) for k, v in data.items()}
    meta["file_digest"] = digest
    meta["file_chunks"] = str(file_chunks)  # a file is complete only with this many chunks (see `sync`)
    return meta


def chunk_from_record(chunk_id: str, document: str, meta: dict[str, Any]) -> Chunk:
    """Rebuild a Chunk from what chromadb stores (empty strings stand for None)."""
    return Chunk(
        id=chunk_id,
        text=document,
        source=str(meta.get("source", "")),
        heading=str(meta.get("heading", "")),
        kind=str(meta.get("kind", "")),
        doc_title=str(meta.get("doc_title", "")),
        case_id=meta.get("case_id") or None,
        failure_mode=meta.get("failure_mode") or None,
        step=meta.get("step") or None,
    )


def _silence_chromadb_telemetry() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


class KnowledgeIndex:
    """A chromadb collection on disk holding one embedded record per knowledge chunk."""

    def __init__(
        self,
        index_dir: Path,
        embedder_factory: Callable[[], Embedder],
        embedder_name: str = "all-MiniLM-L6-v2",
        notify: Notify | None = None,
    ) -> None:
        self.index_dir = index_dir
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.embedder_name = embedder_name
        self._notify = notify or (lambda _msg: None)
        self._collection: Any = None
        self._locked = False
        self._root = KNOWLEDGE_DIR
        self._store = index_dir
        """Where chromadb opens the index: `index_dir`, or a private copy of it when the folder is read-only."""

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (an unchanged sync never loads it)."""
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def writable(self) -> bool:
        """Whether this process may write the index and its lock file (False on a read-only mount or folder)."""
        folder = self.index_dir.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        paths = [folder, *(p for p in (self.index_dir, self.index_dir / "chroma.sqlite3") if p.exists())]
        return all(os.access(p, os.W_OK) for p in paths)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Exclusive while writing; in a read-only folder, shared on the lock file if there is one (no creation)."""
        lock = self.index_dir.parent / "index.lock"
        if not self.writable():
            try:
                handle = open(lock, encoding="utf-8")  # noqa: SIM115 (closed below)
            except OSError:  # never built here: nobody can be writing it
                yield
                return
            with handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                yield
            return
        self.index_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._locked = True
            try:
                yield
            finally:
                self._locked = False
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _open(self) -> Any:
        import chromadb

        client = chromadb.PersistentClient(path=str(self._store), settings=_silence_chromadb_telemetry())
        collection = client.get_or_create_collection(
            COLLECTION,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": self.embedder_name},
        )
        if (collection.metadata or {}).get("embedder") != self.embedder_name:
            raise ValueError(f"index was built with another embedder ({collection.metadata})")
        collection.count()
        return collection

    def _wipe(self) -> None:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        self._collection = None
        shutil.rmtree(self.index_dir, ignore_errors=True)

    def _vector_files(self) -> dict[str, str]:
        """sha256 of the HNSW segment files that only a write changes."""
        out: dict[str, str] = {}
        for f in sorted(self._store.rglob("*")):
            if f.is_file() and f.name in CHECKED_FILES:
                out[f.relative_to(self._store).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
        return out

    def _record_vector_files(self, col: Any = None) -> None:
        """Write the manifest of the vector files (atomically); called at the end of a sync that changed them.

        With `col`, also remember one stored vector and its id (PROBE): a child process that finds the files
        changed checks that this vector still finds itself first.
        """
        if col is not None:
            got = col.get(limit=1, include=["embeddings"])
            embeddings = got.get("embeddings")
            if got["ids"] and embeddings is not None and len(embeddings):
                probe = {"id": got["ids"][0], "vector": [float(x) for x in embeddings[0]]}
                _write_atomically(self.index_dir / PROBE, json.dumps(probe))
        _write_atomically(self.index_dir / MANIFEST, json.dumps(self._vector_files(), indent=1, sort_keys=True))

    def _damage(self) -> str | None:
        """Why the vector files do not match the manifest (None: they match, or there is no manifest yet)."""
        try:
            expected = json.loads((self._store / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return "its checksum file is unreadable"
        actual = self._vector_files()
        if actual == expected:
            return None
        missing = sorted(set(expected) - set(actual))
        return f"vector file {missing[0]} is missing" if missing else "its vector files changed on disk"

    def _loads_in_a_child(self) -> bool:
        """Whether chromadb can open the collection and answer one query with a hit, tried in a child process.

        chromadb writes its HNSW files lazily (after a sync, when a batch threshold or a close flushes them),
        so files that differ from the manifest are often fine; a damaged one can crash the process that
        loads it, hence the child.
        """
        if not (self._store / PROBE).is_file():
            return False
        code = (
            "import json, sys\n"
            "import chromadb\n"
            "from chromadb.config import Settings\n"
            "probe = json.loads(open(sys.argv[3], encoding='utf-8').read())\n"
            "col = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))"
            ".get_collection(sys.argv[2])\n"
            "got = col.query(query_embeddings=[probe['vector']], n_results=1, include=['distances'])\n"
            "ok = got['ids'] and got['ids'][0] and got['ids'][0][0] == probe['id'] and got['distances'][0][0] < 1e-3\n"
            "sys.exit(0 if ok else 3)\n"
        )
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        try:
            done = subprocess.run(
                [sys.executable, "-c", code, str(self._store), COLLECTION, str(self._store / PROBE)],
                capture_output=True,
                timeout=300,
                check=False,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    def collection(self) -> Any:
        """Open (or create) the collection; a corrupt or foreign index is wiped and recreated.

        In a read-only folder chromadb cannot open the index in place (it writes to its SQLite file on open):
        a private copy is opened instead, and an index that is missing or damaged raises IndexReadOnly.
        """
        if self._collection is not None:
            return self._collection
        if not self._locked:  # another process may be writing the index: check it under the lock
            with self._lock():
                if not self.writable():
                    self._collection = self._open_copy()
                    return self._collection
                return self.collection()
        problem = self._damage() if self.index_dir.is_dir() else None
        if problem is not None and "unreadable" not in problem and self._loads_in_a_child():
            self._record_vector_files()  # chromadb flushed its vectors after the last sync: they are fine
            problem = None
        if problem is not None:
            self._notify(f"The index at {self.index_dir} was unreadable ({problem}); rebuilding it.")
            self._wipe()
        try:
            self._collection = self._open()
        except Exception as e:  # chromadb raises many kinds on a damaged store
            self._notify(f"The index at {self.index_dir} was unreadable ({type(e).__name__}); rebuilding it.")
            self._wipe()
            self._collection = self._open()
        return self._collection

    def _open_copy(self) -> Any:
        """The collection of a private temporary copy of the index (removed at exit); the folder is never written."""
        if not (self.index_dir / "chroma.sqlite3").is_file():
            raise IndexReadOnly(self.index_dir, "is missing")
        copy = Path(tempfile.mkdtemp(prefix="interviewer-index-")) / "index"
        atexit.register(shutil.rmtree, copy.parent, True)  # at exit: the collection may outlive this object
        shutil.copytree(self.index_dir, copy)
        self._store = copy
        problem = self._damage()
        if problem is not None and ("unreadable" in problem or not self._loads_in_a_child()):
            raise IndexReadOnly(self.index_dir, f"is damaged ({problem})")
        try:
            return self._open()
        except Exception as e:  # chromadb raises many kinds on a damaged store; a foreign embedder too
            raise IndexReadOnly(self.index_dir, f"is unreadable ({type(e).__name__})") from e

    def is_empty(self) -> bool:
        """True when the collection holds no chunks."""
        return int(self.collection().count()) == 0

    def drift(self, root: Path = KNOWLEDGE_DIR) -> Drift:
        """How the stored chunks differ from the markdown under root; reads only (also in a read-only folder).

        A file counts as unchanged only when every stored chunk of it carries its current digest and the
        stored chunks number what the file had when embedded: a build killed mid-file leaves fewer behind.
        """
        stored = self.collection().get(include=["metadatas"])
        out = Drift()
        for chunk_id, meta in zip(stored["ids"], stored["metadatas"] or [], strict=True):
            mark = (str(meta.get("file_digest")), str(meta.get("file_chunks")))
            out.stored.setdefault(str(meta.get("source")), {})[chunk_id] = mark
        files = knowledge_files(root)
        out.files = len(files)
        seen: set[str] = set()
        for path in files:
            source = source_path(path)
            seen.add(source)
            digest = file_digest(path)
            existing = out.stored.get(source, {})
            if existing and set(existing.values()) == {(digest, str(len(existing)))}:
                out.unchanged_chunks += len(existing)
            else:
                out.changed.append((path, digest))
        out.gone = sorted(set(out.stored) - seen)
        return out

    def sync(
        self,
        root: Path = KNOWLEDGE_DIR,
        progress: Callable[[int, int], None] | None = None,
        rebuild: bool = False,
    ) -> IndexStats:
        """Bring the collection in line with the markdown under root; embed only new or changed chunks.

        In a read-only folder nothing is written: an index already in line is reported as such
        (`read_only=True`), and one that needs any change raises IndexReadOnly.
        """
        start = time.perf_counter()
        self._root = root
        if not self.writable():
            return self._check_read_only(root, rebuild, start)
        with self._lock():
            if rebuild:
                self._wipe()
            was_empty = self.is_empty()
            col = self.collection()
            drift = self.drift(root)
            to_add: list[tuple[Chunk, str, int]] = []
            to_delete: list[str] = [i for source in drift.gone for i in drift.stored[source]]
            to_retag: list[tuple[str, dict[str, str]]] = []
            total = drift.unchanged_chunks
            for path, digest in drift.changed:
                existing = drift.stored.get(source_path(path), {})
                chunks = chunk_file(path)
                total += len(chunks)
                new_ids = {c.id for c in chunks}
                to_delete.extend(i for i in existing if i not in new_ids)
                for c in chunks:
                    if c.id not in existing:
                        to_add.append((c, digest, len(chunks)))
                    else:
                        to_retag.append((c.id, _to_metadata(c, digest, len(chunks))))
            if to_delete:
                col.delete(ids=to_delete)
            if to_retag:
                col.update(ids=[i for i, _ in to_retag], metadatas=[m for _, m in to_retag])
            self._add(col, to_add, progress)
            if to_add or to_delete or to_retag or not (self.index_dir / MANIFEST).is_file():
                self._record_vector_files(col)
        return IndexStats(
            files=drift.files,
            chunks=total,
            files_changed=len(drift.changed),
            added=len(to_add),
            removed=len(to_delete),
            seconds=round(time.perf_counter() - start, 3),
            rebuilt=rebuild or (was_empty and bool(to_add)),
        )

    def _check_read_only(self, root: Path, rebuild: bool, start: float) -> IndexStats:
        """`sync` in a read-only folder: the stats of an index already in line, else IndexReadOnly."""
        if rebuild:
            raise IndexReadOnly(self.index_dir, "is to be rebuilt (--rebuild)")
        if self.is_empty():
            raise IndexReadOnly(self.index_dir, "is empty")
        drift = self.drift(root)
        if drift.stale:
            raise IndexReadOnly(self.index_dir, f"is out of date ({drift.summary()})")
        return IndexStats(
            files=drift.files,
            chunks=drift.unchanged_chunks,
            files_changed=0,
            added=0,
            removed=0,
            seconds=round(time.perf_counter() - start, 3),
            rebuilt=False,
            read_only=True,
        )

    def _add(self, col: Any, items: list[tuple[Chunk, str, int]], progress: Callable[[int, int], None] | None) -> None:
        batch = 64
        if progress and items:
            progress(0, len(items))
        for lo in range(0, len(items), batch):
            part = items[lo : lo + batch]
            vectors = self.embedder.embed([c.embedding_text() for c, _, _ in part])
            col.add(
                ids=[c.id for c, _, _ in part],
                embeddings=vectors,
                documents=[c.text for c, _, _ in part],
                metadatas=[_to_metadata(c, d, n) for c, d, n in part],
            )
            if progress:
                progress(min(lo + batch, len(items)), len(items))

    def all_chunks(self) -> list[Chunk]:
        """Every chunk stored in the collection, in a stable order."""
        got = self.collection().get(include=["documents", "metadatas"])
        chunks = [
            chunk_from_record(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        ]
        return sorted(chunks, key=lambda c: (c.source, c.heading))

    def dense_query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """Nearest chunks to a query vector: (chunk id, cosine similarity), best first.

        A query chromadb fails on internally (damaged vector files the checksums did not catch) rebuilds the
        index from the last synced corpus, with one message, and runs once more.
        """
        from chromadb.errors import InternalError

        try:
            return self._dense_query(vector, k, where)
        except InternalError as e:
            self._notify(f"The index at {self.index_dir} failed a query ({type(e).__name__}); rebuilding it.")
            self.sync(self._root, rebuild=True)
            return self._dense_query(vector, k, where)

    def _dense_query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        col = self.collection()
        n = min(k, int(col.count()))
        if n == 0:
            return []
        res = col.query(query_embeddings=vector.reshape(1, -1), n_results=n, where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]


def _write_atomically(target: Path, text: str) -> None:
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
