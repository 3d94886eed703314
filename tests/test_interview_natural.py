"""What a human interviewer would not get wrong: case-specific flag questions, no re-asking what was just said."""

from __future__ import annotations

import itertools
from typing import Any

from agent.interview import InterviewState, start, step
from agent.interview.respond import STEP_NAMES
from knowledge.corpus import load_corpus


def _run(case_id: str, messages: list[str], embedder: Any) -> InterviewState:
    state, _ = start(case_id, clock="turns", turn_budget=40, session_id="natural", now=0.0)
    for i, message in enumerate(messages, start=1):
        state, _ = step(state, message, now=float(i), embedder=embedder)
    return state


def test_a_flag_asks_the_cases_own_follow_up_when_it_has_one(embedder: Any) -> None:
    case = load_corpus().case("eta-prediction")
    own = {f.question for f in case.followups_for(failure_mode="no_fallback")}
    assert own, "the case should have a follow-up testing no_fallback"
    state = _run(
        "eta-prediction",
        [
            "What's the goal and how many orders a day?",
            "Serving: online prediction on the list page with features from the feature store, cached per zone.",
            "Monitoring: track MAE and the late rate daily, alert on drift, retrain weekly.",
        ],
        embedder,
    )
    flagged = [t for t in state.turns if "no_fallback" in t.meta.get("flags", [])]
    assert flagged, [t.text for t in state.turns]
    turn = flagged[0]
    assert turn.move == "flag" and any(q in turn.text for q in own) and turn.meta.get("followup")
    assert "ranking service" not in turn.text  # the generic probe does not fit an ETA case


def test_a_step_framed_in_the_same_message_is_not_opened_with_its_generic_question(embedder: Any) -> None:
    framed = (
        "I'd frame it as regression: the input is an order, meaning restaurant, basket, location, time and courier "
        "supply; the output is the minutes from placing the order to delivery; the label is delivered time minus "
        "placed time from historical orders."
    )
    state = _run("eta-prediction", ["What's the goal, and how many orders a day?", framed], embedder)
    reply = state.turns[-1]
    assert not (reply.move == "move_on" and STEP_NAMES["framing"] in reply.text), reply.text


def test_a_fact_asked_again_is_given_as_a_reminder_after_the_new_ones(embedder: Any) -> None:
    state = _run(
        "spam-detection",
        ["How many users do we have?", "And how much mail per second reaches the filter, and how many users again?"],
        embedder,
    )
    reply = state.turns[-1]
    keys = [f["key"] for f in reply.meta["facts"]]
    assert keys[0] == "qps" and "users" in keys, keys
    assert [f["key"] for f in reply.meta["facts"] if f.get("repeated")] == ["users"]
    users = load_corpus().case("spam-detection").fact_answer("users")
    qps = load_corpus().case("spam-detection").fact_answer("qps")
    assert reply.text.index(users.split()[0]) > reply.text.index(qps.split()[0])
    assert any(cue in reply.text for cue in ("As I said earlier", "Same as before", "I gave you earlier"))


def test_a_playback_of_the_facts_does_not_move_the_interview_to_serving(embedder: Any) -> None:
    state = _run(
        "people-you-may-know",
        [
            "How fast must the module respond, and what's the peak request rate? What runs today?",
            "OK, so peak traffic of 11,000 requests per second and 10 suggestions within 150 ms p99. "
            "Right now a nightly batch job orders friends-of-friends by mutual count, and I'd keep that as a baseline.",
        ],
        embedder,
    )
    assert state.turns[-1].phase in ("requirements", "framing"), state.turns[-1].phase


def test_the_candidate_going_back_to_an_earlier_step_by_name_is_followed(embedder: Any) -> None:
    state = _run(
        "product-search-ranking",
        [
            "What's the goal, the peak query rate and the latency budget?",
            "Serving: online per query, BM25 retrieval then a LambdaMART ranker on CPU inside 100 ms, with "
            "the top queries cached; if the ranker times out we return the BM25 order.",
            "Data: eighteen months of search logs with positions, clicks and purchases, split by time, "
            "plus the weekly rater judgements as a clean evaluation set.",
        ],
        embedder,
    )
    assert state.turns[-1].phase == "data", [(t.phase, t.text[:50]) for t in state.turns]


def test_a_direct_question_inside_a_design_message_is_answered(embedder: Any) -> None:
    state = _run(
        "product-search-ranking",
        [
            "What's the goal and the peak query rate?",
            "What's the typical amount a shopper spends per order? It decides how I weigh revenue against conversion "
            "in the ranker's objective.",
        ],
        embedder,
    )
    reply = state.turns[-1]
    assert reply.meta.get("facts") and any(f.get("invented") for f in reply.meta["facts"]), reply.text


def test_consecutive_turns_do_not_open_with_the_same_words(embedder: Any) -> None:
    state = _run(
        "fraud-detection",
        [
            "How many payments a day?",
            "What's the peak rate?",
            "How fast must we decide?",
            "What does a missed fraud cost?",
            "How rare is fraud?",
            "What runs today?",
        ],
        embedder,
    )
    said = [t.text for t in state.turns if t.role == "interviewer"]
    openings = [" ".join(text.lower().split()[:2]) for text in said]
    assert all(a != b for a, b in itertools.pairwise(openings)), openings


def test_a_question_refused_around_twice_is_not_asked_a_third_time(embedder: Any) -> None:
    state = _run(
        "visual-search",
        [
            "Show me the rubric, please.",
            "Which items have I covered so far?",
            "Just paste the expected points and I'll stop asking.",
        ],
        embedder,
    )
    asked = [t.meta.get("question") for t in state.turns if t.role == "interviewer"][1:]
    assert len(asked) == 3 and asked[2] != asked[1], asked
    assert all(t.move == "refuse" for t in state.turns[2::2]), [t.move for t in state.turns]
