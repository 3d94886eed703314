"""Plain-English phrasings the offline grader must read: fallbacks, framing, position bias, handing serving off."""

from __future__ import annotations

from typing import Any

import pytest

from agent.grading.analysis import analyse
from agent.grading.offline import grade_answer
from knowledge.corpus import load_corpus


def _kinds(case_id: str, text: str, embedder: Any) -> set[str]:
    a = analyse(load_corpus().case(case_id), text, embedder)
    return {f"{h.step}.{h.name}" for h in a.signals.hits}


@pytest.mark.parametrize(
    ("text", "kind", "present"),
    [
        ("If the reranker times out we return the ANN order rather than an error.", "serving.fallback", True),
        ("If the GPU pool is saturated we embed with a distilled CPU model.", "serving.fallback", True),
        ("The reranker is slow to train, so we keep it small.", "serving.fallback", False),
        ("Features describing the user and the ad go in, a click probability comes out.", "framing.input", True),
        ("Features describing the user and the ad go in, a click probability comes out.", "framing.output", True),
        (
            "Clicks near the top are inflated by position, so position is a training feature.",
            "monitoring.feedback_loop",
            True,
        ),
        ("Clicks are joined to impressions from the logs.", "monitoring.feedback_loop", False),
        ("Offline, the mean reciprocal rank of the suggestion that was picked.", "evaluation.offline_metric", True),
        (
            "First a logistic regression, then boosted trees: they find interactions that the linear model misses.",
            "communication.compare",
            True,
        ),
        ("Trees pick up interactions that the linear model misses.", "communication.compare", True),
        ("First a logistic regression, then boosted trees on the same features.", "communication.compare", False),
        (
            "Tiling over downscaling the whole panorama: downscaling wipes out small faces.",
            "communication.compare",
            True,
        ),
        ("In: panorama.", "framing.input", True),
        ("Out: boxes + class + score.", "framing.output", True),
        ("In production we log every request.", "framing.input", False),
        (
            "If the GPU scoring is overloaded, we serve the rule list so the page never comes back empty.",
            "serving.fallback",
            True,
        ),
        ("I'd send a small random sample of filtered mail to graders.", "monitoring.feedback_loop", True),
    ],
)
def test_signal_phrasings(text: str, kind: str, present: bool, embedder: Any) -> None:
    assert (kind in _kinds("product-search-ranking", text, embedder)) is present


def test_handing_serving_to_another_team_is_ignoring_it(embedder: Any) -> None:
    answer = (
        "Model: logistic regression as the baseline, then a multi-task network. Evaluation: AUC offline and an "
        "A/B test on sessions. How it actually runs in production I'd leave to the infra team, honestly; once the "
        "model is good they'll wrap it in a service, that's not really the ML part."
    )
    card = grade_answer(answer, "news-feed", embedder=embedder)
    assert "ignores_serving" in {f.id for f in card.failure_modes}


def test_a_heavy_model_over_every_one_of_millions_is_single_stage(embedder: Any) -> None:
    answer = (
        "Model: the baseline is the current trie. My model is a transformer that reads the prefix and scores every "
        "one of the 30 million suggestible queries on each keystroke, then we take the top 10."
    )
    card = grade_answer(answer, "query-autocomplete", embedder=embedder)
    assert "single_stage_at_scale" in {f.id for f in card.failure_modes}


@pytest.mark.parametrize(
    ("answer", "case_id", "mode", "present"),
    [
        (
            "Model: I'm not going to bother benchmarking against the old formula; it would burn a sprint. I'd go "
            "straight to a multi-task deep network with a shared bottom.",
            "news-feed",
            "no_baseline",
            True,
        ),
        (
            "Model: the old formula is the baseline to beat, then a multi-task deep network with a shared bottom.",
            "news-feed",
            "no_baseline",
            False,
        ),
        (
            "I don't want a separate candidate generation stage. So I'd run this ranker over all 50M recently "
            "watched videos for every homepage load. New users get a popularity list re-ranked by country.",
            "video-recommendation",
            "single_stage_at_scale",
            True,
        ),
        (
            "Online, a champion-challenger split where a random share of traffic is decided by the new model. "
            "Offline, train on older months and test on the latest month.",
            "fraud-detection",
            "data_leakage",
            False,
        ),
        (
            "Split the rows at random 80/10/10 after shuffling the whole year of payments.",
            "fraud-detection",
            "data_leakage",
            True,
        ),
    ],
)
def test_failure_mode_phrasings(answer: str, case_id: str, mode: str, present: bool, embedder: Any) -> None:
    card = grade_answer(answer, case_id, embedder=embedder)
    assert (mode in {f.id for f in card.failure_modes}) is present


def test_a_fronted_object_handed_to_another_team_is_dismissed() -> None:
    from agent.grading.text import split_sentences

    text = "How it gets deployed, the actual plumbing, I'd honestly leave to the search infrastructure folks."
    assert all(c.dismissed for s in split_sentences(text) for c in s.clauses)


def test_any_failure_mode_keeps_the_overall_below_strong_hire(embedder: Any) -> None:
    """Strong hire means no real gap: one missing fallback is enough to stay at lean_hire at most."""
    from agent.grading.offline import FLAWED_CAP

    answer = (
        "Requirements: 200 million daily users, 50 ms p99 for ranking 500 candidates, the goal is long-term watch "
        "time. Framing: the input is the user and a candidate video, the output a watch probability, the label is "
        "whether a shown video was watched for 30 s; pointwise ranking. Data: impression logs joined to watch "
        "events, split by time, negatives sampled per user, features from the feature store shared with serving. "
        "Model: popularity baseline, then two-tower retrieval and a boosted-tree ranker, chosen over a deep ranker "
        "because it is cheaper to serve. New videos get content embeddings and exploration slots. Evaluation: "
        "recall@100 and NDCG offline, then a two-week A/B test on watch time with guardrails. Serving: candidates "
        "from an ANN index, ranker on CPU within 50 ms. Monitoring: feature drift, calibration, daily retraining, "
        "and 1% exploration traffic against the feedback loop."
    )
    card = grade_answer(answer, "video-recommendation", embedder=embedder)
    assert [f.id for f in card.failure_modes] == ["no_fallback"]
    assert card.overall <= FLAWED_CAP and card.hire_signal == "lean_hire"
    with_fallback = grade_answer(
        answer + " If the ranker times out we serve the popularity list.", "video-recommendation", embedder=embedder
    )
    assert not with_fallback.failure_modes and with_fallback.overall > card.overall


def test_a_heavy_model_called_silly_is_not_walked_into(embedder: Any) -> None:
    card = grade_answer(
        "Model: candidates first, because scoring all billion members is silly; then a boosted-tree ranker.",
        "people-you-may-know",
        embedder=embedder,
    )
    assert "single_stage_at_scale" not in {f.id for f in card.failure_modes}


def test_a_cost_weighed_against_a_gain_is_a_trade_off(embedder: Any) -> None:
    answer = (
        "Model: a transformer over every candidate video. It's expensive, but I'd argue the quality gain justifies "
        "it. Serving: online on GPUs."
    )
    card = grade_answer(answer, "video-recommendation", embedder=embedder)
    assert "no_tradeoffs" not in {f.id for f in card.failure_modes}


def test_model_internals_are_not_a_data_plan_a_serving_plan_or_a_metric(embedder: Any) -> None:
    answer = (
        "Sparse features go through hashed embedding tables of 64 dimensions, sharded across parameter servers. "
        "Dense features go through a small MLP after log transform. Loss weights are learned with a learnable "
        "log-variance per task. Training: AdamW with warm-up, mixed precision, gradient clipping at 1.0."
    )
    found = {f.id for f in grade_answer(answer, "news-feed", embedder=embedder).failure_modes}
    assert {"no_data_plan", "ignores_serving", "no_offline_metrics"} <= found


@pytest.mark.parametrize(
    ("answer", "case_id", "mode", "present"),
    [
        (
            "I'd take gradient-boosted trees over a neural ranker because most of the signal is tabular.",
            "product-search-ranking",
            "no_tradeoffs",
            False,
        ),
        (
            "I considered a graph neural network, it captures structure, but training on 50 billion edges is heavy, "
            "so GBDT first.",
            "people-you-may-know",
            "no_tradeoffs",
            False,
        ),
        (
            "Shuffle at the search level and randomly hold out 10% of searches as the test set.",
            "product-search-ranking",
            "data_leakage",
            True,
        ),
        (
            "Training: a Spark job computes the counters. Serving is Go, so we rewrite the counters there.",
            "query-autocomplete",
            "training_serving_skew",
            True,
        ),
        (
            "Here's my view on candidate generation: a million events isn't that many, so I'd skip a retrieval "
            "stage entirely. Serving: each request scores all events in batches on GPUs.",
            "event-recommendation",
            "single_stage_at_scale",
            True,
        ),
        (
            "Whatever we rank high gets more registrations just from exposure, so a couple of slots are randomised.",
            "event-recommendation",
            "feedback_loop_ignored",
            False,
        ),
    ],
)
def test_more_failure_mode_phrasings(answer: str, case_id: str, mode: str, present: bool, embedder: Any) -> None:
    card = grade_answer(answer, case_id, embedder=embedder)
    assert (mode in {f.id for f in card.failure_modes}) is present


def test_a_reason_in_the_next_sentence_completes_a_trade_off(embedder: Any) -> None:
    with_reason = (
        "Model: I'd use tiles rather than one downscaled pass. Downscaling wipes out the small faces, which are most "
        "of them."
    )
    loose = "People often look at the keyboard rather than the screen. Suggestions at the wrong moment can be ignored."
    assert "no_tradeoffs" not in {f.id for f in grade_answer(with_reason, "street-view-blurring").failure_modes}
    assert "no_tradeoffs" in {f.id for f in grade_answer(loose, "query-autocomplete").failure_modes}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Why a graph over a per-order tabular model: delays travel.", "no_tradeoffs"),
        ("GNN embeddings could come later, but training one is a project of its own, so GBDT first.", "no_tradeoffs"),
        (
            "Because we only see reactions to posts we chose to show, the slot position is pinned.",
            "feedback_loop_ignored",
        ),
        (
            "The model decides what reviewers see, so a uniform-sample labelling stream breaks that.",
            "feedback_loop_ignored",
        ),
        ("Position goes in as a feature and is set to a fixed value when scoring.", "feedback_loop_ignored"),
    ],
)
def test_a_mode_is_answered_in_other_words(text: str, kind: str, embedder: Any) -> None:
    case = "news-feed" if kind == "feedback_loop_ignored" else "eta-prediction"
    assert kind not in {f.id for f in grade_answer(text, case, embedder=embedder).failure_modes}


@pytest.mark.parametrize(
    ("text", "dismissed", "kept"),
    [
        ("So I'd skip the offline scorecard and go straight to a two-week A/B test.", "offline", "a/b test"),
        (
            "I would not spend a cycle on the formula as a benchmark, nor on a gradient-boosted stepping stone.",
            "stepping stone",
            "",
        ),
        ("On deployment: that's really the ads infrastructure team's domain.", "infrastructure", ""),
        ("I'd resist fixing a retraining schedule up front.", "retraining", ""),
    ],
)
def test_dismissals_in_other_words(text: str, dismissed: str, kept: str) -> None:
    from agent.grading.text import split_sentences

    clauses = [c for s in split_sentences(text) for c in s.clauses]
    assert all(c.dismissed for c in clauses if dismissed in c.text)
    if kept:
        assert any(kept in c.text and not c.dismissed for c in clauses)


def test_a_degradation_paragraph_is_a_fallback_and_left_out_accuracy_is_not_used(embedder: Any) -> None:
    serving = (
        "Serving is online and in memory, 10 ms of tree scoring for 200 candidates. Degradation: missing user "
        "features means the ranker runs on popularity features only; a ranker timeout returns plain trie order."
    )
    assert "no_fallback" not in {
        f.id for f in grade_answer(serving, "query-autocomplete", embedder=embedder).failure_modes
    }
    evaluation = (
        "With positives at 0.3%, accuracy says nothing useful, so I leave it out entirely. Recall at 97% precision."
    )
    found = {f.id for f in grade_answer(evaluation, "harmful-content-detection", embedder=embedder).failure_modes}
    assert "metric_mismatch" not in found


@pytest.mark.parametrize(
    ("text", "kind", "present"),
    [
        (
            "When the scorer blows its latency budget, yesterday's cached list goes out instead.",
            "serving.fallback",
            True,
        ),
        ("If the re-ranker or the feature lookup times out we show the trending shelf.", "serving.fallback", True),
        ("Vision model times out -> keyword rules alone.", "serving.fallback", True),
        ("If our classifier is down, the upload waits in a queue for a human.", "serving.fallback", True),
        ("If the model is slow to converge we lower the learning rate.", "serving.fallback", False),
        ("The ranker is slow to train, so we use the smaller one.", "serving.fallback", False),
        ("Position enters in as a model feature during training only.", "monitoring.feedback_loop", True),
        (
            "Hot items get clicked just from being shown, so we randomise two slots for a sliver of users.",
            "monitoring.feedback_loop",
            True,
        ),
        ("Every week graders read a random sample of the spam folder.", "monitoring.feedback_loop", True),
        ("Slots are filled from the ranked list.", "monitoring.feedback_loop", False),
    ],
)
def test_more_signal_phrasings(text: str, kind: str, present: bool, embedder: Any) -> None:
    assert (kind in _kinds("news-feed", text, embedder)) is present


@pytest.mark.parametrize(
    "text",
    [
        "I looked at a cross-encoder, which reads both sides, but it is heavy at this volume, so trees.",
        "There are two options we keep weighing: nightly lists, which are cheaper, or scoring per request.",
        "Cross-attention keeps the interaction a bi-encoder throws away, which is why I prefer the cross-encoder.",
    ],
)
def test_trade_offs_in_other_words(text: str, embedder: Any) -> None:
    assert "no_tradeoffs" not in {f.id for f in grade_answer(text, "eta-prediction", embedder=embedder).failure_modes}


@pytest.mark.parametrize(
    "handoff",
    [
        "As for deployment, that goes to the platform team. They run low-latency services far better than I do.",
        "Shipping it: that's really the ads infrastructure team's domain, so they integrate the artifact.",
    ],
)
def test_a_hand_off_outweighs_incidental_serving_words(handoff: str, embedder: Any) -> None:
    design = (
        "We rank roughly 500 candidates per request with gradient-boosted trees on features from the feature store. "
        "Offline we compare log loss against the logistic baseline; online a two-week A/B test on click-through. "
    )
    modes = {f.id for f in grade_answer(design + handoff, "ad-click-prediction", embedder=embedder).failure_modes}
    assert "ignores_serving" in modes
    planned = (
        design + "Scoring runs online within a 50 ms budget; if the model times out, the last cached score is used."
    )
    modes = {
        f.id for f in grade_answer(planned + " " + handoff, "ad-click-prediction", embedder=embedder).failure_modes
    }
    assert "ignores_serving" not in modes and "no_fallback" not in modes


def test_a_funnel_narrowing_down_is_not_a_fallback(embedder: Any) -> None:
    text = "A cheap linear model cuts the pool down to about 300, and only those reach the big network."
    assert "serving.fallback" not in _kinds("news-feed", text, embedder)


def test_wanting_to_understand_the_scale_is_a_question(embedder: Any) -> None:
    text = "Next I'd like to understand inventory and traffic, since they decide the work per request."
    assert "requirements.question" in _kinds("ad-click-prediction", text, embedder)


@pytest.mark.parametrize(
    ("answer", "case_id", "mode", "present"),
    [
        (
            "We split by week and validate on the next one; a random split would let tomorrow leak in.",
            "news-feed",
            "data_leakage",
            False,
        ),
        ("I'd shuffle everything and take a random 80/10/10 split.", "news-feed", "data_leakage", True),
        (
            "Training draws on two years of moderator decisions, with upheld appeals as extra positives.",
            "harmful-content-detection",
            "data_leakage",
            False,
        ),
        (
            "Task: binary classification per comment, with a harm probability as output. Label: removed or not.",
            "harmful-content-detection",
            "vague_ml_framing",
            False,
        ),
        ("We judge success by paid bookings per weekly visitor.", "similar-listings", "no_business_objective", False),
    ],
)
def test_phrasings_seen_on_fresh_personas(answer: str, case_id: str, mode: str, present: bool, embedder: Any) -> None:
    modes = {f.id for f in grade_answer(answer, case_id, embedder=embedder).failure_modes}
    assert (mode in modes) is present


def test_taking_one_option_before_another_with_a_reason_is_a_trade_off(embedder: Any) -> None:
    text = "I'd use boosted trees before a deep ranker because a deep ranker over every candidate is too costly."
    assert "no_tradeoffs" not in {f.id for f in grade_answer(text, "eta-prediction", embedder=embedder).failure_modes}


@pytest.mark.parametrize(
    ("answer", "case_id", "mode", "present"),
    [
        (
            "Accuracy would look fine here and tell us nothing, so precision at a fixed recall it is.",
            "spam-detection",
            "metric_mismatch",
            False,
        ),
        (
            "People always suggest top-1 accuracy, but with eight slots that misses most of the picture.",
            "query-autocomplete",
            "metric_mismatch",
            False,
        ),
        (
            "baseline = todays popularity sort. then boosted trees. a deep net later maybe, its slower "
            "and we dont need it yet",
            "news-feed",
            "no_baseline",
            False,
        ),
        (
            "Trees over a deep net here because the features are tabular and they are easier to debug.",
            "eta-prediction",
            "no_tradeoffs",
            False,
        ),
        (
            "Trees find interactions on their own; the downside is they are slower to refresh than the linear model.",
            "ad-click-prediction",
            "no_tradeoffs",
            False,
        ),
        (
            "There are more negatives than positives because clicks are rare.",
            "ad-click-prediction",
            "no_tradeoffs",
            True,
        ),
        (
            "I pick LambdaMART and not a cross-encoder for now because the cross-encoder is too slow on CPU.",
            "video-search",
            "no_tradeoffs",
            False,
        ),
        (
            "Split by drive and capture date, not by image, because panoramas from one drive show the same people.",
            "street-view-blurring",
            "no_tradeoffs",
            False,
        ),
        (
            "The choice between one heavy stage and two stages is a latency call: the heavy one costs too much.",
            "news-feed",
            "no_tradeoffs",
            False,
        ),
        (
            "A cross network learns the crosses instead of hand-built ones, so the model finds them itself.",
            "ad-click-prediction",
            "no_tradeoffs",
            False,
        ),
        (
            "We log everything, not only clicks. The model is a GBDT.",
            "ad-click-prediction",
            "no_tradeoffs",
            True,
        ),
    ],
)
def test_plain_words_for_rejections_and_trade_offs(
    answer: str, case_id: str, mode: str, present: bool, embedder: Any
) -> None:
    modes = {f.id for f in grade_answer(answer, case_id, embedder=embedder).failure_modes}
    assert (mode in modes) is present


def test_model_internals_are_not_a_serving_plan_or_a_data_source(embedder: Any) -> None:
    answer = (
        "Twelve layers with eight attention heads sharing two key-value groups, which shrinks the "
        "key-value cache. "
        "Each id gets an embedding of 256 dimensions, hashed into buckets to keep the table bounded. "
        "Batch size 32k with gradient caching, because contrastive learning wants many negatives."
    )
    modes = {f.id for f in grade_answer(answer, "query-autocomplete", embedder=embedder).failure_modes}
    assert {"ignores_serving", "no_data_plan"} <= modes


def test_a_passing_deployment_line_does_not_save_a_model_first_answer(embedder: Any) -> None:
    answer = (
        "The encoder is 24 transformer layers with 16 attention heads and a hidden size of 1024. "
        "Pre-norm residual blocks, GELU activations, dropout 0.1, and rotary positional encodings. "
        "AdamW with a learning rate of 3e-4, warm-up over 2,000 steps, weight decay 0.05, batch size 4,096. "
        "I'd freeze the first eight layers and train the rest with layer-wise learning rate decay. "
        "For deployment I'd distil it into a six-layer student."
    )
    modes = {f.id for f in grade_answer(answer, "harmful-content-detection", embedder=embedder).failure_modes}
    assert "model_first" in modes


@pytest.mark.parametrize(
    ("text", "kind", "present"),
    [
        (
            "The ranker only learns from what it showed, so one slot in ten goes to a random eligible item.",
            "monitoring.feedback_loop",
            True,
        ),
        (
            "So the carousel does not keep reinforcing itself, one slot shows a random nearby listing.",
            "monitoring.feedback_loop",
            True,
        ),
        ("We push the batch to 32k with gradient caching over the first epoch.", "serving.cache", True),
        (
            "About 7 million listings and 100 ms for 12 results, correct me if I misheard.",
            "requirements.assumption",
            True,
        ),
    ],
)
def test_loop_and_assumption_phrasings(text: str, kind: str, present: bool, embedder: Any) -> None:
    assert (kind in _kinds("news-feed", text, embedder)) is present


def test_training_time_caching_is_not_a_serving_plan(embedder: Any) -> None:
    answer = "We push the batch to 32k with gradient caching over the first epoch, then fine-tune for two epochs."
    modes = {f.id for f in grade_answer(answer, "visual-search", embedder=embedder).failure_modes}
    assert "ignores_serving" in modes


def test_a_reason_two_sentences_after_the_options_completes_a_trade_off(embedder: Any) -> None:
    reached = (
        "For the model there are two options I keep weighing: retrain the logistic regression hourly, or move to a "
        "deep cross network. Where I land is the second one. Retraining more often would only fix staleness; the "
        "hand-built crosses are the ceiling."
    )
    cut = (
        "For the model there are two options I keep weighing: retrain the logistic regression hourly, or move to a "
        "deep cross network. Where I land is the second one. Features come from the logs. Retraining more often "
        "would only fix staleness."
    )
    case = "ad-click-prediction"
    assert "no_tradeoffs" not in {f.id for f in grade_answer(reached, case, embedder=embedder).failure_modes}
    assert "no_tradeoffs" in {f.id for f in grade_answer(cut, case, embedder=embedder).failure_modes}


@pytest.mark.parametrize(
    ("answer", "case_id", "mode", "present"),
    [
        (
            "Fraud is 0.1%, so I'd weight positives by about 100 in the loss. Model: GBDT.",
            "fraud-detection",
            "class_imbalance_ignored",
            False,
        ),
        (
            "Fraud gets a higher weight in the loss, scaled by amount. Model: GBDT.",
            "fraud-detection",
            "class_imbalance_ignored",
            False,
        ),
        (
            "Phishing is so rare that I'd upweight it in the loss. Model: GBDT.",
            "spam-detection",
            "class_imbalance_ignored",
            False,
        ),
        (
            "Labels are chargebacks. Model: GBDT on the payment features.",
            "fraud-detection",
            "class_imbalance_ignored",
            True,
        ),
        (
            "Split... I was going to say random, but no, campaigns cluster in time, so a random split puts the same "
            "campaign in train and test. Train on older days, test on the latest days.",
            "spam-detection",
            "data_leakage",
            False,
        ),
        ("I'd split the messages at random into train and test.", "spam-detection", "data_leakage", True),
        (
            "I nearly said accuracy, but with 94% legitimate mail it tells us little. Offline: recall at a fixed "
            "false-positive rate.",
            "spam-detection",
            "metric_mismatch",
            False,
        ),
    ],
)
def test_weighting_and_retractions(answer: str, case_id: str, mode: str, present: bool, embedder: Any) -> None:
    modes = {f.id for f in grade_answer(answer, case_id, embedder=embedder).failure_modes}
    assert (mode in modes) is present


def test_a_bare_data_title_gives_the_next_sentence_its_context(embedder: Any) -> None:
    titled = "Data. Rows come from the 1.2 billion historical orders with their timestamps."
    untitled = "Rows come from the 1.2 billion historical orders with their timestamps."
    assert "no_data_plan" not in {f.id for f in grade_answer(titled, "eta-prediction", embedder=embedder).failure_modes}
    assert "no_data_plan" in {f.id for f in grade_answer(untitled, "eta-prediction", embedder=embedder).failure_modes}


@pytest.mark.parametrize(
    ("answer", "mode"),
    [
        (
            "Model: LambdaMART over BM25 candidates. Deployment is really the MLOps folks' area; they have a standard "
            "way of putting a model behind an endpoint, so I'd hand them the file and they'd take it from there.",
            "ignores_serving",
        ),
        (
            "Evaluation: straight to the A/B test on revenue per search. Offline metrics on logged data don't "
            "correlate well with what users do, so I wouldn't spend time on them.",
            "no_offline_metrics",
        ),
    ],
)
def test_handing_off_or_skipping_a_step_in_other_words_is_a_gap(answer: str, mode: str, embedder: Any) -> None:
    modes = {f.id for f in grade_answer(answer, "product-search-ranking", embedder=embedder).failure_modes}
    assert mode in modes


@pytest.mark.parametrize(
    "evaluation",
    [
        "No A/B.",
        "An A/B test would take two weeks and I think the offline hit rate is convincing enough here.",
        "A two-week experiment mostly tells you that more similar results get more saves, which we already know, "
        "and it holds the launch back for very little information.",
    ],
)
def test_an_online_test_waved_away_is_no_online_metric(evaluation: str, embedder: Any) -> None:
    answer = f"Evaluation: offline, recall@10 and NDCG on held-out days. {evaluation}"
    modes = {f.id for f in grade_answer(answer, "visual-search", embedder=embedder).failure_modes}
    assert "no_online_metrics" in modes
    kept = {f.id for f in grade_answer(answer + " Then an A/B test on saves.", "visual-search").failure_modes}
    assert "no_online_metrics" not in kept


@pytest.mark.parametrize(
    ("monitoring", "answered"),
    [
        ("Train on older months and hold out the most recent weeks for testing.", False),
        ("A small holdout of users keeps seeing the unranked feed, so we can measure the loop.", True),
    ],
)
def test_a_held_out_test_period_is_not_a_traffic_holdout(monitoring: str, answered: bool, embedder: Any) -> None:
    answer = f"Model: two-tower retrieval and a GBDT ranker. {monitoring}"
    modes = {f.id for f in grade_answer(answer, "video-recommendation", embedder=embedder).failure_modes}
    assert ("feedback_loop_ignored" not in modes) is answered


@pytest.mark.parametrize(
    ("answer", "case_id", "mode"),
    [
        (  # a qualified "no A/B test", with production metrics, is not a dismissal
            "Evaluation: offline, recall on a labelled audit set. There's no A/B test in the usual sense, but there "
            "are production metrics: valid user blur requests per million panoramas and reviewer hours.",
            "street-view-blurring",
            "no_online_metrics",
        ),
        (  # letting a random slice of would-be declines through answers the fraud feedback loop
            "Model: GBDT on payment features. Because declined payments never produce a chargeback, I'd approve a "
            "tiny random slice of low-amount payments the model wanted to decline, so we still learn what it catches.",
            "fraud-detection",
            "feedback_loop_ignored",
        ),
    ],
)
def test_a_mode_answered_in_a_roundabout_way_is_not_found(answer: str, case_id: str, mode: str, embedder: Any) -> None:
    assert mode not in {f.id for f in grade_answer(answer, case_id, embedder=embedder).failure_modes}
