"""Persistent interview sessions: an SQLite store in the data folder, written after every turn."""

from agent.sessions.errors import (
    InvalidSessionId,
    SessionExists,
    SessionNotFound,
    SessionStoreError,
    StaleSession,
    StoreUnavailable,
)
from agent.sessions.ids import new_session_id, validate_session_id
from agent.sessions.models import Kind, SessionRecord, SessionSummary, Status, StoredTurn, TurnRecord
from agent.sessions.store import SessionStore

__all__ = [
    "InvalidSessionId",
    "Kind",
    "SessionExists",
    "SessionNotFound",
    "SessionRecord",
    "SessionStore",
    "SessionStoreError",
    "SessionSummary",
    "StaleSession",
    "Status",
    "StoreUnavailable",
    "StoredTurn",
    "TurnRecord",
    "new_session_id",
    "validate_session_id",
]
