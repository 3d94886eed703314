"""One answer analysed once: sentences, signals and point coverage, shared by detectors and scoring."""

from __future__ import annotations

from dataclasses import dataclass

from agent.grading.coverage import Embedder, PointCoverage, cover_case, embed_sentences
from agent.grading.signals import SignalIndex, find_signals
from agent.grading.text import Sentence, split_sentences
from knowledge.corpus import Case
from knowledge.ids import STEPS

_STEP_HEADINGS: dict[str, tuple[str, ...]] = {
    "requirements": ("requirement", "clarif", "scope", "assumption", "question"),
    "framing": ("framing", "frame", "ml task", "problem formulation", "formulat", "objective"),
    "data": ("data", "feature", "label"),
    "modeling": ("model", "architecture", "approach", "algorithm"),
    "evaluation": ("evaluat", "metric", "experiment", "testing"),
    "serving": ("serving", "deploy", "inference", "infrastructure", "production", "system design"),
    "monitoring": ("monitor", "iteration", "maintenance", "retrain", "observab"),
}


@dataclass
class Analysis:
    """Everything the detectors and the scorer read about one answer."""

    case: Case
    sentences: list[Sentence]
    signals: SignalIndex
    coverage: dict[str, list[PointCoverage]]

    def quote(self, index: int, limit: int = 240) -> str:
        """The sentence's original text, shortened to `limit` characters."""
        text = self.sentences[index].text
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    def covered(self, step: str) -> list[PointCoverage]:
        """The step's covered points."""
        return [c for c in self.coverage.get(step, []) if c.covered]

    def point_covered(self, point_id: str) -> PointCoverage | None:
        """The coverage of a point by id, when it is covered."""
        for cov in self.coverage.values():
            for c in cov:
                if c.point.id == point_id and c.covered:
                    return c
        return None

    def step_sentences(self, step: str) -> set[int]:
        """Sentences that carry a signal of the step or cover one of its points."""
        found = self.signals.sentences(step)
        found |= {c.sentence for c in self.covered(step) if c.sentence is not None}
        return found

    def headed(self, step: str) -> bool:
        """Whether a markdown heading names the step."""
        keys = _STEP_HEADINGS.get(step, ())
        return any(s.is_heading and any(k in s.heading for k in keys) for s in self.sentences)

    def addressed(self, step: str, minimum: int = 2) -> bool:
        """Whether the step gets at least `minimum` sentences of substance (or a covered point plus one more)."""
        return len(self.step_sentences(step)) >= minimum or len(self.covered(step)) >= minimum

    @property
    def content_sentences(self) -> list[Sentence]:
        """Sentences that are not headings and keep some text after dismissals."""
        return [s for s in self.sentences if not s.is_heading and s.kept]


def analyse(case: Case, text: str, embedder: Embedder | None) -> Analysis:
    """Split, detect signals, embed once and cover the case's points."""
    sentences = split_sentences(text)
    signals = SignalIndex(find_signals(sentences))
    embeddings = embed_sentences(sentences, embedder)
    coverage = cover_case(case, sentences, embeddings, embedder)
    return Analysis(case, sentences, signals, {step: coverage.get(step, []) for step in STEPS})


__all__ = ["Analysis", "analyse"]
