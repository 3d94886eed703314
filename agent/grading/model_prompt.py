"""Build the grading messages for the model: rubric, the case's expected points, failure modes, the fenced answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agent.llm.base import Message
from knowledge.corpus import Case, Corpus
from knowledge.ids import DIMENSIONS, STEP_TITLES, STEPS, applicable_failure_modes
from knowledge.tokens import count_tokens, get_encoding
from prompts.render import render

PROMPT_TOKEN_BUDGET = 9000
"""Upper bound on system + user prompt tokens (cl100k); the answer is truncated to fit."""
MIN_ANSWER_TOKENS = 200

LEVEL_NOTES: dict[str, str] = {
    "mid": "A mid-level candidate earns a score with sound basics; depth beyond that is a bonus.",
    "senior": "A senior candidate needs depth and justified trade-offs for a 3 or 4.",
    "staff": "A staff candidate needs depth, trade-offs and organisation-wide concerns for a 3 or 4.",
}


@dataclass(frozen=True)
class GradingPrompt:
    """The messages to send and whether the answer had to be shortened."""

    messages: list[Message]
    fence: str
    answer_tokens: int
    truncated: bool


def fence_for(answer: str) -> str:
    """A fence tag derived from the answer's hash: the answer cannot contain (or forge) its own fence."""
    digest = hashlib.sha256(answer.encode("utf-8")).hexdigest()[:12]
    return f"<<<ANSWER-{digest}>>>"


def _first_sentence(text: str, limit: int = 220) -> str:
    head = " ".join(text.split())
    cut = head.find(". ")
    if cut != -1:
        head = head[: cut + 1]
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def rubric_text(corpus: Corpus, level: str) -> str:
    """The score anchors of the eight dimensions, with each dimension's note for the level."""
    blocks = []
    for dim in DIMENSIONS:
        rubric = corpus.rubrics.get(dim)
        if rubric is None:
            continue
        lines = [f"### {dim} ({STEP_TITLES[dim]})"]
        for score in (1, 2, 3, 4):
            lines.append(f"- {score}: " + " ".join(" ".join(a.split()) for a in rubric.anchors[score]))
        if level in rubric.by_level:
            lines.append(f"- at {level} level: {' '.join(rubric.by_level[level].split())}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def points_text(case: Case) -> str:
    """The case's expected points per step, statements only (cues would teach the answer to the grader)."""
    blocks = []
    for step in STEPS:
        statements = [f"- {' '.join(p.statement.split())}" for p in case.points.get(step, [])]
        blocks.append(f"{step}:\n" + "\n".join(statements))
    return "\n".join(blocks)


def failure_modes_text(corpus: Corpus, case_id: str) -> str:
    """The applicable failure-mode ids, each with its step and a one-line definition."""
    lines = []
    for mode in applicable_failure_modes(case_id):
        doc = corpus.failure_modes.get(mode)
        definition = _first_sentence(doc.definition) if doc is not None else ""
        step = doc.step if doc is not None else ""
        lines.append(f"- `{mode}` ({step}): {definition}")
    return "\n".join(lines)


def _truncate(answer: str, max_tokens: int) -> tuple[str, int, bool]:
    enc = get_encoding()
    tokens = enc.encode(answer, disallowed_special=())
    if len(tokens) <= max_tokens:
        return answer, len(tokens), False
    return enc.decode(tokens[:max_tokens]), len(tokens), True


def build_grading_prompt(
    answer: str, case: Case, level: str, corpus: Corpus, *, budget: int = PROMPT_TOKEN_BUDGET
) -> GradingPrompt:
    """A fresh system + user message pair grading `answer` (already injection-stripped) within the token budget."""
    fence = fence_for(answer)
    fixed = {
        "case_title": case.title,
        "case_id": case.id,
        "level": level,
        "level_note": LEVEL_NOTES.get(level, ""),
        "rubric": rubric_text(corpus, level),
        "expected_points": points_text(case),
        "failure_modes": failure_modes_text(corpus, case.id),
        "fence": fence,
    }
    system = render("grade_system", fence=fence)
    skeleton = render("grade_user", **fixed, answer="", answer_note="")
    room = budget - count_tokens(system) - count_tokens(skeleton) - 40
    text, total, truncated = _truncate(answer.strip(), max(MIN_ANSWER_TOKENS, room))
    note = ""
    if truncated:
        note = f" It was cut to its first {max(MIN_ANSWER_TOKENS, room)} of {total} tokens to fit; grade what is shown."
    user = render("grade_user", **fixed, answer=text, answer_note=note)
    return GradingPrompt([Message.system(system), Message.user(user)], fence, total, truncated)


__all__ = [
    "LEVEL_NOTES",
    "PROMPT_TOKEN_BUDGET",
    "GradingPrompt",
    "build_grading_prompt",
    "failure_modes_text",
    "fence_for",
    "points_text",
    "rubric_text",
]
