"""Batch grading: JSONL answers in, one scorecard a line out, written atomically."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from agent.grading.coverage import Embedder
from agent.grading.offline import GradingInputError, grade_answer
from agent.grading.scorecard import Scorecard
from knowledge.ids import DEFAULT_LEVEL


@dataclass(frozen=True)
class BatchItem:
    """One input line: its id, case, level and answer."""

    line: int
    id: str
    case: str
    level: str
    answer: str


def read_batch(path: Path) -> list[BatchItem]:
    """Parse and check every line first; a bad line raises GradingInputError naming its line number."""
    items: list[BatchItem] = []
    if not path.is_file():
        raise GradingInputError(f"cannot read '{path}': {'it is a directory' if path.is_dir() else 'no such file'}")
    with path.open(encoding="utf-8-sig", errors="replace") as f:  # -sig: a leading byte-order mark is fine
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise GradingInputError(f"{path}: line {number}: malformed JSON ({e.msg})") from e
            except RecursionError as e:
                raise GradingInputError(f"{path}: line {number}: malformed JSON (nested too deeply)") from e
            if not isinstance(obj, dict):
                raise GradingInputError(f"{path}: line {number}: expected a JSON object")
            missing = [k for k in ("id", "case", "answer") if k not in obj]
            if missing:
                raise GradingInputError(f"{path}: line {number}: missing field(s) {', '.join(missing)}")
            if not isinstance(obj["answer"], str) or not isinstance(obj["case"], str):
                raise GradingInputError(f"{path}: line {number}: 'case' and 'answer' must be strings")
            level = obj.get("level") or DEFAULT_LEVEL
            items.append(BatchItem(number, str(obj["id"]), obj["case"], str(level), obj["answer"]))
    if not items:
        raise GradingInputError(f"{path}: no answers to grade")
    return items


AnswerGrader = Callable[[str, str, str], Scorecard]
"""(answer, case_id, level) -> Scorecard."""


def grade_batch_with(src: Path, out: Path, grader: AnswerGrader, progress: bool = True) -> int:
    """Grade every line of src with grader into out (input order, each with its id, written atomically)."""
    items = read_batch(src)
    if out.is_dir():
        raise GradingInputError(f"cannot write '{out}': it is a directory")
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


def grade_batch(src: Path, out: Path, embedder: Embedder | None = None, progress: bool = True) -> int:
    """Grade every line of src with the offline grader into out; return the number graded."""
    return grade_batch_with(
        src, out, lambda answer, case, level: grade_answer(answer, case, level, embedder=embedder), progress
    )


__all__ = ["AnswerGrader", "BatchItem", "grade_batch", "grade_batch_with", "read_batch"]
