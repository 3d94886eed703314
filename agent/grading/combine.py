"""Combine the offline scorecard with a model's judgement without trusting the model blindly.

- Quotes that are not in the (injection-stripped) answer are dropped.
- A quote counts for a dimension only if it carries one of that dimension's signals (the offline
  grader's patterns): one generic sentence cannot lift every dimension.
- A model score above the offline one counts only when a surviving quote supports that dimension.
- When the answer tried to instruct the grader (offline found an injection), the model may only lower scores.
- Each dimension's raw score is the mean of the offline and model scores, at most ±1 from offline;
  the integer score rounds a tie toward the offline score, so it moves only when the two disagree by 2+.
- Failure modes: offline findings stay. A model mode is kept only if it applies to the case and, for
  modes about something the answer *does*, has a surviving quote; a mode about an *absence* is kept only
  when the offline grader found nothing for that step (if offline flagged it, it is already there).
- Overall shifts from the offline overall by the weighted change of the dimensions (the offline weights),
  minus the offline penalties of newly flagged modes, under the offline caps; the hire signal follows
  from the contract's thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agent.grading.failure_modes import MAJOR_MODES
from agent.grading.injection import find_injection
from agent.grading.model_schema import ModelJudgement
from agent.grading.offline import (
    MAJOR_CAP,
    MODE_CAPS,
    NO_EVALUATION_PENALTY,
    OFF_TRACK_CAP,
    PENALTIES,
    WEIGHTS,
)
from agent.grading.quotes import QuoteChecker
from agent.grading.scorecard import DimensionScore, FailureModeFinding, Scorecard, hire_signal_for
from agent.grading.signals import SIGNALS
from agent.grading.text import normalize
from agent.llm.redact import redact
from knowledge.corpus import Case, Corpus
from knowledge.ids import COMMUNICATION, DIMENSIONS, FAILURE_MODES, STEPS, is_applicable

DOING_MODES = frozenset(
    {"data_leakage", "training_serving_skew", "single_stage_at_scale", "metric_mismatch", "model_first"}
)
"""Modes reported only when the answer does the harmful thing: the model must quote it."""
MAX_EVIDENCE = 5
MAX_MODEL_MISSING = 3
MAX_SUMMARY_CHARS = 600
_HIRE_WORDS = ("hire", "no-hire", "reject", "pass the interview", "fail the interview")


@dataclass
class _Dim:
    offline: int
    raw: float
    score: int
    evidence: list[str]
    missing: list[str]


@dataclass
class Combined:
    """The combined scorecard and what was dropped from the model's judgement."""

    card: Scorecard
    dropped: list[str] = field(default_factory=list)


def _round_toward(raw: float, anchor: int) -> int:
    """Round to the nearest integer; an exact .5 goes toward the anchor (the offline score)."""
    lower = math.floor(raw)
    frac = raw - lower
    if abs(frac - 0.5) < 1e-9:
        return lower if anchor <= lower else lower + 1
    return lower + 1 if frac > 0.5 else lower


def _clamp_score(value: int, anchor: int) -> int:
    """Keep a score in 1..4 and within one point of the anchor (the offline score)."""
    return max(1, min(4, max(anchor - 1, min(anchor + 1, value))))


def _key(quote: str) -> str:
    """A quote's identity for de-duplication (case, spacing and closing punctuation aside)."""
    return normalize(quote).strip(" .,;:!?\"'…")


def _about(dim: str, quote: str) -> bool:
    """Whether a quote carries any of the dimension's signals (the offline grader's patterns)."""
    text = normalize(quote)
    return any(p.search(text) for p in SIGNALS[dim].values())


def _clean_phrase(text: str, limit: int) -> str | None:
    """Model free text fit to show: short, one line, key-shaped strings scrubbed, and addressing no grader."""
    one = redact(" ".join(text.split()))
    if not one or len(one) > limit or find_injection(one).attempt:
        return None
    return one


def _zero_coverage(offline: Scorecard, case: Case, step: str) -> bool:
    """True when the offline grader found nothing for the step (no evidence, or no expected point covered)."""
    dim = offline.dimensions[step]
    if not dim.evidence:
        return True
    if step == COMMUNICATION:
        return False
    point_ids = {p.id.replace("-", " ") for p in case.points.get(step, [])}
    return bool(point_ids) and point_ids <= set(dim.missing)


def _merge_dimension(
    dim: str,
    offline: DimensionScore,
    judgement: ModelJudgement,
    checker: QuoteChecker,
    dropped: list[str],
    *,
    may_raise: bool = True,
) -> _Dim:
    mj = judgement.dimension(dim)
    quotes: list[str] = []
    bad = off_topic = 0
    for q in mj.evidence:
        found = checker.verify(q)
        if found is None:
            bad += 1
        elif not _about(dim, found):
            off_topic += 1
        elif _key(found) not in {_key(x) for x in quotes}:
            quotes.append(found)
    reasons = []
    if bad:
        reasons.append(f"{bad} model quote(s) not found in the answer")
    if off_topic:
        reasons.append(f"{off_topic} model quote(s) with nothing about {dim}")
    model_score = mj.score
    if model_score > offline.score and not quotes:
        reasons.append(f"model score {model_score} ignored (no quote from the answer supports it)")
        model_score = offline.score
    if model_score > offline.score and not may_raise:
        reasons.append(f"model score {model_score} ignored (the answer tried to instruct the grader: no raises)")
        model_score = offline.score
    if reasons:
        dropped.append(f"{dim}: " + "; ".join(reasons))
    raw = offline.score + max(-1.0, min(1.0, (model_score - offline.score) / 2))
    evidence = list(offline.evidence)
    for q in quotes:
        if len(evidence) < MAX_EVIDENCE and _key(q) not in {_key(e) for e in evidence}:
            evidence.append(q)
    missing = list(offline.missing)
    added = 0
    for item in mj.missing:
        phrase = _clean_phrase(item, 120)
        if phrase and phrase not in missing and added < MAX_MODEL_MISSING:
            missing.append(phrase)
            added += 1
    score = _clamp_score(_round_toward(raw, offline.score), offline.score)
    return _Dim(offline.score, raw, score, evidence, missing)


def _merge_modes(
    offline: Scorecard, judgement: ModelJudgement, case: Case, corpus: Corpus, checker: QuoteChecker, dropped: list[str]
) -> list[FailureModeFinding]:
    findings = list(offline.failure_modes)
    have = {f.id for f in findings}
    for mj in judgement.failure_modes:
        mode = mj.id.strip()
        if mode in have:
            continue
        if mode not in FAILURE_MODES:
            dropped.append(f"failure mode {mode[:40]!r}: not a known id")
            continue
        if not is_applicable(mode, case.id):
            dropped.append(f"failure mode {mode}: does not apply to {case.id}")
            continue
        step = FAILURE_MODES[mode]
        source = corpus.failure_modes[mode].source if mode in corpus.failure_modes else case.source
        if mode in DOING_MODES:
            quotes = [q for q in (checker.verify(e) for e in mj.evidence) if q is not None]
            if not quotes:
                dropped.append(f"failure mode {mode}: no quote from the answer supports it")
                continue
            evidence = f'"{quotes[0]}" (model judgement, quote checked against the answer)'
        else:
            if not _zero_coverage(offline, case, step):
                dropped.append(f"failure mode {mode}: the offline grader found {step} addressed")
                continue
            evidence = (
                f"The model judges this absent, and the offline grader covered none of the case's expected {step} "
                "points."
            )
        findings.append(FailureModeFinding(id=mode, step=step, evidence=evidence, source=source))
        have.add(mode)
    order = list(FAILURE_MODES)
    return sorted(findings, key=lambda f: order.index(f.id))


def _overall(offline: Scorecard, dims: dict[str, _Dim], new_modes: set[str], flagged: set[str]) -> float:
    total = sum(WEIGHTS.values())
    overall = offline.overall + sum(WEIGHTS[d] * (dims[d].raw - dims[d].offline) for d in DIMENSIONS) / total
    overall -= sum(PENALTIES.get(m, 0.0) for m in new_modes)
    no_evaluation = {"no_offline_metrics", "no_online_metrics"} <= flagged
    offline_flags = {f.id for f in offline.failure_modes}
    if no_evaluation and not {"no_offline_metrics", "no_online_metrics"} <= offline_flags:
        overall -= NO_EVALUATION_PENALTY
    if no_evaluation or flagged & (MAJOR_MODES - {"no_offline_metrics", "no_online_metrics"}):
        overall = min(overall, MAJOR_CAP)
    steps_reached = sum(bool(offline.dimensions[s].evidence) for s in STEPS)
    if steps_reached <= 2:
        overall = min(overall, OFF_TRACK_CAP)
    return round(max(1.0, min(4.0, overall)), 2)


def _summary(offline: Scorecard, judgement: ModelJudgement, dropped: list[str]) -> str:
    text = _clean_phrase(judgement.summary, MAX_SUMMARY_CHARS)
    if text is None or any(w in text.lower() for w in _HIRE_WORDS):
        if judgement.summary.strip():
            dropped.append("model summary replaced by the offline one (too long, a hire verdict, or grader-addressing)")
        return offline.summary
    return text


def combine(
    offline: Scorecard, judgement: ModelJudgement, answer_text: str, case: Case, corpus: Corpus, *, model_name: str
) -> Combined:
    """Merge a model judgement into the offline scorecard of the same (injection-stripped) answer."""
    checker = QuoteChecker(answer_text)
    dropped: list[str] = []
    # An answer that tried to instruct the grader gets no benefit of the doubt: the model may only lower scores.
    may_raise = not offline.injection_attempt
    dims = {
        d: _merge_dimension(d, offline.dimensions[d], judgement, checker, dropped, may_raise=may_raise)
        for d in DIMENSIONS
    }
    findings = _merge_modes(offline, judgement, case, corpus, checker, dropped)
    flagged = {f.id for f in findings}
    new_modes = flagged - {f.id for f in offline.failure_modes}
    for mode in new_modes:
        d = dims[FAILURE_MODES[mode]]
        d.raw = max(float(d.offline - 1), min(d.raw, MODE_CAPS[mode]))
        d.score = _clamp_score(_round_toward(d.raw, d.offline), d.offline)
    overall = _overall(offline, dims, new_modes, flagged)
    order = sorted(DIMENSIONS, key=lambda d: (dims[d].score, dims[d].raw, DIMENSIONS.index(d)))
    practice = [d for d in order if dims[d].score <= 2][:3] or order[:1]
    moved = [f"{d} {dims[d].offline}→{dims[d].score}" for d in DIMENSIONS if dims[d].score != dims[d].offline]
    notes = [*offline.notes, f"graded with model {model_name!r} combined with the offline grader"]
    if moved:
        notes.append("model moved: " + ", ".join(moved))
    if new_modes:
        notes.append("model added failure modes: " + ", ".join(sorted(new_modes)))
    summary = _summary(offline, judgement, dropped)
    notes += [f"dropped: {item}" for item in dropped]
    card = Scorecard(
        id=offline.id,
        case_id=offline.case_id,
        level=offline.level,
        overall=overall,
        hire_signal=hire_signal_for(overall),
        dimensions={
            d: DimensionScore(score=dims[d].score, evidence=dims[d].evidence, missing=dims[d].missing)
            for d in DIMENSIONS
        },
        failure_modes=findings,
        summary=summary,
        practice_next=practice,
        injection_attempt=offline.injection_attempt,
        injection_spans=offline.injection_spans,
        grader="model",
        notes=notes,
    )
    return Combined(card, dropped)


__all__ = ["DOING_MODES", "Combined", "combine"]
