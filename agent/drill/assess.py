"""Grade one short drill answer at once: what it covers, a 1-4 score, feedback and a knowledge-base pointer.

Targets: the follow-up's (or trade-off's) good answer split into parts, and the case's expected points
of the question's step, covered through the grader's cue patterns and sentence embeddings on the
dismissal-free text. Text addressing the grader is removed first (it earns nothing).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from agent.drill.questions import DrillQuestion
from agent.grading.analysis import Analysis
from agent.grading.coverage import Embedder, cover_case, embed_sentences
from agent.grading.failure_modes import DETECTORS, tradeoff_sentences
from agent.grading.injection import find_injection
from agent.grading.offline import DEPTH_KINDS
from agent.grading.signals import SignalIndex, find_signals
from agent.grading.text import normalize, sanitize, split_sentences, strip_markup
from knowledge.corpus import Case, Corpus
from knowledge.ids import COMMUNICATION, FAILURE_MODES, STEP_TITLES, STEPS, applicable_failure_modes
from prompts.render import render

COMMIT_MODES: dict[str, tuple[str, str]] = {
    "data_leakage": ("data", "split"),
    "training_serving_skew": ("data", "feature_store"),
    "metric_mismatch": ("evaluation", "offline_metric"),
    "single_stage_at_scale": ("modeling", "funnel"),
}
"""Modes reported only when the answer does the harmful thing, with the signal that shows the remedy."""

LEVEL_SHIFT: dict[str, float] = {"mid": 0.25, "senior": 0.0, "staff": -0.25}
"""Added to the raw drill score: a higher level needs more for the same score."""

PART_TERMS, PART_TERMS_WEAK, PART_SIM, PART_SIM_STRONG = 0.5, 0.25, 0.45, 0.62
"""A good-answer part is covered by half its terms, or a quarter plus a similar sentence, or a very similar one."""
POINTS_FOR_FULL = 2
"""Expected points of the step a short drill answer must cover for full point credit."""
MIN_TERMS = 4
"""An answer with fewer content words scores at most 2."""
PRINCIPLE_SHARE = 0.8
"""A follow-up answered with the right principle but not the case's specifics reaches at most 3."""
"""An answer with fewer content words scores at most 2."""

_STOP = frozenset(
    """a an the of to in on for and or is are was were be been do does did we i you our your it its this that these
    those what how who where when which why can could should would will may much many there their them they have has
    had any some about with at by from as if into per each every just then than so but not no also only its it's
    them while until once both more most less all out up down over under very too via using use used one two""".split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9%@'\-]*")
_PART_SPLIT = re.compile(r";|(?<=[a-z0-9%)])[.:]\s+|,\s+")
_LEAD = re.compile(r"^(?:and|then|or|but|so|while|plus)\s+")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


class Assessment(BaseModel):
    """The verdict on one drill answer (after the answer, its good-answer parts may be shown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: int
    covered: list[str]
    missing: list[str]
    strong_answer: str
    feedback: str
    source: str
    heading: str
    injection_attempt: bool = False
    dismissed: list[str] = []
    committed: list[str] = []


@dataclass(frozen=True)
class _Target:
    good_answer: str | None
    step: str | None
    source: str
    heading: str


def stem(word: str) -> str:
    """A crude suffix-stripping stem, enough to match "recalibrate" with "recalibrating"."""
    word = word.strip("'-")
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    """Stemmed content words of a text (stop words and one- or two-letter words dropped)."""
    out = set()
    for tok in _TOKEN.findall(normalize(text)):
        if tok in _STOP or (len(tok) < 3 and not any(ch.isdigit() for ch in tok)):
            continue
        out.add(stem(tok))
    return out


def answer_parts(good_answer: str) -> list[str]:
    """Split a good answer into checkable parts; list fragments of one or two words join the part before."""
    parts: list[str] = []
    for raw in _PART_SPLIT.split(good_answer):
        piece = _LEAD.sub("", raw.strip().rstrip("."))
        if not terms(piece):
            continue
        if parts and len(terms(piece)) <= 2:
            parts[-1] = f"{parts[-1]}, {piece}"
        else:
            parts.append(piece)
    if len(parts) > 1 and len(terms(parts[0])) <= 2:
        parts[1] = f"{parts[0]}, {parts[1]}"
        parts.pop(0)
    return parts


def _target(corpus: Corpus, case: Case, q: DrillQuestion) -> _Target:
    good, step = None, q.dimension if q.dimension != COMMUNICATION else None
    if q.kind == "followup":
        fu = next(f for f in case.followups if f.id == q.ref)
        good, step = fu.good_answer, fu.step if fu.step != COMMUNICATION else None
        source, heading = case.source, f"Follow-up questions › {fu.id} — {fu.question}"
    elif q.kind == "tradeoff":
        t = next(t for t in case.tradeoffs if t.id == q.ref)
        good, step = t.good_answer, t.step if t.step != COMMUNICATION else None
        source, heading = case.source, f"Trade-offs › {t.id} — {t.title}"
    elif q.dimension == COMMUNICATION:
        source, heading = corpus.failure_modes["no_tradeoffs"].source, "How to recover"
    else:
        source, heading = corpus.framework[q.dimension].source, "What a strong candidate covers"
    if q.failure_mode is not None and q.failure_mode in corpus.failure_modes:
        source, heading = corpus.failure_modes[q.failure_mode].source, "How to recover"
    return _Target(good, step, source, heading)


def _part_covered(part: str, answer_terms: set[str], part_sims: npt.NDArray[np.float32] | None) -> bool:
    want = terms(part)
    frac = len(want & answer_terms) / max(1, len(want))
    sim = float(part_sims.max()) if part_sims is not None and len(part_sims) else 0.0
    return frac >= PART_TERMS or (frac >= PART_TERMS_WEAK and sim >= PART_SIM) or sim >= PART_SIM_STRONG


def _remedy(a: Analysis, q: DrillQuestion, step: str | None, committed: list[str]) -> float:
    """How far the answer shows the remedy of the focus: its failure mode absent, or the step's signals."""
    mode = q.failure_mode
    if q.dimension == COMMUNICATION or mode == "no_tradeoffs":
        return min(1.0, len(tradeoff_sentences(a)) / 1)
    if mode in COMMIT_MODES:
        sig_step, name = COMMIT_MODES[mode]
        return 0.0 if mode in committed else float(a.signals.has(sig_step, name))
    if mode is not None:
        return 1.0 if DETECTORS[mode](a) is None else 0.0
    if step is None:
        return 0.0
    kinds = a.signals.kinds(step) & set(DEPTH_KINDS[step])
    return min(1.0, len(kinds) / 2)


def _verdict(score: int) -> str:
    return {4: "strong answer", 3: "solid, with a gap", 2: "partial", 1: "misses what this question is after"}[score]


def _listing(items: list[str], limit: int = 3) -> str:
    shown = [i.rstrip(".") for i in items[:limit]]
    return "; ".join(shown) + ("; …" if len(items) > limit else "")


def assess(
    corpus: Corpus,
    question: DrillQuestion,
    text: str,
    *,
    level: str = "senior",
    embedder: Embedder | None = None,
) -> Assessment:
    """Grade one drill answer against the question's targets; deterministic and offline."""
    case = corpus.case(question.case_id)
    target = _target(corpus, case, question)
    clean, _ = sanitize(text or "")
    injection = find_injection(clean)
    sentences = split_sentences(strip_markup(injection.text))
    signals = SignalIndex(find_signals(sentences))
    embeddings = embed_sentences(sentences, embedder)
    coverage = cover_case(case, sentences, embeddings, embedder)
    a = Analysis(case, sentences, signals, {s: coverage.get(s, []) for s in STEPS})
    kept = " ".join(s.kept for s in a.content_sentences)
    answer_terms = terms(kept)
    dismissed = [s.text for s in sentences if s.dismissed and not s.is_heading]

    parts = answer_parts(target.good_answer) if target.good_answer else []
    part_sims: npt.NDArray[np.float32] | None = None
    usable = [i for i, s in enumerate(sentences) if s.kept and not s.is_heading]
    if parts and embedder is not None and embeddings is not None and usable:
        part_sims = embeddings[usable] @ embedder.embed(parts).T
    covered_parts = [
        p for j, p in enumerate(parts) if _part_covered(p, answer_terms, None if part_sims is None else part_sims[:, j])
    ]
    missing_parts = [p for p in parts if p not in covered_parts]
    step_points = coverage.get(target.step, []) if target.step else []
    covered_points = [c.point.statement for c in step_points if c.covered]
    missing_points = [c.point.statement for c in step_points if not c.covered]

    applicable = set(applicable_failure_modes(case.id))
    committed = [m for m in COMMIT_MODES if m in applicable and DETECTORS[m](a) is not None]
    remedy = _remedy(a, question, target.step, committed)
    point_credit = min(1.0, len(covered_points) / POINTS_FOR_FULL)
    substance = bool(covered_parts or covered_points or remedy)
    reason = float(substance and (a.signals.has(COMMUNICATION, "reason") or a.signals.has(COMMUNICATION, "compare")))
    compared = [a.quote(i, 160) for i in tradeoff_sentences(a)]
    principle = 0.45 * point_credit + 0.35 * remedy + 0.2 * reason
    if question.dimension == COMMUNICATION:
        any_point = float(any(c.covered for cov in coverage.values() for c in cov))
        principle = 0.6 * min(1.0, len(compared)) + 0.25 * reason + 0.15 * any_point
    if parts:
        part_credit = len(covered_parts) / len(parts)
        specific = 0.7 * part_credit + 0.15 * point_credit + 0.1 * remedy + 0.05 * reason
        quality = max(specific, PRINCIPLE_SHARE * principle)
    else:
        quality = principle
    raw = 1.0 + 3.0 * quality + LEVEL_SHIFT.get(level, 0.0)
    score = max(1, min(4, math.floor(raw + 0.5)))
    if not answer_terms:
        score = 1
    elif len(answer_terms) < MIN_TERMS:
        score = min(score, 2)
    if committed:
        score = min(score, 2)

    covered = covered_parts + [p for p in covered_points if p not in covered_parts]
    if question.dimension == COMMUNICATION or question.failure_mode == "no_tradeoffs":
        covered += [f'you weighed an option against an alternative with a reason ("{q}")' for q in compared[:1]]
    missing = missing_parts if parts else missing_points
    if parts:
        strong = f"A strong answer: {target.good_answer}"
    else:
        strong = "A strong answer covers: " + _listing(
            [c.point.statement for c in step_points] or [_fallback(question)]
        )
    notes: list[str] = []
    if injection.attempt:
        notes.append("Text addressed to the grader was ignored and earned nothing.")
    if dismissed and score <= 2:
        notes.append(f'Dismissing something ("{_short(dismissed[0])}") does not cover it.')
    for mode in committed:
        notes.append(f"Careful: this walks into {corpus.failure_modes[mode].title.lower()} ({mode}).")
    feedback = render(
        "drill_feedback",
        score=str(score),
        verdict=_verdict(score),
        good=_good_line(corpus, question, covered, score),
        missing=f"Missing: {_listing(missing)}." if missing else "",
        strong=strong.rstrip(".") + ".",
        notes="".join(n + "\n" for n in notes),
        source=target.source,
        heading=target.heading,
    )
    feedback = "\n".join(line for line in feedback.splitlines() if line.strip())
    return Assessment(
        score=score,
        covered=covered,
        missing=missing,
        strong_answer=strong,
        feedback=feedback,
        source=target.source,
        heading=target.heading,
        injection_attempt=injection.attempt,
        dismissed=dismissed,
        committed=committed,
    )


def _good_line(corpus: Corpus, q: DrillQuestion, covered: list[str], score: int) -> str:
    if covered:
        return f"What was good: {_listing(covered)}."
    if score >= 2:
        doc = corpus.failure_modes.get(q.failure_mode or "")
        topic = f"the risk of {doc.title.lower()}" if doc else STEP_TITLES[q.dimension].lower()
        return f"What was good: the answer addresses {topic} in general terms, without this question's specifics."
    return "Nothing in the answer covered what this question is after yet."


def _fallback(q: DrillQuestion) -> str:
    if q.dimension == COMMUNICATION:
        return "an option compared with its alternative, with the reason one wins here"
    return f"the {FAILURE_MODES.get(q.failure_mode or '', q.dimension)} step done concretely for this case"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


__all__ = ["COMMIT_MODES", "LEVEL_SHIFT", "Assessment", "answer_parts", "assess", "stem", "terms"]
