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
from knowledge.ids import DIMENSIONS
from tests.test_interview_model import CASE, USERS_Q
from tests.test_llm_openai_http import chunk, completion, sse

KEY = "sk-PLANTED-0123456789abcdefSECRET"
LONG = "All the logged sessions go into one bucket and we hold out a random slice of rows as the test set."


def _echo(request: httpx2.Request, echoed: str) -> httpx2.Response:
    """A hostile but well-formed server: every reply (stream, tool call, completion) quotes the key back."""
    body = json.loads(request.content)
    if body.get("stream"):
        text = f"We have about 200 million daily active users. By the way, your key is {echoed}."
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=sse([chunk({"content": text})])
        )
    tools = body.get("tools") or []
    if not tools:
        return httpx2.Response(200, json=completion({"content": f"ok {echoed}"}))
    name = tools[0]["function"]["name"]
    if name == "MessageJudgement":
        args: dict[str, Any] = {
            "covered_points": [{"id": f"size-the-problem {echoed}", "quote": f"my key {echoed}"}],
            "failure_modes": [{"id": "data_leakage", "quote": echoed}],
            "clarifying_question": False,
        }
    else:
        dim = {"score": 2, "evidence": [echoed], "missing": [f"rotate {echoed}"]}
        args = {d: dim for d in DIMENSIONS} | {"failure_modes": [], "summary": f"Fine. Key: {echoed}"}
    call = {"id": "c1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return httpx2.Response(200, json=completion({"content": None, "tool_calls": [call]}, finish="tool_calls"))


def _respond(mode: str) -> Any:
    def respond(request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers.get("authorization", "")  # a hostile server quotes the key back
        if mode == "echo":
            return _echo(request, echoed)
        if mode == "401":
            body = {"error": {"message": f"Incorrect API key provided: {echoed}", "type": "invalid_request_error"}}
            return httpx2.Response(401, json=body)
        if mode == "500":
            return httpx2.Response(500, json={"error": {"message": f"boom for {echoed}", "type": "server_error"}})
        return httpx2.Response(200, content=f"<<garbage {echoed}>>".encode(), headers={"content-type": "text/plain"})

    return respond


@pytest.mark.parametrize("mode", ["401", "500", "garbage", "echo"])
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
    lines = [USERS_Q, "Ranking, I think.", LONG]
    script.write_text("".join(json.dumps({"text": t}) + "\n" for t in lines))
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
    assert run(["doctor", "--provider", "openai"]) == 1  # no index in this data dir
    outputs += list(capsys.readouterr())

    joined = "\n".join(outputs)
    assert "sk-PLANTED" not in joined and "0123456789abcdef" not in joined
    assert "endpoint" in joined, "doctor ran its endpoint check"
    db = Settings.from_env().sessions_db
    assert db.is_file()
    for path in [db, *db.parent.glob(db.name + "-*")]:
        data = path.read_bytes()
        assert b"sk-PLANTED" not in data and b"0123456789abcdef" not in data


def test_the_echo_server_exercised_every_scrubbed_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hostile echo server's words reach the voice (retried, then offline), the judgement and the grader."""
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    client = httpx2.Client(transport=httpx2.MockTransport(_respond("echo")))
    real_factory = agent.llm.factory.chat_model_from_settings
    monkeypatch.setattr(
        agent.llm.factory, "chat_model_from_settings", lambda s, **_: real_factory(s, http_client=client)
    )
    script = tmp_path / "s.jsonl"
    script.write_text("".join(json.dumps({"text": t}) + "\n" for t in [USERS_Q, LONG]))
    argv = ["interview", "--provider", "openai", "--case", CASE, "--script", str(script), "--format", "json"]
    assert run(argv) == 0
    from agent.sessions import SessionStore

    sid = json.loads(capsys.readouterr().out)["session_id"]
    turns = SessionStore(Settings.from_env().sessions_db).load(sid).turns
    spoken = [t.meta for t in turns if t.role == "interviewer" and "voice" in t.meta]
    assert [m["fallback"] for m in spoken] == ["secret", "secret"] and all(m["attempts"] == 2 for m in spoken)
    judged = next(m["judgement"] for m in spoken if "judgement" in m)
    assert judged["points"]["accepted"] == [] and judged["modes"]["accepted"] == []
    assert "[redacted]" in judged["points"]["dropped"][0]["id"]
    answer = tmp_path / "answer.md"
    answer.write_text(LONG + "\n")
    assert run(["grade", str(answer), "--case", CASE, "--provider", "openai", "--format", "json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["grader"] == "model" and "[redacted]" in card["summary"] and "sk-PLANTED" not in json.dumps(card)
