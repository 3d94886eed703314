"""Everyday ways of asking for a standard fact that neither the sheet's phrases nor embeddings catch reliably."""

from __future__ import annotations

from typing import Any

import pytest

from agent.interview.questions import find_questions
from knowledge.corpus import load_corpus


@pytest.mark.parametrize(
    ("case_id", "question", "keys"),
    [
        ("news-feed", "What is leadership hoping this change moves?", {"business_goal"}),
        ("video-recommendation", "What's driving this project in the first place?", {"business_goal"}),
        ("news-feed", "Are there rules about what we're not allowed to put in the feed?", {"constraints"}),
        ("product-search-ranking", "Any hard limits from regulation on how we rank sellers?", {"constraints"}),
        ("video-recommendation", "How quick does the homepage need to be?", {"latency"}),
        ("street-view-blurring", "Is there a deadline for blurring after a panorama is uploaded?", {"latency"}),
        ("street-view-blurring", "How many graphics cards do we get?", {"budget"}),
        ("video-recommendation", "What's the peak request rate?", {"qps"}),
        ("eta-prediction", "What's recorded for each delivery?", {"data"}),
        ("fraud-detection", "How many payments end up being chargebacks?", {"positive_rate"}),
        ("video-recommendation", "How often do viewers click a recommended tile?", {"labels"}),
        ("product-search-ranking", "Does anyone judge relevance by hand?", {"labels"}),
        ("news-feed", "How many of our daily users are brand new?", {"new_users"}),
        ("eta-prediction", "What has to be true for us to launch?", {"success_metric"}),
        ("fraud-detection", "What sits behind the checkout decision right now?", {"existing_system"}),
        ("ad-click-prediction", "How soon do clicks show up once an ad is shown?", {"labels"}),
        ("people-you-may-know", "How long do acceptances usually take to arrive?", {"labels"}),
        ("similar-listings", "Has anyone ever rated listing similarity by hand, even a few?", {"labels"}),
        ("video-search", "How fast does a new upload need to become searchable?", {"freshness"}),
        ("fraud-detection", "Besides approving or declining, what else can we do?", {"actions"}),
        ("street-view-blurring", "Does the recall target differ by country?", {"constraints", "regions"}),
        ("query-autocomplete", "What is the server-side latency target?", {"latency"}),
        ("harmful-content-detection", "How much of what's posted actually violates the rules?", {"positive_rate"}),
        ("news-feed", "Feed refreshes per second at the busiest hour?", {"qps"}),
        ("query-autocomplete", "When a phrase suddenly trends, how soon should it turn up in the box?", {"freshness"}),
        ("harmful-content-detection", "Do the human reviewers agree with each other much?", {"labels"}),
        ("event-recommendation", "Is any attribute off-limits for personalisation?", {"constraints", "privacy"}),
    ],
)
def test_everyday_questions_get_the_standard_fact(embedder: Any, case_id: str, question: str, keys: set[str]) -> None:
    case = load_corpus().case(case_id)
    found = {f.key for q in find_questions(case, question, embedder) for f in q.facts}
    assert found == keys


@pytest.mark.parametrize(
    ("case_id", "question"),
    [
        ("news-feed", "Is there a deadline for shipping the first version?"),
        ("video-recommendation", "How many engineers are on the team?"),
    ],
)
def test_project_resources_are_not_mistaken_for_sheet_facts(embedder: Any, case_id: str, question: str) -> None:
    case = load_corpus().case(case_id)
    found = {f.key for q in find_questions(case, question, embedder) for f in q.facts}
    assert not found & {"latency", "constraints", "qps"}


def test_an_invented_value_does_not_parrot_stray_words_of_the_question() -> None:
    from agent.interview.invent import invent
    from agent.interview.questions import topic_of

    question = "Before I sketch anything, is the plan hoping to please organisers too?"
    value = invent(topic_of(question), question, "seed")
    assert "sketch" not in value and "hoping" not in value
    counted = "How many people actually link their calendars?"
    assert topic_of(counted) == "people"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Nobody really clicks those banners, right?", False),
        ("Clicks are about 1% of impressions, right?", True),
        ("What is the click rate, right now?", True),
    ],
)
def test_a_tag_question_asks_only_when_it_checks_a_number(text: str, asks: bool) -> None:
    from agent.interview.questions import is_question

    assert is_question(text) is asks


def test_asking_where_candidates_usually_are_is_about_the_interview(embedder: Any) -> None:
    case = load_corpus().case("visual-search")
    text = "Is this the stage where candidates normally bring up metrics? Which points have I covered?"
    assert not {f.key for q in find_questions(case, text, embedder) for f in q.facts}
