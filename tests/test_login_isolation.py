"""Login on (two users): Bob can neither read, resume, export, continue, end nor drill into Alice's sessions,
whatever id he tries, and what he sees for her id is exactly what he sees for an unknown one."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from agent.sessions import SessionStore
from agent.sessions.ids import new_session_id
from agent.settings import Settings
from tests.served import serve

USERS = [("alice", "pw-alice-1"), ("bob", "pw-bob-2")]
SID_ENDPOINTS = ("/resume", "/export_json", "/export_markdown", "/end", "/drill_finish")
"""Endpoints that take a session id alone."""
WITH_TEXT = ("/send", "/drill_answer")
"""Endpoints that take a message and a session id."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionStore]:
    """A session store of this module's own."""
    with SessionStore(tmp_path_factory.mktemp("login-sessions") / "sessions.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def url(settings: Settings, embedder: Any, store: SessionStore) -> Iterator[str]:
    """The app with login on (alice and bob) on a free loopback port."""
    with serve(settings, embedder=embedder, store=store, auth=USERS) as served_url:
        yield served_url


@pytest.fixture(scope="module")
def clients(url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Client]:
    """A logged-in gradio_client per user."""
    folder = str(tmp_path_factory.mktemp("login-downloads"))
    return {
        name: Client(url, verbose=False, auth=(name, pw), download_files=folder, analytics_enabled=False)
        for name, pw in USERS
    }


@pytest.fixture(scope="module")
def alice_sessions(clients: dict[str, Client], store: SessionStore) -> dict[str, str]:
    """Alice's interview (two turns in), her drill and her graded answer."""
    alice = clients["alice"]
    interview, *_ = alice.predict("fraud-detection", "senior", "Mock interview", api_name="/start")
    alice.predict("How many transactions a day, and what share is fraud?", interview, api_name="/send")
    drill, *_ = alice.predict("any", "dim:evaluation", "senior", 2, api_name="/drill_start")
    *_, graded = alice.predict(
        "I would start with a logistic regression baseline and split the data by time.",
        None,
        "fraud-detection",
        "senior",
        api_name="/grade",
    )
    for sid in (interview, drill, graded):
        assert store.load(sid, owner="alice").owner == "alice"
    return {"interview": interview, "drill": drill, "grade": graded}


def _rows(db: Path, sid: str) -> tuple[Any, list[Any]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        turns = con.execute("SELECT * FROM turns WHERE session_id = ? ORDER BY seq", (sid,)).fetchall()
    finally:
        con.close()
    return row, turns


def _error(client: Client, api_name: str, sid: str) -> str:
    """The error message the app gives for this endpoint and id (the call must fail)."""
    args: tuple[Any, ...] = ("My next answer: a baseline first.", sid) if api_name in WITH_TEXT else (sid,)
    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


def _variants(sid: str) -> list[str]:
    """Ids one step away from a real one: one character changed, case flipped, traversal, SQL, padding."""
    flip = "A" if sid[-1] != "A" else "B"
    middle = len(sid) // 2
    return [
        sid[:-1] + flip,
        ("x" if sid[0] != "x" else "y") + sid[1:],
        sid[:middle] + ("0" if sid[middle] != "0" else "1") + sid[middle + 1 :],
        sid.swapcase(),
        sid + "A",
        sid[:-1],
        f"../{sid}",
        f"{sid}' OR '1'='1",
        f"{sid}%00",
        f"{sid}/../../etc/passwd",
        f" {sid}",
    ]


def test_bob_cannot_reach_alice_sessions_by_exact_id(
    clients: dict[str, Client], alice_sessions: dict[str, str], store: SessionStore
) -> None:
    bob = clients["bob"]
    before = {sid: _rows(store.path, sid) for sid in alice_sessions.values()}
    bob_ids = [row[0] for row in bob.predict(api_name="/history")[0]["data"]]
    assert not set(alice_sessions.values()) & set(bob_ids)
    for sid in alice_sessions.values():
        unknown = new_session_id()
        for api_name in (*SID_ENDPOINTS, *WITH_TEXT):
            theirs = _error(bob, api_name, sid)
            assert "alice" not in theirs.lower()
            assert theirs.replace(sid, unknown) == _error(bob, api_name, unknown), (api_name, theirs)
    assert {sid: _rows(store.path, sid) for sid in alice_sessions.values()} == before


def test_near_miss_and_hostile_ids_look_like_unknown_ones(
    clients: dict[str, Client], alice_sessions: dict[str, str], store: SessionStore
) -> None:
    bob = clients["bob"]
    sid = alice_sessions["interview"]
    before = _rows(store.path, sid)
    for variant in _variants(sid):
        assert variant != sid
        for api_name in ("/resume", "/export_json", "/send"):
            message = _error(bob, api_name, variant).replace(variant.strip(), "<id>")
            assert sid not in message and "alice" not in message.lower(), (variant, message)
            assert "No session <id>" in message or "Invalid session id" in message or "session is gone" in message
    # Alice herself gets nothing for a near-miss either: the variants are simply not ids.
    assert "No session" in _error(clients["alice"], "/resume", sid[:-1] + ("A" if sid[-1] != "A" else "B"))
    assert _rows(store.path, sid) == before


@pytest.mark.parametrize("guesses", [25, pytest.param(200, marks=pytest.mark.slow)])
def test_brute_force_of_random_ids_finds_nothing(
    guesses: int, clients: dict[str, Client], alice_sessions: dict[str, str], store: SessionStore
) -> None:
    bob = clients["bob"]
    reference = new_session_id()
    expected = _error(bob, "/export_json", reference)
    owned = set(alice_sessions.values())
    for _ in range(guesses):
        guess = secrets.token_urlsafe(16)
        if guess in owned:  # 2^-128: never, but a hit must not be counted as a pass
            pytest.fail("guessed a real id")
        assert _error(bob, "/export_json", guess).replace(guess, reference) == expected
    assert {s.id for s in store.list_sessions(owner="bob")}.isdisjoint(owned)


def test_alice_still_has_everything(clients: dict[str, Client], alice_sessions: dict[str, str]) -> None:
    alice = clients["alice"]
    ids = [row[0] for row in alice.predict(api_name="/history")[0]["data"]]
    assert set(alice_sessions.values()) <= set(ids)
    sid, chat, *_ = alice.predict(alice_sessions["interview"], api_name="/resume")
    assert sid == alice_sessions["interview"] and len(chat) == 3
    assert Path(alice.predict(alice_sessions["interview"], api_name="/export_json")).is_file()


@pytest.mark.parametrize("api_name", ["resume", "export_json", "history", "start", "grade"])
def test_requests_without_login_are_refused(url: str, api_name: str, alice_sessions: dict[str, str]) -> None:
    sid = alice_sessions["interview"]
    with httpx.Client(base_url=url, timeout=10) as http:
        response = http.post(f"gradio_api/call/{api_name}", json={"data": [sid]})
        assert response.status_code in (401, 403), response.text[:300]
        assert sid not in response.text
        info = http.get("gradio_api/info")
        assert info.status_code in (401, 403)
        wrong = http.post("login", data={"username": "alice", "password": "pw-bob-2"})
        assert wrong.status_code >= 400


def test_a_client_without_credentials_cannot_connect(url: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - gradio_client refuses at connect time, its error type varies
        Client(url, verbose=False, analytics_enabled=False)
