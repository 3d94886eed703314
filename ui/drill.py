"""The Drill tab's backend and handlers: the same `agent.drill` functions as `interviewer drill`, stored per user."""

from __future__ import annotations

from typing import Any

import gradio as gr

from agent.drill.mastery import Mastery, load_mastery
from agent.drill.questions import DrillFocusError
from agent.drill.session import DrillSession, answer, finish, load_drill, start_drill
from agent.sessions import SessionStore, SessionStoreError
from knowledge.ids import CASE_IDS, DIMENSIONS, LEVELS
from ui import drill_render as dr
from ui.backend import Backend
from ui.handlers import Handlers, owner_of, user_errors

DEFAULT_COUNT = 5
"""Questions in a drill unless the candidate picks another number."""

_ERRORS = (DrillFocusError, SessionStoreError, ValueError)


class DrillDesk:
    """Start, load, answer and finish drills in the app's session store (kind "drill"), scoped to an owner."""

    def __init__(self, backend: Backend) -> None:
        """Share the app backend's store and embedder."""
        self.backend = backend

    @property
    def store(self) -> SessionStore:
        """The session store (the interview service's)."""
        return self.backend.service.store

    def mastery(self, owner: str | None) -> Mastery:
        """The owner's mastery from every stored interview, grading and drill answer."""
        return load_mastery(self.store, owner=owner)

    def begin(self, case_id: str | None, focus: str | None, level: str, count: int, owner: str | None) -> DrillSession:
        """Start and store a drill (focus from the choice, else from the owner's mastery)."""
        dimension, mode = dr.parse_focus(focus)
        state, _ = start_drill(
            case_id=case_id,
            dimension=dimension,
            failure_mode=mode,
            level=level,
            count=count,
            mastery=self.mastery(owner),
            store=self.store,
            owner=owner,
        )
        return state

    def load(self, session_id: str, owner: str | None) -> DrillSession:
        """A stored drill of this owner, loaded as `interviewer drill --resume` loads it (others: not found)."""
        return load_drill(self.store, session_id, owner=owner)

    def answer(self, session_id: str, text: str, owner: str | None) -> DrillSession:
        """Grade the answer to the current question at once and store it with the next question."""
        state = self.load(session_id, owner)
        new, _ = answer(state, text, embedder=self.backend.service.embedder, store=self.store, owner=owner)
        return new

    def finish(self, session_id: str, owner: str | None) -> DrillSession:
        """End a drill early (finished, or abandoned when nothing was answered)."""
        return finish(self.load(session_id, owner), store=self.store, owner=owner)


def drill_panels(state: DrillSession | None, mastery: Mastery | None = None) -> tuple[Any, ...]:
    """Session id, status, question, feedback (all answered items), cleared answer box and mastery plot."""
    shown = mastery if mastery is not None else (state.mastery if state is not None else None)
    return (
        state.session_id if state is not None else "",
        dr.status_markdown(state),
        dr.question_markdown(state),
        dr.drill_feedback_html(state),
        "",
        dr.mastery_frame(shown),
    )


RESUME_OUTPUTS = 10
"""Outputs of `Handlers.resume` and `Handlers.restore` (interview id, four interview panels, four scorecard
panels, tabs)."""


class DrillHandlers:
    """Event functions of the Drill tab (and the buttons elsewhere that open it)."""

    def __init__(self, desk: DrillDesk, interview: Handlers | None = None) -> None:
        """Keep the drill desk (and the interview handlers that History's "Open / resume" falls back to)."""
        self.desk = desk
        self.interview = interview

    def start(self, case_id: str | None, focus: str | None, level: str, count: float, request: gr.Request) -> Any:
        """Start a drill on the chosen case (or any) and focus (or the weakest); show its first question."""
        if level not in LEVELS:
            raise gr.Error(f"Pick a level: {', '.join(LEVELS)}.")
        case = None if not case_id or case_id == dr.ANY_CASE else case_id
        if case is not None and case not in CASE_IDS:
            raise gr.Error("Pick a case (or any case).")
        with user_errors(_ERRORS):
            state = self.desk.begin(case, focus, level, int(count or DEFAULT_COUNT), owner_of(request))
        return drill_panels(state)

    def answer(self, text: str, session_id: str, request: gr.Request) -> Any:
        """Grade the answer at once: score, feedback and knowledge-base pointer, then the next question."""
        if not session_id:
            raise gr.Error("Start a drill first.")
        if not text or not text.strip():
            raise gr.Error("Type an answer first.")
        with user_errors(_ERRORS):
            state = self.desk.answer(session_id, text, owner_of(request))
        return drill_panels(state)

    def finish(self, session_id: str, request: gr.Request) -> Any:
        """End the drill now (what was answered stays stored)."""
        if not session_id:
            raise gr.Error("There is no drill to finish.")
        with user_errors(_ERRORS):
            state = self.desk.finish(session_id, owner_of(request))
        return drill_panels(state)

    def open(self, session_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Reopen a stored drill in the Drill tab: answered items with feedback, and the current question if any."""
        if not session_id:
            raise gr.Error("Pick a drill session first.")
        with user_errors(_ERRORS):
            state = self.desk.load(session_id, owner_of(request))
        return (*drill_panels(state), gr.Tabs(selected="drill"))

    def resume(self, session_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """History's "Open / resume": a drill opens in the Drill tab, any other session as `Handlers.resume` does."""
        keep = gr.update()
        if session_id and self._is_drill(session_id, owner_of(request)):
            *panels, tab = self.open(session_id, request)
            return (*(keep for _ in range(RESUME_OUTPUTS - 1)), tab, *panels)
        if self.interview is None:
            raise gr.Error("Only drills can be opened here.")
        return (*self.interview.resume(session_id, request), *(keep for _ in range(6)))

    def restore(self, stored_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """On page load: a drill named in the URL (?session=) opens as History opens it, else `Handlers.restore`.

        History's "Open / resume" path (`resume`) shows the drill in the Drill tab; any other id, or none, goes to
        the interview's restore (the URL's interview, the one this browser remembers, or nothing).
        """
        query = dict(getattr(request, "query_params", {}) or {})
        named = str(query.get("session") or "")
        if named and self._is_drill(named, owner_of(request)):
            return self.resume(named, request)
        keep = gr.update()
        if self.interview is None:
            return tuple(keep for _ in range(RESUME_OUTPUTS + 6))
        return (*self.interview.restore(stored_id, request), *(keep for _ in range(6)))

    def controls(self, session_id: str, request: gr.Request) -> tuple[Any, Any]:
        """Answer box and submit button: read-only for a finished drill, usable otherwise."""
        done = False
        if session_id:
            try:
                done = self.desk.load(session_id, owner_of(request)).finished
            except _ERRORS:
                done = False
        hint = "This drill is finished: start another one above." if done else ""
        return gr.Textbox(interactive=not done, placeholder=hint), gr.Button(interactive=not done)

    def _is_drill(self, session_id: str, owner: str | None) -> bool:
        """Whether the owner has a stored drill of this id (any error: no, and the interview path reports it)."""
        try:
            return self.desk.store.load(session_id, owner=owner).kind == "drill"
        except _ERRORS:
            return False

    def mastery(self, request: gr.Request) -> Any:
        """The logged-in candidate's mastery per dimension (for the plot)."""
        with user_errors(_ERRORS):
            return dr.mastery_frame(self.desk.mastery(owner_of(request)))

    def practise(self, dimension: str | None, level: str, request: gr.Request) -> tuple[Any, ...]:
        """Start a drill on a "practise next" dimension and switch to the Drill tab."""
        if dimension not in DIMENSIONS:
            raise gr.Error("Pick a dimension to practise.")
        focus = f"dim:{dimension}"
        panels = self.start(dr.ANY_CASE, focus, level if level in LEVELS else "senior", DEFAULT_COUNT, request)
        return (*panels, focus, gr.Tabs(selected="drill"))

    def from_start(self, mode: str, case_id: str, level: str, request: gr.Request) -> tuple[Any, ...]:
        """After the Start tab: when the mode is Drill, start a weakest-first drill on the chosen case."""
        if mode != "Drill":
            return tuple(gr.update() for _ in range(8))
        panels = self.start(case_id, dr.WEAKEST, level, DEFAULT_COUNT, request)
        return (*panels, case_id, dr.WEAKEST)


__all__ = ["DEFAULT_COUNT", "RESUME_OUTPUTS", "DrillDesk", "DrillHandlers", "drill_panels"]
