"""Provider switch for grading: the offline grader, or the model grader on top of it; batches for either."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from agent.grading.batch import read_batch
from agent.grading.coverage import Embedder
from agent.grading.offline import GradingInputError, grade_answer
from agent.grading.scorecard import Scorecard
from agent.llm.base import ChatModel

AnswerGrader = Callable[[str, str, str], Scorecard]
"""(answer, case_id, level) -> Scorecard."""


def answer_grader(model: ChatModel | None, embedder: Embedder | None = None) -> AnswerGrader:
    """The offline grader when model is None, else the model grader (offline first, model combined)."""
    if model is None:
        return lambda answer, case_id, level: grade_answer(answer, case_id, level, embedder=embedder)
    from agent.grading.model_grader import grade_with_model

    return lambda answer, case_id, level: grade_with_model(answer, case_id, level, model, embedder=embedder)


def grade_batch_with(src: Path, out: Path, grader: AnswerGrader, progress: bool = True) -> int:
    """Grade every line of src with grader into out (input order, each with its id, written atomically)."""
    items = read_batch(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for item in tqdm(items, desc="grading", unit="answer", file=sys.stderr, disable=not progress):
                try:
                    card = grader(item.answer, item.case, item.level)
                except GradingInputError as e:
                    raise GradingInputError(f"{src}: line {item.line}: {e}") from e
                card.id = item.id
                f.write(card.to_json(indent=None) + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(items)


__all__ = ["AnswerGrader", "answer_grader", "grade_batch_with"]
