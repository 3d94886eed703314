"""Drill questions: case follow-ups, trade-offs, failure-mode probes and generic per-dimension questions.

A question carries only what the candidate may see (its text) plus ids that point to the grading
targets (the follow-up's or trade-off's good answer, the step's expected points); the targets are
looked up by `assess` after the answer, never shown before it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.grading.coverage import compiled_cues
from agent.grading.text import normalize
from knowledge.corpus import Case, Corpus
from knowledge.ids import COMMUNICATION, DIMENSIONS, FAILURE_MODES, applicable_failure_modes
from prompts.render import load_template

QuestionKind = Literal["followup", "tradeoff", "probe", "generic"]

KIND_PRIORITY: dict[str, int] = {"followup": 0, "tradeoff": 1, "probe": 2, "generic": 3}
"""Among questions seen equally often, case-specific ones come first."""

_SECTION = re.compile(r"^##\s+(\S+)\s*$", re.MULTILINE)
MAX_CUES = 3
"""A question matching this many cues of one expected point would read like its cue list: it is not asked."""


class DrillFocusError(ValueError):
    """An unknown or inconsistent focus (case, dimension, failure mode); the message is one line."""


class DrillQuestion(BaseModel):
    """One drill question as the candidate sees it, with the ids `assess` needs to grade it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: QuestionKind
    text: str
    dimension: str
    failure_mode: str | None = None
    case_id: str
    ref: str
    """The follow-up id, trade-off id, failure-mode id or dimension the question comes from."""


@functools.lru_cache(maxsize=1)
def generic_bank() -> dict[str, tuple[tuple[str, str | None], ...]]:
    """Case-independent drill questions per dimension, each with the failure mode it tests (or None)."""
    text = load_template("drill_questions")
    parts = _SECTION.split(text)
    bank: dict[str, tuple[tuple[str, str | None], ...]] = {}
    for key, body in zip(parts[1::2], parts[2::2], strict=True):
        entries = []
        for line in body.splitlines():
            if line.startswith("- "):
                question, _, mode = line[2:].partition(" | ")
                mode = mode.strip()
                if mode and mode not in FAILURE_MODES:
                    raise ValueError(f"prompts/drill_questions.md: unknown failure mode {mode!r}")
                entries.append((question.strip(), mode or None))
        bank[key] = tuple(entries)
    missing = [d for d in DIMENSIONS if not bank.get(d)]
    if missing:
        raise ValueError(f"prompts/drill_questions.md has no questions for: {', '.join(missing)}")
    return bank


def leaks(case: Case, text: str) -> bool:
    """Whether a question would give away the rubric: a point statement, three cues of one point, or a good answer."""
    norm = normalize(text)
    for point in case.all_points():
        if normalize(point.statement) in norm:
            return True
        if sum(bool(p.pattern.search(norm)) for p in compiled_cues(point)) >= MAX_CUES:
            return True
    hidden = [f.good_answer for f in case.followups] + [t.good_answer for t in case.tradeoffs]
    return any(normalize(good) in norm for good in hidden)


def tradeoff_question(title: str) -> str:
    """A trade-off title ("Boosted trees or a deep network for ranking") turned into a question."""
    return f"{title.rstrip('.?')}: which would you choose for this case, and why?"


def check_focus(corpus: Corpus, case_id: str | None, dimension: str | None, failure_mode: str | None) -> None:
    """Raise DrillFocusError for an unknown id, both focus flags, or a mode that does not apply to the case."""
    if case_id is not None and case_id not in corpus.cases:
        raise DrillFocusError(f"unknown case id '{case_id}' (see `interviewer cases`)")
    if dimension is not None and dimension not in DIMENSIONS:
        raise DrillFocusError(f"unknown dimension '{dimension}' (one of {', '.join(DIMENSIONS)})")
    if failure_mode is not None and failure_mode not in FAILURE_MODES:
        raise DrillFocusError(f"unknown failure mode '{failure_mode}' (one of {', '.join(FAILURE_MODES)})")
    if dimension is not None and failure_mode is not None:
        raise DrillFocusError("give --dimension or --failure-mode, not both")
    if case_id is not None and failure_mode is not None and failure_mode not in applicable_failure_modes(case_id):
        raise DrillFocusError(f"failure mode '{failure_mode}' does not apply to case '{case_id}'")


def candidate_questions(
    corpus: Corpus, case: Case, dimension: str, failure_mode: str | None = None
) -> list[DrillQuestion]:
    """Every question that drills `dimension` (and `failure_mode`, when given) on this case, best sources first."""
    out: list[DrillQuestion] = []
    for fu in case.followups:
        if failure_mode is not None:
            if failure_mode not in fu.failure_modes:
                continue
        elif fu.step != dimension:
            continue
        mode = failure_mode or (fu.failure_modes[0] if len(fu.failure_modes) == 1 else None)
        out.append(
            DrillQuestion(
                id=f"followup:{case.id}:{fu.id}",
                kind="followup",
                text=fu.question,
                dimension=fu.step,
                failure_mode=mode,
                case_id=case.id,
                ref=fu.id,
            )
        )
    for t in case.tradeoffs:
        wanted = failure_mode == "no_tradeoffs" or (
            failure_mode is None and (t.step == dimension or dimension == COMMUNICATION)
        )
        if wanted:
            out.append(
                DrillQuestion(
                    id=f"tradeoff:{case.id}:{t.id}",
                    kind="tradeoff",
                    text=tradeoff_question(t.title),
                    dimension=COMMUNICATION
                    if COMMUNICATION in (dimension, FAILURE_MODES.get(failure_mode or ""))
                    else t.step,
                    failure_mode=failure_mode,
                    case_id=case.id,
                    ref=t.id,
                )
            )
    modes = (
        [failure_mode]
        if failure_mode
        else [m for m in applicable_failure_modes(case.id) if FAILURE_MODES[m] == dimension]
    )
    for mode in modes:
        doc = corpus.failure_modes.get(mode)
        if doc is None:
            continue
        for i, probe in enumerate(doc.probes):
            out.append(
                DrillQuestion(
                    id=f"probe:{mode}:{i}",
                    kind="probe",
                    text=probe,
                    dimension=FAILURE_MODES[mode],
                    failure_mode=mode,
                    case_id=case.id,
                    ref=mode,
                )
            )
    step = FAILURE_MODES[failure_mode] if failure_mode else dimension
    applicable = applicable_failure_modes(case.id)
    for i, (text, tag) in enumerate(generic_bank()[step]):
        if failure_mode is not None and tag != failure_mode:
            continue
        out.append(
            DrillQuestion(
                id=f"generic:{step}:{i}",
                kind="generic",
                text=text,
                dimension=step,
                failure_mode=tag if tag in applicable else None,
                case_id=case.id,
                ref=step,
            )
        )
    return [q for q in out if not leaks(case, q.text)]


def choose_question(
    corpus: Corpus,
    case: Case,
    dimension: str,
    failure_mode: str | None = None,
    *,
    asked: set[str] | frozenset[str] = frozenset(),
    seen: Mapping[str, int] | None = None,
) -> DrillQuestion | None:
    """The next question for the focus: never one asked in this drill; least seen before, case-specific first."""
    seen = seen or {}
    pool = [q for q in candidate_questions(corpus, case, dimension, failure_mode) if q.id not in asked]
    if not pool:
        return None
    ranked = sorted(enumerate(pool), key=lambda p: (seen.get(p[1].id, 0), KIND_PRIORITY[p[1].kind], p[0]))
    return ranked[0][1]


def choose_case(corpus: Corpus, dimension: str, failure_mode: str | None, drilled: Mapping[str, int]) -> str:
    """A case for the focus: most case-specific questions, then least drilled before, then contract order."""

    def rank(item: tuple[int, str]) -> tuple[int, int, int]:
        order, case_id = item
        case = corpus.cases[case_id]
        if failure_mode is not None and failure_mode not in applicable_failure_modes(case_id):
            return (1, 0, order)
        specific = sum(
            q.kind in ("followup", "tradeoff") for q in candidate_questions(corpus, case, dimension, failure_mode)
        )
        return (0, -min(specific, 3) + drilled.get(case_id, 0), order)

    return min(enumerate(corpus.cases), key=rank)[1]


__all__ = [
    "KIND_PRIORITY",
    "DrillFocusError",
    "DrillQuestion",
    "QuestionKind",
    "candidate_questions",
    "check_focus",
    "choose_case",
    "choose_question",
    "generic_bank",
    "leaks",
    "tradeoff_question",
]
