"""Retrieval over the real index: relevant passages, honoured filters, all three methods."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.retrieval import BM25, METHODS, SearchFilters, tokenize


@pytest.mark.parametrize("method", METHODS)
def test_fact_question_finds_the_case_fact_sheet(retriever: Any, method: str) -> None:
    hits = retriever.search(
        "how many people use the video app every day",
        k=5,
        filters=SearchFilters(case_id="video-recommendation"),
        method=method,
    )
    assert hits and len(hits) <= 5
    assert any(
        h.source == "knowledge/cases/video-recommendation.md" and h.heading.startswith("Fact sheet") for h in hits
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_generic_concept_finds_its_failure_mode(retriever: Any) -> None:
    hits = retriever.search("why should I start with a simple model like logistic regression first", k=5)
    assert any(h.failure_mode == "no_baseline" or h.step == "modeling" for h in hits)


def test_case_filter_keeps_the_case_and_generic_passages(retriever: Any) -> None:
    hits = retriever.search("cold start for new users", k=20, filters=SearchFilters(case_id="news-feed"))
    assert hits and all(h.case_id in (None, "news-feed") for h in hits)
    only = retriever.search("cold start", k=10, filters=SearchFilters(case_id="news-feed", strict_case=True))
    assert only and all(h.case_id == "news-feed" for h in only)


@pytest.mark.parametrize("method", METHODS)
def test_step_and_kind_filters(retriever: Any, method: str) -> None:
    hits = retriever.search("drift alerts", k=8, filters=SearchFilters(step="monitoring", kind="rubric"), method=method)
    assert hits and all(h.step == "monitoring" and h.kind == "rubric" for h in hits)


def test_bm25_prefers_documents_with_rare_query_terms() -> None:
    docs = [tokenize(t) for t in ["the model is served online", "chargebacks arrive late", "online online online"]]
    scores = BM25(docs).scores(tokenize("late chargebacks"))
    assert scores[1] > 0 and scores[0] == scores[2] == 0
    assert tokenize("The Models were Serving") == ["model", "were", "serv"]
