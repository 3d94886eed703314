"""Clarifying questions: find them in a message and match each to the case's fact keys by meaning."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.grading.coverage import Embedder, cue_pattern
from agent.grading.text import normalize
from knowledge.corpus import Case

SIM_FACT = 0.55
"""A question piece this similar to one of a fact's `asked_as` phrases asks for that fact."""
SIM_MARGIN = 0.03
"""How far the best fact must lead the best other fact for an embedding-only match."""

_SPLIT = re.compile(r"(?<=[?.!])\s+|\n+")
_PIECES = re.compile(
    r"\s*(?:,|;|\band\s+(?=what|how|who|where|when|which|is|are|do|does|can|any)|\balso\b|\bplus\b)\s*"
)
_INTERROGATIVE = re.compile(
    r"^(?:so\s+|and\s+|also\s+|ok(?:ay)?\s+|first(?:ly)?\s*,?\s+)?"
    r"(?:what|what's|whats|how|who|where|when|which|why|is|are|was|were|do|does|did|can|could|should|would|will|may|"
    r"(?:roughly|approximately)\s+(?:how|what|which)|any)\b"
)
_REQUEST = re.compile(
    r"\b(?:tell me|i'?d like to know|i would like to know|could you (?:share|tell)|can you (?:share|tell)|"
    r"do we know|wondering|curious (?:about|how|what|whether)|need to know)\b"
)
_ASSUMPTION = re.compile(r"\b(?:assum\w+|let'?s say|suppose|i'?ll take|i will take|i guess)\b")
_DESIGN_CHOICE = re.compile(
    r"\b(?:(?:should|shall|must)\s+(?:i|we)|do\s+you\s+want\s+(?:me|us)|would\s+you\s+(?:prefer|like|rather|use|pick|"
    r"choose)|(?:is\s+it|would\s+it\s+be)\s+(?:ok|okay|fine|better|acceptable|alright)|which\s+(?:model|approach|"
    r"algorithm|architecture|loss|metric|method|one|option|database|framework|split|features?|label)|"
    r"what\s+(?:model|approach|algorithm|architecture|loss|metric|method|threshold)\s+(?:should|would|do)|"
    r"can\s+(?:i|we)\s+(?:use|just|go\s+with|pick|choose)|how\s+(?:should|would)\s+(?:i|we)|"
    r"what\s+would\s+you\s+(?:do|choose|use|pick))\b"
)
_STOP = frozenset(
    """a an the of to in on for and or is are was were be do does did we i you our your it its this that these those
    what whats how who where when which why can could should would will may much many there their them they
    have has had any some about roughly approximately like know tell me us please so also ok okay first need
    want get use used using with at by from as if into per each every just really rough typical expected current
    currently assume assuming say let lets""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class AskedFact:
    """A fact key a question asks for, and how the match was made."""

    key: str
    how: str
    score: float


@dataclass
class Question:
    """One clarifying question (or stated assumption) of a message and the facts it asks for."""

    text: str
    facts: list[AskedFact] = field(default_factory=list)
    design_choice: bool = False
    assumption: bool = False
    topic: str = ""


GENERIC_ASKED_AS: dict[str, tuple[str, ...]] = {
    "users": (
        "how many people use it",
        "how many users",
        "number of users",
        "daily users",
        "monthly users",
        "how many customers",
        "size of the user base",
        "how big is the audience",
    ),
    "qps": (
        "requests per second",
        "how many requests",
        "load",
        "throughput",
        "how much traffic",
        "peak traffic",
        "how many per second",
        "how many per day",
        "how many come in",
        "volume per day",
    ),
    "latency": (
        "how fast",
        "how quickly must it respond",
        "response time budget",
        "time budget",
        "milliseconds",
        "how quickly does it have to come back",
        "real time or batch",
        "offline batch or online",
        "how long can it take",
    ),
    "data": ("what data do we have", "what is logged", "data available", "historical data"),
    "labels": (
        "how do we get labels",
        "ground truth labels",
        "annotations",
        "what counts as a positive",
        "how many labelled examples",
        "how soon do we know the outcome",
        "label delay",
    ),
    "business_goal": (
        "what is the goal",
        "why are we building this",
        "what does success look like for the business",
        "business objective",
        "what problem are we solving",
        "what is the business after",
        "what are we trying to achieve",
    ),
    "constraints": ("any constraints", "limitations", "rules we must follow", "requirements we must respect"),
    "catalogue": ("how many items", "catalog size", "inventory size", "number of items"),
    "existing_system": (
        "what do we have today",
        "current system",
        "engineers",
        "how big is the team",
        "what is in place today",
        "what does the current one achieve",
        "what exists currently",
    ),
    "success_metric": ("how do we measure success", "success criteria", "what metric matters"),
}
"""Generic ways to ask for the standard fact keys, added to every case's own asked_as phrases."""

_PHRASES: dict[tuple[int, str], tuple[list[str], npt.NDArray[np.float32]]] = {}
_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


def _phrases(case: Case) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for fact in case.facts:
        rows.append((fact.key, fact.key.replace("_", " ")))
        rows.extend((fact.key, phrase) for phrase in fact.asked_as)
        rows.extend((fact.key, phrase) for phrase in GENERIC_ASKED_AS.get(fact.key, ()))
    return rows


def fact_patterns(case: Case) -> list[tuple[str, re.Pattern[str]]]:
    """(fact key, compiled asked_as pattern) for every phrase of the fact sheet (cached per case)."""
    if case.id not in _PATTERNS:
        _PATTERNS[case.id] = [(key, cue_pattern(phrase)) for key, phrase in _phrases(case)]
    return _PATTERNS[case.id]


def fact_embeddings(case: Case, embedder: Embedder) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Fact key per row and the embeddings of every asked_as phrase (cached per embedder and case)."""
    cache_key = (id(embedder), case.id)
    if cache_key not in _PHRASES:
        rows = _phrases(case)
        _PHRASES[cache_key] = ([k for k, _ in rows], embedder.embed([p for _, p in rows]))
    return _PHRASES[cache_key]


def is_question(sentence: str) -> bool:
    """True when a sentence asks something (a question mark, an interrogative opening or a request)."""
    text = normalize(sentence)
    return text.endswith("?") or bool(_INTERROGATIVE.match(text)) or bool(_REQUEST.search(text))


def _pattern_hits(case: Case, text: str) -> list[AskedFact]:
    spans: list[tuple[int, int, str]] = []
    for key, pattern in fact_patterns(case):
        for m in pattern.finditer(text):
            spans.append((m.start(), m.end(), key))
    counts = {k: sum(1 for s in spans if s[2] == k) for _, _, k in spans}
    spans.sort(key=lambda s: (-(s[1] - s[0]), -counts[s[2]], s[0]))
    accepted: list[tuple[int, int, str]] = []
    for start, end, key in spans:
        if not any(start < a[1] and a[0] < end for a in accepted):
            accepted.append((start, end, key))
    found: list[AskedFact] = []
    for start, end, key in sorted(accepted):
        matched = text[start:end]
        weak = not re.search(r"[\s\-_/]", matched.strip()) and not (_stems(matched) & _stems(key.replace("_", " ")))
        if key not in [f.key for f in found]:
            found.append(AskedFact(key, "weak-pattern" if weak else "pattern", 0.5 if weak else 1.0))
    return found


def _embedding_hits(
    pieces: list[str],
    keys: list[str],
    phrase_emb: npt.NDArray[np.float32],
    piece_emb: npt.NDArray[np.float32],
    floor: float = SIM_FACT,
) -> list[AskedFact]:
    found: list[AskedFact] = []
    sims = piece_emb @ phrase_emb.T
    for row in sims:
        best: dict[str, float] = {}
        for key, sim in zip(keys, row, strict=True):
            best[key] = max(best.get(key, -1.0), float(sim))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        top_key, top = ranked[0]
        runner = ranked[1][1] if len(ranked) > 1 else -1.0
        if top >= floor and top - runner >= SIM_MARGIN and top_key not in [f.key for f in found]:
            found.append(AskedFact(top_key, "embedding", round(top, 3)))
    return found


SIM_SURE = 0.65
"""An embedding match this close decides a piece on its own."""
SIM_FACT_EXTRA = 0.62
"""A piece already matched by a phrase may ask for one more fact only when this similar to it."""
_COORDINATED = re.compile(r"\bhow\s+(many|much)\s+(?:[\w-]+\s+){1,2}?(?:and|or)\s+([\w-]+)")
_LEX: dict[str, tuple[dict[str, set[str]], dict[str, float]]] = {}


def _stem(word: str) -> str:
    """A crude stem that makes 'labelled', 'labels' and 'labeling' one word."""
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("lled", "lling", "led", "ling", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + ("l" if suffix.startswith("ll") else "")
            break
    return word[:7]


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z][a-z0-9]+", normalize(text)) if w not in _STOP and len(w) > 2}


def _lexicon(case: Case) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Per fact key, the stems of its name and asking phrases; per stem, how rare it is across keys."""
    if case.id not in _LEX:
        vocab: dict[str, set[str]] = {}
        for key, phrase in _phrases(case):
            vocab.setdefault(key, set()).update(_stems(phrase))
        df: dict[str, int] = {}
        for words in vocab.values():
            for w in words:
                df[w] = df.get(w, 0) + 1
        _LEX[case.id] = (vocab, {w: math.log(1 + len(vocab) / n) for w, n in df.items()})
    return _LEX[case.id]


def _lexical_hit(case: Case, piece: str) -> AskedFact | None:
    """The fact key whose asking words a piece shares most (rare words weigh more), when it clearly leads.

    A key needs two shared words, or one word of its own name ("business", "labels"), to be considered.
    """
    vocab, idf = _lexicon(case)
    words = _stems(piece)
    scores: dict[str, float] = {}
    for key, known in vocab.items():
        shared = words & known
        name = _stems(key.replace("_", " "))
        if len(shared) >= 2 or shared & name:
            scores[key] = sum(idf[w] for w in shared) + 0.5 * len(shared & name) / max(1, len(name))
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top_key, top = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if top >= LEX_MIN and top - runner >= LEX_MARGIN:
        return AskedFact(top_key, "words", round(top, 3))
    return None


LEX_MIN = 1.5
"""The least word score (summed rarity of shared words) for a word-only match."""
LEX_MARGIN = 0.4
"""How far the best key must lead the next for a word-only match."""


def topic_of(text: str) -> str:
    """A short snake_case topic for a question that matches no fact ('how many languages?' -> 'languages')."""
    words = [w for w in re.findall(r"[a-z][a-z0-9\-]+", normalize(text)) if w not in _STOP and len(w) > 2]
    return "_".join(words[:2]) or "detail"


def content_words(text: str) -> set[str]:
    """The content words of a text (lower-case, stop words removed, crude singular)."""
    words = {w for w in re.findall(r"[a-z][a-z0-9]+", normalize(text)) if w not in _STOP and len(w) > 2}
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words}


def _piece_facts(
    case: Case, piece: str, row: npt.NDArray[np.float32] | None, keys: list[str], phrase_emb: npt.NDArray[np.float32]
) -> list[AskedFact]:
    """The facts one piece of a question asks for, from the surest evidence down.

    A multi-word asking phrase (or the key's own name) decides; then a very similar embedding; then the
    rare words the piece shares with one key's phrases; then an ordinary embedding match; last a lone
    generic word ("content", "volume"). A piece with a sure phrase may add one more key by embedding.
    """
    hits = _pattern_hits(case, piece)
    found = [h for h in hits if h.how == "pattern"]
    emb = _embedding_hits([piece], keys, phrase_emb, row[None, :], SIM_FACT) if row is not None else []
    if found:
        extra = [h for h in emb if h.score >= SIM_FACT_EXTRA and h.key not in {f.key for f in found}]
        return found + extra
    if emb and emb[0].score >= SIM_SURE:
        return emb
    lexical = _lexical_hit(case, piece)
    if lexical is not None:
        return [lexical]
    return emb or hits


def find_questions(case: Case, text: str, embedder: Embedder | None) -> list[Question]:
    """The clarifying questions and stated assumptions of a message, each with the fact keys it asks for."""
    questions: list[Question] = []
    sentences = [s.strip() for s in _SPLIT.split(text) if s.strip()]
    asked: list[tuple[Question, list[str]]] = []
    for sentence in sentences:
        norm = normalize(sentence)
        asking = is_question(sentence)
        assuming = bool(_ASSUMPTION.search(norm))
        if not asking and not assuming:
            continue
        q = Question(sentence, [] if asking else _pattern_hits(case, norm), assumption=assuming and not asking)
        q.design_choice = asking and bool(_DESIGN_CHOICE.search(norm))
        pieces: list[str] = []
        if asking:
            pieces = [p for p in _PIECES.split(norm.rstrip("?")) if len(p.split()) >= 1 and content_words(p)]
            pieces += [f"how {m.group(1)} {m.group(2)}" for p in pieces for m in _COORDINATED.finditer(p)]
        asked.append((q, pieces))
    every = [p for _, pieces in asked for p in pieces]
    rows = embedder.embed(every) if embedder is not None and every else None
    keys: list[str] = []
    phrase_emb = np.zeros((0, 0), dtype=np.float32)
    if rows is not None and embedder is not None:
        keys, phrase_emb = fact_embeddings(case, embedder)
    at = 0
    for q, pieces in asked:
        for piece in pieces:
            row = rows[at] if rows is not None else None
            at += 1
            for hit in _piece_facts(case, piece, row, keys, phrase_emb):
                if hit.key not in [f.key for f in q.facts]:
                    q.facts.append(hit)
        asking = bool(pieces) or not q.assumption
        if asking and not q.facts:
            q.topic = topic_of(q.text)
        if q.facts or asking:
            questions.append(q)
    return questions


__all__ = [
    "SIM_FACT",
    "AskedFact",
    "Question",
    "content_words",
    "fact_embeddings",
    "fact_patterns",
    "find_questions",
    "is_question",
    "topic_of",
]
