"""The model voice end to end through the real ChatOpenAI over an httpx mock transport (SSE streaming, errors)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2

from agent.interview import InterviewState, start, step
from agent.interview.model_voice import MAX_REPLY_TOKENS
from agent.llm.openai_chat import OpenAIChatModel
from agent.settings import Settings
from tests.test_interview_model import USERS_Q, USERS_REPLY, _shape
from tests.test_llm_openai_http import chunk, sse

MODEL = "gpt-4o-mini"


class Server:
    """A mock chat-completions endpoint: records request bodies and answers with a canned response."""

    def __init__(self, response: httpx2.Response | None = None, *, fail: BaseException | None = None) -> None:
        self.response = response
        self.fail = fail
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path.endswith("/chat/completions")
        self.bodies.append(json.loads(request.content))
        if self.fail is not None:
            raise self.fail
        assert self.response is not None
        return self.response


def _model(server: Server) -> OpenAIChatModel:
    settings = Settings.from_env(
        {"INTERVIEWER_DATA_DIR": "/tmp/unused"}, provider="openai", model=MODEL, openai_api_key="sk-test"
    )
    client = httpx2.Client(transport=httpx2.MockTransport(server))
    return OpenAIChatModel.from_settings(settings, http_client=client, max_retries=0)


def _streamed(text: str) -> httpx2.Response:
    pieces = re.findall(r"\S+\s*", text)
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": "".join(pieces[i : i + 3])}) for i in range(0, len(pieces), 3)]
    events.append(chunk({}, finish="stop"))
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))


def _start() -> InterviewState:
    state, _ = start("video-recommendation", clock="turns", turn_budget=40, session_id="http-voice", now=0.0)
    return state


def test_streamed_turn_end_to_end(embedder: Any) -> None:
    server = Server(_streamed(USERS_REPLY))
    pieces: list[str] = []
    state, turn = step(_start(), USERS_Q, now=1.0, embedder=embedder, model=_model(server), on_token=pieces.append)
    assert turn.text == USERS_REPLY and "".join(pieces) == USERS_REPLY and len(pieces) > 1
    assert turn.meta["voice"] == "model" and turn.meta["model"] == MODEL
    assert turn.meta["completion_tokens"] > 0 and turn.meta["prompt_tokens"] > 0 and turn.meta["cost_usd"] > 0
    (body,) = server.bodies
    assert body["stream"] is True and body["model"] == MODEL and body["temperature"] == 0
    assert body["max_tokens"] == MAX_REPLY_TOKENS
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "BEGIN CANDIDATE MESSAGE\n" + USERS_Q in body["messages"][1]["content"]
    assert state.turns[-1] == turn and state.facts_revealed["users"]


def test_http_500_falls_back_to_the_offline_turn(embedder: Any) -> None:
    server = Server(httpx2.Response(500, json={"error": {"message": "boom", "type": "server_error"}}))
    pieces: list[str] = []
    state0 = _start()
    state, turn = step(state0, USERS_Q, now=1.0, embedder=embedder, model=_model(server), on_token=pieces.append)
    offline, offline_turn = step(state0, USERS_Q, now=1.0, embedder=embedder)
    assert turn.meta["voice"] == "offline" and turn.meta["fallback"] == "unavailable"
    assert "HTTP 500" in turn.meta["fallback_detail"]
    assert turn.text == offline_turn.text and pieces == []
    assert _shape(state) == _shape(offline) and state.turns[-1] == turn


def test_timeout_mid_request_falls_back(embedder: Any) -> None:
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    server = Server(fail=httpx2.ReadTimeout("timed out", request=request))
    _, turn = step(_start(), USERS_Q, now=1.0, embedder=embedder, model=_model(server))
    assert turn.meta["fallback"] == "timeout" and turn.text


def test_small_model_nonsense_over_sse_falls_back(embedder: Any) -> None:
    nonsense = "Q: ? ? :: ### 1) 2) 3) <<< >>> ::: ;;; --- ___ ||| ^^^ ***"
    server = Server(_streamed(nonsense))
    _, turn = step(_start(), USERS_Q, now=1.0, embedder=embedder, model=_model(server))
    assert turn.meta["voice"] == "offline" and turn.meta["fallback"] == "garbage"
    assert "200 million" in turn.text
