"""The OpenAI adapter against the real ChatOpenAI, at the HTTP level, through an httpx mock transport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel, Field

from agent.llm.base import Message, ModelBadOutput, ModelRefusal, ModelTimeout, ModelUnavailable
from agent.llm.factory import chat_model_from_settings
from agent.llm.openai_chat import LOCAL_PLACEHOLDER_KEY, OpenAIChatModel
from agent.settings import Settings, SettingsError

MODEL = "test-model"
MSGS = [Message.system("You grade."), Message.user("Grade this.")]
Handler = Callable[[httpx2.Request], httpx2.Response]


class Verdict(BaseModel):
    """A tiny structured reply."""

    score: int = Field(ge=1, le=4)
    why: str


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    """A canned chat-completions response body."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def tool_call(arguments: str) -> dict[str, Any]:
    """A canned response that calls the Verdict tool with these raw arguments."""
    call = {"id": "call_1", "type": "function", "function": {"name": "Verdict", "arguments": arguments}}
    return completion({"content": None, "tool_calls": [call]}, finish="tool_calls")


class Recorder:
    """A mock transport handler that records request bodies and answers with a scripted handler."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[httpx2.Headers] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.headers.append(request.headers)
        assert request.url.path.endswith("/chat/completions")
        assert body["model"] == MODEL
        assert body["temperature"] == 0
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        return self.respond(request)


def make_model(respond: Handler, **settings: Any) -> tuple[OpenAIChatModel, Recorder]:
    """The adapter built from Settings with a mock-transport http client and no retries."""
    recorder = Recorder(respond)
    values: dict[str, Any] = {"provider": "openai", "model": MODEL, "openai_api_key": "sk-test", **settings}
    s = Settings.from_env({"INTERVIEWER_DATA_DIR": "/tmp/unused"}, **values)
    client = httpx2.Client(transport=httpx2.MockTransport(recorder))
    return OpenAIChatModel.from_settings(s, http_client=client, max_retries=0), recorder


def test_complete_sends_max_tokens_in_the_body_and_reads_usage() -> None:
    model, rec = make_model(lambda r: httpx2.Response(200, json=completion({"content": "Looks fine."})))
    reply = model.complete(MSGS, max_tokens=64)
    assert reply.text == "Looks fine."
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (11, 3)
    body = rec.bodies[0]
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert "tools" not in body and body.get("stream") in (None, False)
    assert rec.headers[0]["authorization"] == "Bearer sk-test"


def test_structured_is_a_forced_tool_call() -> None:
    model, rec = make_model(lambda r: httpx2.Response(200, json=tool_call('{"score": 3, "why": "clear"}')))
    verdict = model.structured(MSGS, Verdict, max_tokens=300)
    assert verdict == Verdict(score=3, why="clear")
    body = rec.bodies[0]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Verdict"}}
    assert [t["function"]["name"] for t in body["tools"]] == ["Verdict"]
    assert set(body["tools"][0]["function"]["parameters"]["properties"]) == {"score", "why"}
    assert body["max_tokens"] == 300
    assert "response_format" not in body


def sse(events: list[dict[str, Any]]) -> bytes:
    """Server-sent events as the chat-completions stream sends them."""
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """One streamed chunk."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_stream_yields_the_chunks() -> None:
    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Why "}), chunk({"content": "X?"})]
    events.append(chunk({}, finish="stop"))

    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))

    model, rec = make_model(respond)
    assert list(model.stream(MSGS, max_tokens=20)) == ["Why ", "X?"]
    assert rec.bodies[0]["stream"] is True and rec.bodies[0]["max_tokens"] == 20


def test_http_500_is_unavailable() -> None:
    model, _ = make_model(lambda r: httpx2.Response(500, json={"error": {"message": "boom", "type": "server_error"}}))
    with pytest.raises(ModelUnavailable, match="HTTP 500") as info:
        model.structured(MSGS, Verdict)
    assert info.value.__cause__ is not None


def test_timeout_is_model_timeout() -> None:
    def respond(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    model, _ = make_model(respond)
    with pytest.raises(ModelTimeout):
        model.complete(MSGS)
    with pytest.raises(ModelTimeout):
        list(model.stream(MSGS))


def test_connection_error_is_unavailable() -> None:
    def respond(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    model, _ = make_model(respond)
    with pytest.raises(ModelUnavailable):
        model.complete(MSGS)


@pytest.mark.parametrize(
    "arguments",
    ['{"score": 3, "why": ', "not json at all", '{"score": 9, "why": "too high"}', '{"why": "no score"}'],
)
def test_garbage_tool_arguments_are_bad_output(arguments: str) -> None:
    model, _ = make_model(lambda r: httpx2.Response(200, json=tool_call(arguments)))
    with pytest.raises(ModelBadOutput):
        model.structured(MSGS, Verdict)


def test_text_instead_of_a_tool_call_is_bad_output() -> None:
    model, _ = make_model(lambda r: httpx2.Response(200, json=completion({"content": "Score: 3"})))
    with pytest.raises(ModelBadOutput, match="no Verdict tool call"):
        model.structured(MSGS, Verdict)


def test_refusal_is_model_refusal() -> None:
    refusal = completion({"content": None, "refusal": "I can't help with that."})
    model, _ = make_model(lambda r: httpx2.Response(200, json=refusal))
    with pytest.raises(ModelRefusal):
        model.complete(MSGS)
    with pytest.raises(ModelRefusal):
        model.structured(MSGS, Verdict)


def test_local_base_url_without_key_sends_a_placeholder() -> None:
    model, rec = make_model(
        lambda r: httpx2.Response(200, json=completion({"content": "ok"})),
        openai_api_key=None,
        openai_base_url="http://127.0.0.1:8080/v1",
    )
    assert model.complete(MSGS).text == "ok"
    assert rec.headers[0]["authorization"] == f"Bearer {LOCAL_PLACEHOLDER_KEY}"


def test_missing_key_is_one_sentence_naming_the_variable() -> None:
    s = Settings.from_env({"INTERVIEWER_DATA_DIR": "/tmp/unused", "INTERVIEWER_PROVIDER": "openai"})
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        chat_model_from_settings(s)


def test_factory_offline_is_none_and_construction_makes_no_call() -> None:
    assert chat_model_from_settings(Settings.from_env({"INTERVIEWER_DATA_DIR": "/tmp/unused"})) is None
    env = {"INTERVIEWER_DATA_DIR": "/tmp/unused", "INTERVIEWER_PROVIDER": "openai", "OPENAI_API_KEY": "sk-x"}
    model = chat_model_from_settings(Settings.from_env(env))  # the socket guard fails any connect
    assert isinstance(model, OpenAIChatModel) and model.name == "gpt-4o-mini"


# -- retries: ours, with backoff on 429/5xx; never on a timeout to a local server ----------------------


def retrying_model(respond: Handler, base_url: str | None, retries: int = 2) -> tuple[OpenAIChatModel, Recorder, list]:
    """The adapter with `retries` retries at base_url; its backoff sleeps are recorded instead of slept."""
    recorder = Recorder(respond)
    values: dict[str, Any] = {"provider": "openai", "model": MODEL, "openai_api_key": "sk-test"}
    s = Settings.from_env({"INTERVIEWER_DATA_DIR": "/tmp/unused"}, openai_base_url=base_url, **values)
    client = httpx2.Client(transport=httpx2.MockTransport(recorder))
    model = OpenAIChatModel.from_settings(s, http_client=client, max_retries=retries)
    delays: list[float] = []
    model._sleep = delays.append
    return model, recorder, delays


def _timeout(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://[::1]:1234/v1"])
def test_local_timeout_makes_exactly_one_request(url: str) -> None:
    model, rec, delays = retrying_model(_timeout, url)
    assert model.local and model._llm.max_retries == 0, "the SDK never retries on its own"
    with pytest.raises(ModelTimeout):
        model.complete(MSGS)
    with pytest.raises(ModelTimeout):
        list(model.stream(MSGS))
    with pytest.raises(ModelTimeout):
        model.structured(MSGS, Verdict)
    assert len(rec.bodies) == 3 and delays == [], "one request per call, no retry, no wait"


def test_remote_timeout_is_retried() -> None:
    model, rec, delays = retrying_model(_timeout, None)
    assert not model.local
    with pytest.raises(ModelTimeout):
        model.complete(MSGS)
    assert len(rec.bodies) == 3 and len(delays) == 2


def _503(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})


def test_remote_503_is_retried_with_exponential_backoff() -> None:
    model, rec, delays = retrying_model(_503, "https://api.example.com/v1", retries=3)
    with pytest.raises(ModelUnavailable, match="HTTP 503"):
        model.complete(MSGS)
    assert len(rec.bodies) == 4
    assert len(delays) == 3 and delays == sorted(delays)
    for i, d in enumerate(delays):
        assert 0.5 * 2**i * 0.75 <= d <= 0.5 * 2**i, delays


def test_local_503_and_429_are_retried_then_succeed() -> None:
    answers = iter([_503, lambda r: httpx2.Response(429, json={"error": {"message": "slow down"}})])

    def respond(request: httpx2.Request) -> httpx2.Response:
        step = next(answers, None)
        return step(request) if step else httpx2.Response(200, json=completion({"content": "ok"}))

    model, rec, delays = retrying_model(respond, "http://127.0.0.1:8080/v1")
    assert model.complete(MSGS).text == "ok"
    assert len(rec.bodies) == 3 and len(delays) == 2


def test_retry_after_is_honoured_and_4xx_is_not_retried() -> None:
    def limited(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(429, headers={"retry-after": "3"}, json={"error": {"message": "rate limited"}})

    model, rec, delays = retrying_model(limited, None, retries=1)
    with pytest.raises(ModelUnavailable, match="HTTP 429"):
        model.complete(MSGS)
    assert len(rec.bodies) == 2 and delays == [3.0]
    model, rec, delays = retrying_model(lambda r: httpx2.Response(400, json={"error": {"message": "bad"}}), None)
    with pytest.raises(ModelUnavailable, match="HTTP 400"):
        model.complete(MSGS)
    assert len(rec.bodies) == 1 and delays == []


def test_stream_503_before_the_first_chunk_is_retried() -> None:
    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello "}), chunk({"content": "there"})]
    answers = iter([_503])

    def respond(request: httpx2.Request) -> httpx2.Response:
        step = next(answers, None)
        if step:
            return step(request)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))

    model, rec, delays = retrying_model(respond, "http://127.0.0.1:8080/v1")
    assert "".join(model.stream(MSGS)) == "Hello there"
    assert len(rec.bodies) == 2 and len(delays) == 1
