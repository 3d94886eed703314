"""The Gradio app: build_app returns Blocks, and its named API drives an interview and a grading end to end."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from pydantic import SecretStr

from agent.cli import build_parser
from agent.interview.service import InterviewService
from agent.sessions import SessionStore
from agent.settings import Settings
from knowledge.ids import DIMENSIONS
from tests.served import serve
from ui import app as ui_app
from ui import render
from ui.app import build_app
from ui.backend import provider_label


def _text(message: dict[str, Any]) -> str:
    """The text of a Chatbot message as the API returns it (a string or a list of text parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionStore]:
    """A session store of this module's own."""
    with SessionStore(tmp_path_factory.mktemp("ui-sessions") / "sessions.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def served(settings: Settings, embedder: Any, store: SessionStore) -> Iterator[str]:
    """The app launched on 127.0.0.1 at a free port; yields its URL."""
    with serve(settings, embedder=embedder, store=store) as url:
        yield url


@pytest.fixture(scope="module")
def client(served: str, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """A gradio_client on the launched app (downloads go to a temporary folder)."""
    return Client(
        served, verbose=False, download_files=str(tmp_path_factory.mktemp("ui-downloads")), analytics_enabled=False
    )


def test_build_app_returns_blocks_without_launching(settings: Settings) -> None:
    app = build_app(settings)
    assert isinstance(app, gr.Blocks)
    assert not getattr(app, "is_running", False)
    names = {d.api_name for d in app.fns.values() if d.api_visibility == "public"}
    assert {"start", "send", "end", "grade", "history", "resume", "export_markdown", "export_json"} <= names
    assert {"drill_start", "drill_answer", "drill_finish"} <= names


def test_provider_label_never_shows_the_key(settings: Settings) -> None:
    secret = "sk-test-do-not-show-1234567890"
    model = Settings.from_env(
        {"INTERVIEWER_DATA_DIR": str(settings.data_dir)},
        provider="openai",
        openai_api_key=secret,
        openai_base_url="http://127.0.0.1:8080/v1",
    )
    assert secret not in provider_label(model)
    assert "127.0.0.1:8080" in provider_label(model)
    assert "Offline" in provider_label(settings)


def test_rendering_escapes_candidate_text_and_streams_the_whole_reply() -> None:
    assert render.esc("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    text = "one two three four five six seven eight nine"
    chunks = list(render.stream_chunks(text, words_per_chunk=2))
    assert chunks[-1] == text and len(chunks) == 5
    assert all(text.startswith(c) for c in chunks)


def test_ui_subcommand_binds_loopback_by_default() -> None:
    args = build_parser().parse_args(["ui"])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    args = build_parser().parse_args(["ui", "--host", "0.0.0.0", "--port", "9000", "--share"])
    assert (args.host, args.port, args.share) == ("0.0.0.0", 9000, True)


def test_api_drives_an_interview_to_a_scorecard(client: Client, store: SessionStore) -> None:
    sid, chat, steps, clock, flags, *_ = client.predict(
        "video-recommendation", "senior", "Mock interview", api_name="/start"
    )
    assert sid and len(chat) == 1 and chat[0]["role"] == "assistant"
    assert "Clarify requirements" in steps and "45:00" in clock

    chat, steps, clock, flags, cleared, *_ = client.predict(
        "How many daily active users are there, and what is the latency budget?", sid, api_name="/send"
    )
    assert cleared == ""
    assert "No failure modes raised yet" in flags or "<details" in flags
    assert [m["role"] for m in chat[-2:]] == ["user", "assistant"]
    assert _text(chat[-1]).strip()
    chat, *_ = client.predict(
        "The business goal is long-term watch time. I would start with a popularity baseline, then a two-tower "
        "candidate generator and a ranker, and serve it behind a cache with a fallback.",
        sid,
        api_name="/send",
    )
    assert len(chat) == 5

    chat, steps, clock, _flags, head, plot, details, practice = client.predict(sid, api_name="/end")
    assert "Overall" in head and "/ 4" in head
    assert "Evidence by dimension" in details
    rows = plot["value"]["data"] if isinstance(plot, dict) and "value" in plot else plot["data"]
    assert len(rows) == 8
    choices = practice.get("choices") if isinstance(practice, dict) else None
    assert choices is None or all(c[1] in DIMENSIONS for c in choices)

    record = store.load(sid)
    assert record.kind == "interview" and record.status == "finished" and record.overall is not None
    assert record.turn_count == len(chat) >= 5
    assert sid in [s.id for s in store.list_sessions()]

    path = client.predict(sid, api_name="/export_json")
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    assert data["session_id"] == sid and data["scorecard"]["overall"] == record.overall


def test_api_shows_candidate_html_as_text(client: Client) -> None:
    sid, *_ = client.predict("fraud-detection", "mid", "Mock interview", api_name="/start")
    message = "<script>alert(1)</script> is the fraud rate < 1% & are there > 1M payments a day?"
    chat, *_ = client.predict(message, sid, api_name="/send")
    shown = _text(chat[1])
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; is the fraud rate &lt; 1% &amp; are there &gt; 1M" in shown


def test_api_grades_an_answer_and_keeps_it(client: Client, store: SessionStore) -> None:
    answer = (
        "First I would clarify the goal: catch fraudulent transactions while keeping false declines low. "
        "Labels come from chargebacks, which arrive weeks later, so I would split the data by time. "
        "A logistic regression baseline first, then gradient boosted trees. Offline I would track precision "
        "and recall at the operating threshold; online an A/B test on fraud losses."
    )
    head, _plot, details, _practice, sid = client.predict(answer, None, "fraud-detection", "senior", api_name="/grade")
    assert "Overall" in head and sid and "Failure modes" in details
    record = store.load(sid)
    assert record.kind == "grade" and record.status == "finished" and record.overall is not None

    table, _picker, trend = client.predict(api_name="/history")
    assert trend is not None
    ids = [row[0] for row in table["data"]]
    assert sid in ids


def test_api_drill_round_trip(client: Client, store: SessionStore) -> None:
    sid, status, question, feedback, cleared, mastery = client.predict(
        "any", "dim:evaluation", "senior", 2, api_name="/drill_start"
    )
    assert sid and "Question 1 of 2" in status and question.strip() and cleared == ""
    assert "Feedback on your answer" in feedback
    record = store.load(sid)
    assert record.kind == "drill" and record.status == "active"

    answer = "<b>Offline</b> I would track precision and recall at the threshold, then run an A/B test online."
    sid2, status, question2, feedback, cleared, mastery = client.predict(answer, sid, api_name="/drill_answer")
    assert sid2 == sid and "Question 2 of 2" in status and question2 != question and cleared == ""
    assert re.search(r"Score [1-4]/4", feedback) and "Knowledge base:" in feedback and " › " in feedback
    assert "&lt;b&gt;Offline&lt;/b&gt;" in feedback and "<b>Offline" not in feedback
    rows = mastery["value"]["data"] if isinstance(mastery, dict) and "value" in mastery else mastery["data"]
    assert len(rows) == len(DIMENSIONS)

    _, status, *_ = client.predict(
        "A time-based split and a holdout week, compared to the baseline.", sid, api_name="/drill_answer"
    )
    assert "Drill finished" in status
    record = store.load(sid)
    assert record.status == "finished" and record.overall is not None
    assert [t.move for t in record.turns].count("drill_feedback") == 2


def test_main_turns_login_on_only_with_users(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(ui_app, "launch", lambda app, host, port, share, **kw: seen.append(kw))
    ui_app.main(settings=settings)
    users = settings.model_copy(update={"ui_users": SecretStr("alice:pw-a,bob:pw-b")})
    ui_app.main(settings=users)
    assert "auth" not in seen[0]
    assert seen[1]["auth"] == [("alice", "pw-a"), ("bob", "pw-b")]


@pytest.fixture(scope="module")
def served_with_login(settings: Settings, embedder: Any, store: SessionStore) -> Iterator[str]:
    """The app with login on (alice and bob), on a free loopback port."""
    with serve(settings, embedder=embedder, store=store, auth=[("alice", "pw-a"), ("bob", "pw-b")]) as url:
        yield url


def _error_of(client: Client, *args: Any, api_name: str) -> str:
    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


def test_login_scopes_sessions_to_the_user(served_with_login: str, store: SessionStore, tmp_path: Path) -> None:
    alice, bob = (
        Client(served_with_login, verbose=False, auth=auth, download_files=str(tmp_path), analytics_enabled=False)
        for auth in (("alice", "pw-a"), ("bob", "pw-b"))
    )
    sid, *_ = alice.predict("fraud-detection", "senior", "Mock interview", api_name="/start")
    drill_sid, *_ = alice.predict("any", "weakest", "senior", 1, api_name="/drill_start")
    assert store.load(sid, owner="alice").owner == "alice"
    alice_ids = [row[0] for row in alice.predict(api_name="/history")[0]["data"]]
    assert sid in alice_ids and drill_sid in alice_ids

    bob_ids = [row[0] for row in bob.predict(api_name="/history")[0]["data"]]
    assert sid not in bob_ids and drill_sid not in bob_ids
    unknown = "x" * 22
    for api_name in ("/resume", "/export_json", "/export_markdown"):
        theirs = _error_of(bob, sid, api_name=api_name)
        missing = _error_of(bob, unknown, api_name=api_name)
        assert theirs.replace(sid, unknown) == missing, api_name
    theirs = _error_of(bob, "an answer", drill_sid, api_name="/drill_answer")
    assert theirs.replace(drill_sid, unknown) == _error_of(bob, "an answer", unknown, api_name="/drill_answer")
    assert "alice" not in theirs
    assert store.load(sid, owner="alice").turn_count == 1  # bob changed nothing

    with pytest.raises(Exception):  # noqa: B017 - a wrong password is refused at login
        Client(served_with_login, verbose=False, auth=("bob", "wrong"), analytics_enabled=False)


def test_practise_next_starts_a_drill_on_that_dimension(settings: Settings, embedder: Any, store: SessionStore) -> None:
    from ui.backend import Backend
    from ui.drill import DrillDesk, DrillHandlers
    from ui.handlers import practice_update

    picker = practice_update(["evaluation", "not-a-dimension", "serving"])
    assert picker.choices == [("Evaluation", "evaluation"), ("Deployment & serving", "serving")]
    assert picker.value == "evaluation"
    dh = DrillHandlers(DrillDesk(Backend(settings, InterviewService(settings, store=store, embedder=embedder))))
    sid, status, question, *_rest, focus, tabs = dh.practise("evaluation", "senior", None)  # type: ignore[arg-type]
    assert focus == "dim:evaluation" and tabs.selected == "drill" and question.strip()
    assert "chosen dimension: evaluation" in status and store.load(sid).kind == "drill"
    with pytest.raises(gr.Error):
        dh.practise(None, "senior", None)  # type: ignore[arg-type]
