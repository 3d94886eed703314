"""Find and remove text in an answer that addresses the grader instead of answering the case."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e]+")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")

_ADDRESSING = [
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*"
    r"(?:previous|prior|above|earlier|preceding|former|original|other|system|grading|these|those|all)?\s*"
    r"(?:instructions?|prompts?|rules|directions|guidelines|rubrics?|criteria|messages?|context)\b",
    r"\byou\s+are\s+(?:now\s+)?(?:the|an?|my)\s+(?:\w+\s+)?(?:grader|evaluator|judge|assessor|scorer|examiner|"
    r"reviewer|marker|ai|assistant|language\s+model|llm)\b",
    r"\b(?:act|behave|respond)\s+as\s+(?:the|an?)\s+(?:\w+\s+)?(?:grader|evaluator|judge|assessor)\b",
    r"\bnote\s+(?:to|for)\s+(?:the\s+|any\s+|an?\s+)?(?:ai\s+|llm\s+|automated\s+)?(?:grader|evaluator|"
    r"reviewer|assessor|judge|examiner|marker|model|ai|llm|scorer)s?\b",
    r"\b(?:dear|attention|hey|hi)\s*,?\s+(?:the\s+)?(?:ai\s+)?(?:grader|evaluator|assessor|judge|examiner|"
    r"marker|scorer)\b",
    r"^\s*(?:ai\s+|llm\s+)?(?:grader|evaluator|assessor|judge|examiner|scorer)s?\s*[:,]",
    r"\b(?:grader|evaluator|assessor|judge|examiner|scorer|model|ai|llm)s?\s+(?:must|should|shall|will|needs?\s+to)"
    r"\s+(?:score|give|rate|mark|grade|output|return|award|assign|ignore|treat|consider)\b",
    r"\b(?:give|assign|award|rate|grade|score|mark|return|output|rank|classify)\s+(?:this|the|my|me|it)?\s*"
    r"(?:answer|response|submission|candidate|solution|design)?\s*(?:a|an|as|with|at)?\s*"
    r"(?:strong[\s_-]?hire|lean[\s_-]?hire|hire|4\s*(?:/|out\s+of)\s*4|(?:a\s+)?(?:score\s+of\s+)?(?:4|four)\b"
    r"|full\s+(?:marks|score|points)|(?:the\s+)?(?:top|maximum|max|highest|perfect)\s+(?:score|marks|grade|rating))",
    r"\b(?:this|the|my)\s+(?:answer|response|submission|candidate|design)\s+(?:deserves|merits|should\s+"
    r"(?:get|receive|be\s+given|score)|must\s+(?:get|receive|score)|earns|gets)\s+(?:a|an|the)?\s*"
    r"(?:strong|4|four|full|top|maximum|max|highest|perfect|hire)",
    r"\b(?:strong_hire|lean_hire|strong_no_hire|lean_no_hire|hire_signal)\b",
    r"\b(?:output|print|return|respond\s+with|reply\s+with)\s+(?:only\s+)?(?:the\s+following|this|a)\s+"
    r"(?:json|scorecard|score|verdict|grade)\b",
    r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:inst|system)\]|<<\s*sys\s*>>",
    r"\b(?:end\s+of\s+(?:the\s+)?(?:answer|response|candidate\s+answer)|begin\s+(?:new\s+)?instructions|"
    r"new\s+instructions?\s*:|system\s+override|developer\s+mode|jailbreak)\b",
]
_ADDRESSING_RX = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in _ADDRESSING]
_ROLE_LINE = re.compile(
    r"^\s*[\[<(#*>]*\s*(system|assistant|developer|user|human|ai)\s*[\]>)*]*\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE
)
_ROLE_CONTENT = re.compile(
    r"\b(?:instruction|grade|grader|graders|score|scores|scoring|hire|evaluat\w*|rubric|you\s+are|you\s+must|"
    r"ignore|override|candidate|answer|assistant|excellent|perfect|must)\b",
    re.IGNORECASE,
)
_SCORE_KEYS = re.compile(
    r"[\"']?(?:hire_signal|overall|score|scores|dimensions|scorecard|failure_modes|grade|verdict)[\"']?\s*[:=]",
    re.IGNORECASE,
)


@dataclass
class InjectionResult:
    """The answer with grader-addressing spans removed, and the spans themselves."""

    text: str
    spans: list[str] = field(default_factory=list)

    @property
    def attempt(self) -> bool:
        """True when anything addressing the grader was found."""
        return bool(self.spans)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Expand [start, end) to the enclosing sentence, never past a line break."""
    left = start
    while left > 0 and text[left - 1] != "\n":
        if text[left - 1] in ".!?" and left < len(text) and text[left].isspace():
            break
        left -= 1
    right = end
    while right < len(text) and text[right] != "\n":
        if text[right] in ".!?" and (right + 1 >= len(text) or text[right + 1].isspace()):
            right += 1
            break
        right += 1
    return left, right


def _brace_block(text: str, pos: int) -> tuple[int, int] | None:
    """The outermost {...} block around pos, if any (a pasted JSON object)."""
    depth, left = 0, None
    for i in range(pos, -1, -1):
        ch = text[i]
        if ch == "}" and i != pos:
            depth += 1
        elif ch == "{":
            if depth == 0:
                left = i
                break
            depth -= 1
    if left is None:
        return None
    while True:
        depth, right = 0, None
        for i in range(left, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    right = i + 1
                    break
        if right is None:
            return left, len(text)
        outer = text.rfind("{", 0, left)
        if outer == -1 or _closing(text, outer) < right:
            return left, right
        left = outer


def _closing(text: str, left: int) -> int:
    depth = 0
    for i in range(left, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _decoded_is_injection(blob: str) -> bool:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    if sum(ch.isprintable() or ch.isspace() for ch in decoded) < 0.9 * max(1, len(decoded)):
        return False
    return bool(_find_text_spans(decoded)) or bool(_SCORE_KEYS.search(decoded))


def _find_text_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for rx in _ADDRESSING_RX:
        for m in rx.finditer(text):
            spans.append(_sentence_bounds(text, m.start(), m.end()))
    for m in _ROLE_LINE.finditer(text):
        role, rest = m.group(1).lower(), m.group(2)
        if role in ("assistant", "developer") or _ROLE_CONTENT.search(rest):
            spans.append((m.start(), m.end()))
    return spans


def _cut(text: str, spans: list[tuple[int, int]], reported: list[str]) -> str:
    """Remove merged spans from text (each replaced by a line break) and record what was removed."""
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    last = 0
    for start, end in merged:
        pieces.append(text[last:start])
        pieces.append("\n")
        snippet = " ".join(text[start:end].split())
        if snippet:
            reported.append(snippet[:300] + ("…" if len(snippet) > 300 else ""))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _json_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _SCORE_KEYS.finditer(text):
        block = _brace_block(text, m.start())
        if block is not None:
            spans.append(block)
    return spans


def find_injection(text: str) -> InjectionResult:
    """Locate grader-addressing spans, remove them (and zero-width characters), and return both.

    Hidden carriers go first (zero-width characters, HTML comments, pasted scorecard JSON, base64
    blobs), then whole sentences or lines that address the grader in plain text.
    """
    reported: list[str] = []
    zero_width = sum(len(m.group(0)) for m in ZERO_WIDTH.finditer(text))
    if zero_width:
        reported.append(f"[{zero_width} zero-width character{'s' if zero_width > 1 else ''}]")
        text = ZERO_WIDTH.sub("", text)
    text = _cut(text, [(m.start(), m.end()) for m in _HTML_COMMENT.finditer(text)], reported)
    text = _cut(text, _json_spans(text), reported)
    blobs = [(m.start(), m.end()) for m in _BASE64.finditer(text) if _decoded_is_injection(m.group(0))]
    text = _cut(text, blobs, reported)
    text = _cut(text, _find_text_spans(text), reported)
    return InjectionResult(text, reported)


__all__ = ["ZERO_WIDTH", "InjectionResult", "find_injection"]
