"""A scripted chat model: a queue of replies that records every call. Tests and evals drive the model path with it."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from agent.llm.base import Message, ModelBadOutput, ModelReply, T, Usage

Reply = str | BaseModel | dict[str, Any] | BaseException
"""A scripted reply: text, a structured object (pydantic or dict), or an exception instance to raise."""

Method = Literal["complete", "stream", "structured"]


class ScriptExhaustedError(RuntimeError):
    """The script has no reply left for a call: the test or eval scripted too few replies."""


class ScriptMismatchError(TypeError):
    """A scripted reply cannot serve the call (structured object for complete(), and so on)."""


@dataclass(frozen=True)
class ScriptedCall:
    """One recorded call: the method, a copy of the messages, the schema (structured only) and max_tokens."""

    method: Method
    messages: list[Message]
    schema: type[BaseModel] | None = None
    max_tokens: int | None = None


def _words(text: str) -> int:
    return len(text.split())


class ScriptedModel:
    """A ChatModel whose replies come from a queue, in order; every call is recorded in `calls`."""

    def __init__(self, replies: Iterable[Reply] = (), *, name: str = "scripted") -> None:
        """Queue the replies; `name` is what the model reports."""
        self.name = name
        self._queue: deque[Reply] = deque(replies)
        self.calls: list[ScriptedCall] = []

    def add(self, *replies: Reply) -> ScriptedModel:
        """Append replies to the script; returns self so calls chain."""
        self._queue.extend(replies)
        return self

    @property
    def remaining(self) -> int:
        """How many scripted replies are left."""
        return len(self._queue)

    def _next(self, call: ScriptedCall) -> str | BaseModel | dict[str, Any]:
        self.calls.append(call)
        if not self._queue:
            raise ScriptExhaustedError(
                f"ScriptedModel {self.name!r}: no scripted reply left for call #{len(self.calls)} ({call.method})"
            )
        reply = self._queue.popleft()
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _text(self, method: Method, reply: str | BaseModel | dict[str, Any]) -> str:
        if isinstance(reply, str):
            return reply
        raise ScriptMismatchError(
            f"ScriptedModel {self.name!r}: call #{len(self.calls)} is {method}() but the scripted reply is "
            f"a {type(reply).__name__}, not text"
        )

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> ModelReply:
        """Return the next scripted text (usage counts words, an approximation of tokens)."""
        text = self._text("complete", self._next(ScriptedCall("complete", list(messages), None, max_tokens)))
        prompt = sum(_words(m.content) for m in messages)
        return ModelReply(text=text, usage=Usage(prompt_tokens=prompt, completion_tokens=_words(text)))

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the next scripted text word by word (whitespace kept), as a real stream would."""
        text = self._text("stream", self._next(ScriptedCall("stream", list(messages), None, max_tokens)))
        return iter([piece for piece in re.findall(r"\s*\S+\s*", text)] or [text])

    def structured(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        """Return the next scripted reply as a schema instance; an invalid reply raises ModelBadOutput."""
        reply = self._next(ScriptedCall("structured", list(messages), schema, max_tokens))
        try:
            if isinstance(reply, schema):
                return reply
            if isinstance(reply, BaseModel):
                return schema.model_validate(reply.model_dump())
            if isinstance(reply, dict):
                return schema.model_validate(reply)
            return schema.model_validate(json.loads(reply))
        except (ValidationError, json.JSONDecodeError) as e:
            raise ModelBadOutput(f"scripted reply does not fit {schema.__name__}: {e}") from e


__all__ = ["Reply", "ScriptExhaustedError", "ScriptMismatchError", "ScriptedCall", "ScriptedModel"]
