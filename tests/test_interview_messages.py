"""Message hygiene: keyword salad, acronyms, near-repeats (agent/interview/messages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.interview.engine import start, step
from agent.interview.messages import is_gibberish, repeats


@pytest.mark.parametrize(
    ("text", "gibberish"),
    [
        ("ad ad click 0000", True),
        ("click click click", True),
        ("model model data data", True),
        ("ctr ctr ctr 111", True),
        ("xkcd qwrtpl zxcvbnm", True),
        ("GBDT.", False),
        ("NDCG and MRR", False),
        ("logistic regression", False),
        ("no no, I meant GBDT", False),
        ("Two-tower, two-tower retrieval", False),
        ("ok", False),
    ],
)
def test_keyword_salad_is_noise_but_short_answers_and_acronyms_are_not(text: str, gibberish: bool) -> None:
    assert is_gibberish(text) is gibberish


def test_a_pasted_sentence_with_a_closer_added_is_a_repeat() -> None:
    earlier = ["300 million is a lot. I would predict click or no click with logistic regression."]
    assert repeats("I would predict click or no click with logistic regression. That's my answer.", earlier)
    assert not repeats("I would predict click with logistic regression, then move to a DCN.", earlier)
    assert not repeats("That's my answer.", earlier)  # nothing of four words or more: not a repeat by itself


def test_keyword_salad_mid_interview_is_redirected(embedder: Any) -> None:
    state, _ = start("ad-click-prediction", clock="turns", turn_budget=40, session_id="salad", now=0.0)
    state, _ = step(state, "How many users are there, and what latency do we have?", now=1.0, embedder=embedder)
    state, turn = step(state, "ad ad click 0000", now=2.0, embedder=embedder)
    assert state.turns[-2].move == "gibberish"
    assert turn.move == "redirect"


def test_an_acronym_side_keeps_its_capitals_in_a_tradeoff_question(embedder: Any) -> None:
    state, _ = start("ad-click-prediction", clock="turns", turn_budget=40, session_id="caps", now=0.0)
    state, _ = step(state, "How many users are there, and what latency do we have?", now=1.0, embedder=embedder)
    state, turn = step(state, "AUC and log loss", now=2.0, embedder=embedder)
    assert turn.move == "tradeoff"
    assert "aUC" not in turn.text and "AUC" in turn.text


def test_a_tradeoff_side_that_opens_with_a_verb_reads_as_an_activity(embedder: Any) -> None:
    """The title "Call the routing engine or precompute travel times" asks about "precomputing travel times"."""
    state, _ = start("eta-prediction", clock="turns", turn_budget=40, session_id="verb", now=0.0)
    messages = [
        "How many predictions per second at peak, and what latency?",
        "Serving: I'd call the routing engine for every ETA on the list page.",
        "OK.",
    ]
    for i, message in enumerate(messages, start=1):
        state, _ = step(state, message, now=float(i), embedder=embedder)
    text = " ".join(t.text for t in state.turns if t.role == "interviewer" and t.move == "tradeoff")
    assert "precomputing travel times" in text
    assert "precompute travel times" not in text


@pytest.mark.parametrize("ack", ["Sure.", "Got it, thanks!", "Makes sense.", "Yes."])
def test_a_bare_acknowledgement_is_not_called_off_topic(ack: str, embedder: Any) -> None:
    state, _ = start("eta-prediction", clock="turns", turn_budget=40, session_id="ack", now=0.0)
    for i, message in enumerate(["How many predictions per second at peak?", ack], start=1):
        state, turn = step(state, message, now=float(i), embedder=embedder)
    assert state.turns[-2].move != "off_topic"
    assert "keep to the design problem" not in turn.text.lower()
