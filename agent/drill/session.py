"""A drill: its serialisable state, `start_drill` and `answer`, persisted through the session store per turn."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.drill.assess import Assessment, assess
from agent.drill.mastery import Focus, Mastery, next_focus
from agent.drill.questions import DrillFocusError, DrillQuestion, check_focus, choose_case, choose_question
from agent.grading.coverage import Embedder
from agent.sessions import SessionNotFound, SessionStore, SessionStoreError, Status, TurnRecord, new_session_id
from knowledge.corpus import Corpus, load_corpus
from knowledge.ids import DIMENSIONS, FAILURE_MODES, LEVELS, STEP_TITLES, applicable_failure_modes
from prompts.render import render

MAX_COUNT = 50
"""The most questions one drill asks."""


class DrillItem(BaseModel):
    """One question of the drill, with the answer and its assessment once given."""

    model_config = ConfigDict(extra="forbid")

    question: DrillQuestion
    reason: str
    answer: str | None = None
    assessment: Assessment | None = None


class DrillSession(BaseModel):
    """Everything about one drill; JSON round-trips through `model_dump_json` / `model_validate_json`."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    case_id: str
    level: str = "senior"
    count: int = 5
    dimension: str | None = None
    failure_mode: str | None = None
    note: str = ""
    mastery: Mastery = Field(default_factory=Mastery)
    items: list[DrillItem] = Field(default_factory=list)
    current: DrillItem | None = None
    finished: bool = False
    version: int = 0

    @property
    def asked(self) -> set[str]:
        """Ids of every question asked in this drill."""
        ids = {i.question.id for i in self.items}
        if self.current is not None:
            ids.add(self.current.question.id)
        return ids

    @property
    def mean_score(self) -> float | None:
        """Mean score of the answered items."""
        scores = [i.assessment.score for i in self.items if i.assessment is not None]
        return round(sum(scores) / len(scores), 2) if scores else None


def _focus(state: DrillSession) -> Focus:
    if state.failure_mode is not None:
        return Focus(
            FAILURE_MODES[state.failure_mode], state.failure_mode, f"chosen failure mode: {state.failure_mode}"
        )
    if state.dimension is not None:
        return Focus(state.dimension, None, f"chosen dimension: {state.dimension}")
    return next_focus(state.mastery, allowed_modes=applicable_failure_modes(state.case_id))


def _next_item(corpus: Corpus, state: DrillSession) -> DrillItem | None:
    """The next question: the focus first, then (mastery-driven drills) the other dimensions by weakness."""
    focus = _focus(state)
    case = corpus.case(state.case_id)
    tries = [(focus.dimension, focus.failure_mode)]
    if focus.failure_mode is not None and state.failure_mode is None:
        tries.append((focus.dimension, None))
    if state.dimension is None and state.failure_mode is None:
        ranked = sorted(DIMENSIONS, key=lambda d: state.mastery.dimensions[d].score)
        tries += [(d, None) for d in ranked if d != focus.dimension]
    for dimension, mode in tries:
        q = choose_question(corpus, case, dimension, mode, asked=state.asked, seen=state.mastery.seen)
        if q is not None:
            return DrillItem(question=q, reason=focus.reason if dimension == focus.dimension else "focus exhausted")
    return None


def question_text(corpus: Corpus, state: DrillSession, item: DrillItem) -> str:
    """The interviewer's words for a question (the case is introduced before the first one)."""
    q = item.question
    label = STEP_TITLES[q.dimension]
    if q.failure_mode is not None and (state.failure_mode or state.dimension is None):
        label += f" · {corpus.failure_modes[q.failure_mode].title.lower()}"
    text = render(
        "drill_question", number=str(len(state.items) + 1), count=str(state.count), label=label, question=q.text
    ).strip()
    if not state.items:
        case = corpus.case(state.case_id)
        text = f"Case: {case.title}. {case.summary}\n{text}"
    return text


def _question_turn(corpus: Corpus, state: DrillSession, item: DrillItem) -> TurnRecord:
    q = item.question
    meta = {"question_id": q.id, "kind": q.kind, "focus": q.dimension, "mode": q.failure_mode}
    return TurnRecord(
        role="interviewer",
        text=question_text(corpus, state, item),
        phase=q.dimension,
        move="drill_question",
        meta=meta,
    )


def start_drill(
    *,
    case_id: str | None = None,
    dimension: str | None = None,
    failure_mode: str | None = None,
    level: str = "senior",
    count: int = 5,
    mastery: Mastery | None = None,
    store: SessionStore | None = None,
    owner: str | None = None,
    corpus: Corpus | None = None,
) -> tuple[DrillSession, TurnRecord]:
    """Start a drill (focus from the flags, else from mastery) and return it with its first question."""
    corpus = corpus or load_corpus()
    check_focus(corpus, case_id, dimension, failure_mode)
    if level not in LEVELS:
        raise DrillFocusError(f"unknown level '{level}' (one of {', '.join(LEVELS)})")
    if not 1 <= count <= MAX_COUNT:
        raise DrillFocusError(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    mastery = mastery.model_copy(deep=True) if mastery is not None else Mastery()
    if case_id is None:
        probe = DrillSession(
            session_id="-",
            case_id=next(iter(corpus.cases)),
            dimension=dimension,
            failure_mode=failure_mode,
            mastery=mastery,
        )
        focus = _focus(probe)
        case_id = choose_case(corpus, focus.dimension, focus.failure_mode, mastery.cases)
    state = DrillSession(
        session_id=new_session_id(),
        case_id=case_id,
        level=level,
        count=count,
        dimension=dimension,
        failure_mode=failure_mode,
        mastery=mastery,
    )
    state.note = _focus(state).reason
    item = _next_item(corpus, state)
    if item is None:
        raise DrillFocusError(f"no drill question for this focus on case '{case_id}'")
    turn = _question_turn(corpus, state, item)
    state.current = item
    if store is not None:
        record = store.create(
            kind="drill", case_id=case_id, level=level, state_json="{}", owner=owner, session_id=state.session_id
        )
        state.version = record.version + 1
        store.append_turns(
            state.session_id, [turn], state.model_dump_json(), expected_version=record.version, owner=owner
        )
    return state, turn


def answer(
    state: DrillSession,
    text: str,
    *,
    embedder: Embedder | None = None,
    store: SessionStore | None = None,
    owner: str | None = None,
    corpus: Corpus | None = None,
) -> tuple[DrillSession, TurnRecord]:
    """Grade the answer to the current question at once; return the new state and the feedback turn.

    The input state is not modified. With a store, the answer, the feedback and the next question are
    written in one transaction (the drill's session is finished after the last question).
    """
    if state.finished or state.current is None:
        raise DrillFocusError("this drill is finished")
    corpus = corpus or load_corpus()
    new = state.model_copy(deep=True)
    item = new.current
    assert item is not None
    q = item.question
    result = assess(corpus, q, text, level=new.level, embedder=embedder)
    item.answer = text
    item.assessment = result
    new.items.append(item)
    new.current = None
    new.mastery.observe_drill(q.dimension, q.failure_mode, result.score, question_id=q.id, case_id=new.case_id)
    meta: dict[str, Any] = {
        "dimension": q.dimension,
        "failure_mode": q.failure_mode,
        "score": result.score,
        "question_id": q.id,
        "source": result.source,
        "heading": result.heading,
    }
    feedback = TurnRecord(role="interviewer", text=result.feedback, phase=q.dimension, move="drill_feedback", meta=meta)
    turns = [TurnRecord(role="candidate", text=text, phase=q.dimension, move="drill_answer"), feedback]
    if len(new.items) < new.count:
        nxt = _next_item(corpus, new)
        if nxt is not None:
            turns.append(_question_turn(corpus, new, nxt))
            new.current = nxt
    new.finished = new.current is None
    if store is not None:
        expected = new.version
        new.version = expected + 1
        store.append_turns(
            new.session_id,
            turns,
            new.model_dump_json(),
            expected_version=expected,
            status="finished" if new.finished else None,
            overall=new.mean_score,
            owner=owner,
        )
    return new, feedback


def finish(state: DrillSession, *, store: SessionStore | None = None, owner: str | None = None) -> DrillSession:
    """End the drill early (no more questions); the stored session becomes finished, or abandoned if unanswered."""
    if state.finished:
        return state
    new = state.model_copy(deep=True)
    new.current, new.finished = None, True
    if store is not None:
        status: Status = "finished" if new.items else "abandoned"
        expected = new.version
        new.version = expected + 1
        store.append_turns(
            new.session_id, [], new.model_dump_json(), expected_version=expected, status=status, owner=owner
        )
    return new


class DrillUnreadable(SessionStoreError):
    """A stored drill whose state cannot be continued (interrupted before its first question, or inconsistent)."""


def resume_hint(session_id: str) -> str:
    """How to continue a drill from the terminal."""
    return f"interviewer drill --resume {session_id}"


def load_drill(store: SessionStore, session_id: str, *, owner: str | None = None) -> DrillSession:
    """A stored drill of this owner, ready to continue; any other kind of session is not found, like an unknown id.

    Raises `SessionNotFound` (unknown id, another owner's, or not a drill), `InvalidSessionId`, or
    `DrillUnreadable` when the stored state cannot be continued; nothing is written.
    """
    record = store.load(session_id, owner=owner)
    if record.kind != "drill":  # the same words as an unknown id: an id of another kind reveals nothing
        raise SessionNotFound(f"No session {record.id} in {store.path}; check the id, or start a new session.")
    try:
        state = DrillSession.model_validate_json(record.state_json)
    except ValueError as e:
        raise DrillUnreadable(
            f"Drill {record.id} has no question stored (it was interrupted while starting); start a new drill."
        ) from e
    answers = sum(1 for t in record.turns if t.move == "drill_answer")
    if state.session_id != record.id or answers != len(state.items):
        raise DrillUnreadable(
            f"Drill {record.id} is inconsistent ({answers} stored answers, {len(state.items)} in its state); "
            "it was left untouched."
        )
    state.version = record.version
    return state


def drill_report(state: DrillSession) -> dict[str, Any]:
    """The drill as one JSON object: session, case, items and mastery (with the next focus)."""
    items = []
    for item in state.items:
        a = item.assessment
        items.append(
            {
                "question": item.question.text,
                "dimension": item.question.dimension,
                "failure_mode": item.question.failure_mode,
                "answer": item.answer,
                "score": a.score if a else None,
                "feedback": a.feedback if a else None,
                "source": a.source if a else None,
                "heading": a.heading if a else None,
                "covered": a.covered if a else [],
                "missing": a.missing if a else [],
            }
        )
    nxt = next_focus(state.mastery)
    mastery = state.mastery.summary()
    mastery["next"] = {"dimension": nxt.dimension, "failure_mode": nxt.failure_mode, "reason": nxt.reason}
    return {
        "session_id": state.session_id,
        "case_id": state.case_id,
        "level": state.level,
        "focus": state.note,
        "mean_score": state.mean_score,
        "items": items,
        "mastery": mastery,
    }


__all__ = [
    "MAX_COUNT",
    "DrillItem",
    "DrillSession",
    "DrillUnreadable",
    "answer",
    "drill_report",
    "finish",
    "load_drill",
    "question_text",
    "resume_hint",
    "start_drill",
]
