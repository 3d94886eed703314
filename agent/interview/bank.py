"""The interviewer's phrase banks (probes, step openers, failure-mode remarks) and probe ranking per point."""

from __future__ import annotations

import functools
import re

import numpy as np

from agent.grading.coverage import Embedder, compiled_cues
from agent.grading.text import normalize
from knowledge.corpus import Case, ExpectedPoint
from prompts.render import load_template

_SECTION = re.compile(r"^##\s+(\S+)\s*$", re.MULTILINE)


def _sections(name: str) -> dict[str, list[str]]:
    """`## key` sections of a bank template, each a list of its bullet lines."""
    text = load_template(name)
    out: dict[str, list[str]] = {}
    parts = _SECTION.split(text)
    for key, body in zip(parts[1::2], parts[2::2], strict=True):
        out[key] = [line[2:].strip() for line in body.splitlines() if line.startswith("- ")]
    return out


@functools.lru_cache(maxsize=1)
def _probe_entries() -> dict[str, list[tuple[str, frozenset[str]]]]:
    out: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for step, lines in _sections("interview_probes").items():
        out[step] = []
        for line in lines:
            question, _, tags = line.partition(" | ")
            out[step].append((question.strip(), frozenset(tags.split())))
    return out


def probe_bank() -> dict[str, list[str]]:
    """Generic probe questions per step (prompts/interview_probes.md), without their hidden topic words."""
    return {step: [q for q, _ in entries] for step, entries in _probe_entries().items()}


TAG_BONUS = 0.25
"""Added to a probe's similarity for each hidden topic word it shares with the point (at most two)."""


@functools.lru_cache(maxsize=1)
def openers() -> dict[str, list[str]]:
    """Questions that open each step (prompts/interview_openers.md)."""
    return _sections("interview_openers")


@functools.lru_cache(maxsize=1)
def remarks() -> dict[str, list[str]]:
    """How the interviewer names each failure mode (prompts/interview_remarks.md)."""
    return _sections("interview_remarks")


def probe_id(step: str, index: int) -> str:
    """The stable id of a bank probe."""
    return f"{step}:{index}"


def probe_tags(pid: str) -> frozenset[str]:
    """The hidden topic words of a bank probe (never shown; used to match probes to points and facts)."""
    step, _, index = pid.partition(":")
    return _probe_entries()[step][int(index)][1]


def probe_text(pid: str) -> str:
    """The question of a bank probe id."""
    step, _, index = pid.partition(":")
    return probe_bank()[step][int(index)]


def _reveals(question: str, point: ExpectedPoint) -> bool:
    """True when a probe would name one of the point's specific cues (and so hint at the answer)."""
    text = normalize(question)
    return any(not cue.weak and cue.pattern.search(text) for cue in compiled_cues(point))


_RANKS: dict[tuple[int, str], dict[str, list[str]]] = {}


def probe_ranking(case: Case, embedder: Embedder | None) -> dict[str, list[str]]:
    """For each expected point, the ids of its step's probes, most fitting first, none naming its cues (cached)."""
    key = (id(embedder), case.id)
    if key in _RANKS:
        return _RANKS[key]
    flat = [(step, i, q) for step, qs in probe_bank().items() for i, q in enumerate(qs)]
    tags = [t for entries in _probe_entries().values() for _, t in entries]
    points = case.all_points()
    sims = np.zeros((len(points), len(flat)), dtype=np.float32)
    if embedder is not None:
        sims = embedder.embed([p.statement for p in points]) @ embedder.embed([q for _, _, q in flat]).T
    ranking: dict[str, list[str]] = {}
    for j, point in enumerate(points):
        words = set(re.findall(r"[a-z/\-]+", normalize(" ".join([point.statement, *point.cues]))))
        options = [
            (probe_id(step, idx), float(sims[j, i]) + TAG_BONUS * min(2, len(tags[i] & words)))
            for i, (step, idx, q) in enumerate(flat)
            if step == point.step and not _reveals(q, point)
        ]
        options.sort(key=lambda o: -o[1])
        ranking[point.id] = [pid for pid, _ in options]
    _RANKS[key] = ranking
    return ranking


__all__ = ["openers", "probe_bank", "probe_id", "probe_ranking", "probe_tags", "probe_text", "remarks"]
