"""A planted API key never reaches stdout, stderr or the session database, whatever the endpoint answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

import agent.doctor
import agent.llm.factory
from agent.cli import run
from agent.settings import Settings
from tests.test_interview_model import CASE, USERS_Q

KEY = "sk-PLANTED-0123456789abcdefSECRET"


def _respond(mode: str) -> Any:
    def respond(request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers.get("authorization", "")  # a hostile server quotes the key back
        if mode == "401":
            body = {"error": {"message": f"Incorrect API key provided: {echoed}", "type": "invalid_request_error"}}
            return httpx2.Response(401, json=body)
        if mode == "500":
            return httpx2.Response(500, json={"error": {"message": f"boom for {echoed}", "type": "server_error"}})
        return httpx2.Response(200, content=f"<<garbage {echoed}>>".encode(), headers={"content-type": "text/plain"})

    return respond


@pytest.mark.parametrize("mode", ["401", "500", "garbage"])
def test_planted_key_never_leaks(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("INTERVIEWER_MAX_RETRIES", "0")
    client = httpx2.Client(transport=httpx2.MockTransport(_respond(mode)))
    real_factory = agent.llm.factory.chat_model_from_settings
    real_doctor = agent.doctor.run_doctor

    def factory(settings: Settings, **_: Any) -> Any:
        return real_factory(settings, http_client=client)

    monkeypatch.setattr(agent.llm.factory, "chat_model_from_settings", factory)
    monkeypatch.setattr(agent.doctor, "run_doctor", lambda **kw: real_doctor(http_client=client, **kw))

    answer = tmp_path / "answer.md"
    answer.write_text("I would clarify the users first, then build a two-tower retrieval model and a ranker.\n")
    script = tmp_path / "s.jsonl"
    script.write_text(json.dumps({"text": USERS_Q}) + "\n" + json.dumps({"text": "Ranking, I think."}) + "\n")
    outputs: list[str] = []
    for fmt in ("json", "md"):
        run(["grade", str(answer), "--case", CASE, "--provider", "openai", "--format", fmt])
        outputs += list(capsys.readouterr())
    argv = ["interview", "--provider", "openai", "--case", CASE, "--script", str(script), "--format", "json"]
    assert run(argv) == 0
    out, err = capsys.readouterr()
    outputs += [out, err]
    sid = json.loads(out)["session_id"]
    for args in (
        ["export", "--format", "md", "--", sid],
        ["export", "--format", "json", "--", sid],
        ["sessions"],
        ["sessions", "--format", "json"],
    ):
        assert run(args) == 0
        outputs += list(capsys.readouterr())
    assert run(["doctor", "--provider", "openai"]) == 1
    outputs += list(capsys.readouterr())

    joined = "\n".join(outputs)
    assert "sk-PLANTED" not in joined and "0123456789abcdef" not in joined
    assert "endpoint" in joined, "doctor ran its endpoint check"
    db = Settings.from_env().sessions_db
    assert db.is_file()
    for path in [db, *db.parent.glob(db.name + "-*")]:
        data = path.read_bytes()
        assert b"sk-PLANTED" not in data and b"0123456789abcdef" not in data
