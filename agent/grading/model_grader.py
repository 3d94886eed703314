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
from agent.llm.base import ChatModel, Message, ModelError
from agent.llm.redact import redact
from knowledge.corpus import load_corpus
from prompts.render import render

MAX_JUDGEMENT_TOKENS = 2048
"""Default completion budget of the grading call (sent as max_tokens; INTERVIEWER_GRADE_MAX_TOKENS)."""
RETRY_KINDS = frozenset({"bad output", "refusal"})
"""Output that is not valid for the schema (or a refusal) is retried once; timeouts and an unreachable
endpoint are not (the call would wait again, and a local server is still busy with the first request)."""


def fallback_card(offline: Scorecard, error: ModelError, *, retried: bool = False) -> Scorecard:
    """The offline scorecard with a note saying why the model's judgement is absent."""
    after = ", after one retry" if retried else ""
    note = f"model unavailable ({error.kind}{after}); offline grade"
    return offline.model_copy(update={"notes": [*offline.notes, note]})


def _with_note(messages: list[Message], problem: str) -> list[Message]:
    """The grading messages with the retry's corrective note appended to the user message."""
    note = render("grade_retry", problem=problem)
    *head, user = messages
    return [*head, Message.user(f"{user.content.rstrip()}\n\n{note.strip()}\n")]


def grade_with_model(
    answer: str,
    case_id: str,
    level: str,
    model: ChatModel,
    *,
    embedder: Embedder | None = None,
    max_tokens: int = MAX_JUDGEMENT_TOKENS,
) -> Scorecard:
    """Offline grade first, then a fresh structured model call (retried once on unusable output), combined.

    Any other ModelError, or a second unusable reply, gives the offline grade with a note. Notes and the
    summary are scrubbed of key-shaped strings before they are returned (and stored).
    """
    offline = grade_answer(answer, case_id, level, embedder=embedder)
    text, _ = sanitize(answer)
    stripped = strip_markup(find_injection(text).text)
    corpus = load_corpus()
    case = corpus.case(case_id)
    prompt = build_grading_prompt(stripped, case, level, corpus)
    messages = prompt.messages
    first_failure: str | None = None
    while True:
        try:
            judgement = model.structured(messages, ModelJudgement, max_tokens=max_tokens)
            break
        except ModelError as e:
            if e.kind not in RETRY_KINDS or first_failure is not None:
                return _scrubbed(fallback_card(offline, e, retried=first_failure is not None))
            first_failure = e.kind
            messages = _with_note(prompt.messages, e.kind)
    card = combine(offline, judgement, stripped, case, corpus, model_name=model.name).card
    if first_failure is not None:
        card.notes.append(f"the model's first reply was unusable ({first_failure}); its retry was used")
    if prompt.truncated:
        card.notes.append(f"the answer ({prompt.answer_tokens} tokens) was shortened to fit the model's prompt")
    return _scrubbed(card)


def _scrubbed(card: Scorecard) -> Scorecard:
    """The card with key-shaped strings removed from its notes and summary (model text may echo one)."""
    return card.model_copy(update={"notes": [redact(n) for n in card.notes], "summary": redact(card.summary)})


__all__ = ["MAX_JUDGEMENT_TOKENS", "RETRY_KINDS", "fallback_card", "grade_with_model"]
