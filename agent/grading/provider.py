"""Provider switch for grading: the offline grader, or the model grader on top of it; batches for either."""

from __future__ import annotations

from agent.grading.batch import AnswerGrader, grade_batch_with
from agent.grading.coverage import Embedder
from agent.grading.offline import grade_answer
from agent.llm.base import ChatModel


def answer_grader(
    model: ChatModel | None, embedder: Embedder | None = None, *, max_tokens: int | None = None
) -> AnswerGrader:
    """The offline grader when model is None, else the model grader (offline first, model combined).

    `max_tokens` caps the grading call (None: `MAX_JUDGEMENT_TOKENS`; the CLI passes `grade_max_tokens`).
    """
    if model is None:
        return lambda answer, case_id, level: grade_answer(answer, case_id, level, embedder=embedder)
    from agent.grading.model_grader import MAX_JUDGEMENT_TOKENS, grade_with_model

    cap = MAX_JUDGEMENT_TOKENS if max_tokens is None else max_tokens
    return lambda answer, case_id, level: grade_with_model(
        answer, case_id, level, model, embedder=embedder, max_tokens=cap
    )


__all__ = ["AnswerGrader", "answer_grader", "grade_batch_with"]
