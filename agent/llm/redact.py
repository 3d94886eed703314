"""Scrub key-shaped strings from text that may be stored or shown (model output, error texts, notes).

One function, `redact`, used by the adapter's error texts, the interviewer voice's stored meta and the
model grader's notes. It replaces the configured API keys (see `remember`), `sk-...`-style keys,
`Bearer ...` tokens, `api_key=...` assignments, and long hex or base64 runs that look like secrets.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
PLACEHOLDERS = frozenset({"", "not-needed", "sk-test", "none", "null"})
"""Values never treated as secrets (local servers' placeholder keys)."""
MIN_SECRET_CHARS = 8
"""A remembered secret shorter than this is not replaced (it would mangle ordinary words)."""

_SECRETS: set[str] = set()
_PATTERNS = (
    re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}"),
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-.~+/=*]{6,}"),
    re.compile(r"(?i)\b(?:authorization|x-api-key|api[-_]?key)\b[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9_\-.~+/=*]{6,}"),
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9-]{10,})\b"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{6,}"),
    re.compile(r"\b[0-9a-fA-F]{32,}\b"),
)
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{32,}={0,2}")


def remember(secret: str | None) -> None:
    """Remember a configured secret (an API key) so every later `redact` call replaces it too."""
    if secret and secret.strip().lower() not in PLACEHOLDERS and len(secret) >= MIN_SECRET_CHARS:
        _SECRETS.add(secret)


def _looks_random(token: str) -> bool:
    """A long run mixing lower case, upper case and digits (a key, a token), not a word or an identifier."""
    body = token.rstrip("=")
    return any(c.islower() for c in body) and any(c.isupper() for c in body) and sum(c.isdigit() for c in body) >= 2


def redact(text: str, *secrets: str | None) -> str:
    """Text with configured secrets, the given ones and anything shaped like a key replaced by `[redacted]`."""
    if not text:
        return text
    for secret in sorted({*_SECRETS, *(s for s in secrets if s)}, key=len, reverse=True):
        if secret.strip().lower() not in PLACEHOLDERS and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _LONG_TOKEN.sub(lambda m: REDACTED if _looks_random(m.group(0)) else m.group(0), text)


def has_secret(text: str) -> bool:
    """Whether `redact` would change the text (it holds something key-shaped)."""
    return bool(text) and redact(text) != text


__all__ = ["REDACTED", "has_secret", "redact", "remember"]
