"""The interview contract's fixed vocabulary: step, dimension, failure-mode, case and level ids."""

from __future__ import annotations

STEPS: tuple[str, ...] = (
    "requirements",
    "framing",
    "data",
    "modeling",
    "evaluation",
    "serving",
    "monitoring",
)
"""The seven steps of the framework, in interview order; each is also a rubric dimension."""

COMMUNICATION = "communication"
"""The eighth dimension, which is not a step."""

DIMENSIONS: tuple[str, ...] = (*STEPS, COMMUNICATION)
"""The eight rubric dimensions: the seven steps, then communication."""

STEP_TITLES: dict[str, str] = {
    "requirements": "Clarify requirements",
    "framing": "Frame as an ML task",
    "data": "Data preparation",
    "modeling": "Model development",
    "evaluation": "Evaluation",
    "serving": "Deployment & serving",
    "monitoring": "Monitoring & iteration",
    "communication": "Communication",
}
"""The contract's short name of each dimension."""

FAILURE_MODES: dict[str, str] = {
    "skipped_clarification": "requirements",
    "no_business_objective": "requirements",
    "no_scale_estimate": "requirements",
    "vague_ml_framing": "framing",
    "no_data_plan": "data",
    "data_leakage": "data",
    "class_imbalance_ignored": "data",
    "training_serving_skew": "data",
    "no_baseline": "modeling",
    "model_first": "modeling",
    "single_stage_at_scale": "modeling",
    "cold_start_ignored": "modeling",
    "no_offline_metrics": "evaluation",
    "no_online_metrics": "evaluation",
    "metric_mismatch": "evaluation",
    "ignores_serving": "serving",
    "no_fallback": "serving",
    "no_monitoring": "monitoring",
    "no_retraining_plan": "monitoring",
    "feedback_loop_ignored": "monitoring",
    "no_tradeoffs": "communication",
}
"""Failure-mode id -> the step or dimension it belongs to, in the contract's order."""

CASE_IDS: tuple[str, ...] = (
    "visual-search",
    "street-view-blurring",
    "video-search",
    "harmful-content-detection",
    "video-recommendation",
    "event-recommendation",
    "ad-click-prediction",
    "similar-listings",
    "news-feed",
    "people-you-may-know",
    "fraud-detection",
    "product-search-ranking",
    "eta-prediction",
    "spam-detection",
    "query-autocomplete",
)
"""The fifteen case-study ids, in the contract's order."""

LEVELS: tuple[str, ...] = ("mid", "senior", "staff")
"""Candidate levels, lowest first."""

DEFAULT_LEVEL = "senior"
"""The level used when none is given."""

# The contract's "Which modes apply to which case" table. Modes absent from both tables
# apply to every case.
_ONLY_FOR: dict[str, frozenset[str]] = {
    "class_imbalance_ignored": frozenset(
        {"harmful-content-detection", "ad-click-prediction", "fraud-detection", "spam-detection"}
    ),
    "single_stage_at_scale": frozenset(
        {
            "visual-search",
            "video-search",
            "video-recommendation",
            "event-recommendation",
            "similar-listings",
            "news-feed",
            "people-you-may-know",
            "product-search-ranking",
            "query-autocomplete",
        }
    ),
    "cold_start_ignored": frozenset(
        {
            "video-recommendation",
            "event-recommendation",
            "news-feed",
            "people-you-may-know",
            "ad-click-prediction",
            "similar-listings",
        }
    ),
}
_ALL_BUT: dict[str, frozenset[str]] = {
    "training_serving_skew": frozenset({"street-view-blurring"}),
    "feedback_loop_ignored": frozenset({"visual-search", "street-view-blurring", "eta-prediction"}),
}


def is_applicable(mode_id: str, case_id: str) -> bool:
    """Tell whether a failure mode applies to a case; raise ValueError on an unknown id."""
    if mode_id not in FAILURE_MODES:
        raise ValueError(f"unknown failure mode id: {mode_id!r}")
    if case_id not in CASE_IDS:
        raise ValueError(f"unknown case id: {case_id!r}")
    if mode_id in _ONLY_FOR:
        return case_id in _ONLY_FOR[mode_id]
    if mode_id in _ALL_BUT:
        return case_id not in _ALL_BUT[mode_id]
    return True


def applicable_failure_modes(case_id: str) -> list[str]:
    """Return the failure-mode ids that apply to a case, in the contract's order."""
    if case_id not in CASE_IDS:
        raise ValueError(f"unknown case id: {case_id!r}")
    return [mode for mode in FAILURE_MODES if is_applicable(mode, case_id)]
