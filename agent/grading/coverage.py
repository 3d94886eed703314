"""Which of a case's expected points an answer covers: cue patterns plus sentence-embedding similarity."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from agent.grading.text import Sentence, normalize
from knowledge.corpus import Case, ExpectedPoint

SIM_STRONG = 0.6
"""A sentence this similar to a point's statement covers it on its own (if that point is its clear best)."""
SIM_MARGIN = 0.04
"""How far the best point must lead the sentence's second-best point for an embedding-only cover."""
SIM_SUPPORT = 0.42
"""A weak cue plus a sentence this similar covers the point."""

# Single words that appear as cues but say little on their own.
GENERIC_CUES = frozenset(
    {
        "input",
        "output",
        "label",
        "labels",
        "latency",
        "batch",
        "offline",
        "online",
        "recall",
        "precision",
        "threshold",
        "cost",
        "costs",
        "volume",
        "feedback",
        "cache",
        "caching",
        "hybrid",
        "classification",
        "regression",
        "ranking",
        "retrieval",
        "recommendation",
        "actions",
        "amount",
        "approve",
        "decline",
        "constraints",
        "tile",
        "panorama",
        "queue",
        "workers",
        "shadow",
        "tabular",
        "audit",
        "history",
        "features",
        "objective",
        "engagement",
        "safety",
        "privacy",
        "diversity",
        "legal",
        "monitoring",
        "alerts",
        "daily",
        "weekly",
        "trigger",
        "retention",
        "architecture",
        "retrain",
        "retraining",
        "classifier",
        "supervised",
        "baseline",
        "rules",
        "heuristic",
        "drift",
        "boost",
        "exploration",
    }
)


class Embedder(Protocol):
    """Anything that embeds texts into L2-normalised rows."""

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed texts into unit-length rows."""
        ...


@dataclass(frozen=True)
class Cue:
    """One cue of a point, compiled, and whether it is too generic to cover alone."""

    text: str
    pattern: re.Pattern[str]
    weak: bool


@dataclass(frozen=True)
class PointCoverage:
    """The verdict for one expected point."""

    point: ExpectedPoint
    covered: bool
    sentence: int | None
    similarity: float
    cues: tuple[str, ...]


def cue_pattern(cue: str) -> re.Pattern[str]:
    """A word-boundary, case-insensitive pattern for a cue: spaces, hyphens and slashes interchangeable."""
    text = normalize(cue)
    parts = [re.escape(p) for p in re.split(r"[\s\-_/]+", text) if p]
    body = r"[\s\-_/]*".join(parts)
    if text and text[-1].isalpha():
        body += r"(?:s|es|ed|ing|d)?"
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def _is_weak(cue: str, step: str) -> bool:
    text = normalize(cue)
    if re.search(r"\d", text):
        # A number (a fact of the case) shows the step only when sizing is the point.
        return step != "requirements"
    if re.search(r"[\s\-/]", text):
        return False
    return len(text) <= 3 or text in GENERIC_CUES


_CUE_CACHE: dict[str, tuple[Cue, ...]] = {}


def compiled_cues(point: ExpectedPoint) -> tuple[Cue, ...]:
    """The compiled cues of a point (cached)."""
    key = f"{point.id}|{'|'.join(point.cues)}"
    if key not in _CUE_CACHE:
        _CUE_CACHE[key] = tuple(Cue(c, cue_pattern(c), _is_weak(c, point.step)) for c in point.cues)
    return _CUE_CACHE[key]


_POINT_EMB: dict[tuple[int, str], npt.NDArray[np.float32]] = {}


def point_embeddings(case: Case, embedder: Embedder) -> npt.NDArray[np.float32]:
    """Embeddings of the case's point statements, in `case.all_points()` order (cached per embedder)."""
    key = (id(embedder), case.id)
    if key not in _POINT_EMB:
        _POINT_EMB[key] = embedder.embed([p.statement for p in case.all_points()])
    return _POINT_EMB[key]


def embed_sentences(sentences: Sequence[Sentence], embedder: Embedder | None) -> npt.NDArray[np.float32] | None:
    """Embed the non-heading, non-empty kept text of each sentence once (rows in sentence order)."""
    if embedder is None or not sentences:
        return None
    texts = [s.kept if (s.kept and not s.is_heading) else "" for s in sentences]
    return embedder.embed(texts, batch_size=64)


def _usable(sentence: Sentence) -> bool:
    return bool(sentence.kept) and not sentence.is_heading


def cover_point(
    point: ExpectedPoint,
    sentences: Sequence[Sentence],
    sims: npt.NDArray[np.float32] | None,
    clear_best: npt.NDArray[np.bool_] | None = None,
) -> PointCoverage:
    """Decide whether one point is covered; `sims` holds each sentence's similarity to the point.

    `clear_best` marks the sentences whose most similar point is this one by a margin; only those
    may cover the point by similarity alone.
    """
    cues = compiled_cues(point)
    strong: list[tuple[int, str]] = []
    weak: list[tuple[int, str]] = []
    for s in sentences:
        if not _usable(s):
            continue
        for cue in cues:
            if cue.pattern.search(s.kept):
                (weak if cue.weak else strong).append((s.index, cue.text))
    best_idx, best_sim = None, 0.0
    if sims is not None and len(sims):
        masked = np.where([_usable(s) for s in sentences], sims, -1.0)
        best_idx = int(np.argmax(masked))
        best_sim = float(masked[best_idx])
    found = tuple(dict.fromkeys(c for _, c in strong + weak))
    if strong:
        chosen = max(strong, key=lambda h: float(sims[h[0]]) if sims is not None else 0.0)[0]
        return PointCoverage(point, True, chosen, best_sim, found)
    per_sentence: dict[int, set[str]] = {}
    for idx, cue_text in weak:
        per_sentence.setdefault(idx, set()).add(cue_text)
    paired = [idx for idx, cues_here in per_sentence.items() if len(cues_here) >= 2]
    if paired:
        return PointCoverage(point, True, paired[0], best_sim, found)
    if weak and sims is not None:
        support = max(weak, key=lambda h: float(sims[h[0]]))
        if float(sims[support[0]]) >= SIM_SUPPORT:
            return PointCoverage(point, True, support[0], best_sim, found)
    if sims is not None and clear_best is not None:
        eligible = [s.index for s in sentences if _usable(s) and clear_best[s.index] and sims[s.index] >= SIM_STRONG]
        if eligible:
            chosen = max(eligible, key=lambda i: float(sims[i]))
            return PointCoverage(point, True, chosen, best_sim, found)
    return PointCoverage(point, False, None, best_sim, found)


def cover_case(
    case: Case,
    sentences: Sequence[Sentence],
    sentence_embeddings: npt.NDArray[np.float32] | None,
    embedder: Embedder | None,
) -> dict[str, list[PointCoverage]]:
    """Coverage of every expected point of the case, grouped by step."""
    points = case.all_points()
    sim_matrix: npt.NDArray[np.float32] | None = None
    best_point: npt.NDArray[np.intp] | None = None
    leads: npt.NDArray[np.bool_] | None = None
    if embedder is not None and sentence_embeddings is not None and len(sentence_embeddings):
        sim_matrix = sentence_embeddings @ point_embeddings(case, embedder).T
        ordered = np.sort(sim_matrix, axis=1)
        best_point = np.argmax(sim_matrix, axis=1)
        leads = (ordered[:, -1] - ordered[:, -2]) >= SIM_MARGIN
    out: dict[str, list[PointCoverage]] = {step: [] for step in case.points}
    for j, point in enumerate(points):
        sims = sim_matrix[:, j] if sim_matrix is not None else None
        clear = (best_point == j) & leads if best_point is not None and leads is not None else None
        out[point.step].append(cover_point(point, sentences, sims, clear))
    return out


__all__ = [
    "GENERIC_CUES",
    "SIM_MARGIN",
    "SIM_STRONG",
    "SIM_SUPPORT",
    "Cue",
    "Embedder",
    "PointCoverage",
    "compiled_cues",
    "cover_case",
    "cover_point",
    "cue_pattern",
    "embed_sentences",
    "point_embeddings",
]
