"""The contract's Scorecard JSON as pydantic models, plus the hire-signal thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge.ids import DIMENSIONS, FAILURE_MODES, LEVELS

HireSignal = Literal["strong_no_hire", "lean_no_hire", "lean_hire", "strong_hire"]
HIRE_THRESHOLDS: tuple[tuple[float, HireSignal], ...] = (
    (3.25, "strong_hire"),
    (2.5, "lean_hire"),
    (1.75, "lean_no_hire"),
)
"""(lowest overall, signal), best first; anything below the last is strong_no_hire."""


def hire_signal_for(overall: float) -> HireSignal:
    """The contract's hire signal for an overall score (<1.75, 1.75-2.49, 2.5-3.24, >=3.25)."""
    for floor, signal in HIRE_THRESHOLDS:
        if overall >= floor:
            return signal
    return "strong_no_hire"


class DimensionScore(BaseModel):
    """One rubric dimension: a 1-4 score, sentences quoted from the answer, and what is missing."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=4)
    evidence: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class FailureModeFinding(BaseModel):
    """A flagged failure mode, why (quoting the answer or stating what is absent), and its knowledge file."""

    model_config = ConfigDict(extra="forbid")

    id: str
    step: str
    evidence: str
    source: str

    @field_validator("id")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode id {v!r}")
        return v

    @model_validator(mode="after")
    def _step(self) -> FailureModeFinding:
        if self.step != FAILURE_MODES[self.id]:
            raise ValueError(f"{self.id} belongs to step {FAILURE_MODES[self.id]!r}, not {self.step!r}")
        return self


class Scorecard(BaseModel):
    """The grade of one answer, in the contract's JSON shape plus a few documented extra fields."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    case_id: str
    level: str
    overall: float = Field(ge=1.0, le=4.0)
    hire_signal: HireSignal
    dimensions: dict[str, DimensionScore]
    failure_modes: list[FailureModeFinding] = Field(default_factory=list)
    summary: str
    practice_next: list[str] = Field(default_factory=list)
    injection_attempt: bool = False
    injection_spans: list[str] = Field(default_factory=list)
    grader: Literal["offline", "model"] = "offline"
    notes: list[str] = Field(default_factory=list)

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v not in LEVELS:
            raise ValueError(f"unknown level {v!r}")
        return v

    @model_validator(mode="after")
    def _contract(self) -> Scorecard:
        if set(self.dimensions) != set(DIMENSIONS):
            raise ValueError(f"dimensions must be exactly: {', '.join(DIMENSIONS)}")
        self.dimensions = {d: self.dimensions[d] for d in DIMENSIONS}
        ids = [f.id for f in self.failure_modes]
        if len(ids) != len(set(ids)):
            raise ValueError("each failure mode may be listed once")
        if self.hire_signal != hire_signal_for(self.overall):
            raise ValueError(f"hire_signal {self.hire_signal!r} does not follow from overall {self.overall}")
        return self

    def to_json(self, indent: int | None = 2) -> str:
        """The scorecard as JSON (the `id` field only when set)."""
        return self.model_dump_json(indent=indent, exclude_none=True)


__all__ = ["HIRE_THRESHOLDS", "DimensionScore", "FailureModeFinding", "HireSignal", "Scorecard", "hire_signal_for"]
