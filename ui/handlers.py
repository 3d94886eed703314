"""The app's event handlers: each takes plain values (and the request), calls the backend, returns UI updates."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr

from agent.grading.scorecard import Scorecard
from agent.interview.engine import InterviewInputError
from agent.interview.service import InterviewServiceError, InterviewSession
from agent.sessions import SessionStoreError, StoreUnavailable
from knowledge.ids import CASE_IDS, DIMENSIONS, LEVELS, STEP_TITLES
from ui import render
from ui.backend import Backend, random_case

MODES = ("Mock interview", "Drill", "Grade an answer")
"""What the Start tab can open."""

STREAM_DELAY_S = 0.03
"""Pause between streamed chunks of an interviewer reply."""

_USER_ERRORS = (InterviewServiceError, InterviewInputError, SessionStoreError, ValueError)


def owner_of(request: gr.Request | None) -> str | None:
    """The logged-in user (None without login): every session call is scoped to it."""
    return getattr(request, "username", None) if request is not None else None


_SERVER_PATH = re.compile(r" in /\S+\.sqlite3")


def user_error(e: Exception) -> gr.Error:
    """An error for the page: the exception's one-line message, without the server's file paths."""
    if isinstance(e, StoreUnavailable):  # the operator's line (with the path) goes to the server's log
        print(f"interviewer: {e}", file=sys.stderr, flush=True)
        return gr.Error(e.public)
    return gr.Error(_SERVER_PATH.sub("", str(e)) or type(e).__name__)


@contextmanager
def user_errors(kinds: tuple[type[Exception], ...]) -> Iterator[None]:
    """Turn the given exceptions, raised inside the block, into `user_error`s for the page."""
    try:
        yield
    except kinds as e:
        raise user_error(e) from e


def interview_panels(session: InterviewSession | None) -> tuple[list[render.ChatMessage], str, str, str]:
    """Chat, steps, clock and flags for a session (empty panels without one)."""
    if session is None:
        return [], "Start an interview on the **Start** tab.", "**Clock** 00:00 / 45:00", render.flags_html([], "")
    state = session.state
    notice = render.model_notice(state)  # the model switched off, or this turn fell back to the offline words
    return (
        render.chat_messages(state.turns),
        f"{notice}\n\n{render.steps_markdown(state)}" if notice else render.steps_markdown(state),
        render.clock_text(state),
        render.flags_html(state.flags, state.case_id),
    )


def practice_update(practice_next: list[str] | None) -> Any:
    """The "practise next" picker of a scorecard: its dimensions, the first one chosen."""
    dims = [d for d in practice_next or [] if d in DIMENSIONS]
    return gr.Dropdown(choices=[(STEP_TITLES[d], d) for d in dims], value=dims[0] if dims else None)


def scorecard_panels(card: Scorecard | None) -> tuple[str, Any, str, Any]:
    """Headline, plot data, details and the practise-next picker of a scorecard (placeholders without one)."""
    if card is None:
        empty = "No scorecard yet: end an interview or grade an answer."
        return empty, render.score_frame(None), "", practice_update(None)
    return (
        render.scorecard_headline(card),
        render.score_frame(card),
        render.scorecard_details_html(card),
        practice_update(card.practice_next),
    )


class Handlers:
    """Event functions bound to one backend; the app wires them to components and API names."""

    def __init__(self, backend: Backend) -> None:
        """Keep the backend and a folder for downloads."""
        self.backend = backend
        self.downloads = Path(tempfile.mkdtemp(prefix="interviewer-downloads-"))

    def _load(self, session_id: str, owner: str | None) -> InterviewSession | None:
        if not session_id:
            return None
        try:
            return self.backend.get(session_id, owner)
        except _USER_ERRORS:
            return None

    def pick_random(self) -> str:
        """A random case id for the picker."""
        return random_case()

    def start(self, case_id: str, level: str, mode: str, request: gr.Request) -> tuple[Any, ...]:
        """Open what the Start tab asks for: a mock interview (stored), or the Grade tab prefilled."""
        if case_id not in CASE_IDS:
            raise gr.Error("Pick a case first (or press Random).")
        if level not in LEVELS:
            raise gr.Error(f"Pick a level: {', '.join(LEVELS)}.")
        keep = gr.update()
        if mode == "Grade an answer":
            return (keep, keep, keep, keep, keep, gr.Tabs(selected="grade"), case_id, level)
        if mode == "Drill":  # the drill itself starts in the event chained after this one
            return (keep, keep, keep, keep, keep, gr.Tabs(selected="drill"), case_id, level)
        with user_errors(_USER_ERRORS):
            session = self.backend.begin(case_id, level, owner_of(request))
        chat, steps, clock, flags = interview_panels(session)
        return (session.session_id, chat, steps, clock, flags, gr.Tabs(selected="interview"), case_id, level)

    def send(self, message: str, session_id: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """Send the candidate's message; stream the interviewer's reply, then refresh steps, clock and flags."""
        if not session_id:
            raise gr.Error("Start an interview first (Start tab).")
        if not message or not message.strip():
            raise gr.Error("Type a message first.")
        owner = owner_of(request)
        try:
            before: InterviewSession | None = self.backend.get(session_id, owner)
        except StoreUnavailable as e:  # not "gone": say what is wrong with the store
            raise user_error(e) from e
        except _USER_ERRORS:
            before = None
        if before is None:
            raise gr.Error("That session is gone; start a new interview.")
        chat = [*render.chat_messages(before.state.turns), {"role": "user", "content": render.esc(message)}]
        keep = gr.update()
        yield chat, keep, keep, keep, "", keep, keep, keep, keep
        with user_errors(_USER_ERRORS):
            session, turn = self.backend.reply(session_id, message, owner)
        full, steps, clock, flags = interview_panels(session)
        shown = full[:-1]
        for part in render.stream_chunks(turn.text):
            bot = {"role": "assistant", "content": render.esc(part)}
            yield [*shown, bot], keep, keep, keep, "", keep, keep, keep, keep
            time.sleep(STREAM_DELAY_S)
        card = scorecard_panels(session.state.scorecard) if session.state.finished else (keep, keep, keep, keep)
        yield full, steps, clock, flags, "", *card

    def end(self, session_id: str, request: gr.Request) -> tuple[Any, ...]:
        """End the interview, grade it, and show the scorecard tab."""
        if not session_id:
            raise gr.Error("There is no interview to end.")
        with user_errors(_USER_ERRORS):
            session = self.backend.end(session_id, owner_of(request))
        chat, steps, clock, flags = interview_panels(session)
        card = scorecard_panels(session.state.scorecard)
        return chat, steps, clock, flags, *card, gr.Tabs(selected="scorecard")

    def restore(self, stored_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """On page load: reopen the session named in the URL (?session=) or remembered by this browser."""
        query = dict(getattr(request, "query_params", {}) or {})
        session_id = str(query.get("session") or stored_id or "")
        session = self._load(session_id, owner_of(request))
        chat, steps, clock, flags = interview_panels(session)
        card = session.state.scorecard if session is not None else None
        tab = gr.Tabs(selected="interview") if session is not None else gr.update()
        return (session.session_id if session else ""), chat, steps, clock, flags, *scorecard_panels(card), tab

    def tick(self, session_id: str, request: gr.Request) -> Any:
        """The clock, refreshed between turns."""
        session = self._load(session_id, owner_of(request))
        return render.clock_text(session.state) if session is not None else gr.update()

    def grade(self, answer: str, upload: str | None, case_id: str, level: str, request: gr.Request) -> tuple[Any, ...]:
        """Grade a pasted or uploaded answer; show the same scorecard as an interview's."""
        text = answer or ""
        if upload:
            try:
                text = Path(upload).read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
            except OSError as e:
                raise gr.Error("Could not read the uploaded file; upload it again as text or markdown.") from e
        if not text.strip():
            raise gr.Error("Paste an answer or upload a text/markdown file.")
        if case_id not in CASE_IDS:
            raise gr.Error("Pick the case the answer is for.")
        with user_errors(_USER_ERRORS):
            sid, card = self.backend.grade(text, case_id, level, owner_of(request))
        return (*scorecard_panels(card), sid)

    def history(self, request: gr.Request) -> tuple[Any, ...]:
        """Past sessions (table and picker) and the per-dimension trend of finished ones."""
        owner = owner_of(request)
        with user_errors(_USER_ERRORS):
            rows = self.backend.sessions(owner)
        table = [render.history_row(s) for s in rows]
        choices = [
            (
                f"{render.when(s.created_at)} · {s.case_id} · {s.kind} · {s.status}"
                + (f" · {s.overall:.2f}" if s.overall is not None else ""),
                s.id,
            )
            for s in rows
        ]
        points = []
        for s in reversed(rows[:50]):
            if s.overall is None:
                continue
            card = self.backend.scorecard_of(s.id, owner)
            if card is not None:
                points.append((s.created_at, card))
        picked = choices[0][1] if choices else None
        return table, gr.Dropdown(choices=choices, value=picked), render.trend_frame(points)

    def resume(self, session_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Reopen a past interview in the Interview tab (its scorecard too, if it has one)."""
        if not session_id:
            raise gr.Error("Pick a session first.")
        with user_errors(_USER_ERRORS):
            session = self.backend.get(session_id, owner_of(request))
        chat, steps, clock, flags = interview_panels(session)
        card = scorecard_panels(session.state.scorecard)
        return session.session_id, chat, steps, clock, flags, *card, gr.Tabs(selected="interview")

    def export_markdown(self, session_id: str | None, request: gr.Request) -> str:
        """A session as a downloadable markdown file."""
        return self._export(session_id, "md", request)

    def export_json(self, session_id: str | None, request: gr.Request) -> str:
        """A session as a downloadable JSON transcript."""
        return self._export(session_id, "json", request)

    def _export(self, session_id: str | None, fmt: str, request: gr.Request) -> str:
        if not session_id:
            raise gr.Error("Pick a session first.")
        with user_errors(_USER_ERRORS):
            return str(self.backend.export(session_id, fmt, owner_of(request), self.downloads))


__all__ = ["MODES", "Handlers", "interview_panels", "owner_of", "practice_update", "scorecard_panels", "user_error"]
