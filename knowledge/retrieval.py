"""Search the knowledge base: BM25, dense (chromadb) and their reciprocal-rank fusion."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel

from knowledge.chunking import Chunk
from knowledge.index import KnowledgeIndex

Method = Literal["hybrid", "dense", "bm25"]
METHODS: tuple[Method, ...] = ("hybrid", "dense", "bm25")
RRF_K = 60
PROMPT_WEIGHT = 0.7
"""Fused-score factor of a case's `Prompt` chunk: short and about everything in its case, it used to
outrank the passage that answers a case-specific question (dev MRR 0.720 -> 0.741, R@5 unchanged)."""
CASE_FAILURE_MODE_WEIGHT = 0.85
"""Fused-score factor of a case's `Failure modes › …` chunks: one sentence each, dense with the case's
numbers and nouns, they outranked the fact sheet, follow-up or trade-off that answers the question
(dev MRR 0.741 -> 0.784; flat from 0.7 to 0.9; it costs queries aimed at those paragraphs)."""
FACT_SHEET_BOOST = 1.1
"""Fused-score factor of a `Fact sheet` chunk when the query asks for a quantity (`asks_for_a_number`);
with the weight above, dev MRR 0.784 -> 0.806."""
CANDIDATES = 50

_NUMBER_QUESTION = re.compile(
    r"^\s*(how (many|much|long|big|fast)|what (share|percent(age)?|fraction|proportion))\b"
    r"|\bper second\b|\bqps\b|\bdau\b|\bbase rate\b",
    re.IGNORECASE,
)

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


class SearchHit(BaseModel):
    """One retrieved passage, shaped as the contract's `interviewer search --format json` item."""

    source: str
    heading: str
    case_id: str | None
    failure_mode: str | None
    step: str | None
    score: float
    text: str
    kind: str
    chunk_id: str


class SearchFilters(BaseModel):
    """Restrictions on what may be returned."""

    case_id: str | None = None
    step: str | None = None
    kind: str | None = None
    strict_case: bool = False

    def allows(self, chunk: Chunk) -> bool:
        """True when the chunk passes every filter."""
        other_case = chunk.case_id != self.case_id and (self.strict_case or chunk.case_id is not None)
        if self.case_id is not None and other_case:
            return False
        if self.step is not None and chunk.step != self.step:
            return False
        return self.kind is None or chunk.kind == self.kind

    def chroma_where(self) -> dict[str, Any] | None:
        """The same restrictions as a chromadb `where` clause."""
        clauses: list[dict[str, Any]] = []
        if self.case_id is not None:
            allowed = [self.case_id] if self.strict_case else [self.case_id, ""]
            clauses.append({"case_id": {"$in": allowed}})
        if self.step is not None:
            clauses.append({"step": self.step})
        if self.kind is not None:
            clauses.append({"kind": self.kind})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words, lightly stemmed, for BM25."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def asks_for_a_number(query: str) -> bool:
    """True when the query asks for a quantity ("how many …", "what share …", QPS, DAU, a base rate)."""
    return bool(_NUMBER_QUESTION.search(query))


def prior(chunk: Chunk, wants_number: bool) -> float:
    """Factor applied to a chunk's fused score by what kind of section it is and what the query asks for."""
    if chunk.kind != "case":
        return 1.0
    if chunk.heading.startswith("Prompt"):
        return PROMPT_WEIGHT
    if chunk.heading.startswith("Failure modes"):
        return CASE_FAILURE_MODE_WEIGHT
    if wants_number and chunk.heading.startswith("Fact sheet"):
        return FACT_SHEET_BOOST
    return 1.0


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, docs: list[list[str]], k1: float = 1.4, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = sum(self.lengths) / max(1, len(docs))
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        """BM25 score of every document for the query tokens."""
        out = [0.0] * len(self.tfs)
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in enumerate(self.tfs):
                f = tf.get(term)
                if f:
                    norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                    out[i] += idf * f * (self.k1 + 1) / (f + norm)
        return out


class Retriever:
    """Answers queries over a synced KnowledgeIndex with the chosen method."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.index = index
        self.chunks = index.all_chunks()
        self.by_id = {c.id: c for c in self.chunks}
        self.bm25 = BM25([tokenize(c.embedding_text()) for c in self.chunks])

    def _bm25_ranked(self, query: str, filters: SearchFilters, k: int) -> list[tuple[str, float]]:
        scores = self.bm25.scores(tokenize(query))
        ranked = sorted(
            ((c.id, s) for c, s in zip(self.chunks, scores, strict=True) if s > 0 and filters.allows(c)),
            key=lambda pair: -pair[1],
        )
        return ranked[:k]

    def _dense_ranked(self, query: str, filters: SearchFilters, k: int) -> list[tuple[str, float]]:
        vector = self.index.embedder.embed([query])[0]
        return self.index.dense_query(vector, k, filters.chroma_where())

    def search(
        self, query: str, k: int = 5, filters: SearchFilters | None = None, method: Method = "hybrid"
    ) -> list[SearchHit]:
        """Top-k passages for the query, best first."""
        filters = filters or SearchFilters()
        if method == "bm25":
            ranked = self._bm25_ranked(query, filters, k)
        elif method == "dense":
            ranked = self._dense_ranked(query, filters, k)
        else:
            fused: dict[str, float] = {}
            for run in (self._dense_ranked(query, filters, CANDIDATES), self._bm25_ranked(query, filters, CANDIDATES)):
                for rank, (chunk_id, _score) in enumerate(run):
                    fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            wants_number = asks_for_a_number(query)
            for chunk_id in fused:
                chunk = self.by_id.get(chunk_id)
                if chunk is not None:
                    fused[chunk_id] *= prior(chunk, wants_number)
            ranked = sorted(fused.items(), key=lambda pair: -pair[1])[:k]
        return [self._hit(chunk_id, score) for chunk_id, score in ranked if chunk_id in self.by_id]

    def _hit(self, chunk_id: str, score: float) -> SearchHit:
        c = self.by_id[chunk_id]
        return SearchHit(
            source=c.source,
            heading=c.heading,
            case_id=c.case_id,
            failure_mode=c.failure_mode,
            step=c.step,
            score=round(score, 6),
            text=c.text,
            kind=c.kind,
            chunk_id=c.id,
        )
