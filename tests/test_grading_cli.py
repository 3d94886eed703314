"""`interviewer grade`: single answers (md, json), batches, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import agent.grading.offline as offline
from agent.cli import run
from knowledge.ids import DIMENSIONS

ANSWER = (
    "I'd ask about scale; assume 100 million users and 200 ms. We start with a popularity baseline, then a "
    "two-tower model because it handles new videos. We measure NDCG offline and run an A/B test on watch time."
)


@pytest.fixture(autouse=True)
def shared_embedder(embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the CLI reuse the session embedder instead of loading its own."""
    monkeypatch.setattr("agent.kb.embedder_factory", lambda settings: lambda: embedder)
    monkeypatch.setattr(offline, "default_embedder", lambda: embedder)


@pytest.fixture
def answer_file(tmp_path: Path) -> Path:
    """A short answer on disk."""
    path = tmp_path / "answer.md"
    path.write_text(ANSWER, encoding="utf-8")
    return path


def test_grade_json_prints_one_scorecard(answer_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["grade", str(answer_file), "--case", "video-recommendation", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["case_id"] == "video-recommendation" and list(data["dimensions"]) == list(DIMENSIONS)


def test_grade_markdown(answer_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["grade", str(answer_file), "--case", "video-recommendation", "--level", "staff"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Scorecard: video-recommendation (staff)") and "## Failure modes" in out


def test_batch_in_order_with_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        {"id": "b", "case": "news-feed", "answer": ANSWER},
        {"id": "a", "case": "fraud-detection", "level": "mid", "answer": "We use rules and logistic regression."},
    ]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert run(["grade", "--batch", str(src), "--out", str(out)]) == 0
    cards = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(c["id"], c["case_id"], c["level"]) for c in cards] == [
        ("b", "news-feed", "senior"),
        ("a", "fraud-detection", "mid"),
    ]
    assert capsys.readouterr().out == ""


def test_malformed_jsonl_names_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "1", "case": "news-feed", "answer": ANSWER}) + "\n{not json\n", encoding="utf-8")
    assert run(["grade", "--batch", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize(
    ("make_argv", "fragment"),
    [
        (lambda f, d: ["grade", str(f), "--case", "nope"], "unknown case id 'nope'"),
        (lambda f, d: ["grade", str(f), "--case", "news-feed", "--level", "cto"], "unknown level 'cto'"),
        (lambda f, d: ["grade", str(d / "empty.md"), "--case", "news-feed"], "is empty"),
        (lambda f, d: ["grade", str(d / "missing.md"), "--case", "news-feed"], "cannot read"),
        (lambda f, d: ["grade", str(d), "--case", "news-feed"], "cannot read"),
        (lambda f, d: ["grade", "--batch", str(d / "missing.jsonl"), "--out", str(d / "o.jsonl")], "cannot read"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    make_argv: Any, fragment: str, answer_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    assert run(make_argv(answer_file, tmp_path)) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and captured.err.count("\n") == 1 and captured.out == ""
