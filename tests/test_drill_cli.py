"""`interviewer drill`: scripted JSON shape, mastery-driven focus across runs, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from knowledge import PROJECT_ROOT

ANSWERS = [
    "I'd monitor feature drift with PSI and the score distribution, with alerts paging on-call, and retrain daily.",
    "we don't need monitoring",
]


def _script(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert run(args) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_scripted_json_shape(drill_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _script(tmp_path, [json.dumps({"text": t}) for t in ANSWERS])
    out = _run_json(
        [
            "drill",
            "--case",
            "video-recommendation",
            "--dimension",
            "monitoring",
            "--script",
            str(path),
            "--format",
            "json",
        ],
        capsys,
    )
    assert {"session_id", "case_id", "items", "mastery"} <= set(out)
    assert out["case_id"] == "video-recommendation" and len(out["items"]) == 2
    for item, text in zip(out["items"], ANSWERS, strict=True):
        assert {"question", "dimension", "failure_mode", "answer", "score", "feedback", "source"} <= set(item)
        assert item["answer"] == text and item["dimension"] == "monitoring"
        assert 1 <= item["score"] <= 4 and (PROJECT_ROOT / item["source"]).is_file()
    assert out["items"][0]["score"] > out["items"][1]["score"]
    assert set(out["mastery"]["dimensions"]) >= {"monitoring", "communication"}
    assert out["mastery"]["dimensions"]["monitoring"]["observations"] == 2


def test_focus_comes_from_mastery_across_runs(
    drill_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _script(tmp_path, [json.dumps({"text": "no idea"})])
    first = _run_json(["drill", "--script", str(path), "--format", "json"], capsys)
    assert "balanced default" in first["focus"]
    dim = first["items"][0]["dimension"]
    assert first["items"][0]["score"] == 1
    second = _run_json(["drill", "--script", str(path), "--format", "json", "--count", "1"], capsys)
    assert "balanced default" not in second["focus"]
    assert second["mastery"]["dimensions"][dim]["observations"] == 2
    assert second["items"][0]["dimension"] == dim  # still the weakest, not yet a streak
    third = _run_json(["drill", "--script", str(path), "--format", "json"], capsys)
    assert third["items"][0]["dimension"] != dim  # twice in a row: another dimension gets a turn


def test_markdown_run_prints_feedback_and_mastery(
    drill_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _script(tmp_path, [json.dumps({"text": ANSWERS[0]})])
    assert run(["drill", "--failure-mode", "no_monitoring", "--script", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Score " in out and "Read next: knowledge/" in out and "| monitoring |" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--case", "nope"], "unknown case id"),
        (["--dimension", "vibes"], "unknown dimension"),
        (["--failure-mode", "no_vibes"], "unknown failure mode"),
        (["--level", "intern"], "unknown level"),
        (["--case", "visual-search", "--failure-mode", "cold_start_ignored"], "does not apply"),
        (["--count", "0"], "--count"),
    ],
)
def test_bad_ids_are_one_line_errors(
    drill_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    path = _script(tmp_path, ['{"text": "hi"}'])
    assert run(["drill", *args, "--script", str(path), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_malformed_script_line_names_its_number(
    drill_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _script(tmp_path, ['{"text": "we monitor drift"}', "", '{"txt": 3}'])
    assert run(["drill", "--script", str(path), "--format", "json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "line 3" in err and len(err.splitlines()) == 1
    path.write_text('{"text": "ok"}\n{not json\n', encoding="utf-8")
    assert run(["drill", "--script", str(path), "--format", "json"]) == 2
    assert "line 2" in capsys.readouterr().err


def test_json_needs_a_script(drill_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["drill", "--format", "json"]) == 2
    assert "--script" in capsys.readouterr().err
