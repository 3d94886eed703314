"""The command line: contract shapes and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from knowledge.ids import CASE_IDS

SEARCH_KEYS = {"source", "heading", "case_id", "failure_mode", "step", "score", "text"}


def test_cases_lists_all_fifteen_in_contract_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cases"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(CASE_IDS)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_search_json_matches_the_contract(built_index: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "search",
                "what latency budget does fraud scoring have",
                "-k",
                "3",
                "--case",
                "fraud-detection",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    hits = json.loads(out)
    assert 1 <= len(hits) <= 3 and all(set(h) == SEARCH_KEYS for h in hits)
    assert all(h["case_id"] in (None, "fraud-detection") for h in hits)
    assert all(isinstance(h["score"], float) for h in hits)
    assert all(Path(h["source"]).parts[0] == "knowledge" for h in hits)


def test_search_text_output(built_index: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["search", "position bias", "--step", "monitoring"]) == 0
    assert "knowledge/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["search", "x", "--case", "nope"], "unknown case id 'nope'"),
        (["search", "   "], "empty"),
        (["search", "x", "-k", "0"], "-k must be between 1 and 50"),
        (["search", "x", "--step", "deployment"], "unknown step 'deployment'"),
        (["search", "x", "--method", "magic"], "unknown method 'magic'"),
        (["search", "x", "--kind", "blog"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INTERVIEWER_RETRIEVAL", "psychic")
    assert run(["search", "baseline"]) == 2
    err = capsys.readouterr().err
    assert "INTERVIEWER_RETRIEVAL" in err and len(err.strip().splitlines()) == 1


def _exit_code(argv: list[str]) -> int:
    """Exit status of the CLI, whether it returns or exits through argparse."""
    try:
        return run(argv)
    except SystemExit as e:
        return int(e.code or 0)


def _console_script() -> str:
    script = Path(sys.executable).with_name("interviewer")
    if not script.exists():
        pytest.skip("console script not installed (run through `make test`)")
    return str(script)


@pytest.mark.slow
def test_search_runs_with_networking_disabled(built_index: Any, data_dir: Path) -> None:
    """`interviewer search` under `unshare -n`: no network namespace, nothing can be reached."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n is not permitted here: {probe.stderr.decode().strip()}")
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(data_dir)}
    env.pop("TIKTOKEN_CACHE_DIR", None)
    done = subprocess.run(
        [
            "unshare",
            "-n",
            _console_script(),
            "search",
            "how do we handle new users with no history",
            "--case",
            "news-feed",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert hits and set(hits[0]) == SEARCH_KEYS


@pytest.mark.slow
def test_console_script_errors_have_no_traceback() -> None:
    done = subprocess.run(
        [_console_script(), "search", "x", "--case", "nope"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == ["interviewer: error: unknown case id 'nope' (see `interviewer cases`)"]
