"""The interview loop: start, step (analyse, decide, respond), finish with the offline grader, transcript."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.grading.coverage import Embedder
from agent.grading.offline import GradingInputError, default_embedder, grade_answer
from agent.grading.scorecard import DimensionScore, Scorecard
from agent.interview.analyse import MessageAnalysis, analyse
from agent.interview.context import settled_modes
from agent.interview.memo import memo
from agent.interview.policy import Move, decide, focus
from agent.interview.respond import respond, variant
from agent.interview.state import DEFAULT_TURN_BUDGET, Clock, InterviewState, Pacing, RaisedFlag, Turn
from knowledge.corpus import Case, load_corpus
from knowledge.ids import CASE_IDS, DIMENSIONS, FAILURE_MODES, LEVELS, STEPS

if TYPE_CHECKING:
    from agent.llm.base import ChatModel


class InterviewInputError(ValueError):
    """Bad input to the interviewer (unknown case or level); the message is one line."""


def _validate(case_id: str, level: str) -> Case:
    if case_id not in CASE_IDS:
        raise InterviewInputError(f"unknown case id '{case_id}' (see `interviewer cases`)")
    if level not in LEVELS:
        raise InterviewInputError(f"unknown level '{level}' (one of {', '.join(LEVELS)})")
    return load_corpus().case(case_id)


def start(
    case_id: str,
    level: str = "senior",
    *,
    clock: Clock = "wall",
    turn_budget: int = DEFAULT_TURN_BUDGET,
    now: float | None = None,
    session_id: str | None = None,
) -> tuple[InterviewState, Turn]:
    """Open an interview with the case prompt and nothing more."""
    case = _validate(case_id, level)
    at = time.time() if now is None else now
    pacing = Pacing(clock=clock, started_at=at, step_started_at=at, turn_budget=max(2, turn_budget))
    state = InterviewState(session_id=session_id or uuid.uuid4().hex[:12], case_id=case_id, level=level, pacing=pacing)
    turn = Turn(role="interviewer", text=case.prompt, phase=STEPS[0], move="open", at=at)
    sentences = re.split(r"(?<=[.!?])\s+", case.prompt.strip())
    state.turns.append(turn)
    state.open_question = sentences[-1]
    return state, turn


def _candidate_move(a: MessageAnalysis) -> str:
    for name in ("empty", "gibberish", "connection", "fishing", "off_topic", "repeated"):
        if getattr(a, name):
            return name
    return "question" if a.asks else "answer"


def _is_design(a: MessageAnalysis) -> bool:
    """Whether a message proposes part of the design (beyond the requirements), not only asks or chats."""
    steps = {k.split(".")[0] for k in a.signals} | {s for s, points in a.new_points.items() if points}
    return a.substantive and bool(steps - {"requirements", "communication"})


def _apply(state: InterviewState, a: MessageAnalysis, move: Move, case: Case) -> None:
    """Record in `state` (a private copy) what the message covered and what the move changes."""
    for step, points in a.new_points.items():
        state.covered[step] = [
            *state.covered.get(step, []),
            *[p for p in points if p not in state.covered.get(step, [])],
        ]
    state.signals_seen = sorted(set(state.signals_seen) | set(a.signals))
    for fact in move.facts:
        if fact.invented:
            state.facts_invented.setdefault(fact.key, fact.value)
        else:
            state.facts_revealed[fact.key] = fact.value
    corpus = load_corpus()
    for mode in move.flags:
        sources = [corpus.failure_modes[mode].source] + ([case.source] if mode in case.failure_modes else [])
        state.flags.append(
            RaisedFlag(
                id=mode,
                step=FAILURE_MODES[mode],
                turn=len(state.turns),
                sources=sources,
                evidence=move.evidence.get(mode, ""),
            )
        )
    if move.probe_id:
        state.probes_asked.append(move.probe_id)
    if move.point_id:
        state.points_probed.append(move.point_id)
    if move.tradeoff_id:
        state.tradeoffs_asked.append(move.tradeoff_id)
    state.pending_tradeoffs = list(move.pending)
    if move.step_changed:
        state.steps_done += [
            s for s in STEPS[STEPS.index(state.phase) : STEPS.index(move.phase)] if s not in state.steps_done
        ]
        state.phase = move.phase
        state.pacing.step_started_at = a.at
        state.pacing.step_turns = 0
    elif move.counts_for_step:
        state.pacing.step_turns += 1


def step(
    state: InterviewState,
    message: str,
    *,
    now: float | None = None,
    embedder: Embedder | None = None,
    model: ChatModel | None = None,
    on_token: Callable[[str], None] | None = None,
    token_budget: int | None = None,
) -> tuple[InterviewState, Turn]:
    """Take one candidate message; return a new state (the input is never changed) and the interviewer's turn.

    The move is always decided offline; with `model`, the model phrases it (streamed to `on_token`) and
    the offline wording stands in whenever the model fails its checks (see `model_voice.phrase`);
    `token_budget` caps its prompt (None: `budget.DEFAULT_TOKEN_BUDGET`).
    """
    at = time.time() if now is None else now
    new = state.model_copy(deep=True)
    case = load_corpus().case(new.case_id)
    if new.finished:
        text, meta = respond(new, Move(kind="closed", phase=new.phase), case)
        return new, Turn(role="interviewer", text=text, phase=new.phase, move="closed", at=at, meta=meta)
    emb = memo(embedder if embedder is not None else default_embedder())
    a = analyse(new, message, case, emb, at)
    review = None
    if model is not None:  # the model's structured judgement may add covered points and quoted flags
        from agent.interview.budget import DEFAULT_TOKEN_BUDGET
        from agent.interview.judgement import review_message

        budget = DEFAULT_TOKEN_BUDGET if token_budget is None else token_budget
        a, review = review_message(new, a, case, model, token_budget=budget)
    move = decide(new, a)
    new.tradeoffs_argued += [t for t in a.argued if t not in new.tradeoffs_argued]
    cand_meta: dict[str, Any] = {
        "truncated": a.truncated,
        "facts_asked": a.facts_asked,
        "focus": focus(a),
        "design": _is_design(a),
    }
    if a.injection:
        cand_meta["injection"] = True
    candidate = Turn(role="candidate", text=a.text, phase=new.phase, move=_candidate_move(a), at=at, meta=cand_meta)
    _apply(new, a, move, case)
    new.turns.append(candidate)
    text, meta = respond(new, move, case)
    if model is not None and text:
        from agent.interview.model_voice import voice_turn

        text, meta = voice_turn(
            new, move, case, text, meta, model, review=review, on_token=on_token, token_budget=budget
        )
    if move.flags:
        meta["flags"] = list(move.flags)
    turn = Turn(role="interviewer", text=text, phase=new.phase, move=move.kind, at=at, meta=meta)
    new.turns.append(turn)
    if meta.get("question"):
        new.open_question = meta["question"]
    if move.finish:
        new = finish(new, embedder=emb)
    return new, turn


def candidate_text(state: InterviewState) -> str:
    """Everything the candidate said, in order: what the grader reads (never the interviewer's words)."""
    return "\n\n".join(t.text for t in state.candidate_turns() if t.text.strip())


def _empty_scorecard(state: InterviewState) -> Scorecard:
    case = load_corpus().case(state.case_id)
    dims = {
        d: DimensionScore(score=1, evidence=[], missing=[p.id.replace("-", " ") for p in case.points.get(d, [])])
        for d in DIMENSIONS
    }
    return Scorecard(
        case_id=state.case_id,
        level=state.level,
        overall=1.0,
        hire_signal="strong_no_hire",
        dimensions=dims,
        summary="The candidate said nothing that could be graded. Practise next: clarify requirements.",
        practice_next=["requirements"],
        notes=["no gradable text from the candidate"],
    )


def finish(state: InterviewState, *, embedder: Embedder | None = None) -> InterviewState:
    """Close the interview and grade the candidate's words only with the offline grader (a new state)."""
    new = state.model_copy(deep=True)
    text = candidate_text(new)
    try:
        card = grade_answer(
            text,
            new.case_id,
            new.level,
            embedder=memo(embedder if embedder is not None else default_embedder()),
            settled=settled_modes(new),
        )
    except GradingInputError:
        card = _empty_scorecard(new)
    new.finished = True
    new.scorecard = card
    _debrief(new, card)
    return new


def _debrief(state: InterviewState, card: Scorecard) -> None:
    """Name, in a closing turn, every failure mode on the scorecard that was not raised during the interview."""
    raised = set(state.flagged())
    pending = [f for f in card.failure_modes if f.id not in raised]
    if not pending:
        return
    corpus = load_corpus()
    lines = [f"- {corpus.failure_modes[f.id].title}: {f.evidence.strip()} (see {f.source})" for f in pending]
    at = state.turns[-1].at if state.turns else time.time()
    pick = int(hashlib.sha1(f"{state.session_id}:debrief".encode()).hexdigest(), 16)
    text = variant("interview_debrief", pick, gaps="\n".join(lines))
    for f in pending:
        state.flags.append(
            RaisedFlag(id=f.id, step=f.step, turn=len(state.turns), sources=[f.source], evidence=f.evidence)
        )
    meta = {"flags": [f.id for f in pending], "citations": [f.source for f in pending], "debrief": True}
    state.turns.append(Turn(role="interviewer", text=text, phase=state.phase, move="debrief", at=at, meta=meta))


def transcript(state: InterviewState) -> dict[str, Any]:
    """The contract's Transcript JSON: case_id, level, turns (role, text, phase, move), flags, scorecard."""
    return {
        "case_id": state.case_id,
        "level": state.level,
        "session_id": state.session_id,
        "turns": [{"role": t.role, "text": t.text, "phase": t.phase, "move": t.move} for t in state.turns],
        "flags": state.flagged(),
        "scorecard": state.scorecard.model_dump(mode="json", exclude_none=True) if state.scorecard else None,
    }


__all__ = ["InterviewInputError", "candidate_text", "finish", "start", "step", "transcript"]
