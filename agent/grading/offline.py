"""The offline grader: a written answer and a case in, a Scorecard out. Deterministic, no network."""

from __future__ import annotations

import functools
import math
from collections.abc import Collection

from agent.grading.analysis import Analysis, analyse
from agent.grading.coverage import Embedder
from agent.grading.failure_modes import MAJOR_MODES, detect_failure_modes, tradeoff_sentences
from agent.grading.injection import find_injection
from agent.grading.scorecard import DimensionScore, FailureModeFinding, Scorecard, hire_signal_for
from agent.grading.text import sanitize, strip_markup
from knowledge.corpus import load_corpus
from knowledge.ids import CASE_IDS, COMMUNICATION, DIMENSIONS, LEVELS, STEP_TITLES, STEPS

WEIGHTS: dict[str, float] = {
    "requirements": 1.0,
    "framing": 1.0,
    "data": 1.0,
    "modeling": 1.25,
    "evaluation": 1.0,
    "serving": 1.0,
    "monitoring": 0.75,
    "communication": 1.0,
}
"""Weight of each dimension in the overall mean."""

LEVEL_OFFSET: dict[str, float] = {"mid": 0.3, "senior": 0.0, "staff": -0.35}
"""Added to every dimension's raw score: a higher level needs more for the same score."""

TRADEOFFS_FOR_FULL: dict[str, int] = {"mid": 2, "senior": 3, "staff": 5}
"""Reasoned comparisons that earn full trade-off credit in communication, by level."""

# Signal kinds that show depth in each step (a fraction of them earns depth credit).
DEPTH_KINDS: dict[str, tuple[str, ...]] = {
    "requirements": ("question", "assumption", "business_goal", "scale", "latency_budget", "constraints"),
    "framing": ("input", "output", "label", "task_type", "objective"),
    "data": ("sources", "features", "split", "imbalance", "privacy", "feature_store"),
    "modeling": ("baseline", "complex_model", "funnel", "loss", "cold_start"),
    "evaluation": ("offline_metric", "online_test", "online_metric"),
    "serving": ("mode", "latency", "infra", "cache", "scaling", "fallback", "rollout"),
    "monitoring": ("monitor", "drift", "retrain", "feedback_loop"),
}

# A flagged mode caps its dimension: severe ones at 1.4, score-1 anchors at 2.4, score-2 anchors at 2.9.
MODE_CAPS: dict[str, float] = {
    "skipped_clarification": 2.4,
    "no_business_objective": 2.4,
    "no_scale_estimate": 2.4,
    "vague_ml_framing": 2.4,
    "no_data_plan": 1.4,
    "data_leakage": 1.4,
    "class_imbalance_ignored": 2.9,
    "training_serving_skew": 2.4,
    "no_baseline": 1.4,
    "model_first": 2.4,
    "single_stage_at_scale": 1.4,
    "cold_start_ignored": 2.9,
    "no_offline_metrics": 1.4,
    "no_online_metrics": 1.4,
    "metric_mismatch": 2.4,
    "ignores_serving": 1.0,
    "no_fallback": 2.9,
    "no_monitoring": 2.4,
    "no_retraining_plan": 2.4,
    "feedback_loop_ignored": 2.9,
    "no_tradeoffs": 1.4,
}

PENALTIES: dict[str, float] = {
    "ignores_serving": 0.25,
    "no_baseline": 0.15,
    "single_stage_at_scale": 0.15,
    "data_leakage": 0.15,
    "model_first": 0.2,
    "metric_mismatch": 0.1,
    "training_serving_skew": 0.1,
}
"""Subtracted from the weighted mean when the mode is flagged."""
NO_EVALUATION_PENALTY = 0.2
MAJOR_CAP = 2.45
"""A major failure (ignores serving, no baseline, no evaluation at all) keeps overall below lean_hire."""
MAJOR_CAP_MODES = frozenset(
    {"ignores_serving", "no_baseline", "data_leakage", "metric_mismatch", "single_stage_at_scale"}
)
"""Flagged alone, each keeps overall below lean_hire: leakage or a metric that cannot fit invalidates the
evaluation, and a heavy model over the whole catalogue cannot be served (evals/grading/README.md)."""
FLAWED_CAP = 3.2
"""Any failure mode keeps overall below strong_hire: strong means all steps covered with depth and no real gap
(in the labelled answers, 16 of 17 strong_hire answers have no failure mode and every lean_hire one has one)."""
OFF_TRACK_CAP = 1.7
"""Two or fewer steps addressed keeps overall at strong_no_hire."""
MAX_EVIDENCE = 3


class GradingInputError(ValueError):
    """Bad input to the grader (empty answer, unknown case or level); the message is one line."""


@functools.lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The packaged MiniLM embedder for the configured data folder, loaded once per process."""
    from agent.kb import embedder_factory
    from agent.settings import Settings

    return embedder_factory(Settings.from_env())()


def _dimension_raw(a: Analysis, step: str, level: str) -> float:
    points = a.coverage.get(step, [])
    if not a.step_sentences(step):
        return 1.0
    frac = sum(c.covered for c in points) / max(1, len(points))
    kinds = a.signals.kinds(step) & set(DEPTH_KINDS[step])
    kind_frac = len(kinds) / len(DEPTH_KINDS[step])
    depth = min(1.0, len(a.step_sentences(step)) / 6)
    return 1.0 + 1.6 * frac + 1.0 * kind_frac + 0.5 * depth + LEVEL_OFFSET[level]


def _communication_raw(a: Analysis, level: str, tradeoffs_settled: bool = False) -> float:
    tradeoffs = max(len(tradeoff_sentences(a)), 1 if tradeoffs_settled else 0)
    steps_reached = sum(bool(a.step_sentences(s)) for s in STEPS)
    headed = sum(a.headed(s) for s in STEPS)
    structure = 0.3 if headed >= 4 or a.signals.has("communication", "structure") else 0.0
    assumptions = 0.2 if a.signals.has("requirements", "assumption") else 0.0
    summary = 0.2 if a.signals.has("communication", "summary") else 0.0
    trade = min(1.0, tradeoffs / TRADEOFFS_FOR_FULL[level])
    return (
        1.0
        + 1.3 * trade
        + 0.7 * steps_reached / len(STEPS)
        + structure
        + assumptions
        + summary
        + (LEVEL_OFFSET[level] / 2)
    )


def _evidence(a: Analysis, step: str) -> list[str]:
    picked: list[int] = []
    for cov in a.coverage.get(step, []):
        if cov.covered and cov.sentence is not None and cov.sentence not in picked:
            picked.append(cov.sentence)
    if step == COMMUNICATION:
        picked = tradeoff_sentences(a)
    for idx in sorted(a.signals.sentences(step)):
        if len(picked) >= MAX_EVIDENCE:
            break
        if idx not in picked and not a.sentences[idx].is_heading:
            picked.append(idx)
    return [a.quote(i) for i in picked[:MAX_EVIDENCE]]


def _missing(a: Analysis, step: str, findings: list[FailureModeFinding]) -> list[str]:
    if step == COMMUNICATION:
        out = []
        if not tradeoff_sentences(a):
            out.append("an option compared with an alternative and a reason")
        if not a.signals.has("requirements", "assumption"):
            out.append("stated assumptions")
        if not a.signals.has("communication", "summary"):
            out.append("a closing summary of the design and its risks")
        return out
    return [c.point.id.replace("-", " ") for c in a.coverage.get(step, []) if not c.covered]


def _round_score(raw: float) -> int:
    return max(1, min(4, math.floor(raw + 0.5)))


def _summary(dims: dict[str, DimensionScore], findings: list[FailureModeFinding], practice: list[str]) -> str:
    strong = [STEP_TITLES[d].lower() for d in DIMENSIONS if dims[d].score >= 3]
    sentences = []
    if strong:
        sentences.append(f"Strongest on {', '.join(strong[:3])}.")
    else:
        sentences.append("No dimension reaches a solid 3 yet.")
    major = [f.id for f in findings if f.id in MAJOR_MODES or f.id in PENALTIES]
    if major:
        sentences.append(f"Main problems: {', '.join(major[:4])}.")
    elif findings:
        sentences.append(f"Smaller gaps: {', '.join(f.id for f in findings[:4])}.")
    if practice:
        sentences.append(f"Practise next: {', '.join(STEP_TITLES[d].lower() for d in practice)}.")
    return " ".join(sentences)


def _validate(answer: str, case_id: str, level: str) -> None:
    if case_id not in CASE_IDS:
        raise GradingInputError(f"unknown case id '{case_id}' (see `interviewer cases`)")
    if level not in LEVELS:
        raise GradingInputError(f"unknown level '{level}' (one of {', '.join(LEVELS)})")
    if not isinstance(answer, str) or not answer.strip():
        raise GradingInputError("the answer is empty")


def grade_answer(
    answer: str,
    case_id: str,
    level: str = "senior",
    *,
    embedder: Embedder | None = None,
    settled: Collection[str] = (),
) -> Scorecard:
    """Grade a written answer (plain text or markdown) for a case at a level; deterministic and offline.

    `settled` names absence-type modes that the surrounding conversation settles (an interview where the
    candidate asked for the sizes and used them): they are neither findings nor caps, and a settled
    `no_tradeoffs` counts as one trade-off for communication. A written answer alone has none.
    """
    _validate(answer, case_id, level)
    text, notes = sanitize(answer)
    injection = find_injection(text)
    content = strip_markup(injection.text)
    if not any(ch.isalnum() for ch in content) and not injection.attempt:
        raise GradingInputError("the answer is empty")
    corpus = load_corpus()
    case = corpus.case(case_id)
    a = analyse(case, content, embedder if embedder is not None else default_embedder())
    detected = detect_failure_modes(a, corpus)
    findings = [f for f in detected if f.id not in settled]
    dropped = sorted({f.id for f in detected} - {f.id for f in findings})
    flagged = {f.id for f in findings}

    raws: dict[str, float] = {s: _dimension_raw(a, s, level) for s in STEPS}
    raws[COMMUNICATION] = _communication_raw(a, level, tradeoffs_settled="no_tradeoffs" in settled)
    for f in findings:
        raws[f.step] = min(raws[f.step], MODE_CAPS[f.id])
    caps_by_step: dict[str, int] = {}
    for f in findings:
        if MODE_CAPS[f.id] <= 2.4:
            caps_by_step[f.step] = caps_by_step.get(f.step, 0) + 1
    for step, count in caps_by_step.items():
        if count >= 2:
            raws[step] = min(raws[step], 1.4)
    raws = {d: max(1.0, min(4.0, r)) for d, r in raws.items()}

    dims = {
        d: DimensionScore(score=_round_score(raws[d]), evidence=_evidence(a, d), missing=_missing(a, d, findings))
        for d in DIMENSIONS
    }
    overall = sum(WEIGHTS[d] * raws[d] for d in DIMENSIONS) / sum(WEIGHTS.values())
    overall -= sum(PENALTIES.get(m, 0.0) for m in flagged)
    no_evaluation = {"no_offline_metrics", "no_online_metrics"} <= flagged
    if no_evaluation:
        overall -= NO_EVALUATION_PENALTY
    if no_evaluation or flagged & MAJOR_CAP_MODES:
        overall = min(overall, MAJOR_CAP)
    if flagged:
        overall = min(overall, FLAWED_CAP)
    if sum(bool(a.step_sentences(s)) for s in STEPS) <= 2:
        overall = min(overall, OFF_TRACK_CAP)
    overall = round(max(1.0, min(4.0, overall)), 2)

    order = sorted(DIMENSIONS, key=lambda d: (raws[d], DIMENSIONS.index(d)))
    practice = [d for d in order if dims[d].score <= 2][:3] or order[:1]
    if injection.attempt:
        notes.append("text addressing the grader was removed before grading and earned nothing")
    if dropped:
        notes.append(f"settled in the conversation, not counted as failure modes: {', '.join(dropped)}")
    return Scorecard(
        case_id=case_id,
        level=level,
        overall=overall,
        hire_signal=hire_signal_for(overall),
        dimensions=dims,
        failure_modes=findings,
        summary=_summary(dims, findings, practice),
        practice_next=practice,
        injection_attempt=injection.attempt,
        injection_spans=injection.spans,
        grader="offline",
        notes=notes,
    )


__all__ = ["LEVEL_OFFSET", "WEIGHTS", "GradingInputError", "default_embedder", "grade_answer"]
