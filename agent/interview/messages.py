"""Message hygiene: truncation, empty, gibberish, repeats and attempts to get the rubric or an answer."""

from __future__ import annotations

import itertools
import re

from agent.grading.text import normalize, sanitize

MAX_MESSAGE_CHARS = 4_000
"""Longer candidate messages are cut to this many characters before analysis and storage."""

_WORD = re.compile(r"[A-Za-z]+")
_VOWEL = re.compile(r"[aeiouy]", re.IGNORECASE)
_CONSONANT_RUN = re.compile(r"[^aeiouy\W\d_]{5,}", re.IGNORECASE)
_REPEATED_CHAR = re.compile(r"(.)\1{5,}")

_FISHING = re.compile(
    r"""(?:
        \b(?:ideal|model|perfect|reference|sample|example|best|correct|right|expected|full|complete|strong)\s+
            (?:answer|solution|response|design)s?\b
      | \brubric\w*\b | \bexpected\s+points?\b | \bscoring\s+(?:guide|criteria|sheet|key)\b
      | \b(?:grading|evaluation|assessment|marking)\s+(?:criteria|guide|scheme|rubric|key|sheet)\b
      | \banswer\s+key\b | \bcheat\s*sheet\b | \b(?:the\s+)?outline\s+of\s+(?:a|the)\s+(?:strong|good|ideal)\b
      | \bwhat\s+(?:are\s+you|is\s+(?:the\s+)?interviewer)\s+looking\s+for\b
      | \bwhat\s+(?:should|do)\s+i\s+(?:say|answer|write)\b
      | \b(?:tell|give|show)\s+me\s+(?:the\s+|your\s+)?(?:answer|solution|points|checklist|list\s+of\s+points)\b
      | \bhow\s+(?:am\s+i|will\s+i\s+be|is\s+this)\s+(?:being\s+)?(?:graded|scored|marked|evaluated)\b
      | \bwhat\s+would\s+(?:a|the)\s+(?:strong|good|senior|staff|ideal|perfect)\s+(?:candidate|engineer|answer)\b
      | \b(?:system|hidden|secret)\s+(?:prompt|instructions?|notes?)\b | \byour\s+(?:instructions|notes|prompt)\b
      | \bwhat\s+(?:points|things)\s+(?:am\s+i|have\s+i)\s+(?:missing|not\s+covered)\b
      | \bjust\s+(?:tell|give)\s+me\b
      | \bwhat\s+would\s+(?:a|the)\s+(?:[\w-]+\s+){1,2}?(?:candidate|engineer|answer|interviewee)\s+
            (?:say|write|cover|do)\b
      | \b(?:print|paste|share|show|give|send|read)\s+(?:me\s+)?(?:out\s+)?(?:the\s+|your\s+|that\s+)?
            (?:checklist|grading\s+list|list\s+of\s+(?:points|failure\s+modes|criteria))\b
      | \blist\s+of\s+(?:failure\s+modes|points|criteria|things)\s+(?:you|that\s+you)\s+(?:check|grade|score|mark)
      | \bpretend\s+(?:you'?re|you\s+are|to\s+be)\s+the\s+(?:grader|examiner|marker)\b
      | \b(?:which|what)\s+(?:failure\s+modes|mistakes|pitfalls|points)\s+are\s+on\s+your\s+(?:list|checklist|sheet)\b
      | \b(?:the\s+)?main\s+headings\s+(?:would|of\s+(?:the|a)\s+(?:answer|solution))\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def clip(text: str) -> tuple[str, bool]:
    """Sanitise a message and cut it to MAX_MESSAGE_CHARS; return the text and whether it was cut."""
    clean, _notes = sanitize(text or "")
    clean = clean.strip()
    if len(clean) <= MAX_MESSAGE_CHARS:
        return clean, False
    cut = clean[:MAX_MESSAGE_CHARS]
    space = cut.rfind(" ", MAX_MESSAGE_CHARS - 200)
    return (cut[:space] if space > 0 else cut).rstrip(), True


def is_empty(text: str) -> bool:
    """True when the message has no letter or digit at all."""
    return not any(ch.isalnum() for ch in text)


_ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,5}s?")
"""An upper-case abbreviation ("GBDT", "NDCG", "MLPs"): a word even without vowels."""
_TOKEN = re.compile(r"[a-z0-9]+")
_GLUE = frozenset(
    re.findall(
        r"\w+",
        "i we you it is are be to of for in on at by with and or but not no the a an this that my our would will "
        "should could can do use so if then than",
    )
)
"""Short words that give a fragment sentence structure; a string of keywords without any of them has none."""
SALAD_MAX_WORDS = 8


def _odd(word: str) -> bool:
    if _ACRONYM.fullmatch(word):
        return False
    return (len(word) > 3 and not _VOWEL.search(word)) or bool(_CONSONANT_RUN.search(word)) or len(word) > 25


def is_word_salad(text: str) -> bool:
    """True for a short string of repeated keywords with no sentence structure ("ad ad click 0000")."""
    tokens = _TOKEN.findall(text.lower())
    if not 2 <= len(tokens) <= SALAD_MAX_WORDS or _GLUE & set(tokens):
        return False
    stutter = any(a == b for a, b in itertools.pairwise(tokens))
    return stutter or len(set(tokens)) / len(tokens) <= 0.5


_CONNECTION = re.compile(
    r"\b(?:can|could|do)\s+you\s+(?:still\s+)?(?:hear|see|read)\s+me|\b(?:are\s+)?you\s+(?:still\s+)?there\b|"
    r"\bmy\s+(?:wifi|wi-fi|internet|connection|mic|microphone|audio|camera)\b|\b(?:mic|sound)\s+check\b|"
    r"\btesting,?\s+testing\b|\blost\s+(?:you|the\s+connection)\b",
    re.IGNORECASE,
)
CONNECTION_WORDS = 16
"""A connection check is short; a longer message that mentions the wifi is about something else too."""


def is_connection_check(text: str) -> bool:
    """True for a short mic or connection check ("hello? can you hear me, my wifi keeps dropping")."""
    return bool(_CONNECTION.search(text)) and len(_WORD.findall(text)) <= CONNECTION_WORDS


def is_gibberish(text: str) -> bool:
    """True when most of the message's 'words' could not be words (no vowels, long consonant runs, key mashing),
    or when it is a short salad of repeated keywords."""
    words = _WORD.findall(text)
    if not words:
        return bool(text.strip()) and not re.search(r"\d", text)
    if _REPEATED_CHAR.search(text) and len(set(text.replace(" ", ""))) <= 4:
        return True
    if is_word_salad(text):
        return True
    return sum(1 for w in words if _odd(w)) / len(words) > 0.5


_REQUEST = re.compile(
    r"\?|\b(?:tell|give|show|share|reveal|print|list|send|paste|walk\s+me|what|which|how|can\s+you|could\s+you|"
    r"would\s+you|please|i\s+(?:want|need|would\s+like))\b",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def is_fishing(text: str) -> bool:
    """True when a sentence asks for the rubric, the expected points, a model answer or the hidden notes."""
    return any(_FISHING.search(s) and _REQUEST.search(s) for s in _SENTENCES.split(text))


def fingerprint(text: str) -> str:
    """A normalised form of a message for spotting repeats."""
    return re.sub(r"[^a-z0-9 ]", "", normalize(text)).strip()


MIN_REPEAT_WORDS = 4
"""Sentences shorter than this ("That's my answer.", "OK.") are ignored when checking for a repeat."""


def _sentence_prints(text: str) -> set[str]:
    prints = (fingerprint(s) for s in _SENTENCES.split(text))
    return {p for p in prints if len(p.split()) >= MIN_REPEAT_WORDS}


def repeats(text: str, earlier: list[str]) -> bool:
    """True when the message says nothing new: it equals an earlier message, or each of its sentences of
    MIN_REPEAT_WORDS words or more was already said in one (a pasted sentence with "That's my answer" added)."""
    if fingerprint(text) in {fingerprint(e) for e in earlier}:
        return True
    said = set().union(*(_sentence_prints(e) for e in earlier)) if earlier else set()
    mine = _sentence_prints(text)
    return bool(mine) and mine <= said


__all__ = ["MAX_MESSAGE_CHARS", "clip", "fingerprint", "is_empty", "is_fishing", "is_gibberish", "repeats"]
