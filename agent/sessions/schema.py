"""The store's schema as a list of migrations; `PRAGMA user_version` records how many have run."""

from __future__ import annotations

import sqlite3

# Append-only: never edit a migration that has shipped, add a new one. Each is a tuple of statements
# (not one script: `executescript` would commit the surrounding transaction).
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY NOT NULL,
            owner       TEXT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('interview', 'drill', 'grade')),
            case_id     TEXT NOT NULL,
            level       TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('active', 'finished', 'abandoned')),
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL,
            overall     REAL NULL,
            hire_signal TEXT NULL,
            state_json  TEXT NOT NULL,
            version     INTEGER NOT NULL CHECK (version >= 1)
        )
        """,
        """
        CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE RESTRICT,
            seq        INTEGER NOT NULL CHECK (seq >= 1),
            role       TEXT NOT NULL,
            text       TEXT NOT NULL,
            phase      TEXT NULL,
            move       TEXT NULL,
            created_at REAL NOT NULL,
            meta_json  TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX sessions_by_owner_created ON sessions (owner, created_at DESC)",
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    """The number of migrations applied to the open database."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the missing migrations in one write transaction (the caller checked the version is not too new)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = user_version(conn)  # re-read under the write lock: another process may have migrated
        for statements in MIGRATIONS[current:]:
            for statement in statements:
                conn.execute(statement)
        if current < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
