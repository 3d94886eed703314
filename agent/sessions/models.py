"""Pydantic models of what the session store takes and gives back."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["interview", "drill", "grade"]
Status = Literal["active", "finished", "abandoned"]


class TurnRecord(BaseModel):
    """One message of a session, as appended: who spoke, what, and the engine's phase/move at that point."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1)
    text: str
    phase: str | None = None
    move: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class StoredTurn(TurnRecord):
    """A turn as loaded back: its position (1, 2, 3, ...) in the session and when it was written."""

    seq: int
    created_at: float


class SessionSummary(BaseModel):
    """One row of the session list: what, when, how it went, and how many turns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    owner: str | None
    kind: Kind
    case_id: str
    level: str
    status: Status
    created_at: float
    updated_at: float
    overall: float | None
    hire_signal: str | None
    version: int
    turn_count: int


class SessionRecord(SessionSummary):
    """A whole session: the summary plus the serialised engine state and every turn in order."""

    state_json: str
    turns: list[StoredTurn]

    @field_validator("turns")
    @classmethod
    def _consecutive(cls, turns: list[StoredTurn]) -> list[StoredTurn]:
        if [t.seq for t in turns] != list(range(1, len(turns) + 1)):
            raise ValueError("turn seq numbers must be 1..n")
        return turns


def check_overall(overall: float | None) -> float | None:
    """Return `overall` if it is None or a finite number (SQLite would store NaN as NULL)."""
    if overall is not None and (isinstance(overall, bool) or not math.isfinite(overall)):
        raise ValueError(f"overall must be a finite number, got {overall!r}")
    return overall
