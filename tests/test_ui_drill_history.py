"""History's "Open / resume" on a drill: the Drill tab reopens it (answered items, next question), answering
continues the same stored drill, finished drills are read-only, exports work, and other users see nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from agent.drill.session import DrillSession
from agent.interview.service import InterviewService
from agent.sessions import SessionStore
from agent.sessions.ids import new_session_id
from agent.settings import Settings
from tests.served import serve
from ui.drill_render import drill_feedback_html

USERS = [("alice", "pw-alice-1"), ("bob", "pw-bob-2")]
INTERVIEW_OUTPUTS = 9
"""/resume returns the interview's 9 API outputs (id, 4 panels, 4 scorecard parts; the tab switch is none),
then the drill's 6."""
FIRST = "Offline I would track <b>precision</b> and recall at the operating threshold, against a baseline."
SECOND = "A time-based split with a holdout week, then an A/B test on fraud losses online."


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionStore]:
    """A session store of this module's own."""
    with SessionStore(tmp_path_factory.mktemp("drill-history") / "sessions.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def url(settings: Settings, embedder: Any, store: SessionStore) -> Iterator[str]:
    """The app with login on (alice and bob) on a free loopback port."""
    with serve(settings, embedder=embedder, store=store, auth=USERS) as served_url:
        yield served_url


def _client(url: str, user: str, folder: Path) -> Client:
    """A fresh logged-in client (its own connection and state)."""
    password = dict(USERS)[user]
    return Client(url, verbose=False, auth=(user, password), download_files=str(folder), analytics_enabled=False)


def _drill_part(outputs: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    """The drill outputs of /resume: id, status, question, feedback, answer box, mastery."""
    assert len(outputs) == INTERVIEW_OUTPUTS + 6
    return tuple(outputs[INTERVIEW_OUTPUTS:])


def _error(client: Client, *args: Any, api_name: str) -> str:
    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


@pytest.fixture(scope="module")
def half_done(url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Alice's three-question drill with the first question answered (in a client of its own)."""
    alice = _client(url, "alice", tmp_path_factory.mktemp("first-client"))
    sid, status, q1, *_ = alice.predict("any", "dim:evaluation", "senior", 3, api_name="/drill_start")
    assert "Question 1 of 3" in status
    _, status, q2, *_ = alice.predict(FIRST, sid, api_name="/drill_answer")
    assert "Question 2 of 3" in status and q2 != q1
    return {"sid": sid, "q1": q1, "q2": q2}


def test_history_lists_the_drill_and_resume_reopens_it_in_a_fresh_client(
    url: str, half_done: dict[str, str], store: SessionStore, tmp_path: Path
) -> None:
    sid = half_done["sid"]
    alice = _client(url, "alice", tmp_path)  # nothing carried over from the client that started it
    table, picker, _trend = alice.predict(api_name="/history")
    assert sid in [row[0] for row in table["data"]]
    labels = {value: label for label, value in picker["choices"]}
    assert "drill" in labels[sid]

    d_sid, status, question, feedback, box, _mastery = _drill_part(alice.predict(sid, api_name="/resume"))
    assert d_sid == sid and "Question 2 of 3" in status and box == ""
    assert question == half_done["q2"]  # the stored current question, not a new one
    assert re.search(r"Score [1-4]/4", feedback) and "Knowledge base:" in feedback
    assert "&lt;b&gt;precision&lt;/b&gt;" in feedback and "<b>precision" not in feedback  # the first answer, escaped

    _, status, _q3, feedback, *_ = alice.predict(SECOND, sid, api_name="/drill_answer")
    assert "Question 3 of 3" in status and "Earlier answers (1)" in feedback
    record = store.load(sid, owner="alice")
    answers = [t.text for t in record.turns if t.move == "drill_answer"]
    assert answers == [FIRST, SECOND]
    state = DrillSession.model_validate_json(record.state_json)
    assert [i.answer for i in state.items] == [FIRST, SECOND] and state.current is not None
    assert record.status == "active"


def test_a_finished_drill_opens_read_only_with_its_summary(url: str, store: SessionStore, tmp_path: Path) -> None:
    alice = _client(url, "alice", tmp_path)
    sid, *_ = alice.predict("any", "dim:evaluation", "senior", 1, api_name="/drill_start")
    _, status, *_ = alice.predict(FIRST, sid, api_name="/drill_answer")
    assert "Drill finished" in status
    before = store.load(sid, owner="alice").turn_count

    fresh = _client(url, "alice", tmp_path)
    d_sid, status, question, feedback, _box, _m = _drill_part(fresh.predict(sid, api_name="/resume"))
    assert d_sid == sid and "Drill finished" in status and "1 answered" in status
    assert "No more questions" in question and "Summary · 1 answered" in feedback
    assert "finished" in _error(fresh, SECOND, sid, api_name="/drill_answer")
    assert store.load(sid, owner="alice").turn_count == before  # nothing appended


def test_exports_of_a_drill_from_history(url: str, half_done: dict[str, str], tmp_path: Path) -> None:
    alice = _client(url, "alice", tmp_path)
    sid = half_done["sid"]
    data = json.loads(Path(alice.predict(sid, api_name="/export_json")).read_text(encoding="utf-8"))
    assert data["session_id"] == sid and data["kind"] == "drill"
    assert FIRST in [t["text"] for t in data["turns"] if t["role"] == "candidate"]
    markdown = Path(alice.predict(sid, api_name="/export_markdown")).read_text(encoding="utf-8")
    assert markdown.startswith("# Drill:") and "precision" in markdown and sid in markdown


def test_resume_still_opens_interviews(url: str, tmp_path: Path) -> None:
    alice = _client(url, "alice", tmp_path)
    sid, *_ = alice.predict("fraud-detection", "senior", "Mock interview", api_name="/start")
    outputs = alice.predict(sid, api_name="/resume")
    assert outputs[0] == sid and len(outputs[1]) == 1  # the interviewer's opening turn
    assert len(outputs) == INTERVIEW_OUTPUTS + 6


def test_another_user_cannot_open_or_continue_the_drill(
    url: str, half_done: dict[str, str], store: SessionStore, tmp_path: Path
) -> None:
    sid = half_done["sid"]
    bob = _client(url, "bob", tmp_path)
    assert sid not in [row[0] for row in bob.predict(api_name="/history")[0]["data"]]
    before = store.load(sid, owner="alice")
    unknown = new_session_id()
    for args in ((sid,), (SECOND, sid)):
        api_name = "/resume" if len(args) == 1 else "/drill_answer"
        theirs = _error(bob, *args, api_name=api_name)
        missing = _error(bob, *(unknown if a == sid else a for a in args), api_name=api_name)
        assert theirs.replace(sid, unknown) == missing, api_name
        assert "alice" not in theirs.lower()
    after = store.load(sid, owner="alice")
    assert (after.turn_count, after.version) == (before.turn_count, before.version)


def test_feedback_lists_every_answered_item_escaped(store: SessionStore) -> None:
    from agent.drill.session import answer, start_drill

    state, _ = start_drill(dimension="evaluation", count=2)
    assert "Feedback on your answer" in drill_feedback_html(state)
    one, _ = answer(state, "<script>x()</script> precision and recall")
    two, _ = answer(one, "a time-based split")
    html = drill_feedback_html(two)
    assert two.finished and html.count("iv-drill-feedback") == 2 and "Summary · 2 answered" in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_answer_controls_are_read_only_for_a_finished_drill(
    settings: Settings, embedder: Any, store: SessionStore
) -> None:
    from ui.backend import Backend
    from ui.drill import DrillDesk, DrillHandlers

    desk = DrillDesk(Backend(settings, InterviewService(settings, store=store, embedder=embedder)))
    dh = DrillHandlers(desk)
    state = desk.begin(None, "dim:evaluation", "senior", 1, None)
    box, button = dh.controls(state.session_id, None)  # type: ignore[arg-type]
    assert box.interactive is True and button.interactive is True
    desk.answer(state.session_id, FIRST, None)
    box, button = dh.controls(state.session_id, None)  # type: ignore[arg-type]
    assert box.interactive is False and button.interactive is False and "finished" in box.placeholder
    assert dh.controls("", None)[0].interactive is True  # type: ignore[arg-type]
