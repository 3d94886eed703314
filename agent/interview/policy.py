"""Decide the interviewer's next move: a pure function of the state and the analysed message."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.interview.analyse import MessageAnalysis
from agent.interview.invent import invent
from agent.interview.state import InterviewState, PendingTradeoff
from knowledge.corpus import Case, load_corpus
from knowledge.ids import STEPS, applicable_failure_modes

MoveKind = Literal["open", "answer", "refuse", "redirect", "flag", "tradeoff", "probe", "move_on", "wrap_up", "closed"]
MAX_PROBES_PER_STEP = 3
MAX_TRADEOFFS = {"mid": 2, "senior": 3, "staff": 4}
"""Trade-off questions per interview, by level."""
ABSENCE_PRIORITY = (
    "ignores_serving",
    "no_offline_metrics",
    "no_online_metrics",
    "no_data_plan",
    "no_scale_estimate",
    "no_business_objective",
    "skipped_clarification",
    "vague_ml_framing",
    "no_baseline",
    "cold_start_ignored",
    "class_imbalance_ignored",
    "no_fallback",
)
"""Which absence-type mode to raise first when the interview moves past a step."""
MAX_FLAGS_ON_MOVE = 2
PENDING_TURNS = 2
"""A trade-off the candidate triggered is still worth asking about this many candidate turns later."""


class FactReply(BaseModel):
    """One fact given to the candidate: from the sheet, or invented and remembered."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: str
    invented: bool = False
    assumption: bool = False


class Move(BaseModel):
    """The interviewer's decision for one turn, with every state change it implies."""

    model_config = ConfigDict(extra="forbid")

    kind: MoveKind
    phase: str
    facts: list[FactReply] = Field(default_factory=list)
    pushback: str = ""
    flags: list[str] = Field(default_factory=list)
    evidence: dict[str, str] = Field(default_factory=dict)
    tradeoff_id: str | None = None
    option: str = ""
    probe_id: str | None = None
    point_id: str | None = None
    opener: int = 0
    reason: str = ""
    preamble: list[str] = Field(default_factory=list)
    pending: list[PendingTradeoff] = Field(default_factory=list)
    step_changed: bool = False
    counts_for_step: bool = True
    finish: bool = False


def seed(state: InterviewState, *parts: str) -> int:
    """A deterministic number from the session id, the turn count and extra parts (for varied phrasing)."""
    raw = "|".join([state.session_id, str(len(state.turns)), *parts])
    return int.from_bytes(hashlib.sha256(raw.encode()).digest()[:4], "big")


def _stance_pushback(case: Case) -> str:
    quoted = re.findall(r"[\"“]([^\"”]+\?)[\"”]", case.stance)
    return quoted[0] if quoted else "What would you choose, and why?"


def budget_over(state: InterviewState, now: float) -> bool:
    """Whether the interview's time (wall clock) or turn budget (turn clock) is used up, this turn included."""
    p = state.pacing
    if p.clock == "turns":
        return len(state.candidate_turns()) + 1 >= p.turn_budget
    return now - p.started_at >= p.budget_seconds


def step_over(state: InterviewState, now: float) -> bool:
    """Whether the current step has used its share of the interview."""
    p = state.pacing
    if p.clock == "turns":
        return p.step_turns + 1 >= p.step_budget_turns(state.phase)
    return now - p.step_started_at >= p.step_budget_seconds(state.phase)


def _merged(state: InterviewState, a: MessageAnalysis) -> tuple[set[str], set[str]]:
    covered = state.covered_ids() | {p for pts in a.new_points.values() for p in pts}
    return covered, set(state.signals_seen) | set(a.signals)


def absent_modes(state: InterviewState, step: str, covered: set[str], seen: set[str]) -> list[str]:
    """Absence-type modes of a step the interview is leaving, judged on everything the candidate said."""
    asked = set(state.facts_revealed) | set(state.facts_invented)
    s: dict[str, bool] = {}
    if step == "requirements":
        s["skipped_clarification"] = not asked and not seen & {"requirements.question", "requirements.assumption"}
        s["no_business_objective"] = (
            "requirements.business_goal" not in seen
            and "clarify-objective" not in covered
            and "business_goal" not in asked
        )
        s["no_scale_estimate"] = not seen & {"requirements.scale", "requirements.latency_budget"} and not asked & {
            "users",
            "qps",
            "latency",
            "catalogue",
        }
    elif step == "framing":
        parts = {"framing.input", "framing.output", "framing.label", "framing.task_type"}
        s["vague_ml_framing"] = len(parts & seen) < 3
    elif step == "data":
        s["no_data_plan"] = "data.sources" not in seen
        s["class_imbalance_ignored"] = "data.imbalance" not in seen
    elif step == "modeling":
        s["no_baseline"] = "modeling.baseline" not in seen and "simple-baseline" not in covered
        s["cold_start_ignored"] = "modeling.cold_start" not in seen
    elif step == "evaluation":
        s["no_offline_metrics"] = "evaluation.offline_metric" not in seen
        s["no_online_metrics"] = "evaluation.online_test" not in seen
    elif step == "serving":
        serving = {k for k in seen if k.startswith("serving.")} - {"serving.rollout"}
        s["ignores_serving"] = not serving and not any(
            p.step == "serving" for p in _case(state).all_points() if p.id in covered
        )
        s["no_fallback"] = not s["ignores_serving"] and "serving.fallback" not in seen
    applicable = set(applicable_failure_modes(state.case_id)) - set(state.flagged())
    found = [m for m, present in s.items() if present and m in applicable]
    return sorted(found, key=lambda m: ABSENCE_PRIORITY.index(m) if m in ABSENCE_PRIORITY else 99)


def _case(state: InterviewState) -> Case:
    return load_corpus().case(state.case_id)


def _next_step(case: Case, current: str, covered: set[str]) -> str | None:
    for step in STEPS[STEPS.index(current) + 1 :]:
        if any(p.id not in covered for p in case.points[step]):
            return step
    return None


def _probe(state: InterviewState, a: MessageAnalysis, case: Case, covered: set[str]) -> tuple[str, str] | None:
    """The next missing point of the current step to probe, and the probe question id (None when exhausted)."""
    step_ids = {p.id for p in case.points[state.phase]}
    probed_here = [p for p in state.points_probed if p in step_ids]
    if len(probed_here) >= MAX_PROBES_PER_STEP:
        return None
    for point in case.points[state.phase]:
        if point.id in covered or point.id in state.points_probed:
            continue
        for pid in a.probe_rank.get(point.id, []):
            if pid not in state.probes_asked:
                return point.id, pid
    return None


def _answer(state: InterviewState, a: MessageAnalysis, case: Case) -> Move:
    facts: list[FactReply] = []
    assumptions = {f.key for q in a.questions if q.assumption for f in q.facts}
    for key in a.facts_asked:
        facts.append(FactReply(key=key, value=case.fact_answer(key), assumption=key in assumptions))
    for key, question in a.unknown_topics:
        value = state.facts_invented.get(key) or invent(key, question, f"{state.session_id}|{key}")
        facts.append(FactReply(key=key, value=value, invented=True))
    pushback = _stance_pushback(case) if a.design_choice else ""
    return Move(kind="answer", phase=state.phase, facts=facts, pushback=pushback, counts_for_step=False)


def _move_on(state: InterviewState, a: MessageAnalysis, case: Case, covered: set[str], seen: set[str]) -> Move:
    nxt = _next_step(case, state.phase, covered)
    if nxt is None:
        return Move(kind="wrap_up", phase=state.phase, reason="done", finish=True)
    leaving = [state.phase, *[s for s in STEPS[STEPS.index(state.phase) + 1 : STEPS.index(nxt)]]]
    flags: list[str] = []
    for step in leaving:
        flags += [m for m in absent_modes(state, step, covered, seen) if m not in flags]
    flags = flags[:MAX_FLAGS_ON_MOVE]
    evidence = {m: f"The interview moved past {STEPS[STEPS.index(state.phase)]} without it." for m in flags}
    return Move(
        kind="move_on",
        phase=nxt,
        flags=flags,
        evidence=evidence,
        step_changed=True,
        opener=seed(state, "open", nxt),
    )


def decide(state: InterviewState, a: MessageAnalysis) -> Move:
    """Pick one move for this candidate message; pure: the same state and analysis give the same move."""
    case, now = _case(state), a.at
    if state.finished:
        return Move(kind="closed", phase=state.phase, counts_for_step=False)
    if budget_over(state, now):
        return Move(kind="wrap_up", phase=state.phase, reason="time", finish=True)
    preamble = (["truncated"] if a.truncated else []) + (["repeat"] if a.repeated and not a.asks else [])
    if a.fishing:
        return Move(kind="refuse", phase=state.phase, reason="injection" if a.injection else "rubric")
    for flag, reason in ((a.empty, "empty"), (a.gibberish, "gibberish"), (a.off_topic, "off_topic")):
        if flag:
            return Move(kind="redirect", phase=state.phase, reason=reason, counts_for_step=False)
    turn_no = len(state.candidate_turns()) + 1
    fresh = [p for p in state.pending_tradeoffs if turn_no - p.turn <= PENDING_TURNS]
    pending = [*[PendingTradeoff(id=t, option=o, turn=turn_no) for t, o in a.tradeoffs], *fresh]
    if a.asks:
        move = _answer(state, a, case)
        move.pending, move.preamble = pending, preamble
        return move
    covered, seen = _merged(state, a)
    if a.walked_into:
        mode, evidence = a.walked_into[0]
        return Move(
            kind="flag",
            phase=state.phase,
            flags=[mode],
            evidence={mode: evidence},
            pending=pending,
            preamble=preamble,
            opener=seed(state, "flag", mode),
        )
    last_kind = next((t.move for t in reversed(state.turns) if t.role == "interviewer"), "")
    cap = MAX_TRADEOFFS.get(state.level, 3)
    if pending and last_kind != "tradeoff" and len(state.tradeoffs_asked) < cap:
        chosen = pending[0]
        return Move(
            kind="tradeoff",
            phase=state.phase,
            tradeoff_id=chosen.id,
            option=chosen.option,
            pending=pending[1:],
            preamble=preamble,
        )
    ahead = [s for s in a.steps_addressed if STEPS.index(s) > STEPS.index(state.phase)]
    if ahead:
        jumped = state.model_copy(update={"phase": ahead[-1]})
        probe = _probe(jumped, a, case, covered)
        if probe is not None:
            return Move(
                kind="probe",
                phase=ahead[-1],
                point_id=probe[0],
                probe_id=probe[1],
                pending=pending,
                preamble=preamble,
                step_changed=True,
            )
    if not step_over(state, now):
        probe = _probe(state, a, case, covered)
        if probe is not None:
            return Move(
                kind="probe",
                phase=state.phase,
                point_id=probe[0],
                probe_id=probe[1],
                pending=pending,
                preamble=preamble,
            )
    move = _move_on(state, a, case, covered, seen)
    move.pending, move.preamble = pending, preamble
    return move


__all__ = ["MAX_PROBES_PER_STEP", "FactReply", "Move", "MoveKind", "absent_modes", "budget_over", "decide", "seed"]
