"""Fault tests (issue 7): SIGKILL mid-turn, full disk, read-only folder, locked or corrupt store, damaged index.

The scenarios run real `interviewer` processes (`evals/faults.py`, which also prints them as a table);
full-disk and read-only folders need a private mount namespace (`unshare -m`, root): without one these
tests fail under CI and are skipped locally, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.sessions import StoreUnavailable
from agent.sessions.errors import unavailable_from_sqlite
from agent.settings import Settings
from evals import faults
from evals.fault_harness import Outcome, unshare_problem
from knowledge import KNOWLEDGE_DIR
from knowledge.index import MANIFEST, KnowledgeIndex

SMALL = ["failure_modes/no_baseline.md", "framework/serving.md"]


@pytest.fixture
def base(settings: Settings, embedder: Any) -> Path:
    """A data folder whose embedder cache is built (the scenarios share it through a symlink or bind mount)."""
    assert (settings.cache_dir / "onnx").is_dir()
    return settings.data_dir


def _need_namespace() -> None:
    problem = unshare_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"fault tests need a private mount namespace on CI: {problem}")
    pytest.skip(f"no private mount namespace here: {problem}")


def _passed(out: Outcome) -> None:
    assert out.passed, f"{out.scenario}: failed checks {out.failed()} ({out.note}); user saw: {out.message}"
    assert out.lost == 0


@pytest.mark.slow
def test_app_sigkill_mid_turn_keeps_every_acknowledged_turn_and_resumes(base: Path, tmp_path: Path) -> None:
    out = faults.app_sigkill(base, tmp_path, clients=3, acks_each=1)
    _passed(out)
    assert out.exit_code == -9 and out.turns_before >= 3 and out.turns_after > out.turns_before


@pytest.mark.slow
def test_terminal_sigkill_twice_then_resume_to_the_scorecard(base: Path, tmp_path: Path) -> None:
    out = faults.terminal_sigkill(base, tmp_path)
    _passed(out)
    assert out.exit_code == 0 and out.turns_after == len(faults.MESSAGES)


@pytest.mark.slow
def test_full_disk_is_one_line_and_loses_nothing(base: Path, tmp_path: Path) -> None:
    _need_namespace()
    out = faults.full_disk(base, tmp_path)
    _passed(out)
    assert out.exit_code == 2 and out.message.startswith("interviewer: error: ") and "full" in out.message
    assert "--resume" in out.message and out.turns_after == out.turns_before + 1  # the retried turn, after freeing


@pytest.mark.slow
def test_read_only_folder_reads_work_and_writes_say_so(base: Path, built_index: Any, tmp_path: Path) -> None:
    _need_namespace()  # built_index: the scenario searches copies of the base's index
    out = faults.read_only(base, tmp_path)
    _passed(out)
    assert "read-only" in out.message and out.turns_after == out.turns_before


@pytest.mark.slow
def test_locked_store_says_busy_keeps_serving_and_retries(base: Path, tmp_path: Path) -> None:
    out = faults.locked_store(base, tmp_path)
    _passed(out)
    assert "busy" in out.message and out.turns_after == out.turns_before + 1


@pytest.mark.slow
def test_corrupt_store_is_reported_and_never_touched(base: Path, tmp_path: Path) -> None:
    out = faults.corrupt_store(base, tmp_path, variants=("pages",))  # a garbage header: test_interview_sessions
    _passed(out)
    assert "not a valid SQLite database" in out.message and ".corrupt" in out.message
    assert any(name.endswith("file bytes unchanged") for name in out.checks)


def test_store_errors_have_a_path_free_public_line(tmp_path: Path) -> None:
    path = tmp_path / "secret-folder" / "sessions.sqlite3"
    for code, reason in ((5, "busy"), (13, "full"), (8, "readonly"), (26, "corrupt"), (10, "io"), (1, "other")):
        mapped = unavailable_from_sqlite(_sqlite_error(code), path, 1.0)
        assert isinstance(mapped, StoreUnavailable) and mapped.reason == reason, code
        assert str(path) in str(mapped) and "secret-folder" not in mapped.public and "\n" not in mapped.public
        assert mapped.transient == (reason == "busy")


def _sqlite_error(code: int) -> Any:
    import sqlite3

    err = sqlite3.OperationalError("some sqlite message")
    err.sqlite_errorcode = code
    return err


def test_app_shows_the_public_line_for_store_errors() -> None:
    from ui.handlers import user_error

    e = StoreUnavailable("The session store /srv/x/sessions.sqlite3 is busy: …", "busy")
    shown = str(user_error(e))
    assert "busy" in shown and "/srv" not in shown and "try again" in shown


# -- the index: damaged vector files and a build killed half-way (in-process, small corpus) ----------


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    for rel in SMALL:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KNOWLEDGE_DIR / rel, root / rel)
    return root


def _fresh(tmp_path: Path, embedder: Any, messages: list[str]) -> KnowledgeIndex:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # a new process would not share chromadb's cached clients
    return KnowledgeIndex(tmp_path / "index", lambda: embedder, notify=messages.append)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["vectors-garbled", "vectors-deleted", "checksums-garbled"])
def test_damaged_vector_files_are_rebuilt_with_one_line(
    tmp_path: Path, small_corpus: Path, embedder: Any, how: str
) -> None:
    quiet: list[str] = []
    full = _fresh(tmp_path, embedder, quiet).sync(small_corpus).chunks
    assert (tmp_path / "index" / MANIFEST).is_file()
    same = _fresh(tmp_path, embedder, quiet)
    assert same.sync(small_corpus).added == 0 and quiet == []  # a clean index is never rebuilt
    segments = [p for p in (tmp_path / "index").iterdir() if p.is_dir()]
    assert segments
    for seg in segments:
        if how == "vectors-deleted":
            shutil.rmtree(seg)
        elif how == "vectors-garbled":
            data = seg / "data_level0.bin"
            raw = bytearray(data.read_bytes())
            raw[::7] = b"\xa5" * len(raw[::7])
            data.write_bytes(bytes(raw))
    if how == "checksums-garbled":
        (tmp_path / "index" / MANIFEST).write_text("{not json", encoding="utf-8")
    messages: list[str] = []
    index = _fresh(tmp_path, embedder, messages)
    stats = index.sync(small_corpus)
    if how == "checksums-garbled":
        assert len(messages) == 1 and "rebuilding" in messages[0] and "\n" not in messages[0]
        assert stats.added == full
    else:  # chromadb may rebuild its HNSW files from its own log: a child process checks before any wipe
        assert len(messages) <= 1 and all("rebuilding" in m and "\n" not in m for m in messages)
        assert stats.added == (full if messages else 0)
    assert full == index.collection().count()
    vector = np.asarray(embedder.embed(["a popularity baseline before any model"]))[0]
    assert len(index.dense_query(vector, 3, None)) == 3


@pytest.mark.slow
def test_a_build_killed_half_way_is_completed_by_the_next_sync(
    tmp_path: Path, small_corpus: Path, embedder: Any
) -> None:
    index = _fresh(tmp_path, embedder, [])
    full = index.sync(small_corpus).chunks
    col = index.collection()
    got = col.get(where={"source": "knowledge/framework/serving.md"})
    lost = got["ids"][len(got["ids"]) // 2 :]  # what a SIGKILL between two batches leaves out
    col.delete(ids=lost)
    assert col.count() == full - len(lost)
    again = _fresh(tmp_path, embedder, [])
    stats = again.sync(small_corpus)
    assert stats.added == len(lost) and again.collection().count() == full
    assert _fresh(tmp_path, embedder, []).sync(small_corpus).added == 0


_CRASHED_WRITER = """
import os, signal, sys
from pathlib import Path
from agent.sessions import SessionStore, TurnRecord
store = SessionStore(Path(sys.argv[1]))
sid = store.create(kind="interview", case_id="c", level="l", state_json="{}").id
print(sid, flush=True)
store.append_turns(sid, [TurnRecord(role="candidate", text="kept")], "{}", expected_version=1)
os.kill(os.getpid(), signal.SIGKILL)
"""

_READER = """
import json, os, sys
from pathlib import Path
from agent.sessions import SessionStore, StoreUnavailable
if os.geteuid() == 0:  # root ignores permission bits: drop to nobody so the folder is really read-only
    os.setgid(65534)
    os.setuid(65534)
store = SessionStore(Path(sys.argv[1]))
texts = [t.text for t in store.load(sys.argv[2]).turns]
try:
    store.create(kind="drill", case_id="c", level="l", state_json="{}")
    reason = None
except StoreUnavailable as e:
    reason = e.reason
print(json.dumps({"texts": texts, "reason": reason}))
"""


def test_read_only_store_left_by_a_crash_still_shows_its_turns() -> None:
    import subprocess
    import sys
    import tempfile

    from evals.fault_harness import ROOT

    folder = Path(tempfile.mkdtemp(prefix="interviewer-ro-"))  # not tmp_path: nobody must reach it
    db = folder / "sessions.sqlite3"
    try:
        writer = subprocess.run(
            [sys.executable, "-c", _CRASHED_WRITER, str(db)], cwd=ROOT, capture_output=True, text=True
        )
        assert writer.returncode < 0 and Path(f"{db}-wal").stat().st_size > 0  # killed with the turn in the WAL
        for f in folder.iterdir():
            f.chmod(0o444)
        folder.chmod(0o555)
        reader = subprocess.run(
            [sys.executable, "-c", _READER, str(db), writer.stdout.strip()], cwd=ROOT, capture_output=True, text=True
        )
        assert reader.returncode == 0, reader.stderr
        assert json.loads(reader.stdout) == {"texts": ["kept"], "reason": "readonly"}
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
