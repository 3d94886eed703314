"""The model's structured judgement of a candidate message, combined conservatively with the offline analysis.

On the model path, before the policy decides, one small forced tool call (`MessageJudgement`) asks the
model which of the current step's expected points the message covers, which doing-type failure modes it
walks into (each with a quote) and whether it is a clarifying question. The model can only add:

- a covered point, when the id is one it was given, the quote is found verbatim (normalised) in the
  candidate's message after injection stripping, and the quote shares words with the point;
- a failure-mode flag, when the mode applies to the case, is about something the candidate *does*
  (`combine.DOING_MODES`), is not vetoed by what the candidate said before, and the quote is verbatim
  and about the mode;

never remove an offline finding, and its judgement is never shown to the candidate. A judgement that
does not parse is retried once with a corrective note, then ignored. What was accepted and dropped goes
to the turn meta.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.grading.combine import DOING_MODES as MODEL_DOING_MODES
from agent.grading.injection import find_injection
from agent.grading.quotes import QuoteChecker
from agent.grading.text import strip_markup
from agent.interview.analyse import MessageAnalysis
from agent.interview.budget import DEFAULT_TOKEN_BUDGET, encoding_for, truncate_tokens
from agent.interview.model_voice import consecutive_model_failures
from agent.interview.policy import budget_over
from agent.interview.questions import content_words
from agent.interview.respond import STEP_NAMES
from agent.interview.state import InterviewState
from agent.llm.base import ChatModel, Message, ModelError
from agent.llm.redact import redact
from knowledge.corpus import Case, load_corpus
from knowledge.ids import is_applicable
from knowledge.tokens import count_tokens
from prompts.render import render

MAX_JUDGEMENT_TOKENS = 300
"""Reply cap of the judgement call: a few ids and quotes."""
MAX_MESSAGE_TOKENS = 1_200
"""The candidate's message is cut to this many tokens in the judgement prompt."""
MAX_ITEMS = 6
"""At most this many points and this many modes of one judgement are considered."""
MIN_CONTENT_WORDS = 4
"""A message with fewer content words is not worth a judgement call."""
MAX_QUOTE_CHARS = 300
RETRY_KINDS = frozenset({"bad_output", "refusal"})
"""Judgement failures retried once; any other ModelError means the endpoint is failing (no retry)."""
MIN_MESSAGE_TOKENS = 60
"""The message always gets this many tokens of the judgement prompt, even under a tiny budget."""
MESSAGE_OVERHEAD_TOKENS = 8


class CitedItem(BaseModel):
    """One id the model names, with the candidate's exact words that show it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="an id from the list you were given")
    quote: str = Field(default="", description="the candidate's exact words (four or more) that show it")


class MessageJudgement(BaseModel):
    """The model's notes on one candidate message: points covered, failure modes, a clarifying question."""

    model_config = ConfigDict(extra="ignore")

    covered_points: list[CitedItem] = Field(
        default_factory=list, description="expected points of this step the message clearly covers"
    )
    failure_modes: list[CitedItem] = Field(
        default_factory=list, description="failure modes the message walks into by what it says"
    )
    clarifying_question: bool = Field(
        default=False, description="whether the message asks the interviewer a clarifying question"
    )


def stripped_message(text: str) -> str:
    """The candidate's words as the offline analysis reads them: injection and markup removed."""
    return strip_markup(find_injection(text).text).strip()


def _fence(state: InterviewState, message: str) -> str:
    texts = [t.text for t in state.candidate_turns()] + [message]
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:12]
    return f"<<<CANDIDATE-{digest}>>>"


def _points_to_judge(state: InterviewState, a: MessageAnalysis, case: Case) -> list[tuple[str, str]]:
    """(id, statement) of the current step's points that neither the state nor this message covers yet."""
    covered = state.covered_ids() | {p for pts in a.new_points.values() for p in pts}
    return [(p.id, " ".join(p.statement.split())) for p in case.points.get(state.phase, []) if p.id not in covered]


def _modes_to_judge(state: InterviewState, a: MessageAnalysis, case: Case) -> list[tuple[str, str]]:
    """(id, first sentence of the definition) of the doing-type modes that apply and are not raised yet."""
    corpus = load_corpus()
    taken = set(state.flagged()) | {m for m, _ in a.walked_into}
    out = []
    for mode in sorted(MODEL_DOING_MODES):
        if mode in taken or not is_applicable(mode, case.id) or mode not in corpus.failure_modes:
            continue
        definition = " ".join(corpus.failure_modes[mode].definition.split())
        out.append((mode, definition.split(". ")[0].rstrip(".") + "."))
    return out


@dataclass(frozen=True)
class JudgementPrompt:
    """The messages of one judgement call, their token count and the ids the model may use."""

    messages: list[Message]
    tokens: int
    point_ids: tuple[str, ...]
    mode_ids: tuple[str, ...]


def build_judgement_prompt(
    state: InterviewState,
    a: MessageAnalysis,
    case: Case,
    message: str,
    *,
    encoding: str,
    note: str = "",
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> JudgementPrompt:
    """System + user messages asking for a MessageJudgement of `message` (already injection-stripped).

    The message is cut to fit `token_budget` (and at most MAX_MESSAGE_TOKENS); `note` is a retry's note.
    """
    points = _points_to_judge(state, a, case)
    modes = _modes_to_judge(state, a, case)
    fence = _fence(state, message)
    system = render("interview_judgement_system", fence=fence)
    fixed = {
        "step": STEP_NAMES.get(state.phase, state.phase),
        "points": "\n".join(f"- `{pid}`: {text}" for pid, text in points) or "(none left)",
        "modes": "\n".join(f"- `{mid}`: {text}" for mid, text in modes) or "(none)",
        "fence": fence,
    }

    def user_text(body: str) -> str:
        user = render("interview_judgement_user", message=body, **fixed)
        return f"{user.rstrip()}\n\n{note.strip()}\n" if note.strip() else user

    room = token_budget - count_tokens(system, encoding) - count_tokens(user_text(""), encoding)
    room = max(MIN_MESSAGE_TOKENS, min(MAX_MESSAGE_TOKENS, room - MESSAGE_OVERHEAD_TOKENS - 4))
    user = user_text(truncate_tokens(message, room, encoding))
    tokens = count_tokens(system, encoding) + count_tokens(user, encoding) + MESSAGE_OVERHEAD_TOKENS
    return JudgementPrompt(
        [Message.system(system), Message.user(user)],
        tokens,
        tuple(pid for pid, _ in points),
        tuple(mid for mid, _ in modes),
    )


def _related(quote: str, text: str) -> bool:
    return bool(content_words(quote) & content_words(text))


def _point_text(case: Case, point_id: str) -> str:
    point = next(p for p in case.all_points() if p.id == point_id)
    return f"{point.statement} {' '.join(point.cues)}"


def _mode_text(case: Case, mode: str) -> str:
    doc = load_corpus().failure_modes[mode]
    return f"{doc.title} {doc.definition} {case.failure_modes.get(mode, '')}"


def _vetoed(state: InterviewState, mode: str) -> str | None:
    """Why what the candidate said before rules a model-proposed mode out (the offline detector's context)."""
    if mode == "single_stage_at_scale" and state.seen("modeling", "funnel"):
        return "the candidate already described a candidate-generation stage"
    if mode == "training_serving_skew" and state.seen("data", "feature_store"):
        return "the candidate already described shared features"
    if mode == "model_first":
        elsewhere = [k for k in state.signals_seen if k.split(".")[0] in ("data", "evaluation", "serving")]
        if len(elsewhere) >= 2:
            return "the candidate already covered data, evaluation or serving"
    return None


def _short(text: str) -> str:
    return redact(" ".join(text.split()))[:MAX_QUOTE_CHARS]


def combine_judgement(
    state: InterviewState,
    a: MessageAnalysis,
    case: Case,
    judgement: MessageJudgement,
    prompt: JudgementPrompt,
) -> tuple[MessageAnalysis, dict[str, Any]]:
    """The analysis with what the model may add (a new object; `a` is unchanged) and the record of it."""
    checker = QuoteChecker(stripped_message(a.text))
    corpus = load_corpus()
    points_ok: list[dict[str, str]] = []
    points_dropped: list[dict[str, str]] = []
    for item in judgement.covered_points[:MAX_ITEMS]:
        pid = item.id.strip()
        quote = checker.verify(item.quote)
        reason = None
        if pid not in prompt.point_ids:
            reason = "not an expected point of this step left to cover"
        elif pid in {p["id"] for p in points_ok}:
            reason = "named twice"
        elif quote is None:
            reason = "quote not found in the candidate's message"
        elif not _related(quote, _point_text(case, pid)):
            reason = "quote says nothing about this point"
        if reason is None and quote is not None:
            points_ok.append({"id": pid, "quote": _short(quote)})
        else:
            points_dropped.append({"id": _short(pid)[:60], "reason": reason or "dropped"})
    modes_ok: list[dict[str, str]] = []
    modes_dropped: list[dict[str, str]] = []
    offline_modes = set(state.flagged()) | {m for m, _ in a.walked_into}
    for item in judgement.failure_modes[:MAX_ITEMS]:
        mode = item.id.strip()
        quote = checker.verify(item.quote)
        reason = None
        if mode not in corpus.failure_modes:
            reason = "not a known failure mode"
        elif not is_applicable(mode, case.id):
            reason = f"does not apply to {case.id}"
        elif mode not in MODEL_DOING_MODES:
            reason = "about an absence: only the offline analysis raises those"
        elif mode in offline_modes or mode in {m["id"] for m in modes_ok}:
            reason = "already raised"
        elif quote is None:
            reason = "quote not found in the candidate's message"
        elif not _related(quote, _mode_text(case, mode)):
            reason = "quote says nothing about this failure mode"
        else:
            reason = _vetoed(state, mode)
        if reason is None and quote is not None:
            modes_ok.append({"id": mode, "quote": _short(quote)})
        else:
            modes_dropped.append({"id": _short(mode)[:60], "reason": reason or "dropped"})
    new_points = {step: list(ids) for step, ids in a.new_points.items()}
    here = new_points.setdefault(state.phase, [])
    here += [p["id"] for p in points_ok if p["id"] not in here]
    walked = list(a.walked_into) + [
        (m["id"], f'"{m["quote"]}" (the model\'s judgement; the quote was checked against the message)')
        for m in modes_ok
    ]
    merged = dataclasses.replace(
        a, new_points=new_points, walked_into=walked, substantive=a.substantive or bool(points_ok)
    )
    record = {
        "status": "used",
        "clarifying_question": {"model": judgement.clarifying_question, "offline": bool(a.questions)},
        "points": {"accepted": points_ok, "dropped": points_dropped},
        "modes": {"accepted": modes_ok, "dropped": modes_dropped},
    }
    return merged, record


def worth_judging(state: InterviewState, a: MessageAnalysis, case: Case) -> bool:
    """Whether the message is one the model's judgement could add to (not empty, fishing, off topic, ...)."""
    if state.finished or a.empty or a.gibberish or a.connection or a.fishing or a.off_topic or a.injection:
        return False
    if budget_over(state, a.at):
        return False
    if len(content_words(stripped_message(a.text))) < MIN_CONTENT_WORDS:
        return False
    return bool(_points_to_judge(state, a, case) or _modes_to_judge(state, a, case))


def review_message(
    state: InterviewState,
    a: MessageAnalysis,
    case: Case,
    model: ChatModel,
    *,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> tuple[MessageAnalysis, dict[str, Any] | None]:
    """Ask the model for its judgement of the message and merge what survives; None when no call was made.

    The review holds `judgement` (the turn-meta record, with its own tokens), `usage` (prompt/completion
    tokens, calls) and, when the endpoint itself failed (timeout, unreachable), `endpoint_failure` and
    `detail`. The prompt keeps within `token_budget`.
    """
    if consecutive_model_failures(state) is None or not worth_judging(state, a, case):
        return a, None
    encoding = encoding_for(model.name)
    message = stripped_message(a.text)
    prompt = build_judgement_prompt(state, a, case, message, encoding=encoding, token_budget=token_budget)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    first_failure: str | None = None

    def done(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
        record.update({"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"]})
        return {"judgement": record, "usage": usage, **extra}

    for attempt in (1, 2):
        if attempt == 2:
            note = render("interview_judgement_retry", problem=(first_failure or "bad_output").replace("_", " "))
            prompt = build_judgement_prompt(
                state, a, case, message, encoding=encoding, note=note, token_budget=token_budget
            )
        usage["calls"] += 1
        usage["prompt_tokens"] += prompt.tokens
        try:
            judgement = model.structured(prompt.messages, MessageJudgement, max_tokens=MAX_JUDGEMENT_TOKENS)
        except ModelError as e:
            kind = e.kind.replace(" ", "_")
            detail = redact(" ".join(str(e).split()))[:200]
            if kind not in RETRY_KINDS:
                record: dict[str, Any] = {"status": "failed", "failure": kind, "attempts": attempt}
                if first_failure:
                    record["first_failure"] = first_failure
                return a, done(record, endpoint_failure=kind, detail=detail)
            if attempt == 2:
                ignored = {"status": "ignored", "failure": kind, "first_failure": first_failure, "attempts": 2}
                return a, done({**ignored, "detail": detail})
            first_failure = kind
            continue
        usage["completion_tokens"] += count_tokens(json.dumps(judgement.model_dump()), encoding)
        merged, record = combine_judgement(state, a, case, judgement, prompt)
        record["attempts"] = attempt
        if first_failure:
            record["first_failure"] = first_failure
        return merged, done(record)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "MAX_JUDGEMENT_TOKENS",
    "CitedItem",
    "JudgementPrompt",
    "MessageJudgement",
    "build_judgement_prompt",
    "combine_judgement",
    "review_message",
    "stripped_message",
    "worth_judging",
]
