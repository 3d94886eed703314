"""The section prior of hybrid search: number questions favour fact sheets, case failure-mode lines weigh less."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.chunking import Chunk
from knowledge.retrieval import (
    CASE_FAILURE_MODE_WEIGHT,
    FACT_SHEET_BOOST,
    PROMPT_WEIGHT,
    SearchFilters,
    asks_for_a_number,
    prior,
)


def _chunk(kind: str, heading: str) -> Chunk:
    case_id = "fraud-detection" if kind == "case" else None
    return Chunk(id="x", source="knowledge/x.md", heading=heading, text="t", kind=kind, doc_title="T", case_id=case_id)


@pytest.mark.parametrize(
    "query",
    [
        "How many homes are listed on the rental site?",
        "what share of users are signed out",
        "what percentage of payments are fraud",
        "how long before chargebacks arrive",
        "peak QPS for typeahead",
        "ad CTR base rate",
    ],
)
def test_number_questions_are_recognised(query: str) -> None:
    assert asks_for_a_number(query)


@pytest.mark.parametrize(
    "query",
    [
        "why start with logistic regression",
        "what should I do if the feature store is down",
        "how often should I retrain",
        "is accuracy ok for fraud",
        "somehow manyfold",
    ],
)
def test_other_questions_are_not_number_questions(query: str) -> None:
    assert not asks_for_a_number(query)


def test_prior_by_section_and_query() -> None:
    assert prior(_chunk("case", "Prompt"), wants_number=False) == PROMPT_WEIGHT
    assert prior(_chunk("case", "Failure modes › no_baseline"), wants_number=True) == CASE_FAILURE_MODE_WEIGHT
    assert prior(_chunk("case", "Fact sheet (2/5)"), wants_number=True) == FACT_SHEET_BOOST
    assert prior(_chunk("case", "Fact sheet (2/5)"), wants_number=False) == 1.0
    assert prior(_chunk("case", "Follow-up questions › timeout"), wants_number=True) == 1.0
    for kind in ("failure_mode", "framework", "rubric"):
        assert prior(_chunk(kind, "Definition"), wants_number=True) == 1.0
    assert CASE_FAILURE_MODE_WEIGHT < 1.0 < FACT_SHEET_BOOST


def test_fact_sheet_outranks_the_case_failure_mode_lines(retriever: Any) -> None:
    hits = retriever.search("how many homes are listed on the vacation rental site?", k=5)
    assert hits
    first = hits[0]
    assert first.source == "knowledge/cases/similar-listings.md"
    assert first.heading.startswith(("Fact sheet", "Strong answer outline"))


def test_leakage_question_still_gets_a_leakage_passage_first(retriever: Any) -> None:
    # The case's own `Failure modes › data_leakage` line drops below the top 5 under the prior (a known cost);
    # the follow-up that answers the question must still be near the top.
    hits = retriever.search(
        "which features would leak into the delivery ETA shown at checkout?",
        k=5,
        filters=SearchFilters(case_id="eta-prediction"),
    )
    assert any("leakage" in h.heading for h in hits[:2])
