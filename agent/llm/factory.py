"""Pick the chat model the settings ask for: None for the offline engine, the OpenAI adapter otherwise."""

from __future__ import annotations

from typing import Any

from agent.llm.base import ChatModel
from agent.settings import Settings


def chat_model_from_settings(settings: Settings, *, http_client: Any | None = None) -> ChatModel | None:
    """The configured model, or None for the offline provider; a missing key raises SettingsError."""
    if settings.provider == "offline":
        return None
    from agent.llm.openai_chat import OpenAIChatModel

    return OpenAIChatModel.from_settings(settings, http_client=http_client)


__all__ = ["chat_model_from_settings"]
