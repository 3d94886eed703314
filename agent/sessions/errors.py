"""The session store's exceptions, and the mapping of SQLite failures to one-line `StoreUnavailable`s."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

# Primary SQLite result codes (https://sqlite.org/rescode.html); extended codes carry them in the low byte.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


class SessionStoreError(Exception):
    """Base of every error the session store raises on purpose."""


class SessionNotFound(SessionStoreError):
    """No such session for this owner (an owner mismatch looks exactly the same)."""


class SessionExists(SessionStoreError):
    """`create` was given an explicit id that is already taken; sessions are never overwritten."""


class StaleSession(SessionStoreError):
    """The session changed since the caller read it (another tab or worker wrote first)."""


class InvalidSessionId(SessionStoreError, ValueError):
    """A session id that is not 16-64 characters of A-Z a-z 0-9 _ -."""


class StoreUnavailable(SessionStoreError):
    """The SQLite file cannot be used: locked too long, read-only, disk full, corrupt or too new."""


def locked_message(path: Path, timeout_s: float) -> str:
    """One line for a store that stayed locked past the timeout."""
    return (
        f"The session store {path} stayed locked for more than {timeout_s:g} s (another process is writing to it); "
        "retry, or stop the other interviewer process."
    )


def readonly_message(path: Path) -> str:
    """One line for a store whose file or folder cannot be written."""
    return (
        f"Cannot write the session store {path}: the file or its folder is read-only or not accessible; "
        "fix the permissions or set INTERVIEWER_DATA_DIR to a writable folder."
    )


def full_message(path: Path) -> str:
    """One line for a full disk."""
    return f"The disk holding the session store {path} is full; free some space and retry."


def corrupt_message(path: Path) -> str:
    """One line for a file that is not a (healthy) SQLite database; it is never deleted or overwritten."""
    return (
        f"The session store {path} is not a valid SQLite database (corrupt or a foreign file) and was left untouched; "
        f"move it aside (mv '{path}' '{path}.corrupt') and restart to begin a fresh store."
    )


def too_new_message(path: Path, found: int, known: int) -> str:
    """One line for a schema written by a newer interviewer."""
    return (
        f"The session store {path} has schema version {found}, newer than this interviewer knows ({known}); "
        "upgrade interviewer, or move the file aside."
    )


def unavailable_from_sqlite(e: sqlite3.Error, path: Path, timeout_s: float) -> StoreUnavailable:
    """Translate an SQLite failure (never an integrity error: those are bugs or handled) to `StoreUnavailable`."""
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(e).lower()
    if primary in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in text or "busy" in text:
        return StoreUnavailable(locked_message(path, timeout_s))
    if primary in (SQLITE_NOTADB, SQLITE_CORRUPT) or "not a database" in text or "malformed" in text:
        return StoreUnavailable(corrupt_message(path))
    if primary == SQLITE_FULL or "disk is full" in text:
        return StoreUnavailable(full_message(path))
    if primary in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM) or "readonly" in text or "unable to open" in text:
        return StoreUnavailable(readonly_message(path))
    detail = " ".join(str(e).split()) or type(e).__name__
    if primary == SQLITE_IOERR:
        return StoreUnavailable(f"Disk I/O error on the session store {path} ({detail}); check the disk and retry.")
    return StoreUnavailable(
        f"The session store {path} failed ({detail}); retry, or move the file aside if it persists."
    )


def unavailable_from_os(e: OSError, path: Path) -> StoreUnavailable:
    """Translate a failure to create the data folder to `StoreUnavailable`."""
    if e.errno == errno.ENOSPC:
        return StoreUnavailable(full_message(path))
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreUnavailable(readonly_message(path))
    detail = e.strerror or type(e).__name__
    return StoreUnavailable(f"Cannot create the folder of the session store {path} ({detail}); fix the path and retry.")
