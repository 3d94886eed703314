"""The scripted fake model: replies in order, calls recorded, exceptions raised, a clear error when exhausted."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agent.llm.base import ChatModel, Message, ModelBadOutput, ModelTimeout
from agent.llm.fake import ScriptedModel, ScriptExhaustedError, ScriptMismatchError


class Verdict(BaseModel):
    score: int
    why: str


MSGS = [Message.system("be brief"), Message.user("hello")]


def test_is_a_chat_model_and_replies_in_order() -> None:
    model = ScriptedModel(["first", "second words here"])
    assert isinstance(model, ChatModel)
    reply = model.complete(MSGS, max_tokens=5)
    assert reply.text == "first" and reply.usage.completion_tokens == 1 and reply.usage.prompt_tokens == 3
    assert "".join(model.stream(MSGS)) == "second words here"
    assert [c.method for c in model.calls] == ["complete", "stream"]
    assert model.calls[0].messages == MSGS and model.calls[0].max_tokens == 5
    assert model.remaining == 0


def test_structured_from_object_dict_and_json() -> None:
    model = ScriptedModel([Verdict(score=3, why="a"), {"score": 2, "why": "b"}, '{"score": 1, "why": "c"}'])
    assert model.structured(MSGS, Verdict) == Verdict(score=3, why="a")
    assert model.structured(MSGS, Verdict).score == 2
    assert model.structured(MSGS, Verdict).why == "c"
    assert all(c.schema is Verdict for c in model.calls)


def test_invalid_structured_reply_is_bad_output() -> None:
    model = ScriptedModel([{"score": "high"}, "not json"])
    with pytest.raises(ModelBadOutput):
        model.structured(MSGS, Verdict)
    with pytest.raises(ModelBadOutput):
        model.structured(MSGS, Verdict)


def test_scripted_exception_is_raised_and_recorded() -> None:
    model = ScriptedModel([ModelTimeout("slow")])
    with pytest.raises(ModelTimeout, match="slow"):
        model.complete(MSGS)
    assert len(model.calls) == 1


def test_running_out_is_a_clear_error_not_a_model_error() -> None:
    model = ScriptedModel(["only"], name="grader-fake")
    model.complete(MSGS)
    with pytest.raises(ScriptExhaustedError, match=r"grader-fake.*call #2 \(structured\)"):
        model.structured(MSGS, Verdict)


def test_text_reply_cannot_serve_an_object_mismatch() -> None:
    model = ScriptedModel([{"score": 1, "why": "x"}])
    with pytest.raises(ScriptMismatchError):
        model.complete(MSGS)


def test_add_chains() -> None:
    model = ScriptedModel().add("a").add("b", "c")
    assert [model.complete(MSGS).text for _ in range(3)] == ["a", "b", "c"]
