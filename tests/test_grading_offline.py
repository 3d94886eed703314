"""The offline grader: ordering of strong and weak answers, failure modes, levels and the contract shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.grading.offline import GradingInputError, grade_answer
from agent.grading.scorecard import Scorecard, hire_signal_for
from knowledge.ids import DIMENSIONS, FAILURE_MODES, applicable_failure_modes

CASE = "video-recommendation"

STRONG = """
# Requirements
Before designing, I'd ask whether the goal is watch time or clicks. I'll assume the business goal is watch time
per user and 7-day retention, because clickbait inflates CTR.
Scale: about 200 million DAU, 1 billion videos, 35,000 QPS at peak and a 200 ms p99 latency budget.
Constraints: diversity per channel, safety, privacy for children, and 8% of users are new.

# Framing
Input: the user, the context and a candidate video. Output: a ranked list of the top 20 videos.
Label: a watch longer than 30 seconds. Task type: retrieval followed by pointwise ranking.

# Data
Examples come from impression logs and watch logs; negatives are skipped impressions.
User features, video features and context features, static and dynamic.
A time-based split trains on past days and tests on later days, with point-in-time features.
A feature store serves the same features for training and serving.

# Modeling
The baseline is popularity by country, which every model must beat.
Candidate generation uses a dual encoder with an ANN index to cut the catalogue to 500 videos, then a GBDT ranker.
I prefer the dual encoder over matrix factorisation because it embeds fresh uploads from content, at the cost of
more infrastructure.
New videos get content embeddings and an exploration boost; new users get popular-in-region videos.

# Evaluation
Offline: recall@k for retrieval and NDCG for ranking on a later week.
Online: an A/B test on watch time per DAU with the not-interested rate as a guardrail.

# Serving
Online inference at request time instead of nightly batch, since the session changes what is relevant.
Embeddings are precomputed; the request path is candidate sources, feature fetch, ranker, re-ranker in 200 ms.
If the ranker times out we fall back to a cached trending homepage.

# Monitoring
We monitor feature drift, prediction drift, latency and errors with alerts.
The ranker is retrained daily and retrieval weekly.
Position bias and the feedback loop are handled with exploration traffic and propensity weighting.
In summary, the main risks are the feedback loop and the latency budget.
"""

WEAK = "I would use a deep transformer to recommend videos. We train it on our dataset and measure accuracy."

MIDDLING = """We frame this as ranking: given a user, predict the probability they click a video.
We use click logs from the past month. We train a two-tower network. We evaluate with AUC and run an A/B test.
The model is deployed behind an API with autoscaling. We monitor it and retrain weekly."""


@pytest.fixture(scope="module")
def strong(embedder: Any) -> Scorecard:
    """The strong answer, graded once."""
    return grade_answer(STRONG, CASE, embedder=embedder)


def _ids(card: Scorecard) -> set[str]:
    return {f.id for f in card.failure_modes}


def test_strong_beats_weak(strong: Scorecard, embedder: Any) -> None:
    weak = grade_answer(WEAK, CASE, embedder=embedder)
    middling = grade_answer(MIDDLING, CASE, embedder=embedder)
    assert strong.overall > middling.overall > weak.overall
    assert strong.hire_signal in ("lean_hire", "strong_hire")
    assert weak.hire_signal == "strong_no_hire"
    assert all(strong.dimensions[d].score >= weak.dimensions[d].score for d in DIMENSIONS)


def test_strong_has_no_major_failure_and_quotes_evidence(strong: Scorecard) -> None:
    assert not _ids(strong) & {"no_baseline", "ignores_serving", "no_offline_metrics", "no_online_metrics"}
    for dim in DIMENSIONS:
        for quote in strong.dimensions[dim].evidence:
            assert " ".join(quote.rstrip("…").split()[:4]) in " ".join(STRONG.split())


def test_synonym_covers_point(strong: Scorecard) -> None:
    # The case lists "dual encoder" among the cues of its funnel point; the answer never says two-tower.
    assert "multi stage funnel" not in strong.dimensions["modeling"].missing
    assert "single_stage_at_scale" not in _ids(strong)


def test_dismissed_baseline_does_not_cover(embedder: Any) -> None:
    answer = STRONG.replace(
        "The baseline is popularity by country, which every model must beat.",
        "We don't need a baseline, heuristics won't be good enough.",
    ).replace("then a GBDT ranker", "then a deep ranker")
    card = grade_answer(answer, CASE, embedder=embedder)
    assert "no_baseline" in _ids(card)
    assert card.hire_signal in ("strong_no_hire", "lean_no_hire")


def test_dismissed_ab_test_does_not_cover(embedder: Any) -> None:
    answer = STRONG.replace(
        "Online: an A/B test on watch time per DAU with the not-interested rate as a guardrail.",
        "We don't need A/B tests, they are slow.",
    )
    assert "no_online_metrics" in _ids(grade_answer(answer, CASE, embedder=embedder))


def test_ignores_serving_implies_no_fallback(embedder: Any) -> None:
    card = grade_answer(WEAK.replace(" and measure accuracy", ""), CASE, embedder=embedder)
    assert {"ignores_serving", "no_fallback"} <= _ids(card)
    assert card.dimensions["serving"].score == 1


def test_autoscaling_is_not_a_fallback(embedder: Any) -> None:
    card = grade_answer(MIDDLING, CASE, embedder=embedder)
    assert "ignores_serving" not in _ids(card)
    assert "no_fallback" in _ids(card)


def test_harmful_things_flagged_only_when_done(embedder: Any) -> None:
    silent = grade_answer(MIDDLING, "fraud-detection", embedder=embedder)
    assert not _ids(silent) & {"data_leakage", "training_serving_skew", "metric_mismatch"}
    harmful = MIDDLING + (
        " We randomly shuffle all payments and split them 80/10/10. The main metric is accuracy."
        " The backend team re-implements the features in the online service."
    )
    card = grade_answer(harmful, "fraud-detection", embedder=embedder)
    assert {"data_leakage", "metric_mismatch", "training_serving_skew"} <= _ids(card)
    avoided = MIDDLING + " We never use a random split; accuracy is misleading here."
    assert not _ids(grade_answer(avoided, "fraud-detection", embedder=embedder)) & {"data_leakage", "metric_mismatch"}


def test_scale_number_kills_no_scale_estimate(embedder: Any) -> None:
    assert "no_scale_estimate" in _ids(grade_answer(WEAK, CASE, embedder=embedder))
    assert "no_scale_estimate" not in _ids(grade_answer(WEAK + " We have 50 million users.", CASE, embedder=embedder))


def test_single_stage_only_when_done(embedder: Any) -> None:
    card = grade_answer(WEAK + " For each user we score every video with the transformer.", CASE, embedder=embedder)
    assert "single_stage_at_scale" in _ids(card)
    assert "single_stage_at_scale" not in _ids(grade_answer(WEAK, CASE, embedder=embedder))


@pytest.mark.parametrize("case_id", ["street-view-blurring", "eta-prediction", "visual-search"])
def test_inapplicable_modes_never_reported(case_id: str, embedder: Any) -> None:
    card = grade_answer(
        WEAK + " For each image we score every item. Accuracy is the metric.", case_id, embedder=embedder
    )
    assert _ids(card) <= set(applicable_failure_modes(case_id))
    assert all(f.source == f"knowledge/failure_modes/{f.id}.md" for f in card.failure_modes)


def test_level_shifts_expectations(embedder: Any) -> None:
    mid = grade_answer(MIDDLING, CASE, "mid", embedder=embedder)
    staff = grade_answer(MIDDLING, CASE, "staff", embedder=embedder)
    assert staff.overall < mid.overall


def test_scorecard_json_matches_contract(strong: Scorecard) -> None:
    data = json.loads(strong.to_json())
    assert {"case_id", "level", "overall", "hire_signal", "dimensions", "failure_modes", "summary"} <= set(data)
    assert list(data["dimensions"]) == list(DIMENSIONS)
    for dim in data["dimensions"].values():
        assert set(dim) == {"score", "evidence", "missing"} and 1 <= dim["score"] <= 4
    for f in data["failure_modes"]:
        assert set(f) == {"id", "step", "evidence", "source"} and FAILURE_MODES[f["id"]] == f["step"]
    assert data["hire_signal"] == hire_signal_for(data["overall"])
    assert 1.0 <= data["overall"] <= 4.0 and round(data["overall"], 2) == data["overall"]
    assert 2 <= data["summary"].count(".") <= 4
    Scorecard.model_validate(data)


def test_hire_signal_thresholds() -> None:
    assert [hire_signal_for(x) for x in (1.0, 1.74, 1.75, 2.49, 2.5, 3.24, 3.25, 4.0)] == [
        "strong_no_hire",
        "strong_no_hire",
        "lean_no_hire",
        "lean_no_hire",
        "lean_hire",
        "lean_hire",
        "strong_hire",
        "strong_hire",
    ]


def test_deterministic(embedder: Any) -> None:
    assert grade_answer(MIDDLING, CASE, embedder=embedder) == grade_answer(MIDDLING, CASE, embedder=embedder)


@pytest.mark.parametrize(
    ("answer", "case_id", "level", "fragment"),
    [
        ("   \n\t", CASE, "senior", "empty"),
        ("an answer", "nope", "senior", "unknown case id 'nope'"),
        ("an answer", CASE, "cto", "unknown level 'cto'"),
    ],
)
def test_bad_input(answer: str, case_id: str, level: str, fragment: str, embedder: Any) -> None:
    with pytest.raises(GradingInputError, match=fragment) as info:
        grade_answer(answer, case_id, level, embedder=embedder)
    assert "\n" not in str(info.value)


def test_huge_and_binary_answers_do_not_crash(embedder: Any) -> None:
    card = grade_answer((MIDDLING + "\x00\x07\x1b ") * 400, CASE, embedder=embedder)
    assert any("truncated" in n for n in card.notes)
    assert any("control" in n for n in card.notes)
