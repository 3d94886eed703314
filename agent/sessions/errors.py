"""The session store's exceptions, and the mapping of SQLite failures to one-line `StoreUnavailable`s."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Literal

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


Reason = Literal["busy", "readonly", "full", "corrupt", "too_new", "io", "other"]
"""Why the store is unavailable; `busy` is the only one that goes away by itself (retry)."""

_PUBLIC: dict[str, str] = {
    "busy": "The session store is busy (another process is writing to it); nothing was saved: try again in a moment.",
    "readonly": "The session store is read-only on the server; nothing can be saved until that is fixed.",
    "full": "The server's disk is full; nothing was saved: free some space on it and try again.",
    "corrupt": "The session store is corrupt; it was left untouched for recovery (see the server's log).",
    "too_new": "The session store was written by a newer interviewer; upgrade the server.",
    "io": "The server could not read or write the session store (disk error); try again.",
    "other": "The session store failed on the server; try again.",
}


class StoreUnavailable(SessionStoreError):
    """The SQLite file cannot be used: locked too long, read-only, disk full, corrupt or too new."""

    def __init__(self, message: str, reason: Reason = "other") -> None:
        """`message` is the one line for the operator (it names the file); `reason` classifies it."""
        super().__init__(message)
        self.reason: Reason = reason

    @property
    def public(self) -> str:
        """One line for a remote user: what happened and what to do, without the server's paths."""
        return _PUBLIC[self.reason]

    @property
    def transient(self) -> bool:
        """Whether retrying the same call later may succeed without anyone fixing anything."""
        return self.reason == "busy"


def locked_message(path: Path, timeout_s: float) -> str:
    """One line for a store that stayed locked past the timeout."""
    return (
        f"The session store {path} is busy: it stayed locked for more than {timeout_s:g} s (another process is "
        "writing to it); nothing was saved: try again, or stop the other interviewer process."
    )


def readonly_message(path: Path) -> str:
    """One line for a store whose file or folder cannot be written."""
    return (
        f"Cannot write the session store {path}: the file or its folder is read-only or not accessible; "
        "fix the permissions or set INTERVIEWER_DATA_DIR to a writable folder."
    )


def full_message(path: Path) -> str:
    """One line for a full disk."""
    return f"The disk holding the session store {path} is full; nothing was saved: free some space and retry."


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
        return StoreUnavailable(locked_message(path, timeout_s), "busy")
    if primary in (SQLITE_NOTADB, SQLITE_CORRUPT) or "not a database" in text or "malformed" in text:
        return StoreUnavailable(corrupt_message(path), "corrupt")
    if primary == SQLITE_FULL or "disk is full" in text:
        return StoreUnavailable(full_message(path), "full")
    if primary in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM) or "readonly" in text or "unable to open" in text:
        return StoreUnavailable(readonly_message(path), "readonly")
    detail = " ".join(str(e).split()) or type(e).__name__
    if primary == SQLITE_IOERR:
        return StoreUnavailable(
            f"Disk I/O error on the session store {path} ({detail}); check the disk and retry.", "io"
        )
    return StoreUnavailable(
        f"The session store {path} failed ({detail}); retry, or move the file aside if it persists."
    )


def unavailable_from_os(e: OSError, path: Path) -> StoreUnavailable:
    """Translate a failure to create the data folder to `StoreUnavailable`."""
    if e.errno == errno.ENOSPC:
        return StoreUnavailable(full_message(path), "full")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreUnavailable(readonly_message(path), "readonly")
    detail = e.strerror or type(e).__name__
    return StoreUnavailable(f"Cannot create the folder of the session store {path} ({detail}); fix the path and retry.")
