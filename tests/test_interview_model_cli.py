"""`interviewer interview --provider openai`: the model voice in the terminal (streamed) and in scripted runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agent.llm.factory
from agent.cli import run
from agent.interview.model_voice import TerminalEcho
from tests.test_interview_model import USERS_Q, EchoDraftModel


@pytest.fixture
def echo_model(monkeypatch: pytest.MonkeyPatch) -> EchoDraftModel:
    """The factory returns a draft-echoing fake whenever a provider other than offline is asked for."""
    model = EchoDraftModel()

    def factory(settings: Any, **_: Any) -> EchoDraftModel | None:
        return None if settings.provider == "offline" else model

    monkeypatch.setattr(agent.llm.factory, "chat_model_from_settings", factory)
    return model


def test_interactive_run_streams_the_model_words(
    echo_model: EchoDraftModel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: Iterator[str] = iter([USERS_Q, "/end"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    pieces: list[str] = []
    real_call = TerminalEcho.__call__

    def spy(self: TerminalEcho, piece: str) -> None:
        pieces.append(piece)
        real_call(self, piece)

    monkeypatch.setattr(TerminalEcho, "__call__", spy)
    assert run(["interview", "--provider", "openai", "--case", "video-recommendation"]) == 0
    out = capsys.readouterr().out
    assert len(pieces) > 1 and "".join(pieces) == echo_model.replies[0], "printed as it streamed"
    assert echo_model.replies and f"interviewer: {echo_model.replies[0]}\n" in out
    assert "200 million" in out


def test_scripted_json_uses_the_model_voice(echo_model: EchoDraftModel, tmp_path: Path, capsys: Any) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(json.dumps({"text": USERS_Q}) + "\n" + json.dumps({"text": "Ranking, I think."}) + "\n")
    argv = ["interview", "--provider", "openai", "--case", "video-recommendation", "--script", str(script)]
    assert run([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    said = [t["text"] for t in out["turns"] if t["role"] == "interviewer"][1:]
    assert said and said[0].startswith("Right. ") and "200 million" in said[0]


def test_offline_default_does_not_build_a_model(echo_model: EchoDraftModel, tmp_path: Path, capsys: Any) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(json.dumps({"text": USERS_Q}) + "\n")
    assert run(["interview", "--case", "video-recommendation", "--script", str(script), "--format", "json"]) == 0
    assert echo_model.prompts == []


def test_openai_without_a_key_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(json.dumps({"text": USERS_Q}) + "\n")
    argv = ["interview", "--provider", "openai", "--case", "video-recommendation", "--script", str(script)]
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "OPENAI_API_KEY" in err and len(err.splitlines()) == 1
