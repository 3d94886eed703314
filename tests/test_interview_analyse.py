"""Message analysis: clarifying questions by meaning, fishing, gibberish and the probe bank."""

from __future__ import annotations

from typing import Any

import pytest

from agent.interview.bank import probe_bank, probe_ranking, remarks
from agent.interview.messages import clip, is_fishing, is_gibberish
from agent.interview.questions import find_questions
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
