"""Answer text: sanitising, markdown-aware sentence splitting, and negation/dismissal per clause."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_CHARS = 100_000
"""Answers longer than this are truncated (with a note) before grading."""

# Control characters, the replacement character, and lone surrogates (from JSON "\ud800" escapes:
# they cannot be encoded, so the tokenizer and SQLite would fail on them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_BOLD_LINE = re.compile(r"^\s*\*\*([^*]{2,80})\*\*:?\s*$")
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]*_]*\s+(?=[\"'(\[*_]*[A-Z0-9])|(?<=[a-z]{3}[.!?])\s+(?=[a-z]{2})")
"""A sentence ends at . ! or ? before a capital or a digit, or (lower-case chat) after a word and before a word."""
# A bold or italic lead-in that titles a paragraph: "**Data.** We log ..." or "__Serving:__ ...".
_LEAD_IN = re.compile(r"^\s*(?:\*\*|__)([A-Za-z][^*_]{1,60}?)[.:]?(?:\*\*|__)[.:]?\s+(?=\S)")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|approx|cf|dr|mr|mrs|no|fig|al)\.)$", re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(
    r"[;:!?]|,|\s[-–—]\s|\s(?:but|because|since|although|though|whereas|so that|so)\s"
    r"|\sand\s+(?:go|jump|move)\s+(?:straight|directly)\s+to\s",
    re.IGNORECASE,
)

# A clause containing one of these is a dismissal: what it mentions is not covered.
_DISMISS = re.compile(
    r"""\b(?:
        (?:don'?t|do\s+not|doesn'?t|does\s+not|won'?t|will\s+not|wouldn'?t|would\s+not|shouldn'?t|should\s+not|needn'?t|never|
            (?:i'?m|i\s+am|we'?re|we\s+are)\s+not\s+going\s+to|not\s+going\s+to|(?:i|we)'?d\s+not)\s+
            (?:really\s+)?(?:need|bother|require|have\s+to|worry|care|matter|plan|use|do|build|add|include|want|
            spend\s+(?:(?:a|any|much|the)\s+)?(?:cycles?|time|effort|sprint))
      | no\s+need | not\s+(?:needed|necessary|required|needed\s+here|important|worth|a\s+priority|relevant)
      | unnecessary | overkill | out\s+of\s+scope | not\s+in\s+scope | isn'?t\s+(?:needed|necessary|required|important)
      | aren'?t\s+(?:needed|necessary|required|important) | skip(?:s|ped|ping)?(?!\s+connections?)
      | forget(?:\s+about)?
      | can\s+(?:come|wait|be\s+done|be\s+added|be\s+handled)\s+later | (?:worry|think)\s+about\s+\w+(?:\s+\w+)?\s+later
      | later\s+if\s+needed | leave\s+(?:(?:it|them|that)\s+)?(?:out|aside|for\s+later)
      | let'?s\s+not | no\s+point | not\s+bother
      | (?:don'?t|do\s+not)\s+think\s+(?:we\s+need|it'?s\s+(?:needed|necessary|worth|important)
            |(?:it|this|that|they)\s+(?:matters?|helps?|is\s+(?:needed|necessary|worth\s+it|important)))
      | negligible | not\s+(?:a\s+)?(?:real\s+|big\s+|major\s+)?(?:concern|issue|problem)
      | (?:is|are)\s+(?:just\s+)?an?\s+(?:engineering|implementation|infra(?:structure)?)\s+detail
      | (?:just|simply)\s+(?:put|wrap|throw|stick)\s+(?:it|the\s+model)
      | won'?t\s+be\s+(?:needed|necessary) | don'?t\s+matter | doesn'?t\s+matter | ignore | irrelevant
      | good\s+enough\s+without | (?:we|i)\s+(?:can|could|will|'ll)\s+(?:drop|omit)
      | (?:i'?d|i\s+would|we'?d|we\s+would|i'?ll|we'?ll|let'?s)\s+(?:\w+\s+)?leave\s+(?:\w+\s+){0,6}?to\s+
            (?:the\s+|our\s+)?(?:[\w-]+\s+){0,2}?(?:infra\w*|platform|ops|devops|sre|backend|engineering|software|
            other|serving|deployment)
      | (?:someone|somebody)\s+else'?s\s+(?:job|problem|concern)
      | (?:that|it|this|deployment|serving)\s+(?:goes|go|gets\s+handed|is\s+handed)\s+(?:over\s+)?to\s+
            (?:the\s+|our\s+)?(?:[\w-]+\s+){0,2}?(?:team|folks|people|infra\w*|platform|ops|devops|sre)
      | (?:that'?s|it'?s|is)\s+(?:really\s+|mostly\s+)?(?:the\s+)?(?:[\w-]+\s+){0,3}?
            (?:team'?s|their|folks'?|people'?s|guys'?|engineers'?)\s+(?:domain|job|problem|area|call|territory)
      | (?:for|with)\s+(?:very\s+)?little\s+(?:information|gain|value|benefit|signal)
      | (?:is|are|looks?|seems?)\s+convincing\s+enough
      | no\s+(?:a/b|ab|online)(?:\s+(?:tests?|testing|experiments?))?(?=\s*(?:[.;!]|$|needed|required|necessary))
      | they'?(?:d|ll|\s+would|\s+will|\s+can)\s+take\s+it\s+from\s+there | hand\s+(?:it|this|that)\s+(?:off|over)
      | (?:the\s+|our\s+)?(?:platform|infra\w*|ops|devops|sre|backend|mlops|serving|deployment)\s+team\s+
            (?:owns|handles|takes\s+care\s+of|does|deals\s+with)\b
      | hand\s+(?:them|the\s+\w+\s+team)\s+(?:the\s+)?(?:model|artifact|weights|checkpoint)
      | they'?d\s+wire\s+it\s+up
      | the\s+rest\s+is\s+(?:just\s+)?(?:standard|plain|boring|routine|normal)?\s*
            (?:engineering|plumbing|implementation)
      | (?:don'?t|do\s+not)\s+think\s+(?:an?\s+|the\s+)?[\w\s/-]{1,40}?\s+adds?\s+(?:much|anything|a\s+lot|value)
      | let\s+them\s+(?:integrate|handle|deploy|figure|decide|own) | nor\s+(?:on|for|with|to|any|a|an|the)
      | (?:i'?d|i\s+would|we'?d)\s+resist | we'?ll\s+see\s+how | decide\s+(?:then|later)
      | (?:people|some\s+teams|others|teams)\s+(?:sometimes|often|usually)\s+(?:reach\s+for|use|try|add)
      | (?:not|isn'?t)\s+(?:really\s+)?(?:the\s+|an?\s+|our\s+)?ml\s+(?:part|problem|concern|question|work|side)
      | (?:not|(?:don'?t|do\s+not)\s+think\s+(?:that'?s|it'?s|this\s+is))\s+where\s+the\s+(?:ml|interesting|real)\s+
            (?:\w+\s+)?(?:interest|part|work|problem)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
# A dismissal word that is itself negated ("we can't ignore position bias") is an insistence.
_INSIST = re.compile(
    r"\b(?:can'?t|cannot|must\s+not|mustn'?t|shouldn'?t|should\s+not|don'?t|do\s+not|never|not)\s+"
    r"(?:ignore|skip|forget|overlook|neglect)",
    re.IGNORECASE,
)
# A pronoun standing for something named earlier in the sentence.
_ANAPHOR = re.compile(r"\b(?:it|this|that|them|they|these|those)\b(?!\s+(?:is|are)\s+(?:why|how))", re.IGNORECASE)
# These introduce the dismissed part; it runs to the end of the clause.
_FORWARD = re.compile(r"\b(?:instead\s+of|rather\s+than|without(?:\s+any)?|in\s+place\s+of)\b", re.IGNORECASE)
# "prefer X to Y", "chose X over Y": the alternative Y is named only to be rejected.
_PREFERRED = re.compile(
    r"\b(?:(?P<verb>prefer\w*)|chose|chosen|choos\w+|pick\w*|favou?r\w*|opt(?:ed|ing)?\s+for)\s+"
    r"(?:[\w/&()-]+\s+){0,5}?(?P<alt>over|to)\s+\S",
    re.IGNORECASE,
)
# A clause containing one of these is negated: a harmful thing it names is not being done.
_NEGATOR = re.compile(
    r"\b(?:not|no|never|avoid\w*|instead|rather|don'?t|doesn'?t|won'?t|wouldn'?t|shouldn'?t|can'?t|cannot|"
    r"isn'?t|aren'?t|unlike|wrong|mistake|misleading|useless|meaningless|bad|pitfall|trap|prevent\w*|"
    r"risk\w*|naive|naïve|leak\w*|beware|careful|rather\s+than|inflate\w*|silly|pointless|wasteful|infeasible|"
    r"impossible|(?:won'?t|can'?t|doesn'?t|does\s+not|cannot)\s+scale|tells?\s+(?:us\s+)?nothing|says?\s+nothing|"
    r"would\s+look\s+(?:fine|great|good)|misses\s+(?:most|much|the\s+point|the\s+picture)|"
    r"(?:someone|people|teams)\s+(?:always\s+|often\s+|usually\s+)?(?:propose|suggest)s?|"
    # the reason a leaking idea is dropped: "computed over the whole period it would include the weeks I test on"
    r"would\s+(?:include|contain|cover|see)\s+(?:the\s+)?(?:weeks?|days?|months?|period|data)\s+(?:i|we)\s+"
    r"(?:evaluate|test|validate)|"
    # thinking aloud, then taking it back: "I was going to say random, but no", "I nearly said accuracy",
    # "I was about to say a random split, but wait"
    r"(?:was\s+going\s+to|was\s+about\s+to|was\s+tempted\s+to|nearly|almost|first\s+wanted\s+to)\s+"
    r"(?:say|said|write|wrote|use|pick|propose|add|include|compute|take|put|train|build))\b",
    re.IGNORECASE,
)


TODAY = re.compile(r"\b(?:today|right now|currently|at the moment|at present)\b")
"""Words that place a sentence in the system as it runs now ("a nightly trie today"), not in the design."""


@dataclass(frozen=True)
class Clause:
    """A part of a sentence between commas, semicolons or joining words."""

    text: str
    dismissed: bool
    negated: bool


@dataclass(frozen=True)
class Sentence:
    """One sentence (or heading, bullet or table row) of an answer, with its dismissal-free text."""

    index: int
    text: str
    kept: str
    heading: str
    is_heading: bool
    clauses: tuple[Clause, ...] = field(default_factory=tuple)

    @property
    def dismissed(self) -> bool:
        """True when some clause of the sentence dismisses what it mentions."""
        return any(c.dismissed for c in self.clauses)

    @property
    def is_question(self) -> bool:
        """True when the sentence asks something."""
        return self.text.rstrip().endswith("?")


def sanitize(raw: str) -> tuple[str, list[str]]:
    """Strip control and binary characters, normalise newlines, truncate very long text; return notes."""
    notes: list[str] = []
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    stripped = _CONTROL.sub("", text)
    if len(stripped) != len(text):
        notes.append(f"removed {len(text) - len(stripped)} control or binary characters")
    text = unicodedata.normalize("NFC", stripped)
    if len(text) > MAX_CHARS:
        notes.append(f"answer truncated from {len(text)} to {MAX_CHARS} characters")
        text = text[:MAX_CHARS]
    return text, notes


_HTML_BLOCK = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_NAMES = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|big|blink|blockquote|body|br|button|canvas|caption|"
    "center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|div|dl|dt|em|embed|fieldset|"
    "figcaption|figure|font|footer|form|frame|frameset|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|kbd|"
    "label|legend|li|link|main|map|mark|marquee|math|menu|meta|meter|nav|noscript|object|ol|optgroup|option|"
    "output|p|param|picture|pre|progress|q|rp|rt|ruby|s|samp|script|section|select|slot|small|source|span|"
    "strike|strong|style|sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|time|title|tr|"
    "track|tt|u|ul|var|video|wbr"
)
# An opening, closing or self-closing HTML tag of a known element. Attributes must look like
# attributes (name="v", name='v' or name=v), so comparisons such as "a<b and c>d" or
# "latency < 100 ms" are never mistaken for markup.
_HTML_TAG = re.compile(
    rf"<(?:/\s*(?:{_TAG_NAMES})\s*|(?:{_TAG_NAMES})"
    r"(?:\s+[A-Za-z_:][-\w:.]*\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>=`]+))*\s*/?)>",
    re.IGNORECASE,
)
_BLOCK_TAG = re.compile(
    r"</?\s*(?:address|article|aside|blockquote|br|dd|div|dl|dt|footer|h[1-6]|header|hr|li|main|nav|ol|p|pre|"
    r"section|table|tbody|td|tfoot|th|thead|tr|ul)\b",
    re.IGNORECASE,
)


def strip_markup(text: str) -> str:
    """The text with HTML read as markup, not content: script and style blocks dropped, other tags removed.

    Inner text of other tags is kept; block-level tags become line breaks, inline tags vanish. Only
    well-formed tags of known HTML elements count, so "latency < 100 ms" or "a<b" are untouched.
    Used for analysis only: what is stored and displayed stays exactly as typed.
    """
    if "<" not in text:
        return text
    text = _HTML_BLOCK.sub(" ", text)
    return _HTML_TAG.sub(lambda m: "\n" if _BLOCK_TAG.match(m.group(0)) else "", text)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> list[str]:
    """The numbers written in a text, in order, without thousands separators ('3,000' and '3000' are one)."""
    return [n.replace(",", "") for n in _NUMBER.findall(text)]


def lower_first(text: str) -> str:
    """Lower-case a sentence's first letter unless the first word looks like a name or an acronym."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (any(c.isupper() for c in first[1:]) or any(c.isdigit() for c in first)):
        return text
    return text[:1].lower() + text[1:]


def normalize(text: str) -> str:
    """Lower-case, unify quotes and dashes, strip markdown emphasis and squeeze whitespace."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("–", "-").replace("—", "-").replace("`", "").replace("**", "").replace("__", "")
    return " ".join(text.lower().split())


def _is_dismissal(clause: str) -> bool:
    return bool(_DISMISS.search(clause)) and not _INSIST.search(clause)


def _forward_start(part: str) -> int | None:
    """Where the rejected part of a clause starts ("instead of ...", "prefer X to ...", "X over ..."), if any."""
    forward = _FORWARD.search(part)
    if forward:
        return forward.start()
    preferred = _PREFERRED.search(part)
    if preferred:
        between = part[preferred.end("verb") if preferred.group("verb") else preferred.start() : preferred.start("alt")]
        if preferred.group("alt").lower() == "over" or (preferred.group("verb") and between.strip()):
            return preferred.start("alt")
    return None


_FRONTED = re.compile(r"\bleave\s+(?:\w+\s+){0,2}?to\b|\bnot\s+where\b|\bthat'?s\s+where\b", re.IGNORECASE)
"""A dismissal whose object came first ("How it gets deployed, I'd leave to the infra folks")."""


_SINGULAR = re.compile(r"\b(?:it|this|that)\b", re.IGNORECASE)
_PLURAL = re.compile(r"\b(?:them|they|these|those)\b", re.IGNORECASE)


def _refers_back(clause: str) -> bool:
    """A dismissal whose object is a pronoun ("I don't think it matters") or came first dismisses what came before."""
    return bool(_ANAPHOR.search(clause) or _FRONTED.search(clause))


def split_clauses(sentence: str) -> list[Clause]:
    """Split a sentence into clauses and mark dismissed and negated ones.

    A dismissing clause that refers back with a pronoun ("..., but I don't think it matters") also
    dismisses the clauses before it in the same sentence, up to the previous dismissal.
    """
    clauses: list[Clause] = []
    for part in _CLAUSE_SPLIT.split(sentence):
        part = part.strip()
        if not part:
            continue
        cut = _forward_start(part)
        if cut is not None:
            head = part[:cut].strip()
            if head:
                clauses.append(Clause(head, _is_dismissal(head), bool(_NEGATOR.search(head))))
            clauses.append(Clause(part[cut:], True, True))
            continue
        dismissed = _is_dismissal(part)
        if dismissed and _refers_back(part):
            back = len(clauses)
            # "it"/"this"/"that" reaches two clauses back, "them"/"they" three: not the whole sentence
            reach = 2 if _SINGULAR.search(part) and not _PLURAL.search(part) else 3
            while back > 0 and not clauses[back - 1].dismissed and len(clauses) - back < reach:
                back -= 1
            for i in range(back, len(clauses)):
                clauses[i] = Clause(clauses[i].text, True, clauses[i].negated)
        clauses.append(Clause(part, dismissed, bool(_NEGATOR.search(part))))
    return clauses


def _paragraph_sentences(paragraph: str) -> list[str]:
    pieces = _SENT_SPLIT.split(paragraph)
    out: list[str] = []
    for piece in pieces:
        if out and _ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [p.strip() for p in out if p.strip()]


def _lines_to_units(text: str) -> list[tuple[str, bool]]:
    """Turn markdown into (unit, is_heading) pairs: headings, bullets, table rows and paragraph sentences."""
    units: list[tuple[str, bool]] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            units.extend((s, False) for s in _paragraph_sentences(" ".join(buffer)))
            buffer.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith("```") or re.fullmatch(r"[-*_=|: ]{3,}", stripped):
            flush()
            continue
        heading = _HEADING.match(line) or _BOLD_LINE.match(line)
        if heading:
            flush()
            units.append((heading.group(1).strip(), True))
        elif _BULLET.match(line):
            flush()
            buffer.append(_BULLET.sub("", line, count=1).strip())
        elif stripped.startswith("|"):
            flush()
            cells = [c.strip() for c in stripped.strip("|").split("|") if c.strip()]
            if cells:
                units.append(("; ".join(cells), False))
        else:
            lead = _LEAD_IN.match(line) if not buffer else None
            if lead:
                units.append((lead.group(1).strip(), True))
                stripped = line[lead.end() :].strip()
            buffer.append(stripped)
    flush()
    return units


def split_sentences(text: str, max_sentences: int = 2_000) -> list[Sentence]:
    """Split an answer into sentences, markdown-aware, each with its clauses and dismissal-free text."""
    sentences: list[Sentence] = []
    heading = ""
    for unit, is_heading in _lines_to_units(text):
        if len(sentences) >= max_sentences:
            break
        display = " ".join(unit.replace("**", "").replace("`", "").split())
        if not re.search(r"[A-Za-z0-9]", display):
            continue
        if is_heading:
            heading = normalize(display)
        clauses = tuple(split_clauses(normalize(display)))
        kept = " ".join(c.text for c in clauses if not c.dismissed)
        sentences.append(Sentence(len(sentences), display, kept, heading, is_heading, clauses))
    return sentences


__all__ = [
    "MAX_CHARS",
    "TODAY",
    "Clause",
    "Sentence",
    "normalize",
    "numbers_in",
    "sanitize",
    "split_clauses",
    "split_sentences",
    "strip_markup",
]
