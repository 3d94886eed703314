"""The one serialisable state of a mock interview: turns, coverage, flags, facts, pacing, scorecard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.grading.scorecard import Scorecard
from knowledge.ids import STEPS

Role = Literal["interviewer", "candidate"]
Clock = Literal["wall", "turns"]
Mode = Literal["interview", "drill"]

INTERVIEW_SECONDS = 45 * 60
"""The wall-clock budget of a full interview."""
STEP_MINUTES: dict[str, float] = {
    "requirements": 5,
    "framing": 4,
    "data": 7,
    "modeling": 10,
    "evaluation": 6,
    "serving": 7,
    "monitoring": 4,
}
"""Minutes of the 45 each step deserves (two more go to the wrap-up), from knowledge/framework."""
WRAP_UP_MINUTES = 2.0
DEFAULT_TURN_BUDGET = 28
"""Candidate turns in a scripted (turn-clocked) interview."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Model):
    """One message of the interview, by the interviewer or the candidate."""

    role: Role
    text: str
    phase: str
    move: str
    at: float
    meta: dict[str, Any] = Field(default_factory=dict)


class RaisedFlag(_Model):
    """A failure mode the interviewer named, once, with the knowledge passages it cites."""

    id: str
    step: str
    turn: int
    sources: list[str]
    evidence: str = ""


class PendingTradeoff(_Model):
    """A trade-off the candidate triggered that the interviewer has not asked about yet."""

    id: str
    option: str
    turn: int = 0


class Pacing(_Model):
    """How the interview is clocked and how far each step may run."""

    clock: Clock = "wall"
    started_at: float = 0.0
    budget_seconds: float = INTERVIEW_SECONDS
    turn_budget: int = DEFAULT_TURN_BUDGET
    step_started_at: float = 0.0
    step_turns: int = 0
    shares: dict[str, float] = Field(default_factory=lambda: dict(STEP_MINUTES))

    def step_budget_turns(self, step: str) -> int:
        """Candidate turns the step may take under the turn clock (at least one)."""
        total = sum(self.shares.values()) + WRAP_UP_MINUTES
        return max(1, round(self.turn_budget * self.shares.get(step, 0.0) / total))

    def step_budget_seconds(self, step: str) -> float:
        """Seconds the step may take under the wall clock."""
        total = sum(self.shares.values()) + WRAP_UP_MINUTES
        return self.budget_seconds * self.shares.get(step, 0.0) / total


class InterviewState(_Model):
    """Everything an interview needs to continue, persisted after every turn."""

    session_id: str
    case_id: str
    level: str = "senior"
    mode: Mode = "interview"
    phase: str = STEPS[0]
    steps_done: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    covered: dict[str, list[str]] = Field(default_factory=lambda: {s: list[str]() for s in STEPS})
    signals_seen: list[str] = Field(default_factory=list)
    flags: list[RaisedFlag] = Field(default_factory=list)
    facts_revealed: dict[str, str] = Field(default_factory=dict)
    facts_invented: dict[str, str] = Field(default_factory=dict)
    probes_asked: list[str] = Field(default_factory=list)
    points_probed: list[str] = Field(default_factory=list)
    tradeoffs_asked: list[str] = Field(default_factory=list)
    tradeoffs_argued: list[str] = Field(default_factory=list)
    """Trade-offs the candidate argued unprompted (an alternative and a reason): never asked about."""
    pending_tradeoffs: list[PendingTradeoff] = Field(default_factory=list)
    open_question: str = ""
    pacing: Pacing = Field(default_factory=Pacing)
    finished: bool = False
    scorecard: Scorecard | None = None

    def candidate_turns(self) -> list[Turn]:
        """The candidate's turns, in order."""
        return [t for t in self.turns if t.role == "candidate"]

    def flagged(self) -> list[str]:
        """Ids of the failure modes raised so far, in order."""
        return [f.id for f in self.flags]

    def covered_ids(self) -> set[str]:
        """Every expected point covered so far."""
        return {p for pts in self.covered.values() for p in pts}

    def seen(self, step: str, name: str) -> bool:
        """Whether the candidate has used a grading signal (step.name) in any turn so far."""
        return f"{step}.{name}" in self.signals_seen


__all__ = [
    "DEFAULT_TURN_BUDGET",
    "INTERVIEW_SECONDS",
    "STEP_MINUTES",
    "WRAP_UP_MINUTES",
    "Clock",
    "InterviewState",
    "Mode",
    "Pacing",
    "PendingTradeoff",
    "RaisedFlag",
    "Role",
    "Turn",
]
