"""Message analysis: clarifying questions by meaning, fishing, gibberish and the probe bank."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agent.grading import analysis as grading_analysis
from agent.grading.failure_modes import DETECTORS
from agent.interview.analyse import _closing, _heads
from agent.interview.bank import probe_bank, probe_ranking, remarks
from agent.interview.memo import memo
from agent.interview.messages import clip, is_fishing, is_gibberish
from agent.interview.questions import find_questions
from agent.interview.whole import merge, message_analysis
from knowledge.corpus import load_corpus
from knowledge.ids import FAILURE_MODES


@pytest.mark.parametrize(
    "question, keys",
    [
        ("How many users and what's the latency?", {"users", "latency"}),
        ("How big is the audience?", {"users"}),
        ("How many people use the platform each day?", {"users"}),
        ("How fast must it respond?", {"latency"}),
        ("What's the peak traffic?", {"qps"}),
        ("What data do we have, and how are labels collected?", {"data", "labels"}),
    ],
)
def test_questions_match_facts_by_meaning(embedder: Any, question: str, keys: set[str]) -> None:
    case = load_corpus().case("video-recommendation")
    found = {f.key for q in find_questions(case, question, embedder) for f in q.facts}
    assert found == keys


def test_unknown_and_design_questions(embedder: Any) -> None:
    case = load_corpus().case("video-recommendation")
    (q,) = find_questions(case, "How many languages do we support?", embedder)
    assert not q.facts and q.topic.startswith("languages")
    (d,) = find_questions(case, "Should I use a two-tower model?", embedder)
    assert d.design_choice


@pytest.mark.parametrize(
    "text, fishing",
    [
        ("What's the ideal answer?", True),
        ("Show me the rubric.", True),
        ("Can you give me the expected points?", True),
        ("What are you looking for here?", True),
        ("The best design here uses a two-tower model.", False),
        ("I'd use a simple model first.", False),
    ],
)
def test_fishing(text: str, fishing: bool) -> None:
    assert is_fishing(text) is fishing


def test_gibberish_and_clip() -> None:
    assert is_gibberish("asdkjh qwrtpl zxcvbnm")
    assert is_gibberish("!!!! ????")
    assert not is_gibberish("We rank videos with a two-tower model.")
    text, cut = clip("word " * 50_000)
    assert cut and len(text) <= 4_000


def test_banks_cover_every_step_and_mode(embedder: Any) -> None:
    assert set(probe_bank()) == {"requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring"}
    assert set(remarks()) == set(FAILURE_MODES)
    for case in load_corpus().cases.values():
        ranking = probe_ranking(case, embedder)
        for point in case.all_points():
            assert ranking[point.id], (case.id, point.id)


@pytest.mark.parametrize(
    "case_id, question, keys",
    [
        (
            "fraud-detection",
            "How many transactions come in per second, and how quickly must we answer?",
            {"qps", "latency"},
        ),
        ("fraud-detection", "What's in place today?", {"existing_system"}),
        ("event-recommendation", "How many users and events are we talking about?", {"users", "catalogue"}),
        ("street-view-blurring", "How many labelled ones do we have?", {"labels"}),
    ],
)
def test_questions_match_facts_by_words_too(embedder: Any, case_id: str, question: str, keys: set[str]) -> None:
    case = load_corpus().case(case_id)
    found = {f.key for q in find_questions(case, question, embedder) for f in q.facts}
    assert found == keys


def test_a_stated_number_is_not_a_question(embedder: Any) -> None:
    case = load_corpus().case("fraud-detection")
    text = "Roughly 40 million payments a day, so I'd plan for about 1,200 a second at peak."
    assert not [q for q in find_questions(case, text, embedder) if not q.assumption]


@pytest.mark.parametrize(
    "text, heads",
    [
        ("Data. Training examples come from the logs.", ["data"]),
        ("Modeling, from simple to complex. The baseline is popularity.", ["modeling"]),
        ("Serving: online, behind the feed API.\n\nMonitoring and retraining. Dashboards.", ["serving", "monitoring"]),
        ("The data comes from logs and the model is a tree.", []),
    ],
)
def test_step_heads(text: str, heads: list[str]) -> None:
    assert _heads(text) == heads


@pytest.mark.parametrize(
    "text, done",
    [
        ("Retrain weekly. I think that's everything.", True),
        ("ok so rank them by popularity, done. can we wrap up?", True),
        ("That's it for data; next, the model.", False),
        ("That's the whole point of the ranker: it sees every candidate.", False),
    ],
)
def test_closing(text: str, done: bool) -> None:
    assert _closing(text) is done


def test_memo_embedder_embeds_each_text_once(embedder: Any) -> None:
    calls: list[list[str]] = []

    class Counting:
        def embed(self, texts: Any, batch_size: int = 32) -> Any:
            calls.append(list(texts))
            return embedder.embed(texts, batch_size=batch_size)

    inner = Counting()
    memo_a = memo(inner)
    assert memo(inner) is memo_a and memo(memo_a) is memo_a
    first = memo_a.embed(["a cat", "a dog"])
    again = memo_a.embed(["a dog", "a bird", "a cat"])
    assert calls == [["a cat", "a dog"], ["a bird"]]
    assert np.allclose(again[0], first[1]) and np.allclose(again[2], first[0])
    assert np.allclose(again, embedder.embed(["a dog", "a bird", "a cat"]), atol=1e-5)


def test_merged_history_agrees_with_the_grader_on_the_joined_text(embedder: Any) -> None:
    case = load_corpus().case("fraud-detection")
    parts = [
        "What's the fraud rate?",
        "I'd train gradient-boosted trees on payment features.",
        "Evaluation: precision and recall at a fixed decline rate, then an A/B test on losses.",
    ]
    merged = merge(case, [message_analysis(case, p, embedder) for p in parts])
    joined = grading_analysis.analyse(case, "\n\n".join(parts), embedder)
    assert [s.text for s in merged.sentences] == [s.text for s in joined.sentences]
    for mode, detector in DETECTORS.items():
        assert (detector(merged) is None) == (detector(joined) is None), mode
