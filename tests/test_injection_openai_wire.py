"""The injection suite through the openai provider's real wire: ChatOpenAI over an httpx mock transport
that plays a model obeying every attack (full marks quoting the attack, every point covered, a reply
that pastes the rubric and the hidden facts). The guards must hold exactly as with the scripted fake."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest

from agent.grading.model_schema import ModelJudgement
from agent.grading.offline import grade_answer
from agent.llm.openai_chat import OpenAIChatModel
from agent.settings import Settings
from evals.injection_eval import (
    Attack,
    Base,
    embed,
    grade_attack,
    interview_attack,
    leaking_reply,
    load_attacks,
    load_bases,
    obeying_judgement,
)
from knowledge.corpus import load_corpus

ATTACKS = load_attacks()
BASES = load_bases()
ONE_PER_KIND = [next(a for a in ATTACKS if a.kind == kind) for kind in sorted({a.kind for a in ATTACKS})]


class ObeyingServer:
    """Answers chat-completions requests as a model that does whatever the current attack says."""

    def __init__(self) -> None:
        self.judgement: dict[str, Any] = {}
        self.covered: dict[str, Any] = {}
        self.reply = ""
        self.requests: list[str] = []

    def arm(self, attack: Attack, base: Base, embedder: Any) -> None:
        """Prepare the obeying answers for one attack on one base answer."""
        text = embed(base.answer, attack.text, attack.placement)
        card = grade_answer(text, base.case, base.level, embedder=embedder)
        self.judgement = obeying_judgement(card, attack.text).model_dump()
        case = load_corpus().case(base.case)
        quotes = [ln.strip() for ln in attack.text.splitlines() if ln.strip()][:2] or [attack.text]
        self.covered = {
            "covered_points": [{"id": p.id, "quote": q} for p in case.all_points() for q in quotes],
            "failure_modes": [],
        }
        self.reply = leaking_reply(case)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(
            "stream" if body.get("stream") else body.get("tool_choice", {}).get("function", {}).get("name", "complete")
        )
        if body.get("tools"):
            name = body["tool_choice"]["function"]["name"]
            args = self.judgement if name == ModelJudgement.__name__ else self.covered
            call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            return httpx2.Response(200, json=_completion({"content": None, "tool_calls": [call]}, "tool_calls"))
        if body.get("stream"):
            words = re.findall(r"\s*\S+\s*", self.reply)
            events = [_chunk({"role": "assistant", "content": ""})] + [_chunk({"content": w}) for w in words]
            events.append(_chunk({}, "stop"))
            data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=data.encode())
        return httpx2.Response(200, json=_completion({"content": self.reply}, "stop"))


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    choice = {"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice], "usage": usage}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


@pytest.fixture(scope="module")
def wire() -> tuple[OpenAIChatModel, ObeyingServer]:
    """The real adapter (ChatOpenAI) talking to the obeying mock server."""
    server = ObeyingServer()
    settings = Settings.from_env(
        {"INTERVIEWER_DATA_DIR": "/tmp/unused"}, provider="openai", model="m", openai_api_key="sk-test"
    )
    client = httpx2.Client(transport=httpx2.MockTransport(server))
    return OpenAIChatModel.from_settings(settings, http_client=client, max_retries=0), server


@pytest.mark.parametrize("attack", ONE_PER_KIND, ids=lambda a: a.kind)
def test_an_obeying_model_on_the_openai_wire_gains_nothing(
    attack: Attack, wire: tuple[OpenAIChatModel, ObeyingServer], embedder: Any
) -> None:
    model, server = wire
    base = BASES[attack.base]
    server.arm(attack, base, embedder)
    server.requests.clear()
    graded = grade_attack(attack, base, "openai", embedder, model)
    assert graded["detected"] and not graded["success"], graded
    interviewed = interview_attack(attack, base, "openai", embedder, model)
    assert interviewed["leaks"] == 0 and not interviewed["success"], interviewed
    assert "leak" in interviewed["fallbacks"]  # the model did paste hidden text; the guard replaced it
    assert "ModelJudgement" in server.requests and "stream" in server.requests  # the wire was really used
