"""The labelled eval data stays valid as the knowledge base changes."""

from __future__ import annotations

from collections import Counter

from evals.grading import validate
from evals.retrieval_eval import load_queries
from knowledge import PROJECT_ROOT
from knowledge.markdown import load_markdown


def test_grading_answers_pass_their_validator(capsys: object) -> None:
    assert validate.main(validate.HERE / "answers.jsonl") == 0


def test_retrieval_labels_point_at_existing_sections() -> None:
    queries = load_queries()
    assert len(queries) >= 80 and len({q.id for q in queries}) == len(queries)
    assert set(Counter(q.split for q in queries)) == {"dev", "test"}
    for q in queries:
        for rel in q.relevant:
            doc = load_markdown(PROJECT_ROOT / rel.source)
            assert doc.section(rel.section) is not None, (q.id, rel)
