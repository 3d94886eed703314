"""Find and remove text in an answer that addresses the grader instead of answering the case."""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import re
import urllib.parse
from dataclasses import dataclass, field

ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e]+")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_LONG_SPACE = re.compile(r"\s{9,}")
_BRACE = re.compile(r"[{}]")
_CHAT_TURN = re.compile(r"<\|im_start\|>.*?(?:<\|im_end\|>|\Z)", re.DOTALL | re.IGNORECASE)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])|(?:\\x[0-9A-Fa-f]{2}){8,}")
_URL_ENCODED = re.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){12,}")
# Markup a reader never sees: script/style blocks, and elements hidden by an attribute or inline style.
_HIDDEN_BLOCK = re.compile(r"<(script|style|template|noscript)\b[^<>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_OPEN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)\b([^<>]*)>")
_HIDDEN_ATTR = re.compile(
    r"""(?:^|\s)hidden(?:\s|=|$)|aria-hidden\s*=\s*["']?true|display\s*:\s*none|visibility\s*:\s*hidden
      | (?:font-size|line-height|max-height|height|width|opacity)\s*:\s*0*\.?0+\s*(?:px|pt|em|rem|%)?\s*(?:[;"'!]|$)
      | (?<![-\w])color\s*:\s*(?:white|transparent|\#f{3}(?:f{3})?\b|rgba?\(\s*255\s*,\s*255\s*,\s*255)
      | (?:left|top|text-indent)\s*:\s*-\d{3,}""",
    re.IGNORECASE | re.VERBOSE,
)
# A markdown link-reference "comment": [//]: # (text), [comment]: <> (text); rendered as nothing.
_MD_COMMENT = re.compile(r"^[ \t]*\[[^\]\n]*\]:[ \t]*(?:#|<>)[^\n]*$", re.MULTILINE)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})

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
    r"^[ \t]*(?:ai\s+|llm\s+)?(?:grader|evaluator|assessor|judge|examiner|scorer)s?\s*[:,]",
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
    r"\b(?:output|print|return|respond\s+with|reply\s+with)\s+(?:only\s+)?(?:the\s+following|this)\s+"
    r"(?:json|scorecard|score|verdict|grade)\b",
    r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:inst|system)\]|<<\s*sys\s*>>",
    # a pasted grade: a table row scoring a dimension, a verdict line, a decision "already made by the panel"
    r"^[ \t]*(?:\|[ \t]*)?(?:requirements|framing|data|model(?:ing)?|evaluation|serving|deployment|monitoring|"
    r"communication|overall|dimension)\s*\|\s*(?:[1-4](?:\.\d+)?\s*(?:/\s*4)?|score)\s*\|?\s*$",
    r"^[ \t]*(?:final\s+)?verdict\s*[:=]|\b(?:already\s+)?(?:computed|decided|approved|graded)\s+by\s+the\s+"
    r"(?:panel|committee|hiring\s+committee|graders?)\b",
    r"\b(?:assign|set|give|award|force)_?(?:scores?|grades?|marks?|ratings?)\s*\(|\ball_dimensions\s*=",
    # a heading posing as another speaker, and rules "suspended" for this answer
    r"^[ \t]*#{1,6}[ \t]*(?:system|developer|assistant|tool|admin)\s+(?:message|prompt|note|instructions?)\b",
    r"\b(?:rubric|grading|scoring|evaluation)\s+(?:is|are|has\s+been|have\s+been)\s+(?:suspended|disabled|waived|"
    r"lifted|turned\s+off|switched\s+off)\b",
    r"\btreat\s+(?:every|all|each)\s+(?:of\s+the\s+)?(?:expected\s+)?points?\s+as\s+(?:covered|met|done)\b",
    # a pasted tool or function message: "[tool output] ...", "<function_result>"
    r"^[ \t]*[\[<(][ \t]*/?[ \t]*(?:tool|function|observation)(?:[\s_-]*(?:output|result|response|call))?\s*[\]>)]",
    r"\b(?:end\s+of\s+(?:the\s+)?(?:answer|response|candidate\s+answer)|begin\s+(?:new\s+)?instructions|"
    r"new\s+instructions?\s*:|system\s+override|developer\s+mode|jailbreak)\b",
    # "rate this response as a strong hire", "score it the maximum"
    r"\b(?:give|assign|award|rate|grade|score|mark|record|treat)\s+(?:this|the|my|me|it)\s+(?:\w+\s+)?"
    r"(?:as\s+)?(?:an?\s+|the\s+)?(?:strong[\s_-]?hire|lean[\s_-]?hire|hire\b|(?:maximum|max|top|highest|perfect|full)"
    r"\s+(?:score|marks?|grade|rating|points))",
    r"\b(?:grading|scoring|evaluation|marking|assessment)\s+(?:guidance|guidelines|rules|criteria|instructions|"
    r"rubric|policy)\s+(?:has|have|was|were)\s+(?:changed|been\s+(?:changed|updated|replaced|suspended))",
    r"\bregardless\s+of\s+(?:its|the|my)\s+(?:content|quality|substance)\b",
    r"\b(?:maximum|max|top|highest|perfect|full)\s+(?:score|marks?|grade|rating|points)\s+(?:in|on|for|across)\s+"
    r"(?:all|every|each)\b|\bonly\s+(?:correct|acceptable|possible)\s+(?:outcome|grade|score|verdict)\b",
    # role play aimed at the grader
    r"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+|my\s+)?\w*(?:grader|judge|examiner|evaluator|assessor|marker|"
    r"scorer)\w*\b",
    r"\b(?:let'?s\s+play\s+a\s+game|stay\s+in\s+character|(?:pretend|imagine)\s+(?:that\s+)?you\s+(?:are|were))\b",
    # fishing for what is hidden: the rubric, the prompt, the expected points, the hidden facts
    r"\b(?:print|reveal|show|dump|output|list|repeat|paste|give\s+me|tell\s+me|share|leak|disclose)\s+"
    r"(?:me\s+)?(?:all\s+(?:of\s+)?)?(?:your|the|its|this\s+case'?s?)\s+(?:\w+\s+){0,2}?(?:rubrics?|system\s+prompt|"
    r"prompt|instructions|expected\s+points|hidden\s+(?:facts|notes|points)|case\s+notes|answer\s+key|"
    r"scoring\s+(?:guide|key|criteria))\b",
    r"\b(?:debug|maintenance|developer|admin|god|test)\s+mode\b",
    r"\brepeat\s+(?:everything|all|the\s+text|the\s+words)\s+(?:above|before|that\s+came\s+before)\b",
    r"\b(?:everything|all\s+(?:the\s+)?(?:points|things))\s+(?:that\s+)?(?:a|the)\s+(?:perfect|ideal|strong|"
    r"model)\s+(?:candidate|answer)\s+would\s+(?:cover|say|mention|include)\b",
]
# The same two requests in other languages: "ignore the previous instructions" and "give the top score".
_FOREIGN = [
    r"\b(?:ignore[zr]?|oublie[zr]?)\s+(?:toutes\s+)?(?:les\s+)?(?:instructions|consignes|règles)",
    r"\b(?:la\s+)?note\s+(?:maximale|maximum)\b|\bla\s+meilleure\s+note\b",
    r"\b(?:ignora|ignore|olvida)\s+(?:todas\s+)?(?:las\s+)?instrucciones\b|\bpuntuaci[oó]n\s+m[aá]xima\b",
    r"\bel\s+evaluador\s+debe\b|\bnota\s+m[aá]xima\b",
    r"\bignorier\w*\s+(?:\w+\s+){0,3}anweisungen\b|\bh[öo]chstnote\b|\bbestnote\b|\bvolle\s+punktzahl\b",
    r"\bignora\s+(?:tutte\s+)?(?:le\s+)?istruzioni\b|\bpunteggio\s+massimo\b|\bvoto\s+massimo\b",
    r"\bignore\s+(?:todas\s+)?(?:as\s+)?instruções\b|\bnota\s+máxima\b",
    r"игнориру\w*\s+(?:\w+\s+){0,2}инструкци\w*|высш\w*\s+балл|максимальн\w*\s+(?:балл|оценк)\w*",
    r"忽略.{0,8}(?:指示|指令|说明)|满分|最高分",
    r"(?:指示|命令)を無視|満点|最高点",
]
_ADDRESSING_RX = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in [*_ADDRESSING, *_FOREIGN]]
_ROLE_LINE = re.compile(
    r"^[ \t]*[\[<(#*>]*[ \t]*(system|assistant|developer|user|human|ai)[ \t]*[\]>)*]*[ \t]*:[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_ROLE_CONTENT = re.compile(
    r"\b(?:instructions?|grade|grader|graders|scoring|hire|evaluator|evaluation\s+(?:mode|rubric)|rubric|you\s+are|"
    r"you\s+must|ignore|override|the\s+candidate|this\s+answer|assistant|excellent|perfect|must|assign|approved)\b",
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


def _top_blocks(text: str) -> list[tuple[int, int]]:
    """The outermost {...} blocks (a pasted JSON object), in order; an unclosed one runs to the end. One pass."""
    blocks: list[tuple[int, int]] = []
    depth, start = 0, 0
    for m in _BRACE.finditer(text):
        if m.group(0) == "{":
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                blocks.append((start, m.end()))
    if depth > 0:
        blocks.append((start, len(text)))
    return blocks


def _decoded_is_injection(blob: str) -> bool:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    if sum(ch.isprintable() or ch.isspace() for ch in decoded) < 0.9 * max(1, len(decoded)):
        return False
    return bool(_find_text_spans(decoded)) or bool(_SCORE_KEYS.search(decoded))


def _decoded_hex_is_injection(blob: str) -> bool:
    try:
        decoded = bytes.fromhex(blob.replace("\\x", "")).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return _is_injection_text(decoded)


def _decoded_url_is_injection(blob: str) -> bool:
    if blob.count("%") < 6:
        return False
    return _is_injection_text(urllib.parse.unquote_plus(blob, errors="replace"))


def _is_injection_text(decoded: str) -> bool:
    return bool(_find_text_spans(decoded)) or bool(_SCORE_KEYS.search(decoded))


def _element_end(text: str, tag: str, start: int) -> int:
    """Where the element whose opening tag ends at `start` closes (nested same-name tags counted; else the end)."""
    depth = 1
    for t in re.finditer(rf"<(/?)\s*{re.escape(tag)}\b[^<>]*>", text[start:], re.IGNORECASE):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            return start + t.end()
    return len(text)


def _hidden_markup_spans(text: str) -> list[tuple[int, int]]:
    """Hidden elements, markdown comments, and script/style blocks that address the grader: unseen by a reader.

    Other script and style blocks are plain markup (`strip_markup` drops them), not an attempt.
    """
    spans = [(m.start(), m.end()) for m in _HIDDEN_BLOCK.finditer(text) if _is_injection_text(m.group(0))]
    covered = 0
    for m in _OPEN_TAG.finditer(text):
        if m.start() < covered or not _HIDDEN_ATTR.search(m.group(2)):
            continue
        covered = _element_end(text, m.group(1), m.end())
        spans.append((m.start(), covered))
    spans += [(m.start(), m.end()) for m in _MD_COMMENT.finditer(text)]
    return spans


def _split_line_spans(text: str) -> list[tuple[int, int]]:
    """Grader-addressing text broken over several short lines ("Dear\\ngrader,\\nplease\\nscore ...").

    A match that crosses line breaks covers its whole lines when each is a short fragment (at most
    four words), plus neighbouring short lines that continue it in lower case.
    """
    if text.count("\n") < 2:
        return []
    joined = text.replace("\n", " ")  # same length: positions map back one to one
    lines: list[tuple[int, int]] = []
    at = 0
    for line in text.split("\n"):
        lines.append((at, at + len(line)))
        at += len(line) + 1

    def short(i: int, lower: bool = False) -> bool:
        words = text[lines[i][0] : lines[i][1]].split()
        return 0 < len(words) <= 4 and (not lower or words[0][0].islower())

    spans: list[tuple[int, int]] = []
    for rx in _ADDRESSING_RX:
        for m in rx.finditer(joined):
            first = next(i for i, (a, b) in enumerate(lines) if a <= m.start() <= b)
            last = next(i for i, (a, b) in enumerate(lines) if a <= max(m.start(), m.end() - 1) <= b)
            if last == first or not all(short(i) for i in range(first, last + 1)):
                continue
            while first > 0 and short(first - 1, lower=True):
                first -= 1
            while last + 1 < len(lines) and short(last + 1, lower=True):
                last += 1
            spans.append((lines[first][0], lines[last][1]))
    return spans


def _disguised_spans(text: str) -> list[tuple[int, int]]:
    """Grader-addressing text under ROT13 or leetspeak (both keep positions, so spans map back one to one)."""
    spans = _find_text_spans(codecs.encode(text, "rot13"))
    if any(ch in text for ch in "0134579@$!"):
        spans += [
            (start, end)
            for start, end in _find_text_spans(text.translate(_LEET))
            if any(ch.isdigit() or ch in "@$!" for ch in text[start:end])
        ]
    return spans


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
    """The outermost {...} blocks that hold a scorecard-like key."""
    if "{" not in text:
        return []
    blocks = _top_blocks(text)
    starts = [b[0] for b in blocks]
    found: dict[tuple[int, int], None] = {}
    for m in _SCORE_KEYS.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and blocks[i][0] <= m.start() < blocks[i][1]:
            found[blocks[i]] = None
    return list(found)


def find_injection(text: str) -> InjectionResult:
    """Locate grader-addressing spans, remove them (and zero-width characters), and return both.

    Hidden carriers go first (zero-width characters, HTML comments, hidden markup and markdown
    comments, pasted scorecard JSON, base64/hex/URL-encoded blobs), then whole sentences or lines that
    address the grader in plain text (several languages), then the same under ROT13 or leetspeak.
    """
    reported: list[str] = []
    # Long whitespace runs are squeezed first: they carry nothing, and they would make the patterns' optional
    # whitespace backtrack for seconds on a hostile answer.
    text = _LONG_SPACE.sub(lambda m: "\n\n" if "\n" in m.group(0) else " ", text)
    zero_width = sum(len(m.group(0)) for m in ZERO_WIDTH.finditer(text))
    if zero_width:
        reported.append(f"[{zero_width} zero-width character{'s' if zero_width > 1 else ''}]")
        text = ZERO_WIDTH.sub("", text)
    text = _cut(text, [(m.start(), m.end()) for m in _HTML_COMMENT.finditer(text)], reported)
    text = _cut(text, [(m.start(), m.end()) for m in _CHAT_TURN.finditer(text)], reported)
    text = _cut(text, _hidden_markup_spans(text), reported)
    text = _cut(text, _json_spans(text), reported)
    blobs = [(m.start(), m.end()) for m in _BASE64.finditer(text) if _decoded_is_injection(m.group(0))]
    blobs += [(m.start(), m.end()) for m in _HEX.finditer(text) if _decoded_hex_is_injection(m.group(0))]
    blobs += [(m.start(), m.end()) for m in _URL_ENCODED.finditer(text) if _decoded_url_is_injection(m.group(0))]
    text = _cut(text, blobs, reported)
    text = _cut(text, _find_text_spans(text) + _split_line_spans(text), reported)
    text = _cut(text, _disguised_spans(text), reported)
    return InjectionResult(text, reported)


__all__ = ["ZERO_WIDTH", "InjectionResult", "find_injection"]
