"""Pure rendering for the app: chat messages, step tracker, clock, flags, scorecard, plots; all text escaped."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from agent.grading.scorecard import Scorecard
from agent.interview.state import InterviewState, RaisedFlag, Turn
from knowledge.corpus import Case, load_corpus
from knowledge.ids import DIMENSIONS, STEP_TITLES, STEPS

ChatMessage = dict[str, str]


def esc(text: str) -> str:
    """HTML-escape text so a `<script>` or any markup shows as text, never runs."""
    return html.escape(text, quote=True)


def chat_message(turn: Turn) -> ChatMessage:
    """One turn as a Chatbot message (interviewer = assistant, candidate = user), escaped."""
    return {"role": "assistant" if turn.role == "interviewer" else "user", "content": esc(turn.text)}


def chat_messages(turns: Iterable[Turn]) -> list[ChatMessage]:
    """Every turn as Chatbot messages, in order."""
    return [chat_message(t) for t in turns]


def stream_chunks(text: str, words_per_chunk: int = 10, max_chunks: int = 5) -> Iterator[str]:
    """Growing prefixes of `text`, a few words at a time, at most `max_chunks` (the last one is the whole text).

    Every chunk re-sends the app's outputs and Gradio rebuilds a component per output, so under load
    (`python -m evals.load`) fewer, larger chunks leave more CPU for the turns themselves.
    """
    words = text.split(" ")
    words_per_chunk = max(words_per_chunk, -(-len(words) // max_chunks))
    for end in range(words_per_chunk, len(words), words_per_chunk):
        yield " ".join(words[:end])
    yield text


def _points_total(case: Case, step: str) -> int:
    return len(case.points.get(step, []))


def steps_markdown(state: InterviewState) -> str:
    """The seven steps (▶ current, ✓ all covered, ◐ some, – passed with none, · to come) and points covered."""
    case = load_corpus().case(state.case_id)
    lines = ["| | step | covered |", "|---|---|---|"]
    for step in STEPS:
        covered = state.covered.get(step, [])
        if step == state.phase and not state.finished:
            mark = "▶"
        elif covered:
            mark = "✓" if len(covered) >= _points_total(case, step) else "◐"
        elif step in state.steps_done:
            mark = "–"  # passed with nothing covered
        else:
            mark = "·"
        title = f"**{STEP_TITLES[step]}**" if step == state.phase and not state.finished else STEP_TITLES[step]
        lines.append(f"| {mark} | {title} | {len(covered)}/{_points_total(case, step)} |")
    covered_now = [p.replace("-", " ") for p in state.covered.get(state.phase, [])]
    if covered_now:
        lines += ["", f"Covered in *{STEP_TITLES[state.phase]}*: " + esc(", ".join(covered_now))]
    return "\n".join(lines)


_MODEL_FAULTS = frozenset({"error", "timeout", "refusal", "bad_output", "unavailable", "session_disabled"})


def model_notice(state: InterviewState) -> str:
    """One line when the model is not speaking: switched off for the session, or the last turn fell back ("" else)."""
    voiced = [t for t in state.turns if t.role == "interviewer" and "voice" in t.meta]
    if not voiced:
        return ""
    off = next((t for t in voiced if t.meta.get("model_disabled")), None)
    if off is not None or any(t.meta.get("fallback") == "session_disabled" for t in voiced):
        reason = str((off.meta.get("fallback") if off is not None else "") or "repeated failures")
        return (
            "⚠ **Model unavailable** — the offline interviewer is answering for the rest of this session "
            f"({esc(reason.replace('_', ' '))})."
        )
    last = voiced[-1].meta
    if last.get("voice") != "offline":
        return ""
    reason = str(last.get("fallback") or "unknown").replace("_", " ")
    if last.get("fallback") in _MODEL_FAULTS:
        return f"⚠ **Model unavailable** — the offline interviewer answered this turn ({esc(reason)})."
    return f"⚠ **Model reply not usable** — the offline interviewer answered this turn ({esc(reason)})."


def clock_text(state: InterviewState, now: float | None = None) -> str:
    """Minutes used against the budget (wall clock) or candidate turns against the turn budget."""
    pacing = state.pacing
    if pacing.clock == "turns":
        used = len(state.candidate_turns())
        return f"Clock: turn {used} of {pacing.turn_budget}"
    at = time.time() if now is None else now
    last = state.turns[-1].at if state.finished and state.turns else at
    elapsed = max(0.0, last - pacing.started_at)
    budget = pacing.budget_seconds
    over = " — over time, wrap up" if elapsed > budget else ""
    return f"**Clock** {_mmss(elapsed)} / {_mmss(budget)}{over}"


def _mmss(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _passage_html(mode_id: str, case: Case | None, evidence: str = "") -> str:
    doc = load_corpus().failure_mode(mode_id)
    parts = [f"<p><b>{esc(doc.title)}</b>: {esc(doc.definition)}</p>"]
    if evidence:
        parts.append(f"<p><i>Why it was raised:</i> {esc(evidence)}</p>")
    parts.append(f"<p><i>Why it hurts:</i> {esc(doc.why_it_hurts)}</p>")
    parts.append(f"<p><i>How to recover:</i> {esc(doc.how_to_recover)}</p>")
    if case is not None and mode_id in case.failure_modes:
        parts.append(f"<p><i>In this case:</i> {esc(case.failure_modes[mode_id])}</p>")
    parts.append(f"<p><small>Source: <code>{esc(doc.source)}</code></small></p>")
    return "".join(parts)


def flags_html(flags: Sequence[RaisedFlag], case_id: str) -> str:
    """Failure modes raised so far, each a `<details>` that opens to the passage it cites."""
    if not flags:
        return "<p class='iv-muted'>No failure modes raised yet.</p>"
    case = load_corpus().case(case_id)
    items = []
    for flag in flags:
        title = load_corpus().failure_mode(flag.id).title
        items.append(
            f"<details class='iv-flag'><summary>⚑ {esc(title)} <small>({esc(STEP_TITLES.get(flag.step, flag.step))},"
            f" turn {flag.turn})</small></summary>{_passage_html(flag.id, case, flag.evidence)}</details>"
        )
    return "".join(items)


def _signal(card: Scorecard) -> str:
    return card.hire_signal.replace("_", " ")


def scorecard_headline(card: Scorecard) -> str:
    """Overall score and hire signal, as markdown."""
    return f"## Overall {card.overall:.2f} / 4 — {_signal(card)}\n\n{esc(card.summary)}"


def scorecard_details_html(card: Scorecard) -> str:
    """Evidence and what is missing per dimension, failure modes with passages, and what to practise next."""
    case = load_corpus().cases.get(card.case_id)
    out = ["<h3>Evidence by dimension</h3>"]
    for dim in DIMENSIONS:
        d = card.dimensions[dim]
        body = "".join(f"<blockquote>{esc(q)}</blockquote>" for q in d.evidence) or "<p><i>No evidence quoted.</i></p>"
        if d.missing:
            body += f"<p><i>Missing:</i> {esc('; '.join(d.missing))}</p>"
        out.append(f"<details><summary>{esc(STEP_TITLES[dim])}: {d.score}/4</summary>{body}</details>")
    out.append("<h3>Failure modes</h3>")
    if card.failure_modes:
        for f in card.failure_modes:
            title = load_corpus().failure_mode(f.id).title
            out.append(
                f"<details class='iv-flag'><summary>⚑ {esc(title)} <small>({esc(STEP_TITLES.get(f.step, f.step))})"
                f"</small></summary>{_passage_html(f.id, case, f.evidence)}</details>"
            )
    else:
        out.append("<p>None flagged.</p>")
    if card.practice_next:
        out.append("<h3>Practise next</h3><ul>")
        out += [f"<li>{esc(STEP_TITLES.get(p, p))}</li>" for p in card.practice_next]
        out.append("</ul>")
    if card.injection_attempt:
        out.append("<h3>Text addressed to the grader (removed, earned nothing)</h3><ul>")
        out += [f"<li><code>{esc(span)}</code></li>" for span in card.injection_spans]
        out.append("</ul>")
    if card.notes:
        out.append("<p><small>" + esc(" · ".join(card.notes)) + "</small></p>")
    return "".join(out)


def score_frame(card: Scorecard | None) -> pd.DataFrame:
    """Per-dimension scores as a frame for a bar plot (dimension, score)."""
    if card is None:
        return pd.DataFrame({"dimension": [], "score": []})
    return pd.DataFrame(
        {"dimension": [STEP_TITLES[d] for d in DIMENSIONS], "score": [card.dimensions[d].score for d in DIMENSIONS]}
    )


DIMENSION_ORDER = [STEP_TITLES[d] for d in DIMENSIONS]
"""Dimension titles in contract order (the x axis of the scorecard plot)."""


def when(ts: float) -> str:
    """A timestamp as local-free ISO minutes (UTC)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def history_row(summary: Any) -> list[Any]:
    """One session summary as a history table row: id, kind, case, level, status, date (UTC), overall, signal."""
    overall = f"{summary.overall:.2f}" if summary.overall is not None else "—"
    signal = (summary.hire_signal or "—").replace("_", " ")
    return [
        summary.id,
        summary.kind,
        summary.case_id,
        summary.level,
        summary.status,
        when(summary.created_at),
        overall,
        signal,
    ]


HISTORY_HEADERS = ["session", "kind", "case", "level", "status", "date (UTC)", "overall", "signal"]
"""Columns of the history table."""


def trend_frame(points: Iterable[tuple[float, Scorecard]]) -> pd.DataFrame:
    """Scores per dimension over time (one row per session and dimension) for a line plot."""
    rows = [
        {"date": datetime.fromtimestamp(ts, tz=UTC), "dimension": STEP_TITLES[d], "score": card.dimensions[d].score}
        for ts, card in points
        for d in DIMENSIONS
    ]
    return pd.DataFrame(rows, columns=["date", "dimension", "score"])


__all__ = [
    "DIMENSION_ORDER",
    "HISTORY_HEADERS",
    "ChatMessage",
    "chat_message",
    "chat_messages",
    "clock_text",
    "esc",
    "flags_html",
    "history_row",
    "model_notice",
    "score_frame",
    "scorecard_details_html",
    "scorecard_headline",
    "steps_markdown",
    "stream_chunks",
    "trend_frame",
    "when",
]
