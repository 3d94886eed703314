"""The model voice: a chat model phrases the move the offline policy decided, behind guards.

The move (what to ask, which facts, which flag) is decided by `policy.decide` before the model is
called; the model only chooses the words. Its prompt holds the case prompt, the facts of this move
(never the whole sheet), the move and its payload, the offline draft and the recent conversation
(candidate words fenced as data), kept within a token budget. The reply is streamed, checked
(errors, empty, garbage, another language, too long, hidden text, key-shaped strings, invented numbers,
dropped facts). Unusable output (not a timeout or an unreachable endpoint) is retried once with a
corrective note (prompts/interview_model_retry*.md); when the retry fails too, or the model errs, the
offline draft stands in, so a turn is never lost. `voice_turn` is the engine's one entry point.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from agent.grading.text import numbers_in
from agent.interview.budget import DEFAULT_TOKEN_BUDGET, cost_usd, encoding_for, fit_conversation, turn_usage
from agent.interview.language import not_english
from agent.interview.messages import is_gibberish
from agent.interview.policy import Move
from agent.interview.respond import STEP_NAMES
from agent.interview.state import InterviewState, Turn
from agent.llm.base import ChatModel, Message, ModelError
from agent.llm.redact import has_secret, redact
from knowledge.corpus import Case, load_corpus
from knowledge.tokens import count_tokens
from prompts.render import keyed_lines, render, render_line

MAX_REPLY_CHARS = 1_200
"""A longer reply is rejected (the stream is abandoned as soon as it passes this)."""
MAX_REPLY_TOKENS = 400
"""max_tokens sent with each call: room for MAX_REPLY_CHARS, a cap on cost."""
LEAK_RUN = 8
"""A run of this many words shared with a hidden text (and absent from the prompt) is a leak."""
HOLD_WORDS = LEAK_RUN - 1
"""Streamed text is held back by this many words, so a leaking run is caught before any of it is shown."""
FREE_NUMBERS = 10
"""Numbers up to this may appear in a reply without being in the prompt ("two things", "3 options")."""
MESSAGE_OVERHEAD_TOKENS = 8
"""Chat-format tokens around the two messages, counted into the prompt."""

MODEL_FAILURES_BEFORE_DISABLE = 3
"""After this many consecutive model failures (errors, not guard rejections) the session goes offline."""
SESSION_DISABLED = "session_disabled"
"""The `fallback` of a turn phrased offline because the model was switched off for the session."""
MODEL_FAILURE_KINDS = frozenset({"error", "timeout", "refusal", "bad_output", "unavailable"})
"""Fallback reasons that are the model's (ModelError kinds), as opposed to a guard rejecting its words."""
RETRY_KINDS = frozenset(
    {
        "empty",
        "garbage",
        "wrong_language",
        "too_long",
        "leak",
        "secret",
        "invented_number",
        "dropped_facts",
        "refusal",
        "bad_output",
    }
)
"""Problems with the output itself: retried once with a corrective note. Timeouts and an unreachable
endpoint are not (a retry would wait again, and a local server is still busy with the first request)."""

TokenSink = Callable[[str], None]
_WORD = re.compile(r"[A-Za-z0-9]+")
_LABEL = re.compile(r"^\s*(?:\*\*)?\s*(?:interviewer|assistant)\s*(?::\s*\*\*|\*\*\s*:|:)\s*", re.IGNORECASE)
_SPEAKS_FOR_CANDIDATE = re.compile(r"(?im)^\s*(?:\*\*)?\s*candidate\s*(?:\*\*)?\s*:")
_MACHINE_TALK = re.compile(
    r"\b(?:as an ai|an ai (?:language )?model|as a language model|i can(?:no|')t (?:help|assist) with)\b|<<<|>>>",
    re.IGNORECASE,
)


# -- the prompt -------------------------------------------------------------------------------------


def fence_for(state: InterviewState) -> str:
    """A fence tag from the hash of every candidate message: no message can contain (or forge) it."""
    joined = "\x00".join(t.text for t in state.candidate_turns())
    return f"<<<CANDIDATE-{hashlib.sha256(joined.encode('utf-8')).hexdigest()[:12]}>>>"


def _render_turn(fence: str) -> Callable[[Turn, str], str]:
    def render_turn(turn: Turn, text: str) -> str:
        if turn.role == "candidate":
            return f"Candidate:\n{fence} BEGIN CANDIDATE MESSAGE\n{text}\n{fence} END CANDIDATE MESSAGE"
        return f"Interviewer: {text}"

    return render_turn


def _passage(text: str, limit: int = 420) -> str:
    """The first two sentences of a knowledge passage, at most `limit` characters."""
    flat = " ".join(text.split())
    sentences = re.split(r"(?<=[.!?])\s+", flat)
    head = " ".join(sentences[:2])
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


MOVES = "interview_model_moves"
"""The template whose `key: text` lines describe each move to the model."""


def _say(line: str, /, **values: str) -> str:
    """One line of the move description, from prompts/interview_model_moves.md."""
    return render_line(MOVES, line, **values)


def _facts_block(move: Move) -> list[str]:
    lines = [_say("facts_intro")]
    for fact in move.facts:
        kind = "fact_confirmed" if fact.confirmed else "fact_assumed" if fact.assumption else "fact"
        lines.append(_say(kind, key=fact.key.replace("_", " "), value=" ".join(fact.value.split())))
    return lines


def _flag_block(mode: str) -> list[str]:
    doc = load_corpus().failure_modes[mode]
    return [
        _say("flag_mode", title=doc.title, mode=mode, source=doc.source),
        "  " + _say("flag_passage", passage=_passage(doc.definition)),
        _say("flag_name", source=doc.source),
    ]


def describe_move(state: InterviewState, move: Move, meta: dict[str, Any], case: Case) -> str:
    """The move and its payload in words for the model: facts of this move only, questions phrased generically."""
    lines: list[str] = []
    question = str(meta.get("question") or "")
    lines += [_say(p) for p in ("truncated", "repeat") if p in move.preamble]
    step = STEP_NAMES.get(move.phase, move.phase)
    if move.kind != "answer" and move.facts:  # a message that asked and designed: the answer comes first
        lines.append(_say("answer_first"))
        lines += _facts_block(move)
    if move.kind == "answer":
        lines.append(_say("answer"))
        if move.facts:
            lines += _facts_block(move)
        if move.pushback:
            lines.append(_say("pushback", pushback=move.pushback))
    elif move.kind == "refuse":
        lines.append(_say("refuse_injection" if move.reason == "injection" else "refuse_rubric"))
        lines.append(_say("reask_then", question=question))
    elif move.kind == "redirect":
        known = ("empty", "gibberish", "connection", "off_topic")
        lines.append(_say(f"redirect_{move.reason}" if move.reason in known else "redirect_other"))
        lines.append(_say("reask", question=question))
    elif move.kind == "flag":
        lines.append(_say("flag_one" if len(move.flags) < 2 else "flag_many"))
        for mode in move.flags:
            lines += _flag_block(mode)
        lines.append(_say("then_ask", question=question))
    elif move.kind == "tradeoff":
        t = next((t for t in case.tradeoffs if t.id == move.tradeoff_id), None)
        lines.append(_say("tradeoff", option=move.option))
        if t is not None:
            lines.append(_say("tradeoff_decision", decision=t.title))
        lines.append(_say("ask", question=question))
    elif move.kind == "probe":
        lines.append(_say("probe", step=step))
        lines.append(_say("probe_ask", question=question))
    elif move.kind == "move_on":
        leaving = state.turns[-1].phase if state.turns else move.phase
        if move.reason == "skipped":
            lines.append(_say("move_back", step=step))
        else:
            lines.append(_say("move_on", leaving=STEP_NAMES.get(leaving, leaving), step=step))
        for mode in move.flags:
            lines.append(_say("gap_before_moving"))
            lines += _flag_block(mode)
        lines.append(_say("then_ask", question=question))
    elif move.kind == "wrap_up":
        lines.append(_say("wrap_up_time" if move.reason == "time" else "wrap_up_done"))
        for mode in move.flags:
            lines.append(_say("gap_before_closing"))
            lines += _flag_block(mode)
        lines.append(_say("no_question"))
    else:
        lines.append(_say("other", kind=move.kind))
    return "\n".join(lines)


@dataclass(frozen=True)
class VoicePrompt:
    """The messages of one model-voice call, their token count and how many old turns were trimmed."""

    messages: list[Message]
    fence: str
    tokens: int
    trimmed: int


def build_prompt(
    state: InterviewState,
    move: Move,
    meta: dict[str, Any],
    case: Case,
    draft: str,
    *,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    encoding: str = "cl100k_base",
    note: str = "",
) -> VoicePrompt:
    """System + user messages for phrasing `move`, the conversation trimmed to keep within token_budget.

    `note` (a retry's corrective note) is appended to the user message, inside the budget.
    """
    fence = fence_for(state)
    system = render("interview_model_system", fence=fence)
    fixed = {"case_prompt": case.prompt, "fence": fence, "move": describe_move(state, move, meta, case), "draft": draft}

    def with_note(text: str) -> str:
        return f"{text.rstrip()}\n\n{note.strip()}\n" if note.strip() else text

    skeleton = with_note(render("interview_model_user", conversation="", **fixed))
    room = token_budget - count_tokens(system, encoding) - count_tokens(skeleton, encoding) - MESSAGE_OVERHEAD_TOKENS
    turns = [t for t in state.turns if t.move != "open"]
    fitted = fit_conversation(turns, room, _render_turn(fence), encoding=encoding)
    user = with_note(render("interview_model_user", conversation=fitted.text, **fixed))
    tokens = count_tokens(system, encoding) + count_tokens(user, encoding) + MESSAGE_OVERHEAD_TOKENS
    return VoicePrompt([Message.system(system), Message.user(user)], fence, tokens, fitted.trimmed)


# -- the guards -------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _runs(text: str, n: int = LEAK_RUN) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def hidden_texts(state: InterviewState, move: Move, case: Case) -> list[str]:
    """What the candidate must not be shown: expected points, good answers, the outline, facts not yet given."""
    given = {f.key for f in move.facts} | set(state.facts_revealed) | set(state.facts_invented)
    texts = [p.statement for p in case.all_points()]
    texts += [t.good_answer for t in case.tradeoffs]
    texts += [f.good_answer for f in case.followups]
    texts += list(case.outline.values())
    texts += [f.answer for f in case.facts if f.key not in given]
    return texts


@dataclass
class Guard:
    """Checks a reply against the hidden texts, the prompt's numbers and the facts the move must give."""

    hidden: set[tuple[str, ...]]
    prompt_numbers: set[str]
    required: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def for_move(cls, state: InterviewState, move: Move, case: Case, prompt: Sequence[Message]) -> Guard:
        """The guard of one turn: hidden runs minus anything the prompt itself shows."""
        shown = "\n".join(m.content for m in prompt)
        hidden = set().union(*(_runs(t) for t in hidden_texts(state, move, case))) - _runs(shown)
        required = {f.key: numbers_in(f.value) for f in move.facts if not f.confirmed}
        return cls(hidden, set(numbers_in(shown)), required)

    def leaks(self, text: str) -> bool:
        """Whether text has a run of LEAK_RUN words from a hidden text."""
        return bool(self.hidden) and not self.hidden.isdisjoint(_runs(text))

    def problem(self, text: str) -> str | None:
        """The reason a complete reply is unusable (None when it is fine)."""
        if not text.strip():
            return "empty"
        if not_english(text):
            return "wrong_language"
        if _garbage(text):
            return "garbage"
        if len(text) > MAX_REPLY_CHARS:
            return "too_long"
        if self.leaks(text):
            return "leak"
        if has_secret(text):
            return "secret"
        invented = [n for n in numbers_in(text) if n not in self.prompt_numbers and not _small(n)]
        if invented:
            return "invented_number"
        said = set(numbers_in(text))
        if any(n not in said for nums in self.required.values() for n in nums):
            return "dropped_facts"
        return None


def _small(number: str) -> bool:
    try:
        return float(number) <= FREE_NUMBERS
    except ValueError:
        return False


def _garbage(text: str) -> bool:
    """Not an interviewer's message: unreadable, symbols, a transcript continuation, machine talk, a fence."""
    words = _WORD.findall(text)
    visible = [ch for ch in text if not ch.isspace()]
    alnum = sum(ch.isalnum() for ch in visible)
    return (
        len(words) < 3
        or alnum < 0.65 * len(visible)
        or is_gibberish(text)
        or bool(_SPEAKS_FOR_CANDIDATE.search(text))
        or bool(_MACHINE_TALK.search(text))
    )


def clean(text: str) -> str:
    """The reply without leading whitespace or a leading role label ("Interviewer:")."""
    return _LABEL.sub("", text, count=1).lstrip()


# -- streaming --------------------------------------------------------------------------------------


class _Abandon(Exception):
    """The stream is stopped early: the reply is already unusable."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class HeldStream:
    """Passes streamed text on, HOLD_WORDS words behind the model, so a leaking run is stopped unseen."""

    def __init__(self, guard: Guard, sink: TokenSink | None) -> None:
        """Feed chunks with `add`; `finish` returns the whole reply and flushes what was held."""
        self.guard = guard
        self.sink = sink
        self.raw: list[str] = []
        self.sent = 0

    @property
    def text(self) -> str:
        """The reply so far, label stripped."""
        return clean("".join(self.raw))

    def add(self, chunk: str) -> None:
        """Take one chunk; raise _Abandon when the reply is already too long or leaking."""
        self.raw.append(chunk)
        text = self.text
        if len(text.rstrip()) > MAX_REPLY_CHARS:
            raise _Abandon("too_long")
        if self.guard.leaks(text):
            raise _Abandon("leak")
        if has_secret(text):
            raise _Abandon("secret")
        starts = [m.start() for m in _WORD.finditer(text)]
        if len(starts) > HOLD_WORDS:
            self._emit(text, starts[-HOLD_WORDS])

    def _emit(self, text: str, upto: int) -> None:
        if upto > self.sent and self.sink is not None:
            self.sink(text[self.sent : upto])
        self.sent = max(self.sent, upto)

    def finish(self) -> str:
        """The complete reply (stripped); the caller flushes it with `flush` once it passed the checks."""
        return self.text.rstrip()

    def flush(self, final: str) -> None:
        """Send the rest of an accepted reply."""
        self._emit(final, len(final))


def _consume(chunks: Iterable[str], held: HeldStream) -> None:
    iterator: Iterator[str] = iter(chunks)
    try:
        for chunk in iterator:
            if chunk:
                held.add(chunk)
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()


# -- the voice --------------------------------------------------------------------------------------


def is_model_failure(voice: Mapping[str, Any]) -> bool:
    """Whether a turn's voice meta records a model failure (a ModelError, not a guard rejection)."""
    return voice.get("voice") == "offline" and voice.get("fallback") in MODEL_FAILURE_KINDS


def consecutive_model_failures(state: InterviewState) -> int | None:
    """Model failures in a row at the end of the session's model-voiced turns; None once the model is off.

    Read from the turn meta (the state's record of each call), so nothing else needs persisting.
    """
    count = 0
    for turn in reversed(state.turns):
        if turn.role != "interviewer" or "voice" not in turn.meta:
            continue
        if turn.meta.get("fallback") == SESSION_DISABLED or turn.meta.get("model_disabled"):
            return None
        if not is_model_failure(turn.meta):
            break
        count += 1
    return None if count >= MODEL_FAILURES_BEFORE_DISABLE else count


def _retry_reasons() -> dict[str, str]:
    """Reason -> sentence, from prompts/interview_model_retry_reasons.md (`reason: sentence` a line)."""
    return keyed_lines("interview_model_retry_reasons")


def retry_note(problem: str) -> str:
    """The corrective note appended to the prompt of a retry after `problem`."""
    reason = _retry_reasons().get(problem, _retry_reasons().get("bad_output", "it could not be used."))
    return render("interview_model_retry", problem=reason)


@dataclass
class _Attempt:
    """One phrasing request: its prompt, the streamed reply, and what is wrong with it (None when usable)."""

    prompt: VoicePrompt
    held: HeldStream
    text: str
    problem: str | None
    detail: str = ""


def _attempt(
    state: InterviewState,
    move: Move,
    case: Case,
    draft: str,
    meta: dict[str, Any],
    model: ChatModel,
    sink: TokenSink | None,
    *,
    token_budget: int,
    encoding: str,
    note: str = "",
) -> _Attempt:
    prompt = build_prompt(state, move, meta, case, draft, token_budget=token_budget, encoding=encoding, note=note)
    guard = Guard.for_move(state, move, case, prompt.messages)
    held = HeldStream(guard, sink)
    problem: str | None = None
    detail = ""
    try:
        _consume(model.stream(prompt.messages, max_tokens=MAX_REPLY_TOKENS), held)
    except ModelError as e:
        problem, detail = e.kind.replace(" ", "_"), redact(" ".join(str(e).split()))[:200]
    except _Abandon as e:
        problem = e.kind
    text = held.finish()
    if problem is None:
        problem = guard.problem(text)
    return _Attempt(prompt, held, text, problem, detail)


def _retry_sink(on_token: TokenSink | None, shown: bool) -> TokenSink | None:
    """Where a retry streams: the same sink, after withdrawing what the failed attempt showed if it can.

    A sink that cannot withdraw (no `withdraw()` method) gets nothing more once it was shown words: the
    caller then shows the returned text instead, as after any fallback.
    """
    if not shown or on_token is None:
        return on_token
    withdraw = getattr(on_token, "withdraw", None)
    if callable(withdraw):
        withdraw()
        return on_token
    return None


def phrase(
    state: InterviewState,
    move: Move,
    case: Case,
    draft: str,
    meta: dict[str, Any],
    model: ChatModel,
    *,
    on_token: TokenSink | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> tuple[str, dict[str, Any]]:
    """The model's words for the move, or the offline draft when the model fails; plus the voice meta.

    Unusable output (RETRY_KINDS) is retried once with a corrective note. `on_token` receives the accepted
    text in order (held back a few words); after a fallback or a retry the caller shows the returned text
    instead of what it was sent (a sink with `withdraw()` is told when streamed words are taken back).
    ModelError is recorded, never raised. Meta: voice, model, attempts, first_failure (after a retry),
    fallback (+ fallback_detail), tokens and cost summed over the attempts.
    """
    encoding = encoding_for(model.name)
    attempts = [_attempt(state, move, case, draft, meta, model, on_token, token_budget=token_budget, encoding=encoding)]
    first = attempts[0]
    if first.problem in RETRY_KINDS:
        sink = _retry_sink(on_token, first.held.sent > 0)
        note = retry_note(first.problem or "")
        retry = _attempt(
            state, move, case, draft, meta, model, sink, token_budget=token_budget, encoding=encoding, note=note
        )
        attempts.append(retry)
    final = attempts[-1]
    usages = [turn_usage(model.name, a.prompt.tokens, "".join(a.held.raw)) for a in attempts]
    prompt_tokens = sum(u.prompt_tokens for u in usages)
    completion_tokens = sum(u.completion_tokens for u in usages)
    voice: dict[str, Any] = {
        "model": model.name,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost_usd(model.name, prompt_tokens, completion_tokens),
        "attempts": len(attempts),
        "model_calls": len(attempts),
    }
    if len(attempts) > 1:
        voice["first_failure"] = first.problem
    if final.prompt.trimmed:
        voice["trimmed_turns"] = final.prompt.trimmed
    if final.problem is not None:
        voice.update({"voice": "offline", "fallback": final.problem})
        if final.detail:
            voice["fallback_detail"] = final.detail
        return draft, voice
    final.held.flush(final.text)
    voice["voice"] = "model"
    return redact(final.text), voice


def voice_turn(
    state: InterviewState,
    move: Move,
    case: Case,
    draft: str,
    meta: dict[str, Any],
    model: ChatModel,
    *,
    review: Mapping[str, Any] | None = None,
    on_token: TokenSink | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> tuple[str, dict[str, Any]]:
    """The interviewer's words and meta for one turn on the model path (what `engine.step` calls).

    Handles the session switch (no call once the model is off), the judgement's record (`review`, from
    `judgement.review_message`: its meta is kept, its usage added, and an endpoint that already failed
    on the judgement is not asked again this turn), the phrasing (`phrase`) and the switch-off after
    MODEL_FAILURES_BEFORE_DISABLE model failures in a row.
    """
    out = dict(meta)
    failures = consecutive_model_failures(state)
    if failures is None:  # switched off earlier in this session: no model call
        out.update({"voice": "offline", "fallback": SESSION_DISABLED})
        return draft, out
    judged = dict(review or {})
    if judged.get("endpoint_failure"):  # the judgement call timed out or could not connect: do not wait again
        text = draft
        voice: dict[str, Any] = {
            "model": model.name,
            "voice": "offline",
            "fallback": judged["endpoint_failure"],
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "attempts": 0,
            "model_calls": 0,
        }
        if judged.get("detail"):
            voice["fallback_detail"] = judged["detail"]
    else:
        text, voice = phrase(state, move, case, draft, meta, model, on_token=on_token, token_budget=token_budget)
    if "judgement" in judged:
        usage = judged.get("usage") or {}
        voice["prompt_tokens"] += int(usage.get("prompt_tokens", 0))
        voice["completion_tokens"] += int(usage.get("completion_tokens", 0))
        voice["cost_usd"] = cost_usd(model.name, voice["prompt_tokens"], voice["completion_tokens"])
        voice["model_calls"] += int(usage.get("calls", 0))
        out["judgement"] = judged["judgement"]
    out.update(voice)
    if is_model_failure(out) and failures + 1 >= MODEL_FAILURES_BEFORE_DISABLE:
        out["model_disabled"] = True
    return text, out


class TerminalEcho:
    """An `on_token` for the terminal: prints the interviewer's words as they stream, then settles the turn."""

    def __init__(self, out: TextIO | None = None, prefix: str = "\ninterviewer: ") -> None:
        """Write to `out` (stdout by default), each message starting with `prefix`."""
        self.out = out
        self.prefix = prefix
        self.started = False

    def _write(self, text: str) -> None:
        out = self.out if self.out is not None else sys.stdout
        out.write(text)
        out.flush()

    def __call__(self, piece: str) -> None:
        """Print one streamed piece."""
        if not self.started:
            self._write(self.prefix)
            self.started = True
        self._write(piece)

    def withdraw(self) -> None:
        """Take back what was printed of a reply that is being retried; the retry starts a new line."""
        if self.started:
            self._write(" [withdrawn]")
            self.started = False

    def done(self, turn: Turn) -> None:
        """End the message: nothing more for an accepted stream, the offline text after a withdrawn one."""
        if not self.started:
            self._write(f"{self.prefix}{turn.text}\n\n")
        elif turn.meta.get("voice") == "model":
            self._write("\n\n")
        else:
            self._write(f" [withdrawn]{self.prefix}{turn.text}\n\n")
        self.started = False


__all__ = [
    "HOLD_WORDS",
    "LEAK_RUN",
    "MAX_REPLY_CHARS",
    "MAX_REPLY_TOKENS",
    "MODEL_FAILURES_BEFORE_DISABLE",
    "MODEL_FAILURE_KINDS",
    "RETRY_KINDS",
    "SESSION_DISABLED",
    "Guard",
    "HeldStream",
    "TerminalEcho",
    "VoicePrompt",
    "build_prompt",
    "clean",
    "consecutive_model_failures",
    "describe_move",
    "fence_for",
    "hidden_texts",
    "is_model_failure",
    "phrase",
    "retry_note",
    "voice_turn",
]
