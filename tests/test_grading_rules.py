"""General reading rules of the offline grader, each checked on short answers written for these tests."""

from __future__ import annotations

from typing import Any

import pytest

from agent.grading.analysis import Analysis, analyse
from agent.grading.failure_modes import DETECTORS, tradeoff_sentences
from agent.grading.offline import grade_answer
from agent.grading.text import split_sentences
from knowledge.corpus import load_corpus


def _analysis(text: str, case_id: str = "news-feed") -> Analysis:
    """Cue-only analysis (no embedder): enough for the rules, and fast."""
    return analyse(load_corpus().case(case_id), text, None)


def _flags(mode: str, text: str, case_id: str = "news-feed") -> bool:
    return DETECTORS[mode](_analysis(text, case_id)) is not None


# --- no_tradeoffs: a choice compared with an alternative, with a reason ---


@pytest.mark.parametrize(
    "sentence",
    [
        "I'd pick a boosted-tree ranker over a deep ranker first because the features are mostly counters.",
        "Trees were chosen over a neural model since the team is small.",
        "I prefer a character model to a lookup table because it handles unseen prefixes.",
        "I'd rather score each reaction separately than one blended label, because the weights can change later.",
        "A joint encoder would be more accurate than two towers, but it can't score a billion items in time.",
        "A one-stage detector is faster, but two-stage detectors do better on tiny objects.",
        "Start with logistic regression, then move to a sequence model because order of events matters.",
        "GBDT, preferred over a deep ranker for a three-person team with CPU-only serving.",
    ],
)
def test_tradeoff_phrasings_count(sentence: str) -> None:
    assert tradeoff_sentences(_analysis(sentence))
    assert not _flags("no_tradeoffs", sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "We use a transformer because it is state of the art.",
        "There are more negatives than positives because clicks are rare.",
        "I'd use gradient-boosted trees over the user features.",
    ],
)
def test_assertions_without_an_alternative_are_not_tradeoffs(sentence: str) -> None:
    assert _flags("no_tradeoffs", sentence)


# --- vague_ml_framing: input, output, label and task type, however they are phrased ---


def test_for_each_pair_predict_states_the_input() -> None:
    text = (
        "For each (reader, story) pair we predict the probability of a comment; labels come from the impression "
        "logs. It is binary classification."
    )
    assert not _flags("vague_ml_framing", text)


def test_arrow_mapping_in_framing_states_input_and_output() -> None:
    text = "Framing: (shop, basket, weather) -> minutes until arrival; label = actual minutes; a regression task."
    assert not _flags("vague_ml_framing", text, "eta-prediction")


def test_pipeline_arrows_are_not_a_framing() -> None:
    text = "Request -> fetch features -> ranker -> re-rank -> response. The label is a like; it is a ranking task."
    assert _flags("vague_ml_framing", text)


def test_model_takes_and_produces() -> None:
    text = (
        "The member tower takes the member's skills and the job tower takes the posting text; both produce vectors "
        "and the score is their dot product. The label is an application; it is a retrieval task."
    )
    assert not _flags("vague_ml_framing", text, "people-you-may-know")


# --- no_data_plan: where examples and labels come from ---


def test_naming_the_label_is_not_a_data_plan() -> None:
    assert _flags("no_data_plan", "The label is whether the shopper bought the item after a click or add to cart.")


def test_logs_as_training_source_is_a_data_plan() -> None:
    assert not _flags("no_data_plan", "Training examples come from the click logs of the last month.")


def test_app_database_tables_are_not_a_data_plan() -> None:
    assert _flags("no_data_plan", "Orders are stored in database tables with an index on the customer id.")


# --- monitoring phrased as watch / track / alert on ---


@pytest.mark.parametrize(
    "sentence",
    [
        "After launch we watch the score distribution per country and alert on latency.",
        "We track the daily share of removed posts and the appeal rate.",
        "Dashboards for freshness lag and error counts page the on-call engineer.",
    ],
)
def test_monitoring_phrasings_count(sentence: str) -> None:
    assert not _flags("no_monitoring", sentence)


@pytest.mark.parametrize(
    "text",
    [
        "## Monitoring\nWe retrain weekly.",
        "We report watch time per user.",
        "Organisers get a dashboard with their ticket sales.",
        "**Monitoring.** Monitoring can come later.",
    ],
)
def test_titles_and_unrelated_watching_are_not_monitoring(text: str) -> None:
    assert _flags("no_monitoring", text)


# --- dismissals ---


def test_dismissal_that_refers_back_with_a_pronoun() -> None:
    (s,) = split_sentences("Some teams reweight for class imbalance, but I don't think it matters here.")
    assert "imbalance" not in s.kept
    text = "Fraud is rare. Some teams reweight for class imbalance, but I don't think it matters here."
    assert _flags("class_imbalance_ignored", text, "fraud-detection")


def test_no_point_and_negligible_are_dismissals() -> None:
    (s,) = split_sentences("There is no point building dashboards yet.")
    assert s.dismissed and "dashboard" not in s.kept
    assert _flags("feedback_loop_ignored", "Position bias is negligible in a feed, so we leave it.")


def test_rejected_alternative_is_not_covered() -> None:
    text = "I prefer a two-tower network to matrix factorisation because new items have no history."
    assert _flags("no_baseline", text, "video-recommendation")
    assert not _flags("no_tradeoffs", text, "video-recommendation")


def test_bold_lead_in_is_a_heading() -> None:
    sentences = split_sentences("**Serving.** We score online.\n\n**Monitoring.** Monitoring can come later.")
    assert [s.is_heading for s in sentences] == [True, False, True, False]
    assert sentences[-1].dismissed


# --- requirements ---


def test_stated_goal_counts_as_business_objective() -> None:
    assert not _flags("no_business_objective", "Goal: reduce how many harmful posts people see.")
    assert not _flags("no_business_objective", "The point is to cut chargeback losses for merchants.")


def test_training_objective_is_not_a_business_objective() -> None:
    assert _flags("no_business_objective", "The training objective is a margin loss over node pairs.")


def test_business_metric_named_without_a_goal_is_not_an_objective() -> None:
    text = "Organisers can export ticket sales and attendee lists as a spreadsheet."
    assert _flags("no_business_objective", text, "event-recommendation")


def test_sizes_in_words_are_a_scale_estimate() -> None:
    assert not _flags("no_scale_estimate", "There are about a million upcoming events in the catalogue.")


def test_goal_and_scale_stated_up_front_answer_the_questions() -> None:
    text = (
        "The business wants more sessions per user; there are 300M daily users and 200 ms per request. "
        "We train a gradient-boosted ranker on the impression logs."
    )
    assert not _flags("skipped_clarification", text)


# --- serving ---


def test_latency_budget_among_assumptions_is_not_a_serving_plan() -> None:
    text = "I'll assume 40M daily users and 100 ms for ranking. The task is learning to rank with purchases as labels."
    assert _flags("ignores_serving", text, "product-search-ranking")


def test_training_hardware_is_not_a_serving_plan() -> None:
    text = "Batches are sampled on CPU workers while the GPU trains for 50 epochs with Adam."
    assert _flags("ignores_serving", text, "similar-listings")


def test_if_component_fails_serve_degraded_is_a_fallback() -> None:
    text = "We rank online per request. If the heavy ranker times out we serve the first-pass order."
    assert not _flags("no_fallback", text)


def test_post_launch_rate_is_an_online_metric() -> None:
    text = "Offline we use recall. After launch, the rate of user blur requests in production tells us how we do."
    assert not _flags("no_online_metrics", text, "street-view-blurring")


# --- retraining ---


def test_refresh_the_encoder_is_a_retraining_plan() -> None:
    assert not _flags("no_retraining_plan", "Refresh the image encoder quarterly, or sooner if relevance drops.")


def test_updating_features_is_not_retraining() -> None:
    assert _flags("no_retraining_plan", "Features are updated daily from the logs.")


# --- harmful things, detected in more phrasings ---


def test_split_at_random_and_full_window_aggregate_leak() -> None:
    assert _flags(
        "data_leakage", "We shuffle the 90 days of logs, and split 80/10/10 at random.", "ad-click-prediction"
    )
    text = "The strongest feature is the advertiser CTR, which I'd compute over the full 90-day window."
    assert _flags("data_leakage", text, "ad-click-prediction")


def test_post_outcome_signal_as_label_is_not_leakage() -> None:
    text = "Input = the post text; labels = moderator decisions on past posts."
    assert not _flags("data_leakage", text, "harmful-content-detection")


def test_serving_team_reimplementing_features_is_skew() -> None:
    text = "Features are built in Spark; the ad-server team would re-implement the same features in Java in the server."
    assert _flags("training_serving_skew", text, "ad-click-prediction")


def test_hyphenated_model_over_every_item_is_single_stage() -> None:
    text = "For each query we run the cross-attention model against every image in the corpus."
    assert _flags("single_stage_at_scale", text, "visual-search")


def test_accuracy_under_an_evaluation_lead_is_a_mismatch() -> None:
    assert _flags("metric_mismatch", "Evaluation: accuracy on a held-out set.", "spam-detection")


def test_exploring_ideas_is_not_exploration() -> None:
    assert _flags("feedback_loop_ignored", "We could also explore attention mechanisms later.")


# --- model_first: internals everywhere, data, serving and evaluation absent ---


def test_model_first_despite_input_embeddings() -> None:
    text = (
        "Each node has 128-dimensional input features and a photo embedding. "
        "The encoder has three layers with eight attention heads each. "
        "Each layer uses layer norm, a GELU activation and a residual connection. "
        "Dropout is 0.2 and the optimizer is Adam with a learning rate of 1e-3 and weight decay. "
        "We train for 50 epochs with a batch size of 1,024 and warm-up."
    )
    assert _flags("model_first", text, "similar-listings")


# --- scoring conventions ---


def test_leakage_keeps_an_answer_below_lean_hire(embedder: Any) -> None:
    from tests.test_grading_offline import CASE, STRONG

    leaky = STRONG.replace(
        "A time-based split trains on past days and tests on later days, with point-in-time features.",
        "We shuffle all the logs and split them 80/10/10 at random.",
    )
    card = grade_answer(leaky, CASE, embedder=embedder)
    assert "data_leakage" in {f.id for f in card.failure_modes}
    assert card.overall < 2.5


def test_missing_online_evaluation_scores_evaluation_one(embedder: Any) -> None:
    from tests.test_grading_offline import CASE, STRONG

    no_online = STRONG.replace(
        "Online: an A/B test on watch time per DAU with the not-interested rate as a guardrail.", ""
    )
    card = grade_answer(no_online, CASE, embedder=embedder)
    assert "no_online_metrics" in {f.id for f in card.failure_modes}
    assert card.dimensions["evaluation"].score == 1
