"""Session ids: unguessable when generated, strictly validated wherever one comes in."""

from __future__ import annotations

import re
import secrets

from agent.sessions.errors import InvalidSessionId

# URL-safe base64 alphabet only, 16 to 64 characters: no dots, slashes, quotes, spaces or newlines,
# so an id can never be a path trick or SQL-ish text, and short guessable ids are refused.
SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_session_id() -> str:
    """A fresh unguessable session id (128 random bits, 22 URL-safe characters, never starting with '-' or '_')."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if candidate[0].isalnum():  # a leading '-' would read as an option on the command line
            return candidate


def validate_session_id(session_id: object) -> str:
    """Return `session_id` if it is a well-formed id, else raise `InvalidSessionId`."""
    if not isinstance(session_id, str) or SESSION_ID_RE.fullmatch(session_id) is None:
        raise InvalidSessionId(
            "Invalid session id: expected 16-64 characters from A-Z a-z 0-9 _ -; check the link or id you used."
        )
    return session_id
