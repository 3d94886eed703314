"""Model settings (temperature, reply cap, budgets, retries), the session-level fallback and session usage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agent.cli import run
from agent.grading.provider import answer_grader
from agent.interview import start, step
from agent.interview.service import DISABLED_NOTE, InterviewService
from agent.llm.base import ModelTimeout
from agent.llm.fake import ScriptedModel
from agent.llm.openai_chat import OpenAIChatModel
from agent.settings import Settings, SettingsError
from tests.test_interview_model import CASE, USERS_Q, EchoDraftModel
from tests.test_llm_openai_http import MSGS, completion

MESSAGES = [USERS_Q, "Ranking, I think.", "Two towers for retrieval.", "Then a ranker.", "And monitoring."]


def test_model_settings_defaults_and_env() -> None:
    s = Settings.from_env({})
    assert (s.temperature, s.max_tokens, s.turn_token_budget, s.grade_max_tokens, s.max_retries) == (
        0.0,
        1024,
        3000,
        2048,
        2,
    )
    env = {
        "INTERVIEWER_TEMPERATURE": "0.7",
        "INTERVIEWER_MAX_TOKENS": "256",
        "INTERVIEWER_TURN_TOKEN_BUDGET": "1500",
        "INTERVIEWER_GRADE_MAX_TOKENS": "999",
        "INTERVIEWER_MAX_RETRIES": "0",
    }
    s = Settings.from_env(env)
    assert (s.temperature, s.max_tokens, s.turn_token_budget, s.grade_max_tokens, s.max_retries) == (
        0.7,
        256,
        1500,
        999,
        0,
    )


@pytest.mark.parametrize(
    "var,value",
    [
        ("INTERVIEWER_TEMPERATURE", "2.5"),
        ("INTERVIEWER_TEMPERATURE", "warm"),
        ("INTERVIEWER_MAX_TOKENS", "0"),
        ("INTERVIEWER_TURN_TOKEN_BUDGET", "10"),
        ("INTERVIEWER_GRADE_MAX_TOKENS", "many"),
        ("INTERVIEWER_MAX_RETRIES", "-1"),
    ],
)
def test_bad_model_settings_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var) as info:
        Settings.from_env({var: value})
    assert len(str(info.value).splitlines()) == 1 and str(info.value).endswith(".")


def test_adapter_uses_temperature_retries_and_reply_cap() -> None:
    bodies: list[dict[str, Any]] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=completion({"content": "ok"}))

    s = Settings.from_env(
        {"INTERVIEWER_TEMPERATURE": "0.4", "INTERVIEWER_MAX_TOKENS": "77", "INTERVIEWER_MAX_RETRIES": "5"},
        provider="openai",
        model="test-model",
        openai_api_key="sk-test",
    )
    model = OpenAIChatModel.from_settings(s, http_client=httpx2.Client(transport=httpx2.MockTransport(respond)))
    assert model.max_retries == 5 and model._llm.max_retries == 0  # our retry loop, not the SDK's
    model.complete(MSGS)
    model.complete(MSGS, max_tokens=9)
    assert bodies[0]["temperature"] == 0.4 and bodies[0]["max_tokens"] == 77
    assert bodies[1]["max_tokens"] == 9, "a call's own cap wins"


class CapRecorder(ScriptedModel):
    """A scripted model that remembers the max_tokens of each call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caps: list[int | None] = []

    def structured(self, messages: Any, schema: Any, *, max_tokens: int | None = None) -> Any:
        self.caps.append(max_tokens)
        raise ModelTimeout("scripted: timed out")


def test_grader_uses_grade_max_tokens(embedder: Any) -> None:
    model = CapRecorder()
    card = answer_grader(model, embedder, max_tokens=321)("I would build a two-tower retrieval model.", CASE, "senior")
    assert model.caps == [321] and any("offline grade" in n for n in card.notes)


def test_service_passes_turn_token_budget(settings: Settings, tmp_path: Path) -> None:
    s = settings.model_copy(update={"turn_token_budget": 1234, "data_dir": tmp_path})
    service = InterviewService(s, step_options={"model": EchoDraftModel()})
    assert service._step_options["token_budget"] == 1234
    assert "token_budget" not in InterviewService(s)._step_options


# -- session-level fallback -------------------------------------------------------------------------


def test_three_model_failures_switch_the_model_off_for_the_session(embedder: Any) -> None:
    model = ScriptedModel([ModelTimeout("t1"), ModelTimeout("t2"), ModelTimeout("t3"), "never used"])
    state, _ = start(CASE, clock="turns", turn_budget=40, session_id="fallback-test", now=0.0)
    turns = []
    for i, message in enumerate(MESSAGES[:5], start=1):
        state, turn = step(state, message, now=float(i), embedder=embedder, model=model)
        turns.append(turn)
    assert [t.meta["fallback"] for t in turns[:3]] == ["timeout"] * 3
    assert turns[2].meta.get("model_disabled") is True and not turns[1].meta.get("model_disabled")
    for turn in turns[3:]:
        assert turn.meta["voice"] == "offline" and turn.meta["fallback"] == "session_disabled"
    assert model.remaining == 1, "the 4th and 5th turns made no model call"


def test_a_success_resets_the_failure_count(embedder: Any) -> None:
    echo = EchoDraftModel()
    state, _ = start(CASE, clock="turns", turn_budget=40, session_id="reset-test", now=0.0)
    failing = ScriptedModel([ModelTimeout("a"), ModelTimeout("b")])
    for i, message in enumerate(MESSAGES[:2], start=1):
        state, _ = step(state, message, now=float(i), embedder=embedder, model=failing)
    state, turn = step(state, MESSAGES[2], now=3.0, embedder=embedder, model=echo)
    assert turn.meta["voice"] == "model"
    state, turn = step(state, MESSAGES[3], now=4.0, embedder=embedder, model=ScriptedModel([ModelTimeout("c")]))
    assert turn.meta["fallback"] == "timeout" and not turn.meta.get("model_disabled")


def test_export_shows_the_switch_and_the_usage(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    s = settings.model_copy(update={"data_dir": tmp_path})
    model = ScriptedModel([ModelTimeout("t1"), ModelTimeout("t2"), ModelTimeout("t3")], name="gpt-4o-mini")
    service = InterviewService(s, embedder=embedder, step_options={"model": model})
    sid, _ = service.begin(CASE, clock="turns", turn_budget=40, now=0.0)
    for i, message in enumerate(MESSAGES[:4], start=1):
        service.reply(sid, message, now=float(i))
    md = service.export(sid, "md")
    assert md.count(DISABLED_NOTE) == 1
    data = json.loads(service.export(sid, "json"))
    assert data["model_fallback"] == "session_disabled"
    metas = [t.meta for t in service.get(sid).state.turns]
    assert data["usage"]["model_calls"] == 3
    assert data["usage"]["prompt_tokens"] == sum(m.get("prompt_tokens", 0) for m in metas) > 0


def test_usage_sums_cost_in_export_and_sessions(
    settings: Settings, embedder: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    s = settings.model_copy(update={"data_dir": tmp_path})
    service = InterviewService(s, embedder=embedder, step_options={"model": EchoDraftModel("gpt-4o-mini")})
    sid, _ = service.begin(CASE, clock="turns", turn_budget=40, now=0.0)
    for i, message in enumerate(MESSAGES[:3], start=1):
        service.reply(sid, message, now=float(i))
    metas = [t.meta for t in service.get(sid).state.turns if "cost_usd" in t.meta]
    assert len(metas) == 3
    cost = round(sum(m["cost_usd"] for m in metas), 6)
    tokens = sum(m["prompt_tokens"] for m in metas), sum(m["completion_tokens"] for m in metas)
    assert cost > 0
    service.close()

    assert run(["export", "--format", "json", "--", sid]) == 0
    usage = json.loads(capsys.readouterr().out)["usage"]
    assert usage == {"model_calls": 3, "prompt_tokens": tokens[0], "completion_tokens": tokens[1], "cost_usd": cost}
    assert run(["export", "--", sid]) == 0
    md = capsys.readouterr().out
    assert f"- model usage: 3 calls, {tokens[0]} prompt + {tokens[1]} completion tokens" in md
    assert f"${cost:.4f}" in md
    assert run(["sessions", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[sid]["usage"] == usage
