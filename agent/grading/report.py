"""Markdown rendering of a scorecard that reads well in a terminal and as a file."""

from __future__ import annotations

from agent.grading.scorecard import Scorecard
from knowledge.ids import DIMENSIONS, STEP_TITLES

_BAR = {1: "█░░░", 2: "██░░", 3: "███░", 4: "████"}


def render_markdown(card: Scorecard) -> str:
    """The scorecard as markdown: headline, per-dimension table, evidence, failure modes, next steps."""
    lines = [
        f"# Scorecard: {card.case_id} ({card.level})",
        "",
        f"**Overall {card.overall:.2f} / 4 — {card.hire_signal.replace('_', ' ')}** (grader: {card.grader})",
        "",
        card.summary,
        "",
        "| dimension | score | |",
        "|---|---|---|",
    ]
    for dim in DIMENSIONS:
        score = card.dimensions[dim].score
        lines.append(f"| {STEP_TITLES[dim]} | {score} | {_BAR[score]} |")
    lines += ["", "## By dimension", ""]
    for dim in DIMENSIONS:
        d = card.dimensions[dim]
        lines.append(f"### {STEP_TITLES[dim]} — {d.score}/4")
        lines.append("")
        if d.evidence:
            lines += [f"> {quote}" for quote in d.evidence]
            lines.append("")
        if d.missing:
            lines.append("Missing: " + "; ".join(d.missing) + ".")
            lines.append("")
    lines += ["## Failure modes", ""]
    if card.failure_modes:
        for f in card.failure_modes:
            lines.append(f"- **{f.id}** ({f.step}): {f.evidence} See `{f.source}`.")
    else:
        lines.append("None flagged.")
    lines.append("")
    if card.practice_next:
        lines += ["## Practise next", ""]
        lines += [f"- {STEP_TITLES.get(p, p)}" for p in card.practice_next]
        lines.append("")
    if card.injection_attempt:
        lines += ["## Text addressed to the grader (removed, earned nothing)", ""]
        lines += [f"- `{span.replace('`', chr(39))}`" for span in card.injection_spans]
        lines.append("")
    if card.notes:
        lines += ["## Notes", ""]
        lines += [f"- {note}" for note in card.notes]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["render_markdown"]
