"""The interviewer goes back to steps a candidate jumped over instead of flagging them, and the grader takes
what the conversation settles as input (not as an after-the-fact edit of its scorecard)."""

from __future__ import annotations

from typing import Any

from agent.grading.offline import grade_answer
from agent.interview import InterviewState, finish, start, step

CASE = "news-feed"
OUT_OF_ORDER = [
    "What's the goal, and how many people use the feed each day?",
    "Framing: multi-task ranking. Input is the user, the post and the context; outputs are probabilities of like, "
    "comment and share; labels are the logged interactions. Each head is a binary classifier.",
    "Data: impression logs with position and what the user did, split by time, negatives downsampled per task.",
    "Model: the hand-tuned score is the baseline, then logistic regression per task, then a multi-task network.",
    "Monitoring: I'd watch calibration and score drift per head, alert on engagement dashboards, and retrain daily "
    "on the latest logs. The feed shapes what gets engagement, so I'd keep a small randomised slice to limit the "
    "feedback loop.",
]


def _run(messages: list[str], embedder: Any, budget: int = 40) -> InterviewState:
    state, _ = start(CASE, clock="turns", turn_budget=budget, session_id="out-of-order", now=0.0)
    for i, message in enumerate(messages, start=1):
        state, _ = step(state, message, now=float(i), embedder=embedder)
    return state


def test_a_jumped_over_step_is_asked_about_before_it_is_flagged(embedder: Any) -> None:
    state = _run([*OUT_OF_ORDER, "Monitoring again: dashboards on engagement and alerts on drift."], embedder)
    back = next(i for i, t in enumerate(state.turns) if t.meta.get("went_back"))
    assert state.turns[back].meta["went_back"] in ("evaluation", "serving")
    assert state.turns[back].move == "move_on" and "?" in state.turns[back].text
    before = {f.id for f in state.flags if f.turn < back}
    assert not before & {"no_offline_metrics", "no_online_metrics", "ignores_serving", "no_fallback"}
    assert not state.finished


def test_gone_back_once_then_the_gap_is_named(embedder: Any) -> None:
    """A candidate who never takes up the skipped steps hears the gaps by the end; no loop of going back."""
    messages = [*OUT_OF_ORDER, *["Monitoring again: dashboards on engagement and alerts on drift."] * 4]
    state = finish(_run(messages, embedder), embedder=embedder)
    went_back = [t.meta["went_back"] for t in state.turns if t.meta.get("went_back")]
    assert len(went_back) == len(set(went_back)), went_back
    assert {"no_online_metrics", "ignores_serving"} <= set(state.flagged())


def test_the_grader_neither_reports_nor_caps_a_settled_mode(embedder: Any) -> None:
    answer = (
        "Model: a logistic regression baseline, then a multi-task network on user, post and context features. "
        "Evaluation: AUC per head offline and a two-week A/B test on daily sessions. Serving: score 300 candidates "
        "per request within 200 ms, with the hand-tuned ranking as a fallback. Monitoring: drift and retraining."
    )
    plain = grade_answer(answer, CASE, embedder=embedder)
    assert "no_tradeoffs" in {f.id for f in plain.failure_modes}
    settled = grade_answer(answer, CASE, embedder=embedder, settled={"no_tradeoffs"})
    assert "no_tradeoffs" not in {f.id for f in settled.failure_modes}
    assert settled.dimensions["communication"].score > plain.dimensions["communication"].score
    assert any("no_tradeoffs" in note for note in settled.notes)
    assert settled.overall >= plain.overall


def test_a_model_named_while_still_asking_is_not_yet_a_missing_baseline(embedder: Any) -> None:
    asking = "I'm thinking a transformer over the user's history for this. How many posts are eligible per load?"
    state = _run([asking], embedder)
    assert "no_baseline" not in state.flagged()
    baseline = "Model: the hand-tuned score is my baseline to beat, then the transformer over the history."
    assert "no_baseline" not in _run([asking, baseline], embedder).flagged()
    no_baseline = "Model: a transformer over the user's history, with attention over the last 500 posts."
    assert "no_baseline" in _run([asking, no_baseline], embedder).flagged()


def test_asking_before_designing_settles_skipped_clarification(embedder: Any) -> None:
    design = "Model: a logistic regression baseline, then a multi-task network over user, post and context features."
    asked_first = finish(_run(["How many people use the feed every day?", design], embedder), embedder=embedder)
    assert "skipped_clarification" not in {f.id for f in asked_first.scorecard.failure_modes}  # type: ignore[union-attr]
    assert "skipped_clarification" not in asked_first.flagged()
    designed_first = finish(_run([design, "How many people use the feed every day?"], embedder), embedder=embedder)
    assert "skipped_clarification" in designed_first.flagged()
