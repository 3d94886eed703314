"""`?session=ID` of a drill reopens it in the Drill tab on page load, through History's own "Open / resume" path;
interviews in the URL (or remembered by the browser) still reopen as before, and other users' drills stay hidden."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from agent.drill.session import load_drill
from agent.interview.service import InterviewService
from agent.sessions import SessionStore
from agent.sessions.ids import new_session_id
from agent.settings import Settings
from tests.test_ui_browser import app_url, page  # noqa: F401  (fixtures of the browser test below)
from ui.app import build_app
from ui.backend import Backend
from ui.drill import RESUME_OUTPUTS, DrillDesk, DrillHandlers
from ui.handlers import Handlers

FIRST = "Offline I would track precision and recall at the operating threshold, against a baseline."
SECOND = "A time-based split with a holdout week, then an A/B test on fraud losses online."
KEEP = gr.update()
DRILL_IDS = ["drill-sid", "drill-status", "drill-question", "drill-feedback", "drill-answer", "drill-mastery"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionStore]:
    """A session store of this module's own."""
    with SessionStore(tmp_path_factory.mktemp("drill-url") / "sessions.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def dh(settings: Settings, embedder: Any, store: SessionStore) -> DrillHandlers:
    """The app's drill handlers, wired to the interview handlers as `build_app` wires them."""
    backend = Backend(settings, InterviewService(settings, store=store, embedder=embedder))
    return DrillHandlers(DrillDesk(backend), Handlers(backend))


def _request(user: str | None, session: str | None = None) -> Any:
    """What the page load hands the handler: the logged-in user and the URL's query."""
    return SimpleNamespace(username=user, query_params={"session": session} if session else {})


def _drill(dh: DrillHandlers, owner: str | None, count: int, answers: list[str]) -> str:
    state = dh.desk.begin(None, "dim:evaluation", "senior", count, owner)
    for text in answers:
        dh.desk.answer(state.session_id, text, owner)
    return state.session_id


def _split(out: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any, tuple[Any, ...]]:
    """(interview outputs, the tab switch, drill outputs) of one page-load call."""
    assert len(out) == RESUME_OUTPUTS + 6
    return out[: RESUME_OUTPUTS - 1], out[RESUME_OUTPUTS - 1], out[RESUME_OUTPUTS:]


def test_a_drill_in_the_url_opens_in_the_drill_tab_as_history_opens_it(dh: DrillHandlers, store: SessionStore) -> None:
    sid = _drill(dh, "alice", 3, [FIRST])
    interview, tab, drill = _split(dh.restore("", _request("alice", sid)))
    assert all(v == KEEP for v in interview) and tab.selected == "drill"
    d_sid, status, question, feedback, box, mastery = drill
    assert d_sid == sid and "Question 2 of 3" in status and box == ""
    current = load_drill(store, sid, owner="alice").current
    assert current is not None and current.question.text in question  # the stored question, not a new one
    assert "Score " in feedback and "precision" in feedback
    history = dh.resume(sid, _request("alice"))  # History's "Open / resume" on the same id
    assert [history[RESUME_OUTPUTS - 1].selected, *history[RESUME_OUTPUTS:-1]] == ["drill", *drill[:-1]]
    assert history[-1].equals(mastery)

    _, status, *_ = dh.answer(SECOND, d_sid, _request("alice"))  # answering continues the same stored drill
    assert "Question 3 of 3" in status
    assert [t.text for t in store.load(sid, owner="alice").turns if t.move == "drill_answer"] == [FIRST, SECOND]


def test_a_finished_drill_in_the_url_opens_read_only(dh: DrillHandlers, store: SessionStore) -> None:
    sid = _drill(dh, "alice", 1, [FIRST])
    before = store.load(sid, owner="alice").version
    _, tab, (d_sid, status, question, feedback, _box, _m) = _split(dh.restore("", _request("alice", sid)))
    assert tab.selected == "drill" and d_sid == sid and "Drill finished" in status and "1 answered" in status
    assert "No more questions" in question and "Summary · 1 answered" in feedback
    box, button = dh.controls(d_sid, _request("alice"))
    assert box.interactive is False and button.interactive is False
    assert store.load(sid, owner="alice").version == before  # opening wrote nothing


def test_interviews_in_the_url_or_remembered_still_open(dh: DrillHandlers) -> None:
    assert dh.interview is not None
    sid = dh.interview.backend.begin("fraud-detection", "senior", "alice").session_id
    for request, remembered in ((_request("alice", sid), ""), (_request("alice"), sid)):
        interview, tab, drill = _split(dh.restore(remembered, request))
        assert interview[0] == sid and len(interview[1]) == 1 and tab.selected == "interview"  # the opening turn
        assert all(v == KEEP for v in drill)


def test_another_users_drill_in_the_url_shows_nothing(dh: DrillHandlers, store: SessionStore) -> None:
    sid = _drill(dh, "alice", 2, [FIRST])
    before = store.load(sid, owner="alice")
    for session in (sid, new_session_id(), "not a session id"):
        interview, tab, drill = _split(dh.restore("", _request("bob", session)))
        assert interview[0] == "" and interview[1] == [] and tab == KEEP, session
        assert all(v == KEEP for v in drill), session
    after = store.load(sid, owner="alice")
    assert (after.version, after.turn_count) == (before.version, before.turn_count)


def test_the_page_load_event_is_the_drill_aware_restore(settings: Settings, embedder: Any, store: SessionStore) -> None:
    app = build_app(settings, service=InterviewService(settings, store=store, embedder=embedder))
    (load,) = [d for d in app.fns.values() if any(t[1] == "load" for t in d.targets)]
    assert getattr(load.fn, "__func__", None) is DrillHandlers.restore
    assert [getattr(o, "elem_id", None) for o in load.outputs[RESUME_OUTPUTS:]] == DRILL_IDS


@pytest.mark.slow
def test_a_drill_link_reopens_it_in_the_browser(page: Any, app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from gradio_client import Client

    api = Client(app_url, verbose=False, download_files=str(tmp_path), analytics_enabled=False)
    sid, *_ = api.predict("any", "dim:evaluation", "senior", 2, api_name="/drill_start")
    api.predict(FIRST, sid, api_name="/drill_answer")
    page.goto(f"{app_url}?session={sid}")
    page.wait_for_function("sid => document.querySelector('#drill-sid textarea')?.value === sid", arg=sid)
    assert "Question 2 of 2" in page.locator("#drill-status").inner_text()
    assert "precision" in page.locator("#drill-feedback").inner_text()
    assert page.locator("#drill-answer textarea").is_visible()  # the Drill tab is the one shown
    assert f"session={sid}" in page.url and page.dialogs == []
