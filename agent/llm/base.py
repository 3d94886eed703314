"""The one model interface every caller uses: messages in, text, a stream or a pydantic object out.

SDK code lives only in the adapters (`openai_chat.py`); callers see `ChatModel` and the `ModelError`
family. A `ModelError` is model misbehaviour (timeout, refusal, unusable output, endpoint down) that the
caller records and survives; anything else is our own bug and propagates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]
T = TypeVar("T", bound=BaseModel)


class Message(BaseModel):
    """One chat message: a role and its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        """A system message."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user message."""
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        """An assistant message."""
        return cls(role="assistant", content=content)


class Usage(BaseModel):
    """Token counts of one model call (0 when the endpoint does not report them)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


class ModelReply(BaseModel):
    """The text of a completion and its token usage."""

    model_config = ConfigDict(frozen=True)

    text: str
    usage: Usage = Field(default_factory=Usage)


class ModelError(Exception):
    """The model misbehaved or could not be reached; callers record it and fall back."""

    kind = "error"


class ModelTimeout(ModelError):
    """The request timed out."""

    kind = "timeout"


class ModelRefusal(ModelError):
    """The model refused to answer (a refusal message or a content filter)."""

    kind = "refusal"


class ModelBadOutput(ModelError):
    """The reply could not be parsed or did not validate against the requested schema."""

    kind = "bad output"


class ModelUnavailable(ModelError):
    """The endpoint could not be reached or answered with an HTTP error."""

    kind = "unavailable"


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: a name, a completion, a token stream and a structured (pydantic) reply."""

    name: str

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> ModelReply:
        """Return the reply text and token usage for the messages."""
        ...

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the reply text in pieces as it is generated."""
        ...

    def structured(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        """Return the reply as an instance of schema (a pydantic model), or raise ModelBadOutput."""
        ...


__all__ = [
    "ChatModel",
    "Message",
    "ModelBadOutput",
    "ModelError",
    "ModelRefusal",
    "ModelReply",
    "ModelTimeout",
    "ModelUnavailable",
    "Role",
    "Usage",
]
