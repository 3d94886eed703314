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


def _summary_html(state: DrillSession) -> str:
    """One line per answered question of a finished drill: score, dimension and question."""
    rows = "".join(
        f"<li><b>{i.assessment.score if i.assessment else '–'}/4</b> · {esc(STEP_TITLES[i.question.dimension])}"
        f" · {esc(i.question.text)}</li>"
        for i in state.items
    )
    mean = f" · mean {state.mean_score:.2f}/4" if state.mean_score is not None else ""
    return f"<div class='iv-drill-summary'><h3>Summary · {len(state.items)} answered{mean}</h3><ol>{rows}</ol></div>"


def drill_feedback_html(state: DrillSession | None) -> str:
    """The latest feedback and every earlier answered question; a finished drill opens with its summary."""
    if state is None or not state.items:
        return feedback_html(None)
    newest_first = list(reversed(state.items))
    if state.finished:
        return _summary_html(state) + "".join(feedback_html(i) for i in newest_first)
    html = feedback_html(newest_first[0])
    if len(newest_first) > 1:
        earlier = "".join(feedback_html(i) for i in newest_first[1:])
        head = f"<summary>Earlier answers ({len(newest_first) - 1})</summary>"
        html += f"<details class='iv-drill-earlier'>{head}{earlier}</details>"
    return html


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
    "drill_feedback_html",
    "feedback_html",
    "focus_choices",
    "mastery_frame",
    "parse_focus",
    "question_markdown",
    "status_markdown",
]
