"""The Interview tab says in one line when the model is not speaking (a turn fell back, or it was switched off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from agent.interview.service import InterviewService
from agent.interview.state import InterviewState, Turn
from agent.llm.base import ModelTimeout
from agent.llm.fake import ScriptedModel
from agent.settings import Settings
from tests.served import serve
from tests.test_interview_model import USERS_Q, USERS_REPLY
from ui import render
from ui.backend import Backend
from ui.handlers import Handlers

CASE = "video-recommendation"
MESSAGES = [USERS_Q, "Ranking, I think.", "Two towers for retrieval.", "Then a ranker."]
OFF = "Model unavailable** — the offline interviewer is answering for the rest of this session (timeout)"


def _state(*metas: dict[str, Any]) -> InterviewState:
    state = InterviewState(session_id="n", case_id=CASE)
    for i, meta in enumerate(metas):
        state.turns.append(Turn(role="candidate", text="x", phase="requirements", move="answer", at=float(i)))
        state.turns.append(
            Turn(role="interviewer", text="y", phase="requirements", move="probe", at=float(i), meta=meta)
        )
    return state


def test_notice_follows_the_last_turn_and_the_session_switch() -> None:
    assert render.model_notice(_state()) == "" and render.model_notice(_state({"question": "q"})) == ""
    assert render.model_notice(_state({"voice": "model", "model": "m"})) == ""
    one = render.model_notice(_state({"voice": "offline", "fallback": "timeout"}))
    assert one.startswith("⚠ **Model unavailable**") and "answered this turn (timeout)" in one and "\n" not in one
    guard = render.model_notice(_state({"voice": "offline", "fallback": "wrong_language"}))
    assert "Model reply not usable" in guard and "(wrong language)" in guard
    recovered = _state({"voice": "offline", "fallback": "timeout"}, {"voice": "model"})
    assert render.model_notice(recovered) == "", "a later turn spoken by the model clears it"
    off = _state(
        {"voice": "offline", "fallback": "timeout", "model_disabled": True},
        {"voice": "offline", "fallback": "session_disabled"},
    )
    assert OFF in render.model_notice(off)
    hostile = render.model_notice(_state({"voice": "offline", "fallback": "<script>alert(1)</script>"}))
    assert "<script>" not in hostile


class _Request:
    username = None


def _service(settings: Settings, embedder: Any, tmp_path: Path, model: ScriptedModel) -> InterviewService:
    s = settings.model_copy(update={"data_dir": tmp_path})
    return InterviewService(s, embedder=embedder, step_options={"model": model})


def _send(h: Handlers, message: str, sid: str) -> tuple[Any, ...]:
    *_, last = h.send(message, sid, _Request())  # type: ignore[arg-type]
    return tuple(last)


def test_handlers_show_the_notice_when_the_model_fails(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    model = ScriptedModel([USERS_REPLY, ModelTimeout("t1"), ModelTimeout("t2"), ModelTimeout("t3")])
    h = Handlers(Backend(settings, _service(settings, embedder, tmp_path, model)))
    sid, _chat, steps, *_ = h.start(CASE, "senior", "Mock interview", _Request())  # type: ignore[arg-type]
    assert "⚠" not in steps
    _chat, steps, *_ = _send(h, MESSAGES[0], sid)
    assert "⚠" not in steps and "Clarify requirements" in steps, "the model spoke: no notice"
    _chat, steps, *_ = _send(h, MESSAGES[1], sid)
    assert "⚠ **Model unavailable** — the offline interviewer answered this turn (timeout)." in steps
    _send(h, MESSAGES[2], sid)
    chat, steps, *_ = _send(h, MESSAGES[3], sid)
    assert OFF in steps and steps.count("⚠") == 1
    assert model.remaining == 0 and chat[-1]["content"].strip()
    restored = h.restore(sid, _Request())  # type: ignore[arg-type]
    assert OFF in restored[2], "a reload shows it too"


@pytest.fixture
def failing_app(settings: Settings, embedder: Any, tmp_path: Path) -> Iterator[Client]:
    """The app served on 127.0.0.1 with a model that always times out; yields a client."""
    model = ScriptedModel([ModelTimeout(f"t{i}") for i in range(3)])
    with serve(settings, service=_service(settings, embedder, tmp_path, model)) as url:
        yield Client(url, verbose=False, analytics_enabled=False)


def test_the_served_app_shows_the_switch(failing_app: Client) -> None:
    sid, *_ = failing_app.predict(CASE, "senior", "Mock interview", api_name="/start")
    steps_seen = []
    for message in MESSAGES:
        _chat, steps, *_ = failing_app.predict(message, sid, api_name="/send")
        steps_seen.append(steps)
    assert "answered this turn (timeout)" in steps_seen[0]
    assert OFF in steps_seen[2] and OFF in steps_seen[3]
