"""`SessionStore`: interview sessions and their turns in one SQLite file, committed after every turn.

Design: WAL journal (readers never block the writer), `synchronous=FULL` by default (each acknowledged
append is fsynced to the WAL, so it survives a crash of the process *and* of the machine; `NORMAL` only
survives the process), writes take the lock up front (`BEGIN IMMEDIATE`) and wait up to `timeout_s`,
optimistic concurrency through a `version` column, one connection per thread, and the writers of one
process queued on a lock (SQLite's own busy wait polls with sleeps: 7x less throughput and a 3x worse
p95 with 50 concurrent writers, `python -m agent.sessions.bench`). A file SQLite cannot read
is never deleted, repaired or overwritten: every failure of the file becomes a one-line `StoreUnavailable`
whose `reason` says which (busy, read-only, full, corrupt, …). On a read-only disk or folder the store
still serves reads (`read_only`), and every write raises.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args
from urllib.parse import quote

from agent.sessions.errors import (
    InvalidSessionId,
    SessionExists,
    SessionNotFound,
    StaleSession,
    StoreUnavailable,
    locked_message,
    readonly_message,
    too_new_message,
    unavailable_from_os,
    unavailable_from_sqlite,
)
from agent.sessions.ids import new_session_id, validate_session_id
from agent.sessions.models import (
    Kind,
    SessionRecord,
    SessionSummary,
    Status,
    StoredTurn,
    TurnRecord,
    check_overall,
)
from agent.sessions.schema import SCHEMA_VERSION, migrate, user_version

Synchronous = Literal["FULL", "NORMAL"]

# Errors that are our own bugs (bad SQL, misuse of the API, a violated constraint we did not expect):
# they propagate unchanged instead of being dressed up as an unavailable store.
_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)

_SUMMARY_COLUMNS = (
    "s.id, s.owner, s.kind, s.case_id, s.level, s.status, s.created_at, s.updated_at, s.overall, "
    "s.hire_signal, s.version"
)


class SessionStore:
    """Sessions and turns in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path, *, timeout_s: float = 5.0, synchronous: Synchronous = "FULL") -> None:
        """Open (creating the folder, file and schema if needed) the store at `path`."""
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        if synchronous not in get_args(Synchronous):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        self.synchronous: Synchronous = synchronous
        self._lock = threading.Lock()  # guards self._conns
        self._write_lock = threading.Lock()  # queues this process's writers (SQLite's busy wait polls with sleeps)
        self._conns: dict[threading.Thread, sqlite3.Connection] = {}
        self._uri: str | None = None  # set when the file can only be read (see `_open_read_only`)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise unavailable_from_os(e, self.path) from e
        try:
            self._prepare()
        except StoreUnavailable as e:
            if e.reason != "readonly" or not self.path.is_file():
                raise
            self._open_read_only(e)

    @property
    def read_only(self) -> bool:
        """True when the file (or its folder) cannot be written: reads work, every write raises `StoreUnavailable`."""
        return self._uri is not None

    # -- public API ---------------------------------------------------------------------------------

    def create(
        self,
        *,
        kind: Kind,
        case_id: str,
        level: str,
        state_json: str,
        owner: str | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """Insert a new active session (version 1, no turns) and return it."""
        sid = new_session_id() if session_id is None else self._valid_id(session_id)
        if kind not in get_args(Kind):
            raise ValueError(f"kind must be one of {get_args(Kind)}, got {kind!r}")
        _check_text("case_id", case_id)
        _check_text("level", level)
        _check_state(state_json)
        _check_owner(owner)
        now = time.time()
        try:
            with self._transaction(write=True) as conn:
                conn.execute(
                    "INSERT INTO sessions (id, owner, kind, case_id, level, status, created_at, updated_at, "
                    "overall, hire_signal, state_json, version) "
                    "VALUES (?, ?, ?, ?, ?, 'active', ?, ?, NULL, NULL, ?, 1)",
                    (sid, owner, kind, case_id, level, now, now, state_json),
                )
        except sqlite3.IntegrityError as e:
            raise SessionExists(
                f"Session id {sid} is already taken in {self.path}; let the store generate ids (session_id=None)."
            ) from e
        return SessionRecord(
            id=sid,
            owner=owner,
            kind=kind,
            case_id=case_id,
            level=level,
            status="active",
            created_at=now,
            updated_at=now,
            overall=None,
            hire_signal=None,
            version=1,
            turn_count=0,
            state_json=state_json,
            turns=[],
        )

    def append_turns(
        self,
        session_id: str,
        turns: Sequence[TurnRecord],
        state_json: str,
        *,
        expected_version: int,
        status: Status | None = None,
        overall: float | None = None,
        hire_signal: str | None = None,
        owner: str | None = None,
    ) -> int:
        """Append `turns` (next seq numbers) and replace the state in one committed transaction; return the new version.

        Raises `StaleSession` if the session's version is not `expected_version`. `status`, `overall` and
        `hire_signal` are updated when given (None leaves them as they are). When this returns, the turns
        are on disk.
        """
        sid = self._valid_id(session_id)
        _check_version(expected_version)
        _check_state(state_json)
        _check_owner(owner)
        if status is not None and status not in get_args(Status):
            raise ValueError(f"status must be one of {get_args(Status)}, got {status!r}")
        check_overall(overall)
        if hire_signal is not None:
            _check_text("hire_signal", hire_signal)
        records = [t if isinstance(t, TurnRecord) else TurnRecord.model_validate(t) for t in turns]
        metas = [json.dumps(t.meta, ensure_ascii=False, sort_keys=True, allow_nan=False) for t in records]
        now = time.time()
        with self._transaction(write=True) as conn:
            self._check_current(conn, sid, owner, expected_version)
            (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM turns WHERE session_id = ?", (sid,)).fetchone()
            conn.executemany(
                "INSERT INTO turns (session_id, seq, role, text, phase, move, created_at, meta_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (sid, last + i, t.role, t.text, t.phase, t.move, now, meta)
                    for i, (t, meta) in enumerate(zip(records, metas, strict=True), start=1)
                ],
            )
            conn.execute(
                "UPDATE sessions SET state_json = ?, version = version + 1, updated_at = MAX(updated_at, ?), "
                "status = COALESCE(?, status), overall = COALESCE(?, overall), "
                "hire_signal = COALESCE(?, hire_signal) WHERE id = ? AND version = ?",
                (state_json, now, status, overall, hire_signal, sid, expected_version),
            )
        return expected_version + 1

    def set_status(
        self,
        session_id: str,
        status: Status,
        *,
        owner: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Set a session's status (checking `expected_version` when given); return the new version."""
        sid = self._valid_id(session_id)
        if status not in get_args(Status):
            raise ValueError(f"status must be one of {get_args(Status)}, got {status!r}")
        _check_owner(owner)
        if expected_version is not None:
            _check_version(expected_version)
        with self._transaction(write=True) as conn:
            current = self._check_current(conn, sid, owner, expected_version)
            conn.execute(
                "UPDATE sessions SET status = ?, version = version + 1, updated_at = MAX(updated_at, ?) WHERE id = ?",
                (status, time.time(), sid),
            )
        return current + 1

    def load(self, session_id: str, *, owner: str | None = None) -> SessionRecord:
        """The whole session (state, version, turns in order); `SessionNotFound` also when the owner differs."""
        sid = self._valid_id(session_id)
        _check_owner(owner)
        with self._transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS}, s.state_json FROM sessions s WHERE s.id = ? AND s.owner IS ?",
                (sid, owner),
            ).fetchone()
            if row is None:
                raise self._not_found(sid)
            turn_rows = conn.execute(
                "SELECT seq, role, text, phase, move, created_at, meta_json FROM turns "
                "WHERE session_id = ? ORDER BY seq",
                (sid,),
            ).fetchall()
        turns = [
            StoredTurn(seq=seq, role=role, text=text, phase=phase, move=move, created_at=created, meta=json.loads(meta))
            for seq, role, text, phase, move, created, meta in turn_rows
        ]
        return SessionRecord(**_summary_fields(row[:11]), turn_count=len(turns), state_json=row[11], turns=turns)

    def list_sessions(
        self, *, owner: str | None = None, kind: Kind | None = None, limit: int = 100
    ) -> list[SessionSummary]:
        """This owner's sessions (owner None: the ownerless ones), newest first, at most `limit`."""
        _check_owner(owner)
        if kind is not None and kind not in get_args(Kind):
            raise ValueError(f"kind must be one of {get_args(Kind)}, got {kind!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise ValueError(f"limit must be an integer from 1 to 10000, got {limit!r}")
        where, params = "s.owner IS ?", [owner]
        if kind is not None:
            where += " AND s.kind = ?"
            params.append(kind)
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS}, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
                f"FROM sessions s WHERE {where} ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [SessionSummary(**_summary_fields(row[:11]), turn_count=row[11]) for row in rows]

    def close(self) -> None:
        """Close every connection this store opened (it reopens them if used again)."""
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> SessionStore:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""
        self.close()

    def __repr__(self) -> str:
        """The store and its file."""
        return f"SessionStore({str(self.path)!r})"

    # -- internals ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Check the file is a usable database of a known schema version; switch to WAL; migrate."""
        with self._guard() as conn:
            found = user_version(conn)  # the first read: a foreign or corrupt file fails here, untouched
            if found > SCHEMA_VERSION:
                raise StoreUnavailable(too_new_message(self.path, found, SCHEMA_VERSION), "too_new")
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")  # persistent in the file; a no-op where unsupported
            if found < SCHEMA_VERSION:
                migrate(conn)
            conn.execute("SELECT COUNT(*) FROM sessions WHERE 0").fetchone()  # the schema is readable

    def _open_read_only(self, cause: StoreUnavailable) -> None:
        """Serve reads from a store on a read-only disk or folder; raise `cause` if even reading is impossible.

        SQLite reads a WAL database read-only when its `-shm` and `-wal` files exist; without them, and only
        when there is no WAL content to miss, the file is opened as immutable (nothing can change it anyway).
        """
        base = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        wal = Path(f"{self.path}-wal")
        candidates = [base]
        if not wal.exists() or wal.stat().st_size == 0:
            candidates.append(base + "&immutable=1")
        for uri in candidates:
            self._uri = uri
            try:
                with self._guard() as conn:
                    if user_version(conn) != SCHEMA_VERSION:
                        raise cause  # a store that needs migrating cannot be migrated read-only
                    conn.execute("SELECT COUNT(*) FROM sessions WHERE 0").fetchone()
                return
            except StoreUnavailable as e:
                self._discard_conn()
                self._uri = None
                if e.reason == "corrupt":
                    raise
        raise cause

    def _open(self) -> sqlite3.Connection:
        if self._uri is not None:
            conn = sqlite3.connect(
                self._uri, uri=True, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000):d}")
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False, cached_statements=64
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000):d}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use; connections of finished threads are closed."""
        me = threading.current_thread()
        with self._lock:
            conn = self._conns.get(me)
            if conn is not None:
                return conn
            dead = [t for t in self._conns if not t.is_alive()]
            stale = [self._conns.pop(t) for t in dead]
        for old in stale:
            with suppress(sqlite3.Error):
                old.close()
        conn = self._open()
        with self._lock:
            self._conns[me] = conn
        return conn

    def _discard_conn(self) -> None:
        with self._lock:
            conn = self._conns.pop(threading.current_thread(), None)
        if conn is not None:
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection; SQLite failures of the file become `StoreUnavailable`."""
        try:
            yield self._conn()
        except sqlite3.Error as e:
            if isinstance(e, _BUGS):
                raise
            self._discard_conn()
            raise unavailable_from_sqlite(e, self.path, self.timeout_s) from e

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction (a write takes the lock up front, waiting up to the timeout); commit or roll back."""
        if write and self.read_only:
            raise StoreUnavailable(readonly_message(self.path), "readonly")
        if write and not self._write_lock.acquire(timeout=self.timeout_s):
            raise StoreUnavailable(locked_message(self.path, self.timeout_s), "busy")
        try:
            with self._guard() as conn:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
        finally:
            if write:
                self._write_lock.release()

    def _check_current(
        self, conn: sqlite3.Connection, sid: str, owner: str | None, expected_version: int | None
    ) -> int:
        row = conn.execute("SELECT version FROM sessions WHERE id = ? AND owner IS ?", (sid, owner)).fetchone()
        if row is None:
            raise self._not_found(sid)
        version = int(row[0])
        if expected_version is not None and version != expected_version:
            raise StaleSession(
                f"Session {sid} in {self.path} changed since it was read (version {expected_version}, now {version}); "
                "reload it and retry."
            )
        return version

    def _not_found(self, sid: str) -> SessionNotFound:
        return SessionNotFound(f"No session {sid} in {self.path}; check the id, or start a new session.")

    def _valid_id(self, session_id: object) -> str:
        try:
            return validate_session_id(session_id)
        except InvalidSessionId as e:
            raise InvalidSessionId(f"{e} (store: {self.path})") from None


def _summary_fields(row: Sequence[Any]) -> dict[str, Any]:
    keys = ("id", "owner", "kind", "case_id", "level", "status", "created_at", "updated_at", "overall")
    fields = dict(zip(keys, row[:9], strict=True))
    fields["hire_signal"], fields["version"] = row[9], row[10]
    return fields


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _check_owner(owner: object) -> None:
    if owner is not None:
        _check_text("owner", owner)


def _check_state(state_json: object) -> None:
    if not isinstance(state_json, str):
        raise TypeError(f"state_json must be a JSON string, got {type(state_json).__name__}")
    try:
        json.loads(state_json)
    except ValueError as e:
        raise ValueError(f"state_json is not valid JSON: {e}") from e


def _check_version(version: object) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"expected_version must be a positive integer, got {version!r}")
