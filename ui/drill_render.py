"""Pure rendering for the Drill tab: focus choices, status, question, feedback and mastery; all text escaped."""

from __future__ import annotations

import pandas as pd

from agent.drill.mastery import Mastery, next_focus
from agent.drill.session import DrillItem, DrillSession, question_text
from knowledge.corpus import load_corpus
from knowledge.ids import DIMENSIONS, FAILURE_MODES, STEP_TITLES
from ui.render import esc

WEAKEST = "weakest"
"""Focus value: the weakest dimension (and failure mode) from the candidate's mastery."""
ANY_CASE = "any"
"""Case value: let the drill pick a case that fits the focus."""


def focus_choices() -> list[tuple[str, str]]:
    """(label, value) pairs: weakest first, every dimension (`dim:<id>`), every failure mode (`mode:<id>`)."""
    modes = load_corpus().failure_modes
    return [
        ("Weakest first (from your mastery)", WEAKEST),
        *[(f"Dimension · {STEP_TITLES[d]}", f"dim:{d}") for d in DIMENSIONS],
        *[(f"Failure mode · {modes[m].title}", f"mode:{m}") for m in FAILURE_MODES],
    ]


def parse_focus(value: str | None) -> tuple[str | None, str | None]:
    """(dimension, failure_mode) of a focus value; (None, None) for weakest first; ValueError if unknown."""
    if not value or value == WEAKEST:
        return None, None
    kind, _, key = value.partition(":")
    if kind == "dim" and key in DIMENSIONS:
        return key, None
    if kind == "mode" and key in FAILURE_MODES:
        return None, key
    raise ValueError(f"Unknown drill focus {value!r}: pick one from the list.")


def status_markdown(state: DrillSession | None) -> str:
    """Focus, case and progress of a drill (a hint without one)."""
    if state is None:
        return "Pick a focus and press **Start drill**: one question at a time, each graded at once."
    case = load_corpus().case(state.case_id)
    answered = len(state.items)
    mean = f" · mean {state.mean_score:.2f}/4" if state.mean_score is not None else ""
    if state.finished:
        nxt = next_focus(state.mastery)
        head = f"**Drill finished** · {answered} answered{mean} · next focus: {STEP_TITLES[nxt.dimension]}"
    else:
        head = f"**Question {answered + 1} of {state.count}**{mean}"
    return f"{head}\n\n**Case:** {esc(case.title)} · **Why this focus:** {esc(state.note)}"


def question_markdown(state: DrillSession | None) -> str:
    """The current question (empty when there is none)."""
    if state is None or state.current is None:
        return "" if state is None else "_No more questions in this drill: start another one above._"
    return esc(question_text(load_corpus(), state, state.current)).replace("\n", "\n\n")


def feedback_html(item: DrillItem | None) -> str:
    """Score, feedback and the knowledge-base pointer (source › heading) of an answered item."""
    if item is None or item.assessment is None:
        return "<p class='iv-muted'>Feedback on your answer appears here.</p>"
    a = item.assessment
    lines = [line for line in a.feedback.splitlines() if line.strip() and not line.startswith("Read next:")]
    head = lines[0] if lines else f"Score {a.score}/4"
    body = "".join(f"<p>{esc(line)}</p>" for line in lines[1:])
    return (
        f"<div class='iv-drill-feedback'><h3>{esc(head)}</h3>"
        f"<p><i>Q:</i> {esc(item.question.text)}</p>"
        f"<blockquote>{esc(item.answer or '')}</blockquote>{body}"
        f"<p class='iv-kb'><b>Knowledge base:</b> <code>{esc(a.source)}</code> › {esc(a.heading)}</p></div>"
    )


def mastery_frame(mastery: Mastery | None) -> pd.DataFrame:
    """Mastery per dimension on the 1-4 scale (dimension, mastery, status) for a bar plot."""
    m = mastery or Mastery()
    rows = []
    for d in DIMENSIONS:
        e = m.dimensions[d]
        status = "mastered" if e.mastered else ("learning" if e.count else "no evidence yet")
        rows.append({"dimension": STEP_TITLES[d], "mastery": round(e.score, 2), "status": status})
    return pd.DataFrame(rows, columns=["dimension", "mastery", "status"])


__all__ = [
    "ANY_CASE",
    "WEAKEST",
    "feedback_html",
    "focus_choices",
    "mastery_frame",
    "parse_focus",
    "question_markdown",
    "status_markdown",
]
