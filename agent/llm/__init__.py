"""The model seam: one small chat-model interface, a scripted fake, and the OpenAI-compatible adapter."""

from agent.llm.base import (
    ChatModel,
    Message,
    ModelBadOutput,
    ModelError,
    ModelRefusal,
    ModelReply,
    ModelTimeout,
    ModelUnavailable,
    Usage,
)

__all__ = [
    "ChatModel",
    "Message",
    "ModelBadOutput",
    "ModelError",
    "ModelRefusal",
    "ModelReply",
    "ModelTimeout",
    "ModelUnavailable",
    "Usage",
]
