"""Grade a written answer with a chat model on top of the offline grader (never instead of it)."""

from __future__ import annotations

from agent.grading.combine import combine
from agent.grading.coverage import Embedder
from agent.grading.injection import find_injection
from agent.grading.model_prompt import build_grading_prompt
from agent.grading.model_schema import ModelJudgement
from agent.grading.offline import grade_answer
from agent.grading.scorecard import Scorecard
from agent.grading.text import sanitize, strip_markup
from agent.llm.base import ChatModel, ModelError
from knowledge.corpus import load_corpus

MAX_JUDGEMENT_TOKENS = 2048
"""Default completion budget of the grading call (sent as max_tokens; INTERVIEWER_GRADE_MAX_TOKENS)."""


def fallback_card(offline: Scorecard, error: ModelError) -> Scorecard:
    """The offline scorecard with a note saying why the model's judgement is absent."""
    note = f"model unavailable ({error.kind}); offline grade"
    return offline.model_copy(update={"notes": [*offline.notes, note]})


def grade_with_model(
    answer: str,
    case_id: str,
    level: str,
    model: ChatModel,
    *,
    embedder: Embedder | None = None,
    max_tokens: int = MAX_JUDGEMENT_TOKENS,
) -> Scorecard:
    """Offline grade first, then one fresh structured model call, combined; any ModelError gives the offline grade."""
    offline = grade_answer(answer, case_id, level, embedder=embedder)
    text, _ = sanitize(answer)
    stripped = strip_markup(find_injection(text).text)
    corpus = load_corpus()
    case = corpus.case(case_id)
    prompt = build_grading_prompt(stripped, case, level, corpus)
    try:
        judgement = model.structured(prompt.messages, ModelJudgement, max_tokens=max_tokens)
    except ModelError as e:
        return fallback_card(offline, e)
    card = combine(offline, judgement, stripped, case, corpus, model_name=model.name).card
    if prompt.truncated:
        card.notes.append(f"the answer ({prompt.answer_tokens} tokens) was shortened to fit the model's prompt")
    return card


__all__ = ["MAX_JUDGEMENT_TOKENS", "fallback_card", "grade_with_model"]
