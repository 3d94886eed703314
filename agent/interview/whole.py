"""Everything the candidate has said so far as one grader analysis, merged from per-message analyses."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from agent.grading import analysis as grading_analysis
from agent.grading.coverage import Embedder, PointCoverage
from agent.grading.failure_modes import DETECTORS
from agent.grading.injection import find_injection
from agent.grading.signals import SignalHit, SignalIndex
from agent.grading.text import Sentence, strip_markup
from agent.interview.context import CONTEXT_MODES, settled
from agent.interview.state import InterviewState
from knowledge.corpus import Case
from knowledge.ids import FAILURE_MODES, STEPS, applicable_failure_modes

MAX_CACHED = 4096
"""Per-message analyses kept in memory (least recently used dropped first)."""

_CACHE: OrderedDict[tuple[str, int, str], grading_analysis.Analysis] = OrderedDict()
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2048)
def graded_text(message: str) -> str:
    """The part of a stored candidate message the grader reads (injection removed, markup stripped)."""
    return strip_markup(find_injection(message).text).strip()


def message_analysis(case: Case, text: str, embedder: Embedder | None) -> grading_analysis.Analysis:
    """The grader's analysis of one message's graded text, cached per case, embedder and text."""
    key = (case.id, id(embedder), text)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    found = grading_analysis.analyse(case, text, embedder)
    with _LOCK:
        _CACHE[key] = found
        while len(_CACHE) > MAX_CACHED:
            _CACHE.popitem(last=False)
    return found


def merge(case: Case, parts: list[grading_analysis.Analysis]) -> grading_analysis.Analysis:
    """One analysis of several messages in order: sentences and hits renumbered, a point covered if any covers it."""
    sentences: list[Sentence] = []
    hits: list[SignalHit] = []
    best: dict[str, PointCoverage] = {}
    for part in parts:
        offset = len(sentences)
        sentences += [replace(s, index=s.index + offset) for s in part.sentences]
        hits += [replace(h, sentence=h.sentence + offset) for h in part.signals.hits]
        for covs in part.coverage.values():
            for c in covs:
                if c.covered and c.point.id not in best:
                    at = None if c.sentence is None else c.sentence + offset
                    best[c.point.id] = replace(c, sentence=at)
    coverage: dict[str, list[PointCoverage]] = {step: [] for step in STEPS}
    for point in case.all_points():
        coverage.setdefault(point.step, []).append(best.get(point.id) or PointCoverage(point, False, None, 0.0, ()))
    return grading_analysis.Analysis(case, sentences, SignalIndex(hits), coverage)


@dataclass
class Whole:
    """Everything the candidate has said so far, this message included, analysed once and only on demand."""

    case: Case
    history: list[str]
    """The earlier candidate messages as stored (graded text is derived only when needed)."""
    current: grading_analysis.Analysis
    embedder: Embedder | None
    _analysis: grading_analysis.Analysis | None = field(default=None, repr=False, compare=False)
    _found: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(
        cls, case: Case, state: InterviewState, current: grading_analysis.Analysis, embedder: Embedder | None
    ) -> Whole:
        """The whole interview so far: the state's candidate turns and this message's analysis."""
        return cls(case, [t.text for t in state.candidate_turns() if t.text.strip()], current, embedder)

    def analysis(self) -> grading_analysis.Analysis:
        """The merged analysis (computed once)."""
        if self._analysis is None:
            graded = [g for g in (graded_text(text) for text in self.history) if g]
            parts = [message_analysis(self.case, text, self.embedder) for text in graded]
            self._analysis = merge(self.case, [*parts, self.current])
        return self._analysis

    def detect(self, mode: str) -> str | None:
        """The grader's evidence for a failure mode over the whole interview so far (None when absent)."""
        if mode not in self._found:
            self._found[mode] = DETECTORS[mode](self.analysis())
        return self._found[mode]

    def texts(self) -> list[str]:
        """The graded text of every candidate message so far, this one included."""
        return [*(graded_text(t) for t in self.history), " ".join(s.text for s in self.current.sentences)]

    def absent(self, state: InterviewState, steps: list[str]) -> list[tuple[str, str]]:
        """Modes of `steps` (applicable, not raised yet) the grader finds in everything said so far."""
        raised = set(state.flagged())
        found: list[tuple[str, str]] = []
        for mode in applicable_failure_modes(self.case.id):
            if mode in raised or FAILURE_MODES[mode] not in steps:
                continue
            evidence = self.detect(mode)
            if evidence and mode in CONTEXT_MODES and settled(state, self.case, mode, self.texts()):
                continue
            if evidence:
                found.append((mode, evidence))
        return found


__all__ = ["MAX_CACHED", "Whole", "graded_text", "merge", "message_analysis"]
