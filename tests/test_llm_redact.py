"""Key-shaped strings are scrubbed from anything stored or shown; local base URLs are recognised."""

from __future__ import annotations

import pytest

from agent.llm.openai_chat import is_local_url, scrub
from agent.llm.redact import REDACTED, has_secret, redact, remember


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-PLANTED-0123456789abcdefSECRET.",
        "echoed header: Bearer sk-proj-abcDEF123456ghiJKL",
        "authorization: Bearer abcdef0123456789",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk",
        'config {"api_key": "abc123DEF456"}',
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "AWS AKIAABCDEFGHIJKLMNOP leaked",
        "hex 0123456789abcdef0123456789abcdef01 at the end",
        "random Zx81QpL0vT6mNa2Ks9Wd4Rb7Yc3Hf5Ge1Uj",
        "stripe sk_live_abcdefgh12345678",
    ],
)
def test_key_shaped_strings_are_redacted(text: str) -> None:
    out = redact(text)
    assert REDACTED in out and has_secret(text)
    for token in text.split():
        if sum(c.isdigit() for c in token) >= 6 and len(token) >= 12:
            assert token.strip('".,}') not in out


@pytest.mark.parametrize(
    "text",
    [
        "We use scikit-learn and sk-learn style pipelines with precision@k and recall@k.",
        "Serve it at https://api.openai.com/v1/chat/completions behind a cache, p99 under 200 ms.",
        "The session 3f2a9c1b0d4e and the fence <<<CANDIDATE-0123456789ab>>> are fine.",
        "a_very_long_snake_case_identifier_that_is_not_a_secret_at_all",
        "About 200 million daily active users, 70% on mobile, in 60 countries.",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text and not has_secret(text)


def test_configured_and_given_secrets_are_replaced() -> None:
    remember("plainTokenWithoutShape")
    assert redact("x plainTokenWithoutShape y") == f"x {REDACTED} y"
    assert redact("x custom-value y", "custom-value") == f"x {REDACTED} y"
    remember("not-needed")  # placeholders are never secrets
    assert redact("Bearer-less not-needed") == "Bearer-less not-needed"
    assert scrub("key sk-abcdefghij0123", "sk-abcdefghij0123") == f"key {REDACTED}"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:1234/v1", True),
        ("http://127.0.1.1:8000/v1", True),
        ("http://0.0.0.0:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://my-gpu-box:8000/v1", False),
        (None, False),
        ("", False),
    ],
)
def test_local_urls(url: str | None, local: bool) -> None:
    assert is_local_url(url) is local
