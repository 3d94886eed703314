"""Mastery per dimension and failure mode across sessions, and what to drill next.

Formula (a Beta-style estimate with forgetting, i.e. an exponential moving average shrunk to a prior):
each observation is a 1-4 score mapped to x = (score - 1) / 3 in [0, 1]. Per key we keep the decayed
sums E = sum(gamma^age * w * x) and W = sum(gamma^age * w), where age counts the newer observations of
that key and gamma = DECAY. Mastery is the posterior mean

    m = (PRIOR_WEIGHT * PRIOR_MEAN + E) / (PRIOR_WEIGHT + W),

reported on the score scale as 1 + 3m. With no evidence m is 0.5 (2.5); one 4 gives 3.0; repeated
4s approach (1 + 5) / (2 + 5) = 0.86 (3.57) since W tends to 1 / (1 - gamma) = 5. A key is mastered at
MASTERED (2.75 on the score scale: two or three solid 3s, or one 4).

Observations: every drill answer (weight 1, its dimension and failure mode); every finished interview
or graded answer with a scorecard (weight 1 per dimension; a flagged failure mode counts as a 1; an
absence-type mode that applies and was not flagged counts as the score of its step).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.sessions import Kind, SessionStore, SessionStoreError
from knowledge.ids import DIMENSIONS, FAILURE_MODES, applicable_failure_modes

PRIOR_MEAN = 0.5
PRIOR_WEIGHT = 2.0
DECAY = 0.8
MASTERED = 2.75
"""Score-scale mastery at which a key counts as mastered."""
COOLDOWN = 3
"""A mastered dimension is not drilled again until this many other drill items have passed."""
MAX_STREAK = 2
"""An unmastered dimension is drilled at most this many times in a row before another one gets a turn."""
RECENT = 30
"""How many recent drill focuses are remembered for spacing."""
BALANCED_ORDER: tuple[str, ...] = (
    "requirements",
    "modeling",
    "evaluation",
    "serving",
    "data",
    "monitoring",
    "framing",
    "communication",
)
"""Tie-break among equally known dimensions: alternates early and late steps, so a fresh start is balanced."""
COMMIT_ONLY = frozenset({"data_leakage", "training_serving_skew", "metric_mismatch", "single_stage_at_scale"})
"""Modes a grader reports only when the answer does the harmful thing: silence is no evidence either way."""


class Estimate(BaseModel):
    """Decayed evidence about one dimension or failure mode."""

    model_config = ConfigDict(extra="forbid")

    evidence: float = 0.0
    weight: float = 0.0
    count: int = 0
    last_at: float | None = None

    @property
    def mean(self) -> float:
        """Posterior mean in [0, 1]."""
        return (PRIOR_WEIGHT * PRIOR_MEAN + self.evidence) / (PRIOR_WEIGHT + self.weight)

    @property
    def score(self) -> float:
        """Mastery on the 1-4 score scale."""
        return 1.0 + 3.0 * self.mean

    @property
    def mastered(self) -> bool:
        """Whether there is evidence and it reaches MASTERED."""
        return self.count > 0 and self.score >= MASTERED - 1e-9

    def observe(self, score: float, weight: float = 1.0, at: float | None = None) -> None:
        """Fold in one 1-4 score (older evidence decays by DECAY)."""
        x = (min(4.0, max(1.0, float(score))) - 1.0) / 3.0
        self.evidence = DECAY * self.evidence + weight * x
        self.weight = DECAY * self.weight + weight
        self.count += 1
        if at is not None:
            self.last_at = at if self.last_at is None else max(self.last_at, at)


class Mastery(BaseModel):
    """Mastery of every dimension and observed failure mode, plus the recent drill history for spacing."""

    model_config = ConfigDict(extra="forbid")

    dimensions: dict[str, Estimate] = Field(default_factory=lambda: {d: Estimate() for d in DIMENSIONS})
    failure_modes: dict[str, Estimate] = Field(default_factory=dict)
    recent: list[str] = Field(default_factory=list)
    """Dimensions of the latest drill items, oldest first."""
    seen: dict[str, int] = Field(default_factory=dict)
    """How often each drill question id was asked before."""
    cases: dict[str, int] = Field(default_factory=dict)
    """How many drill items each case had."""
    interviews: int = 0
    drills: int = 0

    @property
    def has_history(self) -> bool:
        """Whether any interview or drill has been observed."""
        return self.interviews > 0 or self.drills > 0

    def mode(self, mode_id: str) -> Estimate:
        """The estimate of a failure mode (a fresh prior when never observed)."""
        return self.failure_modes.get(mode_id) or Estimate()

    def observe_drill(
        self,
        dimension: str,
        failure_mode: str | None,
        score: int,
        *,
        question_id: str | None = None,
        case_id: str | None = None,
        at: float | None = None,
    ) -> None:
        """Fold in one drill answer (in place)."""
        if dimension not in self.dimensions:
            return
        self.dimensions[dimension].observe(score, at=at)
        if failure_mode in FAILURE_MODES:
            self.failure_modes.setdefault(failure_mode, Estimate()).observe(score, at=at)
        self.recent = [*self.recent, dimension][-RECENT:]
        if question_id:
            self.seen[question_id] = self.seen.get(question_id, 0) + 1
        if case_id:
            self.cases[case_id] = self.cases.get(case_id, 0) + 1
        self.drills += 1

    def observe_scorecard(self, card: dict[str, Any], at: float | None = None) -> bool:
        """Fold in an interview scorecard (in place); False when it is not a usable scorecard."""
        dims = card.get("dimensions")
        if not isinstance(dims, dict):
            return False
        scores: dict[str, float] = {}
        for d, v in dims.items():
            value = v.get("score") if isinstance(v, dict) else None
            if d in self.dimensions and isinstance(value, int | float) and math.isfinite(value):
                scores[d] = float(value)
        if not scores:
            return False
        for d, s in scores.items():
            self.dimensions[d].observe(s, at=at)
        flagged = {f.get("id") for f in card.get("failure_modes") or [] if isinstance(f, dict)}
        case_id = card.get("case_id")
        applicable = applicable_failure_modes(case_id) if isinstance(case_id, str) else list(FAILURE_MODES)
        for mode in applicable:
            if mode in flagged:
                self.failure_modes.setdefault(mode, Estimate()).observe(1, at=at)
            elif mode not in COMMIT_ONLY and FAILURE_MODES[mode] in scores:
                self.failure_modes.setdefault(mode, Estimate()).observe(scores[FAILURE_MODES[mode]], at=at)
        self.interviews += 1
        return True

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view: per dimension and failure mode, mastery, score, observations, mastered."""

        def view(e: Estimate) -> dict[str, Any]:
            return {
                "mastery": round(e.mean, 3),
                "score": round(e.score, 2),
                "observations": e.count,
                "mastered": e.mastered,
            }

        return {
            "dimensions": {d: view(e) for d, e in self.dimensions.items()},
            "failure_modes": {m: view(self.failure_modes[m]) for m in FAILURE_MODES if m in self.failure_modes},
            "history": {"interviews": self.interviews, "drill_items": self.drills},
        }


@dataclass(frozen=True)
class Focus:
    """What to drill next and why."""

    dimension: str
    failure_mode: str | None
    reason: str


def _since(recent: list[str], key: str) -> int | None:
    """How many drill items ago `key` was drilled (0: the last one), or None."""
    for age, item in enumerate(reversed(recent)):
        if item == key:
            return age
    return None


def _streak(recent: list[str], key: str) -> int:
    count = 0
    for item in reversed(recent):
        if item != key:
            break
        count += 1
    return count


def next_focus(
    mastery: Mastery,
    *,
    dimensions: tuple[str, ...] = DIMENSIONS,
    allowed_modes: list[str] | None = None,
) -> Focus:
    """The weakest dimension (ties: fewer observations, then BALANCED_ORDER), with spacing.

    A mastered dimension drilled within the last COOLDOWN items waits; an unmastered one yields after
    MAX_STREAK items in a row. Within the dimension, the weakest observed, unmastered failure mode that
    is allowed (applies to the case) becomes the focus, if any.
    """
    recent = mastery.recent
    est = mastery.dimensions

    def blocked(d: str) -> bool:
        since = _since(recent, d)
        cooling = since is not None and since < COOLDOWN and est[d].mastered
        return cooling or _streak(recent, d) >= MAX_STREAK

    pool = [d for d in dimensions if not blocked(d)]
    if not pool:
        pool = [max(dimensions, key=lambda d: (_since(recent, d) is None, _since(recent, d) or 0))]
    pick = min(pool, key=lambda d: (round(est[d].score, 6), est[d].count, BALANCED_ORDER.index(d)))
    modes = [
        m
        for m, step in FAILURE_MODES.items()
        if step == pick
        and (allowed_modes is None or m in allowed_modes)
        and m in mastery.failure_modes
        and not mastery.failure_modes[m].mastered
    ]
    mode = min(
        modes, key=lambda m: (round(mastery.failure_modes[m].score, 6), list(FAILURE_MODES).index(m)), default=None
    )
    if not mastery.has_history:
        reason = "no interview or drill history yet: starting with a balanced default across dimensions"
    else:
        reason = f"weakest dimension: {pick} (mastery {est[pick].score:.2f}/4 over {est[pick].count} observations)"
        if mode is not None:
            reason += f"; weakest failure mode there: {mode} ({mastery.failure_modes[mode].score:.2f}/4)"
    return Focus(pick, mode, reason)


def load_mastery(store: SessionStore, *, owner: str | None = None, exclude: str | None = None) -> Mastery:
    """Mastery from every stored interview scorecard and drill answer of this owner, oldest first."""
    events: list[tuple[float, int, str, Any]] = []
    kinds: tuple[Kind, ...] = ("interview", "grade", "drill")
    for kind in kinds:
        try:
            summaries = store.list_sessions(owner=owner, kind=kind, limit=10_000)
        except SessionStoreError:
            continue
        for summary in summaries:
            if summary.id == exclude or (kind != "drill" and summary.overall is None):
                continue
            try:
                record = store.load(summary.id, owner=owner)
            except SessionStoreError:
                continue
            if kind == "drill":
                for turn in record.turns:
                    meta = turn.meta
                    if isinstance(meta.get("score"), int) and meta.get("dimension") in DIMENSIONS:
                        events.append((turn.created_at, turn.seq, "drill", {**meta, "case_id": record.case_id}))
                continue
            card = _scorecard(record.state_json)
            if card is not None:
                events.append((record.updated_at, 0, "card", card))
    mastery = Mastery()
    for at, _, what, payload in sorted(events, key=lambda e: (e[0], e[1])):
        if what == "card":
            mastery.observe_scorecard(payload, at=at)
        else:
            mode = payload.get("failure_mode")
            mastery.observe_drill(
                payload["dimension"],
                mode if isinstance(mode, str) else None,
                payload["score"],
                question_id=payload.get("question_id") if isinstance(payload.get("question_id"), str) else None,
                case_id=payload.get("case_id"),
                at=at,
            )
    return mastery


def _scorecard(state_json: str) -> dict[str, Any] | None:
    try:
        state = json.loads(state_json)
    except ValueError:
        return None
    if not isinstance(state, dict):
        return None
    card = state.get("scorecard")
    if isinstance(card, dict):
        return card
    return state if isinstance(state.get("dimensions"), dict) else None


__all__ = [
    "BALANCED_ORDER",
    "COOLDOWN",
    "DECAY",
    "MASTERED",
    "MAX_STREAK",
    "PRIOR_MEAN",
    "PRIOR_WEIGHT",
    "Estimate",
    "Focus",
    "Mastery",
    "load_mastery",
    "next_focus",
]
