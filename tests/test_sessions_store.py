"""The SQLite session store: round trips, ordering, isolation, concurrency, durability and failures of the file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from agent.sessions import (
    InvalidSessionId,
    SessionExists,
    SessionNotFound,
    SessionStore,
    SessionStoreError,
    StaleSession,
    StoreUnavailable,
    TurnRecord,
    new_session_id,
)
from agent.sessions.errors import unavailable_from_sqlite
from agent.sessions.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]


def _store(tmp_path: Path, **kw: float) -> SessionStore:
    return SessionStore(tmp_path / "data" / "sessions.sqlite3", **kw)  # type: ignore[arg-type]


def _new(store: SessionStore, owner: str | None = None, kind: str = "interview") -> str:
    return store.create(kind=kind, case_id="news-feed", level="senior", state_json="{}", owner=owner).id  # type: ignore[arg-type]


def _turns(*texts: str) -> list[TurnRecord]:
    return [TurnRecord(role="candidate" if i % 2 else "interviewer", text=t) for i, t in enumerate(texts)]


def test_create_append_load_round_trip(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert (tmp_path / "data").is_dir()
    rec = store.create(kind="interview", case_id="news-feed", level="staff", state_json='{"step": 0}', owner="ann")
    assert (rec.version, rec.status, rec.turns, rec.turn_count) == (1, "active", [], 0)
    turns = [
        TurnRecord(role="interviewer", text="Design a news feed.", phase="clarify", move="open"),
        TurnRecord(role="candidate", text="How many users? ünïcode ✓\x00", meta={"latency_ms": 12, "tags": ["q"]}),
    ]
    v = store.append_turns(
        rec.id,
        turns,
        '{"step": 1}',
        expected_version=1,
        owner="ann",
        status="finished",
        overall=3.5,
        hire_signal="hire",
    )
    assert v == 2
    got = store.load(rec.id, owner="ann")
    assert (got.state_json, got.version, got.status, got.overall, got.hire_signal) == (
        '{"step": 1}',
        2,
        "finished",
        3.5,
        "hire",
    )
    assert [(t.seq, t.role, t.text, t.phase, t.move, t.meta) for t in got.turns] == [
        (1, "interviewer", "Design a news feed.", "clarify", "open", {}),
        (2, "candidate", "How many users? ünïcode ✓\x00", None, None, {"latency_ms": 12, "tags": ["q"]}),
    ]
    assert got.turn_count == 2 and got.updated_at >= got.created_at
    # None leaves status/overall/hire_signal as they were.
    store.append_turns(rec.id, [], '{"step": 2}', expected_version=2, owner="ann")
    again = store.load(rec.id, owner="ann")
    assert (again.version, again.status, again.overall, again.hire_signal) == (3, "finished", 3.5, "hire")


def test_seq_numbers_are_consecutive_across_appends(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    v = 1
    for batch in (("a",), ("b", "c", "d"), (), ("e", "f")):
        v = store.append_turns(sid, _turns(*batch), "{}", expected_version=v)
    rec = store.load(sid)
    assert [t.seq for t in rec.turns] == [1, 2, 3, 4, 5, 6]
    assert [t.text for t in rec.turns] == ["a", "b", "c", "d", "e", "f"]
    assert rec.version == 5


def test_turns_survive_reopening(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    store.append_turns(sid, _turns("one", "two"), '{"k": 1}', expected_version=1)
    store.close()
    reopened = _store(tmp_path)
    rec = reopened.load(sid)
    assert [t.text for t in rec.turns] == ["one", "two"] and rec.state_json == '{"k": 1}'
    with sqlite3.connect(reopened.path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_optimistic_concurrency_two_tabs(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    tab_a = store.load(sid)
    tab_b = store.load(sid)
    store.append_turns(sid, _turns("from A"), '{"tab": "a"}', expected_version=tab_a.version)
    with pytest.raises(StaleSession, match="reload"):
        store.append_turns(sid, _turns("from B"), '{"tab": "b"}', expected_version=tab_b.version)
    rec = store.load(sid)
    assert [t.text for t in rec.turns] == ["from A"] and rec.state_json == '{"tab": "a"}' and rec.version == 2
    with pytest.raises(StaleSession):
        store.set_status(sid, "abandoned", expected_version=1)
    assert store.set_status(sid, "abandoned", expected_version=2) == 3
    assert store.load(sid).status == "abandoned"


def test_owner_isolation(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ann = _new(store, owner="ann")
    bob = _new(store, owner="bob")
    anon = _new(store)
    missing = new_session_id()
    # Another owner's session is indistinguishable from a missing one, message included (up to the id).
    for sid, owner in ((ann, "bob"), (ann, None), (anon, "bob")):
        with pytest.raises(SessionNotFound) as wrong:
            store.load(sid, owner=owner)
        with pytest.raises(SessionNotFound) as absent:
            store.load(missing, owner=owner)
        assert str(wrong.value).replace(sid, "ID") == str(absent.value).replace(missing, "ID")
        with pytest.raises(SessionNotFound):
            store.append_turns(sid, _turns("x"), "{}", expected_version=1, owner=owner)
        with pytest.raises(SessionNotFound):
            store.set_status(sid, "abandoned", owner=owner)
    assert [s.id for s in store.list_sessions(owner="ann")] == [ann]
    assert [s.id for s in store.list_sessions(owner="bob")] == [bob]
    assert [s.id for s in store.list_sessions()] == [anon]
    assert store.load(ann, owner="ann").turns == []
    assert store.load(ann, owner="ann").version == 1  # nothing was written by the failed attempts


def test_list_sessions_newest_first_with_counts_and_filters(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = _new(store, owner="ann")
    second = _new(store, owner="ann", kind="drill")
    third = _new(store, owner="ann")
    store.append_turns(first, _turns("a", "b", "c"), "{}", expected_version=1, owner="ann", overall=2.0)
    rows = store.list_sessions(owner="ann")
    assert [r.id for r in rows] == [third, second, first]
    assert {r.id: r.turn_count for r in rows} == {third: 0, second: 0, first: 3}
    assert rows[2].overall == 2.0 and rows[2].case_id == "news-feed" and rows[2].level == "senior"
    assert [r.id for r in store.list_sessions(owner="ann", kind="drill")] == [second]
    assert [r.id for r in store.list_sessions(owner="ann", limit=2)] == [third, second]


def test_create_never_overwrites(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = new_session_id()
    store.create(kind="grade", case_id="c", level="l", state_json='{"v": 1}', session_id=sid)
    with pytest.raises(SessionExists):
        store.create(kind="grade", case_id="c", level="l", state_json='{"v": 2}', session_id=sid)
    assert store.load(sid).state_json == '{"v": 1}'


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "short",
        "../../../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "abcdefghijklmnop/",
        "x' OR '1'='1' --abcdefgh",
        "abcdefghijklmnop; DROP TABLE sessions",
        "abcdefghijklmnop\n",
        "abcdefghijklmnopé",
        "a" * 65,
        None,
        12345678901234567890,
    ],
)
def test_invalid_ids_rejected(tmp_path: Path, bad: object) -> None:
    store = _store(tmp_path)
    with pytest.raises(InvalidSessionId):
        store.load(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSessionId):
        store.append_turns(bad, [], "{}", expected_version=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidSessionId):
        store.set_status(bad, "finished")  # type: ignore[arg-type]
    if bad is not None:  # create(session_id=None) means "generate one"
        with pytest.raises(InvalidSessionId):
            store.create(kind="drill", case_id="c", level="l", state_json="{}", session_id=bad)  # type: ignore[arg-type]


def test_arbitrary_ids_only_raise_documented_errors(tmp_path: Path) -> None:
    store = _store(tmp_path)
    known = _new(store, owner="ann")

    @hyp_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.text(max_size=80), st.from_regex(r"[A-Za-z0-9_-]{10,70}", fullmatch=True), st.just(known)))
    def check(text: str) -> None:
        for call in (
            lambda: store.load(text),
            lambda: store.append_turns(text, _turns("x"), "{}", expected_version=99),
            lambda: store.set_status(text, "abandoned", expected_version=99),
        ):
            try:
                call()
            except (InvalidSessionId, SessionNotFound) as e:
                assert "\n" not in str(e)
            # anything else (a traceback from deeper down) fails the property
        assert store.load(known, owner="ann").version == 1

    check()


def test_concurrent_appends_from_8_threads_into_8_sessions(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sids = [_new(store) for _ in range(8)]
    per_thread = 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(sid: str) -> None:
        try:
            barrier.wait()
            version = 1
            for i in range(per_thread):
                version = store.append_turns(sid, _turns(f"{sid}:{i}"), f'{{"i": {i}}}', expected_version=version)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for sid in sids:
        rec = store.load(sid)
        assert [t.text for t in rec.turns] == [f"{sid}:{i}" for i in range(per_thread)]
        assert [t.seq for t in rec.turns] == list(range(1, per_thread + 1))
        assert rec.version == per_thread + 1


def test_contended_appends_into_one_session_lose_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    stale = 0
    lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal stale
        done = 0
        while done < 10:
            current = store.load(sid).version
            try:
                store.append_turns(sid, _turns(f"{n}:{done}"), "{}", expected_version=current)
                done += 1
            except StaleSession:
                with lock:
                    stale += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec = store.load(sid)
    assert sorted(t.text for t in rec.turns) == sorted(f"{n}:{d}" for n in range(8) for d in range(10))
    assert [t.seq for t in rec.turns] == list(range(1, 81)) and rec.version == 81


def test_acknowledged_append_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.sqlite3"
    snippet = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from agent.sessions import SessionStore, TurnRecord
        store = SessionStore(Path({str(path)!r}))
        sid = store.create(kind="interview", case_id="c", level="l", state_json="{{}}").id
        print(sid, flush=True)
        v = store.append_turns(sid, [TurnRecord(role="candidate", text="kept")], '{{"n": 1}}', expected_version=1)
        store.append_turns(sid, [TurnRecord(role="interviewer", text="also kept")], '{{"n": 2}}', expected_version=v)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    sid = proc.stdout.strip()
    assert Path(str(path) + "-wal").exists()  # killed without a checkpoint: the turns live in the WAL
    rec = SessionStore(path).load(sid)
    assert [t.text for t in rec.turns] == ["kept", "also kept"]
    assert (rec.state_json, rec.version) == ('{"n": 2}', 3)


@pytest.mark.parametrize("where", ["header", "page2"])
def test_corrupt_file_is_reported_and_left_untouched(tmp_path: Path, where: str) -> None:
    path = tmp_path / "data" / "sessions.sqlite3"
    operation: Callable[[], object]
    if where == "header":
        path.parent.mkdir(parents=True)
        path.write_bytes(b"this is not a database\n" * 500 + bytes(range(256)) * 8)
        operation = lambda: SessionStore(path)  # noqa: E731
    else:
        store = SessionStore(path)
        sid = _new(store)
        store.append_turns(sid, _turns("a"), "{}", expected_version=1)
        store.close()
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
        raw.close()
        data = bytearray(path.read_bytes())
        data[page_size : 2 * page_size] = b"\xa5" * page_size  # the sessions table's root page
        path.write_bytes(bytes(data))
        operation = lambda: SessionStore(path).load(sid)  # noqa: E731
    before = path.read_bytes()
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(StoreUnavailable) as info:
        operation()
    message = str(info.value)
    assert str(path) in message and "move it aside" in message and "\n" not in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == siblings


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable, match="newer"):
        SessionStore(path)
    assert path.read_bytes() == before


_READONLY_SNIPPET = """
import os, sys
from pathlib import Path
from agent.sessions import SessionStore, StoreUnavailable
if os.geteuid() == 0:  # root ignores permission bits: drop to nobody so the folder is really read-only
    os.setgid(65534)
    os.setuid(65534)
try:
    store = SessionStore(Path(sys.argv[1]))
    if sys.argv[2] == "append":
        rec = store.list_sessions()
        store.create(kind="drill", case_id="c", level="l", state_json="{}")
    print("NO ERROR")
except StoreUnavailable as e:
    print("StoreUnavailable:", e)
"""


@pytest.mark.parametrize("existing", [False, True])
def test_read_only_folder(existing: bool) -> None:
    # Not under tmp_path: pytest's base folder is private to the current user, and the check may run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="interviewer-ro-"))
    path = folder / "sessions.sqlite3"
    try:
        if existing:
            store = SessionStore(path)
            _new(store)
            store.close()
            path.chmod(0o444)
        folder.chmod(0o555)
        proc = subprocess.run(
            [sys.executable, "-c", _READONLY_SNIPPET, str(path), "append"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = proc.stdout.splitlines()
        assert proc.returncode == 0 and len(lines) == 1, proc.stdout + proc.stderr
        assert lines[0].startswith("StoreUnavailable: ") and str(path) in lines[0] and "read-only" in lines[0]
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def test_unwritable_parent_gives_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable) as info:
        SessionStore(blocker / "sub" / "sessions.sqlite3")
    assert "\n" not in str(info.value) and str(blocker) in str(info.value)


def test_locked_database_times_out_with_store_unavailable(tmp_path: Path) -> None:
    store = _store(tmp_path, timeout_s=0.2)
    sid = _new(store)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            store.append_turns(sid, _turns("blocked"), "{}", expected_version=1)
        waited = time.monotonic() - started
        assert 0.15 <= waited < 3.0
        message = str(info.value)
        assert "locked" in message and str(store.path) in message and "\n" not in message
        with pytest.raises(StoreUnavailable, match="locked"):
            _new(store)
        assert store.load(sid).turns == []  # WAL: readers still read while a writer holds the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.append_turns(sid, _turns("after"), "{}", expected_version=1) == 2


def test_sqlite_error_mapping_is_one_line_per_cause(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    cases = {
        5: "locked",
        13: "full",
        8: "read-only",
        14: "read-only",
        26: "move it aside",
        11: "move it aside",
        10: "I/O error",
    }
    for code, needle in cases.items():
        err = sqlite3.OperationalError("some\nsqlite message")
        err.sqlite_errorcode = code
        mapped = unavailable_from_sqlite(err, path, 1.0)
        assert needle in str(mapped) and str(path) in str(mapped) and "\n" not in str(mapped)
        assert isinstance(mapped, SessionStoreError)


def test_bad_arguments_are_errors_not_silent(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    with pytest.raises(ValueError):
        store.create(kind="exam", case_id="c", level="l", state_json="{}")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.append_turns(sid, [], "not json", expected_version=1)
    with pytest.raises(ValueError):
        store.append_turns(sid, [], "{}", expected_version=1, overall=float("nan"))
    with pytest.raises(ValueError):
        store.append_turns(sid, [], "{}", expected_version=1, status="paused")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.append_turns(sid, [TurnRecord(role="x", text="y", meta={"o": object()})], "{}", expected_version=1)
    assert store.load(sid).version == 1


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    for _ in range(5):
        t = threading.Thread(target=store.load, args=(sid,))
        t.start()
        t.join()
    store.load(sid)
    assert len(store._conns) <= 2
    store.close()
    assert store.load(sid).id == sid  # reopens after close


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_two_processes_share_the_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = _new(store)
    snippet = textwrap.dedent(
        f"""
        from pathlib import Path
        from agent.sessions import SessionStore, TurnRecord
        s = SessionStore(Path({str(store.path)!r}))
        v = s.load({sid!r}).version
        s.append_turns({sid!r}, [TurnRecord(role="candidate", text="other process")], "{{}}", expected_version=v)
        """
    )
    subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, check=True, timeout=60)
    assert [t.text for t in store.load(sid).turns] == ["other process"]


def test_new_ids_never_start_like_a_command_line_option() -> None:
    from agent.sessions import new_session_id

    assert all(new_session_id()[0].isalnum() for _ in range(2000))
