"""Decide the interviewer's next move: a pure function of the state and the analysed message."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.grading.text import numbers_in
from agent.interview.analyse import MessageAnalysis
from agent.interview.bank import probe_tags
from agent.interview.invent import invent
from agent.interview.state import InterviewState, PendingTradeoff
from knowledge.corpus import Case, load_corpus
from knowledge.ids import STEPS

MoveKind = Literal["open", "answer", "refuse", "redirect", "flag", "tradeoff", "probe", "move_on", "wrap_up", "closed"]
MAX_PROBES_PER_STEP = 3
MAX_TRADEOFFS = {"mid": 2, "senior": 3, "staff": 4}
"""Trade-off questions per interview, by level."""
ABSENCE_PRIORITY = (
    "ignores_serving",
    "no_offline_metrics",
    "no_online_metrics",
    "no_data_plan",
    "no_baseline",
    "no_scale_estimate",
    "no_business_objective",
    "skipped_clarification",
    "vague_ml_framing",
    "cold_start_ignored",
    "class_imbalance_ignored",
    "no_fallback",
    "no_monitoring",
    "no_retraining_plan",
    "feedback_loop_ignored",
    "no_tradeoffs",
)
"""Which mode to raise first when several are found at once (the major ones first)."""
MAX_FLAGS_ON_MOVE = 2
"""Modes named at once when a step is left (by the candidate or by the interviewer)."""
MAX_FLAGS_AT_CLOSE = 4
"""Modes named at once when the candidate says they are done or the interview wraps up."""
FOLLOW_MIN_SENTENCES = 2
"""Sentences about a later step that make the interview follow the candidate there."""
PENDING_TURNS = 2
"""A trade-off the candidate triggered is still worth asking about this many candidate turns later."""


class FactReply(BaseModel):
    """One fact given to the candidate: from the sheet, or invented and remembered."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: str
    invented: bool = False
    assumption: bool = False
    confirmed: bool = False
    """The candidate already stated this fact's numbers in the message: confirm rather than read it out."""
    repeated: bool = False
    """Given earlier in this interview: said again as a reminder, after the new facts."""


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


def _ranked(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Found modes, the most important first (ABSENCE_PRIORITY, then contract order)."""
    order = {m: i for i, m in enumerate(ABSENCE_PRIORITY)}
    return sorted(found, key=lambda f: order.get(f[0], len(order)))


SCALE_FACTS = frozenset({"users", "qps", "latency", "catalogue"})
"""Fact keys that size the problem: asking for one (and hearing the answer) is a scale estimate."""
GOAL_FACTS = frozenset({"business_goal", "success_metric"})
"""Fact keys that name the business objective."""
LATE_MODES = {
    "no_business_objective": "evaluation",
    "no_scale_estimate": "evaluation",
    "cold_start_ignored": "monitoring",
}
"""Modes that can be made good at any point, raised only once the interview has reached this step.

Cold start is often answered after the model (with evaluation or serving), so it waits until the design
reaches monitoring; until then the model step's own probes ask about new users and items.
"""


def _answered_by_facts(state: InterviewState, mode: str) -> bool:
    """Whether the candidate asked the interviewer for what the mode says is missing (sizes, the goal)."""
    asked = set(state.facts_revealed)
    if mode == "no_scale_estimate":
        return bool(asked & SCALE_FACTS)
    if mode == "no_business_objective":
        return bool(asked & GOAL_FACTS)
    return False


def absences(
    state: InterviewState, a: MessageAnalysis, steps: list[str], limit: int, reached: str | None = None
) -> list[tuple[str, str]]:
    """Up to `limit` modes of `steps` found in everything the candidate said so far, with the grader's evidence.

    With `reached` (the step the interview is moving to), modes in LATE_MODES wait until that step is reached;
    without it (the end of the interview) every mode counts.
    """
    if a.whole is None or not steps:
        return []
    found = [
        (m, e)
        for m, e in a.whole.absent(state, steps)
        if not _answered_by_facts(state, m)
        and (reached is None or STEPS.index(reached) >= STEPS.index(LATE_MODES.get(m, STEPS[0])))
    ]
    return _ranked(found)[:limit]


def _touched(step: str, covered: set[str], seen: set[str], case: Case) -> bool:
    """Whether the candidate has worked on a step: a covered point of it, or two kinds of its signals."""
    signals = {k for k in seen if k.startswith(step + ".")} - {"requirements.question"}
    return len(signals) >= 2 or any(p.id in covered for p in case.points.get(step, []))


def _left(
    state: InterviewState, a: MessageAnalysis, target: str, covered: set[str], seen: set[str], case: Case
) -> list[str]:
    """Steps to check when the candidate moves on to `target`.

    Those the interview has been in and the candidate spent a message on (a step jumped over, or opened
    by the interviewer and not taken up, is gone back to later), and the requirements (whose modes wait
    for LATE_MODES) once the design is under way.
    """
    visited = {t.phase for t in state.turns} | {state.phase}
    passed = STEPS[STEPS.index(state.phase) : STEPS.index(target)]
    steps = [s for s in passed if s in visited and _touched(s, covered, seen, case) and _answered(state, a, s)]
    if STEPS[0] not in steps and STEPS.index(target) >= STEPS.index(LATE_MODES["no_scale_estimate"]):
        steps.insert(0, STEPS[0])
    return steps


def _follow(state: InterviewState, a: MessageAnalysis) -> str | None:
    """The step the candidate has moved on to in this message, if any: a later one (named, or most of the message),
    or an earlier one the message opens with by name ("Data: ..." after the interview reached evaluation)."""
    here = STEPS.index(state.phase)
    named = [s for s in a.heads if STEPS.index(s) > here]
    if named:
        return named[-1]
    if a.heads and STEPS.index(a.heads[0]) < here and a.heads[0] in focus(a):
        return a.heads[0]
    stay = a.step_weight.get(state.phase, 0)
    weight = {
        s: n
        for s, n in a.step_weight.items()
        if STEPS.index(s) > here and n >= FOLLOW_MIN_SENTENCES and n > stay and s in a.steps_addressed
    }
    if not weight:
        return None
    return max(weight, key=lambda s: (weight[s], -STEPS.index(s)))  # on a tie, the nearer step


def _case(state: InterviewState) -> Case:
    return load_corpus().case(state.case_id)


FOCUS_MIN_SENTENCES = 2
"""Sentences about a step that make it (one of) the focus of a message."""


def focus(a: MessageAnalysis) -> list[str]:
    """The steps a message works on: those it names as headings, and the one most of its sentences are about."""
    most = max(a.step_weight.values(), default=0)
    heavy = {s for s, n in a.step_weight.items() if n == most and n >= FOCUS_MIN_SENTENCES}
    if len(heavy) > 1:
        heavy = set()  # a message spread evenly over several steps is not about any one of them
    return [s for s in STEPS if s in heavy or s in a.heads]


def _answered(state: InterviewState, a: MessageAnalysis, step: str) -> bool:
    """Whether the candidate has spent a message on `step` (this one included)."""
    return step in focus(a) or any(step in t.meta.get("focus", ()) for t in state.candidate_turns())


def _skipped(state: InterviewState, a: MessageAnalysis, phase: str) -> str | None:
    """The first design step before `phase` that the candidate never spent a message on, not yet gone back to.

    The requirements are not gone back to (asking for them late is its own failure mode).
    """
    back = {t.meta.get("went_back") for t in state.turns if t.role == "interviewer"}
    for step in STEPS[1 : STEPS.index(phase)]:
        if step not in back and not _answered(state, a, step):
            return step
    return None


def _go_back(state: InterviewState, step: str) -> Move:
    """Return to a step the candidate jumped over, before naming it as a gap."""
    return Move(kind="move_on", phase=step, reason="skipped", step_changed=True, opener=seed(state, "back", step))


def _next_step(case: Case, current: str, covered: set[str]) -> str | None:
    for step in STEPS[STEPS.index(current) + 1 :]:
        if any(p.id not in covered for p in case.points[step]):
            return step
    return None


FACT_TOPICS: dict[str, frozenset[str]] = {
    "users": frozenset({"users", "dau", "scale"}),
    "qps": frozenset({"qps", "traffic", "volume", "scale"}),
    "catalogue": frozenset({"catalogue", "size", "scale"}),
    "latency": frozenset({"latency", "ms", "sla"}),
    "business_goal": frozenset({"business", "goal", "objective", "kpi"}),
    "success_metric": frozenset({"success", "metric", "kpi"}),
    "constraints": frozenset({"constraints", "rules", "policy"}),
}
"""Probe topic words a fact answers: once the candidate has asked for the fact, such probes are not asked."""
SIGNAL_TOPICS: dict[str, str] = {
    "requirements.business_goal": "business",
    "requirements.scale": "scale",
    "framing.task_type": "task",
    "data.sources": "sources",
    "data.split": "split",
    "data.imbalance": "imbalance",
    "data.feature_store": "skew",
    "data.privacy": "privacy",
    "modeling.baseline": "baseline",
    "modeling.complex_model": "architecture",
    "modeling.model_any": "architecture",  # a named model: "walk me through the model you would build" is asked
    "modeling.funnel": "funnel",
    "modeling.cold_start": "cold",
    "modeling.loss": "loss",
    "evaluation.offline_metric": "offline",
    "evaluation.online_test": "a/b",
    "serving.fallback": "fallback",
    "serving.rollout": "rollout",
    "serving.mode": "batch",
    "serving.infra": "path",  # a described service: "walk me through the request path" would ask it again
    "serving.cache": "precompute",
    "serving.scaling": "scaling",
    "monitoring.drift": "drift",
    "monitoring.retrain": "retrain",
    "monitoring.feedback_loop": "feedback",
}
"""Probe topic words a grading signal shows the candidate has already addressed (within the same step)."""
LATER_TOPICS: dict[str, tuple[str, str]] = {
    "framing.label": ("data", "labels"),  # "labels are the human-drawn boxes": no "how do you get labels?"
}
"""A signal of one step that answers a probe topic of a later one: signal -> (step, topic word)."""


def _probe(
    state: InterviewState, a: MessageAnalysis, case: Case, covered: set[str], seen: set[str]
) -> tuple[str, str] | None:
    """The next missing point of the current step to probe, and the probe question id (None when exhausted).

    A probe about something the candidate has asked the interviewer for, or has already addressed (a grading
    signal in `seen`), is skipped.
    """
    step_ids = {p.id for p in case.points[state.phase]}
    probed_here = [p for p in state.points_probed if p in step_ids]
    if len(probed_here) >= MAX_PROBES_PER_STEP:
        return None
    keys = set(state.facts_revealed) | set(a.facts_asked)
    answered = set().union(*(FACT_TOPICS.get(k, frozenset()) for k in keys))
    answered |= {w for k, w in SIGNAL_TOPICS.items() if k.startswith(state.phase + ".") and k in seen}
    answered |= {w for k, (step, w) in LATER_TOPICS.items() if step == state.phase and k in seen}
    for point in case.points[state.phase]:
        ranked = a.probe_rank.get(point.id, [])
        if point.id in covered or point.id in state.points_probed or not ranked:
            continue
        if probe_tags(ranked[0]) & answered:
            continue  # the point's own probe is about something already said or asked
        for pid in ranked:
            if pid not in state.probes_asked and not probe_tags(pid) & answered:
                return point.id, pid
    return None


def _answer(state: InterviewState, a: MessageAnalysis, case: Case) -> Move:
    facts: list[FactReply] = []
    assumptions = {f.key for q in a.questions if q.assumption for f in q.facts}
    stated = set(numbers_in(a.text))
    for key in a.facts_asked:
        value = case.fact_answer(key)
        own = set(numbers_in(value))
        confirmed = bool(own) and len(own & stated) >= min(2, len(own))
        repeated = key in state.facts_revealed
        facts.append(
            FactReply(key=key, value=value, assumption=key in assumptions, confirmed=confirmed, repeated=repeated)
        )
    for key, question in a.unknown_topics:
        value = state.facts_invented.get(key) or invent(key, question, f"{state.session_id}|{key}")
        facts.append(FactReply(key=key, value=value, invented=True, repeated=key in state.facts_invented))
    facts.sort(key=lambda f: f.repeated)  # new facts first, reminders after
    pushback = _stance_pushback(case) if a.design_choice else ""
    return Move(kind="answer", phase=state.phase, facts=facts, pushback=pushback, counts_for_step=False)


def _wrap_up(state: InterviewState, a: MessageAnalysis, reason: str) -> Move:
    """End the interview, naming the gaps still open in everything the candidate said (up to a few)."""
    found = absences(state, a, [*STEPS, "communication"], MAX_FLAGS_AT_CLOSE)
    return Move(
        kind="wrap_up",
        phase=state.phase,
        reason=reason,
        flags=[m for m, _ in found],
        evidence=dict(found),
        finish=True,
    )


def _upcoming(state: InterviewState, a: MessageAnalysis, case: Case, current: str, covered: set[str]) -> str | None:
    """The next step after `current` to open: one with a point left, or one the candidate has never spent a
    message on (its points only touched in passing elsewhere)."""
    for step in STEPS[STEPS.index(current) + 1 :]:
        if any(p.id not in covered for p in case.points[step]) or not _answered(state, a, step):
            return step
    return None


def _move_on(state: InterviewState, a: MessageAnalysis, case: Case, covered: set[str]) -> Move:
    """Move to the next step with something left to cover, naming the gaps of the steps left behind.

    A next step this very message already worked on is not opened with its generic question: its
    missing point is probed instead, or, with nothing to probe, the interview moves past it if the candidate
    has spent a message on it (a step only touched in passing is opened).
    """
    nxt = _upcoming(state, a, case, state.phase, covered)
    worked_on = set(focus(a)) | set(a.steps_addressed)
    seen = _merged(state, a)[1]
    while nxt is not None and nxt in worked_on:
        probe = _probe(state.model_copy(update={"phase": nxt}), a, case, covered, seen)
        if probe is not None:
            return Move(kind="probe", phase=nxt, point_id=probe[0], probe_id=probe[1], step_changed=True)
        if not _answered(state, a, nxt):
            break  # only touched in passing (a cue or two): open it rather than end the interview over it
        nxt = _upcoming(state, a, case, nxt, covered)
    if nxt is None:
        back = _skipped(state, a, STEPS[-1])
        return _go_back(state, back) if back is not None else _wrap_up(state, a, "done")
    # a step jumped over that the candidate never spent a message on is gone back to later, not named as a gap now
    leaving = [state.phase]
    leaving += [s for s in STEPS[STEPS.index(state.phase) + 1 : STEPS.index(nxt)] if _answered(state, a, s)]
    if STEPS[0] not in leaving and STEPS.index(nxt) >= STEPS.index(LATE_MODES["no_scale_estimate"]):
        leaving.insert(0, STEPS[0])
    found = absences(state, a, leaving, MAX_FLAGS_ON_MOVE, reached=nxt)
    return Move(
        kind="move_on",
        phase=nxt,
        flags=[m for m, _ in found],
        evidence=dict(found),
        step_changed=True,
        opener=seed(state, "open", nxt),
    )


def _flag(state: InterviewState, found: list[tuple[str, str]], phase: str, reason: str = "") -> Move:
    return Move(
        kind="flag",
        phase=phase,
        flags=[m for m, _ in found],
        evidence=dict(found),
        reason=reason,
        step_changed=phase != state.phase,
        opener=seed(state, "flag", *[m for m, _ in found]),
    )


def _design(
    state: InterviewState, a: MessageAnalysis, case: Case, now: float, pending: list[PendingTradeoff]
) -> Move | None:
    """The move for what the message proposes: flag, follow the candidate, trade-off, probe or move on.

    When the message also asks something (`a.asks`), the interview does not move on or end this turn: the
    design part gets a flag, a trade-off or a probe, or nothing (None) and the answer stands alone.
    """
    covered, seen = _merged(state, a)
    target = _follow(state, a)
    phase = target or state.phase
    if a.walked_into:
        move = _flag(state, a.walked_into[:MAX_FLAGS_ON_MOVE], phase, "walked_into")
        move.pending = pending
        return move
    if target is not None:
        found = absences(state, a, _left(state, a, target, covered, seen, case), MAX_FLAGS_ON_MOVE, reached=target)
        if found:
            move = _flag(state, found, target, "left")
            move.pending = pending
            return move
    last = next((t for t in reversed(state.turns) if t.role == "interviewer"), None)
    swept = last is not None and bool(last.meta.get("closing"))
    if a.closing:
        if swept:
            return _wrap_up(state, a, "candidate")
        found = absences(state, a, [*STEPS, "communication"], MAX_FLAGS_AT_CLOSE)
        if not found:
            return _wrap_up(state, a, "candidate")
        return _flag(state, found, phase, "closing")
    if phase == STEPS[-1] and not swept and (STEPS[-1] in a.heads or STEPS[-1] in a.steps_addressed):
        back = _skipped(state, a, phase)
        if back is not None and not a.asks:
            move = _go_back(state, back)
            move.pending = pending
            return move
        found = absences(state, a, [*STEPS, "communication"], MAX_FLAGS_AT_CLOSE)
        if found:
            return _flag(state, found, phase, "end_of_design")
    cap = MAX_TRADEOFFS.get(state.level, 3)
    if pending and (last is None or last.move != "tradeoff") and len(state.tradeoffs_asked) < cap:
        chosen = pending[0]
        return Move(
            kind="tradeoff",
            phase=phase,
            tradeoff_id=chosen.id,
            option=chosen.option,
            pending=pending[1:],
            step_changed=target is not None,
        )
    if target is not None:
        probe = _probe(state.model_copy(update={"phase": target}), a, case, covered, seen)
        if probe is not None:
            return Move(
                kind="probe", phase=target, point_id=probe[0], probe_id=probe[1], pending=pending, step_changed=True
            )
    over = step_over(state, now)
    if over and _next_step(case, state.phase, covered) is None and not _touched(state.phase, covered, seen, case):
        over = False  # the last part: let the candidate speak to it before the interview ends
    if a.asks or not over:
        probe = _probe(state, a, case, covered, seen)
        if probe is not None:
            return Move(kind="probe", phase=state.phase, point_id=probe[0], probe_id=probe[1], pending=pending)
    if a.asks:
        return None
    move = _move_on(state.model_copy(update={"phase": phase}) if target else state, a, case, covered)
    move.pending = pending
    if target is not None and move.kind == "move_on" and move.phase == target:
        move.step_changed = True
    return move


def decide(state: InterviewState, a: MessageAnalysis) -> Move:
    """Pick one move for this candidate message; pure: the same state and analysis give the same move.

    A message that asks and also proposes design gets both: the facts first, then the design move.
    """
    now = a.at
    if state.finished:
        return Move(kind="closed", phase=state.phase, counts_for_step=False)
    if budget_over(state, now):
        return _wrap_up(state, a, "time")
    preamble = (["truncated"] if a.truncated else []) + (["repeat"] if a.repeated and not a.asks else [])
    if a.fishing:
        return Move(kind="refuse", phase=state.phase, reason="injection" if a.injection else "rubric")
    noise = (a.empty, "empty"), (a.gibberish, "gibberish"), (a.connection, "connection"), (a.off_topic, "off_topic")
    for flag, reason in noise:
        if flag:
            return Move(kind="redirect", phase=state.phase, reason=reason, counts_for_step=False)
    case = _case(state)
    turn_no = len(state.candidate_turns()) + 1
    fresh = [p for p in state.pending_tradeoffs if turn_no - p.turn <= PENDING_TURNS and p.id not in a.argued]
    pending = [*[PendingTradeoff(id=t, option=o, turn=turn_no) for t, o in a.tradeoffs], *fresh]
    if a.asks and not a.substantive:
        move = _answer(state, a, case)
    else:
        design = _design(state, a, case, now, pending)
        if design is None or (a.asks and design.kind == "wrap_up"):
            move = _answer(state, a, case)  # they asked something: answer it rather than end the interview
        else:
            move = design
            if a.asks:
                answer = _answer(state, a, case)
                move.facts, move.pushback = answer.facts, answer.pushback
    move.pending = move.pending if move.kind in ("tradeoff",) else pending
    move.preamble = preamble
    return move


__all__ = [
    "ABSENCE_PRIORITY",
    "MAX_FLAGS_AT_CLOSE",
    "MAX_FLAGS_ON_MOVE",
    "MAX_PROBES_PER_STEP",
    "FactReply",
    "Move",
    "MoveKind",
    "absences",
    "budget_over",
    "decide",
    "focus",
    "seed",
]
