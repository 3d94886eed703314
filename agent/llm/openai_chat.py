"""The OpenAI-compatible adapter (OpenAI, Ollama, vLLM, LM Studio, llama.cpp) over langchain-openai's ChatOpenAI.

The only module that touches the SDK. Choices made for llama.cpp compatibility:

- `max_tokens` travels in `extra_body`: llama.cpp ignores langchain's `max_completion_tokens`.
- Structured output is a forced function call (`method="function_calling"`): `json_schema` response
  formats give HTTP 500 there, while tool calls are grammar-constrained.
- With `OPENAI_BASE_URL` set and no `OPENAI_API_KEY` (a local server), the placeholder key
  "not-needed" is sent; with neither, construction fails with the settings' one-sentence error.
- Retries are ours, not the SDK's (its `max_retries` is 0): up to `max_retries` more attempts with
  exponential backoff (or the server's Retry-After) on 408/409/429/5xx and connection errors. A timeout
  is retried only for a remote endpoint: a local single-threaded server (llama.cpp, Ollama on
  127.0.0.1, localhost, ::1) is still busy with the timed-out request, so a retry would only queue behind it.

Construction makes no network call; SDK and HTTP errors are mapped to the `ModelError` family.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import SecretStr

from agent.llm.base import (
    Message,
    ModelBadOutput,
    ModelError,
    ModelRefusal,
    ModelReply,
    ModelTimeout,
    ModelUnavailable,
    T,
    Usage,
)
from agent.llm.redact import redact, remember
from agent.settings import Settings

LOCAL_PLACEHOLDER_KEY = "not-needed"
"""Sent as the API key when only OPENAI_BASE_URL is set (local servers ignore it)."""
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY_S = 0.5
"""First backoff delay; it doubles with each retry (minus up to 25% jitter), up to MAX_RETRY_DELAY_S."""
MAX_RETRY_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 60.0
"""A server's Retry-After above this is not honoured: the call fails instead of waiting."""
RETRY_STATUS = frozenset({408, 409, 429})
"""HTTP statuses retried besides every 5xx."""

try:  # openai>=3 is backed by httpx2 (an API-identical fork); its exceptions are distinct classes.
    import httpx2

    _TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException, httpx2.TimeoutException)
    _TRANSPORT: tuple[type[BaseException], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:  # pragma: no cover - openai<3
    _TIMEOUTS = (httpx.TimeoutException,)
    _TRANSPORT = (httpx.TransportError,)


def _to_langchain(messages: list[Message]) -> list[BaseMessage]:
    kinds: dict[str, type[BaseMessage]] = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


def scrub(text: str, secret: str | None = None) -> str:
    """Text with the API key (and anything shaped like a key, e.g. an echoed `sk-...`) replaced (see `redact`)."""
    return redact(text, secret if secret != LOCAL_PLACEHOLDER_KEY else None)


def is_local_url(url: str | None) -> bool:
    """Whether a base URL points at this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0)."""
    if not url:
        return False
    host = (urlparse(url if "//" in url else f"//{url}").hostname or "").strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _map_error(e: BaseException, model: str, secret: str | None = None) -> ModelError:
    """Translate an SDK or transport exception into the ModelError family, the API key scrubbed from the text."""
    err = _map_error_raw(e, model)
    return type(err)(scrub(str(err), secret))


def _map_error_raw(e: BaseException, model: str) -> ModelError:
    if isinstance(e, (openai.APITimeoutError, *_TIMEOUTS)):
        return ModelTimeout(f"{model}: the request timed out")
    if isinstance(e, openai.APIStatusError):
        return ModelUnavailable(f"{model}: HTTP {e.status_code} from the endpoint: {str(e.message)[:200]}")
    if isinstance(e, (openai.APIConnectionError, *_TRANSPORT)):
        return ModelUnavailable(f"{model}: cannot reach the endpoint ({type(e).__name__})")
    if isinstance(e, openai.ContentFilterFinishReasonError):
        return ModelRefusal(f"{model}: the reply was stopped by a content filter")
    if isinstance(e, openai.LengthFinishReasonError):
        return ModelBadOutput(f"{model}: the reply hit the token limit before it was complete")
    if isinstance(e, (ValueError, TypeError)):  # langchain: a non-JSON body, a reply without `choices`, garbage
        return ModelBadOutput(f"{model}: the endpoint's reply is not a chat completion: {str(e)[:200]}")
    return ModelUnavailable(f"{model}: {type(e).__name__}: {str(e)[:200]}")


_MAPPED: tuple[type[BaseException], ...] = (openai.OpenAIError, ValueError, TypeError, *_TIMEOUTS, *_TRANSPORT)


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
    return "".join(parts)


def _refusal(message: BaseMessage) -> str | None:
    """The refusal text of a reply, if the endpoint marked it as one (refusal field or content filter)."""
    refusal = message.additional_kwargs.get("refusal")
    if refusal:
        return str(refusal)
    if message.response_metadata.get("finish_reason") == "content_filter":
        return "stopped by a content filter"
    return None


def _usage(message: BaseMessage) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(prompt_tokens=int(meta.get("input_tokens", 0)), completion_tokens=int(meta.get("output_tokens", 0)))


class OpenAIChatModel:
    """A ChatModel backed by an OpenAI-compatible endpoint through langchain-openai's ChatOpenAI."""

    def __init__(
        self,
        *,
        model: str,
        api_key: SecretStr,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        http_client: Any | None = None,
        http_async_client: Any | None = None,
    ) -> None:
        """Build the client; no network call happens here.

        `max_tokens` is the reply cap of calls that pass none themselves (None: the server's default).
        """
        from langchain_openai import ChatOpenAI

        self.name = model
        self.default_max_tokens = max_tokens
        self.max_retries = max(0, max_retries)
        self.local = is_local_url(base_url)
        self._secret = api_key.get_secret_value()
        remember(self._secret if self._secret != LOCAL_PLACEHOLDER_KEY else None)
        self._sleep: Callable[[float], None] = time.sleep
        self._llm = ChatOpenAI(
            model=model,
            api_key=api_key,
            base_url=base_url,
            temperature=temperature,
            timeout=timeout_s,
            max_retries=0,  # ours: see `_retry_delay`
            http_client=http_client,
            http_async_client=http_async_client,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http_client: Any | None = None,
        http_async_client: Any | None = None,
        max_retries: int | None = None,
    ) -> OpenAIChatModel:
        """Build from Settings (temperature, max_tokens, max_retries, timeout); a missing key raises
        SettingsError naming OPENAI_API_KEY (placeholder if local). `max_retries` overrides the setting."""
        if settings.openai_api_key is None and settings.openai_base_url:
            key = SecretStr(LOCAL_PLACEHOLDER_KEY)
        else:
            key = settings.require_api_key()
        return cls(
            model=settings.model,
            api_key=key,
            base_url=settings.openai_base_url,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries if max_retries is None else max_retries,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            http_client=http_client,
            http_async_client=http_async_client,
        )

    def _extra(self, max_tokens: int | None) -> dict[str, Any]:
        cap = self.default_max_tokens if max_tokens is None else max_tokens
        return {"extra_body": {"max_tokens": cap}} if cap is not None else {}

    def _retry_delay(self, e: BaseException, retry: int) -> float | None:
        """Seconds to wait before retry number `retry` (0-based) after `e`, or None when `e` is not retried."""
        if retry >= self.max_retries:
            return None
        if isinstance(e, (openai.APITimeoutError, *_TIMEOUTS)):
            if self.local:  # the local server is still working on the timed-out request
                return None
        elif isinstance(e, openai.APIStatusError):
            headers = e.response.headers
            if headers.get("x-should-retry") == "false":
                return None
            if e.status_code not in RETRY_STATUS and e.status_code < 500:
                return None
            after = _retry_after(headers)
            if after is not None:
                return after if after <= MAX_RETRY_AFTER_S else None
        elif not isinstance(e, (openai.APIConnectionError, *_TRANSPORT)):
            return None
        delay = min(INITIAL_RETRY_DELAY_S * 2.0**retry, MAX_RETRY_DELAY_S)
        return delay * (1 - 0.25 * random.random())

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one request with our retries; SDK and transport errors come out as ModelError."""
        retry = 0
        while True:
            try:
                return fn()
            except _MAPPED as e:
                delay = self._retry_delay(e, retry)
                if delay is None:
                    raise _map_error(e, self.name, self._secret) from e
            self._sleep(delay)
            retry += 1

    def _fail(self, kind: type[ModelError], message: str) -> ModelError:
        """A ModelError whose text (it may quote the model) is scrubbed of key-shaped strings."""
        return kind(scrub(message, self._secret))

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> ModelReply:
        """Return the reply text and token usage; a refusal raises ModelRefusal."""
        reply = self._call(lambda: self._llm.invoke(_to_langchain(messages), **self._extra(max_tokens)))
        refusal = _refusal(reply)
        if refusal is not None:
            raise self._fail(ModelRefusal, f"{self.name} refused: {refusal[:200]}")
        return ModelReply(text=_text_of(reply), usage=_usage(reply))

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield text pieces as the endpoint streams them (server-sent events); retried only before the first piece."""
        retry = 0
        while True:
            started = False
            try:
                for chunk in self._llm.stream(_to_langchain(messages), **self._extra(max_tokens)):
                    text = _text_of(chunk)
                    if text:
                        started = True
                        yield text
                return
            except _MAPPED as e:
                delay = None if started else self._retry_delay(e, retry)
                if delay is None:
                    raise _map_error(e, self.name, self._secret) from e
            self._sleep(delay)
            retry += 1

    def structured(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        """Return the reply as a schema instance via a forced tool call; unusable output raises ModelBadOutput."""
        runnable = self._llm.with_structured_output(
            schema, method="function_calling", include_raw=True, **self._extra(max_tokens)
        )
        out = self._call(lambda: runnable.invoke(_to_langchain(messages)))
        if not isinstance(out, dict):
            raise ModelBadOutput(f"{self.name}: unexpected structured reply of type {type(out).__name__}")
        raw, parsed, error = out.get("raw"), out.get("parsed"), out.get("parsing_error")
        if isinstance(raw, BaseMessage):
            refusal = _refusal(raw)
            if refusal is not None:
                raise self._fail(ModelRefusal, f"{self.name} refused: {refusal[:200]}")
        if error is not None:
            msg = f"{self.name}: the {schema.__name__} tool call did not parse: {str(error)[:300]}"
            raise self._fail(ModelBadOutput, msg) from (error if isinstance(error, BaseException) else None)
        if not isinstance(parsed, schema):
            said = _text_of(raw)[:120] if isinstance(raw, BaseMessage) else ""
            msg = f"{self.name}: no {schema.__name__} tool call in the reply (said: {said!r})"
            raise self._fail(ModelBadOutput, msg)
        return parsed


def _retry_after(headers: Any) -> float | None:
    """The server's requested delay in seconds (retry-after-ms or retry-after), if it gave a number."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


__all__ = ["DEFAULT_MAX_RETRIES", "LOCAL_PLACEHOLDER_KEY", "OpenAIChatModel", "is_local_url", "scrub"]
