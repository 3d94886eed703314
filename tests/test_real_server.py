"""The model path end to end against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M) on 127.0.0.1.

Everything goes through the real HTTP path (langchain-openai -> openai SDK -> HTTP -> llama.cpp), with
`--provider openai`, OPENAI_BASE_URL pointing at the server and no API key. The tiny model's words are
nonsense: these tests assert the wire, the shapes, the fallbacks and the accounting, never quality.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, Field

import agent.grading.model_grader
import agent.grading.offline
from agent.cli import run
from agent.interview.model_voice import RETRY_KINDS
from agent.llm.base import Message, ModelBadOutput, ModelError, ModelTimeout, T
from agent.llm.factory import chat_model_from_settings
from agent.llm.openai_chat import OpenAIChatModel
from agent.settings import Settings
from knowledge.ids import DIMENSIONS

if TYPE_CHECKING:
    from tests.realserver import LlamaServer

pytest_plugins = ["tests.realserver"]  # the llama_server / fresh_llama_server fixtures
pytestmark = pytest.mark.slow

CASE = "video-recommendation"
SCRIPT = [
    "Before I design anything: what is the business goal, and how many daily users and videos are there?",
    "What latency budget do we have for the homepage, and what interaction data do we log?",
    "I'd use two stages: a two-tower retrieval model over the active videos, then a ranking model on watch time.",
]
SHORT_ANSWER = (
    "I would clarify the goal first: long-term watch time rather than clicks. Then two stages: a two-tower "
    "retrieval model and a ranking model trained on logged watches. Offline I would measure recall@k and NDCG, "
    "then A/B test watch time. Serving: precompute item embeddings in an ANN index. Monitor feature drift daily."
)
JUDGEMENT_TOKENS = 256
"""The grading call's completion budget in this test (the product's 2048 lets SmolLM2 loop for ~100 s)."""
REPLY_TOKENS = 96
"""The interviewer voice's reply cap in these tests (the product's 400 lets SmolLM2 ramble for minutes on a
loaded CPU; a retry doubles it). The wire is the same; only the cap differs."""


@pytest.fixture
def short_replies(monkeypatch: pytest.MonkeyPatch) -> int:
    """Cap the voice's replies at REPLY_TOKENS."""
    import agent.interview.model_voice

    monkeypatch.setattr(agent.interview.model_voice, "MAX_REPLY_TOKENS", REPLY_TOKENS)
    return REPLY_TOKENS


class Verdict(BaseModel):
    """A tiny schema for the structured call."""

    score: int = Field(ge=1, le=4)
    why: str


@pytest.fixture
def server_env(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> LlamaServer:
    """OPENAI_BASE_URL at the session server, no key, the server's model name."""
    point_at(llama_server, monkeypatch)
    return llama_server


@pytest.fixture(autouse=True)
def shared_embedder(embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reuses the session embedder instead of loading its own."""
    monkeypatch.setattr("agent.kb.embedder_factory", lambda settings: lambda: embedder)
    monkeypatch.setattr(agent.grading.offline, "default_embedder", lambda: embedder)


def point_at(server: LlamaServer, monkeypatch: pytest.MonkeyPatch, timeout_s: float = 120) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("INTERVIEWER_MODEL", server.alias)
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", str(timeout_s))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def real_model() -> OpenAIChatModel:
    model = chat_model_from_settings(Settings.from_env(provider="openai"))
    assert isinstance(model, OpenAIChatModel)
    return model


def write_script(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in lines), encoding="utf-8")
    return path


def voiced(turns: list[Any]) -> list[Any]:
    """The interviewer turns the model phrases (the opening and the debrief are always offline text)."""
    return [t for t in turns if t.role == "interviewer" and t.move not in ("open", "debrief", "closed")]


def assert_voice_recorded(turn: Any, candidate: str | None = None) -> None:
    """A model-phrased turn records which voice spoke, the model, tokens, attempts, the judgement and why it fell back.

    `candidate` is the message the turn answers: an accepted judgement quote must be found in it.
    """
    meta = turn.meta
    assert meta.get("voice") in ("model", "offline"), meta
    assert meta.get("model") == "smollm2-135m-instruct"
    assert meta.get("prompt_tokens", 0) > 0, "the prompt is counted with tiktoken for every request"
    if meta["voice"] == "offline":
        assert meta.get("fallback"), meta
    assert meta["attempts"] in (0, 1, 2) and meta["model_calls"] >= meta["attempts"]
    if meta["attempts"] == 2:
        assert meta["first_failure"] in RETRY_KINDS, meta
    if meta["attempts"] == 0:  # the judgement call failed on the endpoint: no phrasing request
        assert meta["judgement"]["status"] == "failed" and meta["fallback"] == meta["judgement"]["failure"]
    judgement = meta.get("judgement")
    if judgement is not None:
        assert judgement["status"] in ("used", "ignored", "failed") and judgement["attempts"] in (1, 2)
        if judgement["status"] == "used":
            accepted = judgement["points"]["accepted"] + judgement["modes"]["accepted"]
            for item in accepted:
                assert candidate is not None and item["quote"].lower() in " ".join(candidate.split()).lower()
    assert turn.text.strip()


# -- (a) complete and stream -------------------------------------------------------------------------


def test_complete_and_stream_over_http(server_env: LlamaServer) -> None:
    model = real_model()
    msgs = [Message.system("You are a helpful assistant."), Message.user("Name three colours.")]
    reply = model.complete(msgs, max_tokens=32)
    assert reply.text.strip()
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 32, "max_tokens reached the server"
    chunks = list(model.stream(msgs, max_tokens=32))
    assert len(chunks) >= 3, chunks
    assert all(isinstance(c, str) and c for c in chunks)


# -- (b) structured ----------------------------------------------------------------------------------


def test_structured_is_a_valid_object_or_bad_output(server_env: LlamaServer) -> None:
    model = real_model()
    msgs = [Message.system("You grade answers from 1 to 4."), Message.user("Grade the answer 'use a CNN'.")]
    try:
        verdict = model.structured(msgs, Verdict, max_tokens=96)
    except ModelBadOutput as e:  # tiny-model nonsense that the grammar could not save
        assert "Verdict" in str(e)
    else:
        assert isinstance(verdict, Verdict) and 1 <= verdict.score <= 4


def test_structured_cut_short_is_bad_output(server_env: LlamaServer) -> None:
    """A forced tool call truncated by max_tokens is unusable output, not a crash."""
    model = real_model()
    msgs = [Message.system("You grade answers from 1 to 4."), Message.user("Grade the answer 'use a CNN'.")]
    with pytest.raises(ModelBadOutput):
        model.structured(msgs, Verdict, max_tokens=3)


# -- (d) a scripted mock interview through the CLI ---------------------------------------------------


def test_scripted_interview_records_every_turn_and_voice(
    server_env: LlamaServer,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    short_replies: int,
) -> None:
    from agent.sessions import SessionStore

    script = write_script(tmp_path / "script.jsonl", SCRIPT)
    argv = ["interview", "--case", CASE, "--script", str(script), "--format", "json", "--provider", "openai"]
    assert run(argv) == 0
    out = json.loads(capsys.readouterr().out)
    candidate = [t["text"] for t in out["turns"] if t["role"] == "candidate"]
    assert candidate == SCRIPT, "every candidate turn is kept, in order"
    assert out["turns"][0]["move"] == "open"
    assert out["scorecard"] and set(out["scorecard"]["dimensions"]) == set(DIMENSIONS)
    record = SessionStore(settings.sessions_db).load(out["session_id"])
    assert record.status == "finished"
    assert [t.text for t in record.turns] == [t["text"] for t in out["turns"]], "the store has every turn"
    spoken = voiced(record.turns)
    print(
        "interview voices:",
        [
            (t.meta.get("voice"), t.meta.get("fallback"), t.meta.get("first_failure"), t.meta.get("judgement"))
            for t in spoken
        ],
    )
    assert len(spoken) == len(SCRIPT)
    for turn, said in zip(spoken, SCRIPT, strict=True):
        assert_voice_recorded(turn, said)
    assert any("judgement" in t.meta for t in spoken), "the long design message was judged"


# -- (e) a drill -------------------------------------------------------------------------------------


def test_drill_with_provider_openai(
    server_env: LlamaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = ["I would track recall@k offline and watch time in an A/B test.", "Precision at the top matters."]
    script = write_script(tmp_path / "drill.jsonl", answers)
    argv = ["drill", "--case", CASE, "--dimension", "evaluation", "--script", str(script), "--format", "json"]
    assert run([*argv, "--provider", "openai"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [i["answer"] for i in report["items"]] == answers
    assert all(1 <= i["score"] <= 4 and i["feedback"] for i in report["items"])


# -- (c) grade ---------------------------------------------------------------------------------------


def test_grade_through_the_server(
    server_env: LlamaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent.grading.model_grader, "MAX_JUDGEMENT_TOKENS", JUDGEMENT_TOKENS)
    answer = tmp_path / "answer.md"
    answer.write_text(SHORT_ANSWER, encoding="utf-8")
    argv = ["grade", str(answer), "--case", CASE, "--provider", "openai", "--format", "json"]
    assert run(argv) == 0
    card = json.loads(capsys.readouterr().out)
    print("grade:", card["grader"], card["notes"])
    assert card["case_id"] == CASE and set(card["dimensions"]) == set(DIMENSIONS)
    assert 1 <= card["overall"] <= 4
    if card["grader"] == "model":
        assert not any("model unavailable" in n for n in card["notes"])
    else:
        assert card["grader"] == "offline"
        assert any(n.startswith("model unavailable (") for n in card["notes"]), card["notes"]


# -- (f) the server stops mid-interview ---------------------------------------------------------------


class KillsMidStream:
    """Delegates to the real adapter; on `arm()`, kills the server as soon as the next stream's first chunk arrives.

    The judgement call is answered here with an empty judgement (the model adds nothing), so each turn's
    only request is the stream (the one that dies, once armed); the judgement over HTTP is exercised above.
    """

    def __init__(self, inner: OpenAIChatModel, server: LlamaServer) -> None:
        self.inner = inner
        self.name = inner.name
        self.server = server
        self.armed = False
        self.killed_after_chunks: int | None = None

    def arm(self) -> None:
        self.armed = True

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Any:
        return self.inner.complete(messages, max_tokens=max_tokens)

    def structured(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        return schema()

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        for seen, chunk in enumerate(self.inner.stream(messages, max_tokens=max_tokens), start=1):
            if self.armed and self.server.running:
                self.server.stop(kill=True)
                self.killed_after_chunks = seen
            yield chunk


def test_server_stopped_mid_interview_falls_back_and_loses_nothing(
    fresh_llama_server: LlamaServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    embedder: Any,
    short_replies: int,
) -> None:
    from agent.interview.service import InterviewService
    from agent.sessions import SessionStore

    point_at(fresh_llama_server, monkeypatch, timeout_s=30)
    model = KillsMidStream(real_model(), fresh_llama_server)
    service = InterviewService(settings, embedder=embedder, step_options={"model": model})
    messages = [*SCRIPT, "For monitoring I'd watch feature drift and the daily watch time per user."]
    sid, _ = service.begin(CASE, "senior", clock="turns", turn_budget=len(messages) + 1)

    first = service.reply(sid, messages[0])  # the server is up: the model speaks (or a guard falls back)
    assert first.meta["voice"] in ("model", "offline") and "unavailable" not in str(first.meta.get("fallback"))

    model.arm()  # the server dies while the second turn is streaming
    second = service.reply(sid, messages[1])
    assert not fresh_llama_server.running and model.killed_after_chunks == 1
    assert second.meta["voice"] == "offline"
    assert second.meta["fallback"] in ("unavailable", "timeout", "error"), second.meta

    print("mid-stream kill:", second.meta.get("fallback"), second.meta.get("fallback_detail"))
    started = time.perf_counter()
    rest = [service.reply(sid, m) for m in messages[2:]]  # the server is gone: connection refused
    assert time.perf_counter() - started < 30, "a refused connection falls back quickly"
    print("after the stop:", [(t.meta.get("fallback"), t.meta.get("fallback_detail")) for t in rest])
    for turn in rest:
        assert turn.meta["voice"] == "offline" and turn.meta["fallback"] == "unavailable", turn.meta
        assert turn.text.strip()

    card = service.end(sid)
    assert set(card.dimensions) == set(DIMENSIONS)
    record = SessionStore(settings.sessions_db).load(sid)
    assert [t.text for t in record.turns if t.role == "candidate"] == messages, "nothing was lost"
    spoken = voiced(record.turns)
    assert len(spoken) == len(messages)
    for turn, said in zip(spoken, messages, strict=True):
        assert_voice_recorded(turn, said)
    assert record.status == "finished"


def test_model_errors_are_model_errors(server_env: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL without /v1 (a common mistake) is an HTTP 404: a ModelError the callers survive, not a crash."""
    monkeypatch.setenv("OPENAI_BASE_URL", server_env.base_url.removesuffix("/v1"))
    with pytest.raises(ModelError, match="404"):
        real_model().complete([Message.user("hi")], max_tokens=4)


def test_doctor_against_the_server(
    server_env: LlamaServer, capsys: pytest.CaptureFixture[str], built_index: Any
) -> None:
    assert run(["doctor", "--provider", "openai"]) == 0
    out = capsys.readouterr().out
    assert f"OPENAI_BASE_URL={server_env.base_url}" in out and "answered in" in out


# -- (g) the judgement call and retries against the real server ---------------------------------------


def test_judgement_over_the_real_server(server_env: LlamaServer, embedder: Any) -> None:
    """One MessageJudgement tool call (grammar-constrained by llama.cpp): used, or retried and ignored."""
    from agent.interview import start
    from agent.interview.analyse import analyse
    from agent.interview.judgement import review_message
    from knowledge.corpus import load_corpus

    state, _ = start(CASE, clock="turns", turn_budget=40, session_id="real-judge", now=0.0)
    case = load_corpus().case(CASE)
    a = analyse(state, SCRIPT[2], case, embedder, 1.0)
    started = time.perf_counter()
    merged, review = review_message(state, a, case, real_model())
    print("judgement:", round(time.perf_counter() - started, 2), "s", review)
    assert review is not None
    record = review["judgement"]
    assert record["status"] in ("used", "ignored") and review["usage"]["calls"] == record["attempts"]
    if record["status"] == "used":
        for item in record["points"]["accepted"] + record["modes"]["accepted"]:
            assert item["quote"].lower() in SCRIPT[2].lower()
        added = {p for pts in merged.new_points.values() for p in pts} - {
            p for pts in a.new_points.values() for p in pts
        }
        assert added == {p["id"] for p in record["points"]["accepted"]}
    else:
        assert merged is a and record["first_failure"] in ("bad_output", "refusal")


def test_local_timeout_is_not_retried(server_env: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A timed-out request to the local server fails once, at once: no retry queues behind the busy server."""
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", "0.05")
    monkeypatch.setenv("INTERVIEWER_MAX_RETRIES", "3")
    model = real_model()
    assert model.local and model.max_retries == 3
    msgs = [Message.system("You are a helpful assistant."), Message.user("Write a long story about the sea.")]
    started = time.perf_counter()
    with pytest.raises(ModelTimeout):
        model.complete(msgs, max_tokens=16)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s: three retries with backoff would take over 1.75 s"
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", "120")
    assert real_model().complete(msgs, max_tokens=4).text is not None, "the server is still usable afterwards"
