"""`interviewer doctor`: configuration with secrets redacted, one line per check, one fix line per failure."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from agent.doctor import safe_url, scrub

PLANTED = "sk-doctor-PLANTED-7f3a9c1e5b"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run(["doctor", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def fail_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip().startswith("FAIL")]


class _Echo(BaseHTTPRequestHandler):
    """A hostile endpoint: answers /chat/completions with `status`, quoting the Authorization header back."""

    status = 401

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        auth = self.headers.get("authorization", "")
        if self.status == 200:
            body: dict[str, Any] = {
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": auth}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
            }
        else:
            body = {"error": {"message": f"Incorrect API key provided: {auth}", "type": "invalid_request_error"}}
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback endpoint answering with the status given by indirect parametrisation; yields its /v1 URL."""
    handler = type("Handler", (_Echo,), {"status": getattr(request, "param", 401)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_offline_all_ok(built_index: Any, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out = doctor(capsys)
    assert code == 0, out
    assert not fail_lines(out)
    for name in ("data dir", "index", "sessions", "embedder"):
        assert any(line.strip().startswith("ok") and name in line for line in out.splitlines()), name
    assert "endpoint" not in out, "the offline provider has no endpoint to check"
    assert f"INTERVIEWER_DATA_DIR   {data_dir}" in out
    assert "OPENAI_API_KEY         not set" in out


def test_wrong_base_url_is_one_fail_line_naming_it(
    built_index: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    code, out = doctor(capsys, "--provider", "openai")
    assert code == 1
    [line] = fail_lines(out)
    assert f"OPENAI_BASE_URL={url}" in line and "endpoint" in line
    after = out.splitlines()[out.splitlines().index(line) + 1]
    assert "fix: start the server or fix the URL" in after


def test_missing_key_is_one_fail_line_naming_it(built_index: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(capsys, "--provider", "openai")
    assert code == 1
    [line] = fail_lines(out)
    assert "OPENAI_API_KEY" in line
    assert "set OPENAI_API_KEY" in out.splitlines()[out.splitlines().index(line) + 1]


def test_missing_index_says_to_build_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path
) -> None:
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "fresh"))
    # reuse the session's ONNX graph so the embedder check does not rebuild it
    (tmp_path / "fresh" / "cache").mkdir(parents=True)
    (tmp_path / "fresh" / "cache" / "onnx").symlink_to(data_dir / "cache" / "onnx")
    code, out = doctor(capsys)
    assert code == 1
    [line] = fail_lines(out)
    assert "index" in line and "interviewer index" in out


def test_index_missing_chunks_of_a_killed_build_is_stale(built_index: Any, tmp_path: Path) -> None:
    import shutil

    from agent.doctor import check_index
    from agent.settings import Settings
    from knowledge.index import KnowledgeIndex

    settings = Settings.from_env({"INTERVIEWER_DATA_DIR": str(tmp_path / "data")})
    shutil.copytree(built_index.index_dir, settings.index_dir)
    assert check_index(settings).detail.endswith("up to date")
    col = KnowledgeIndex(settings.index_dir, lambda: pytest.fail("no embedding")).collection()
    got = col.get(where={"source": "knowledge/framework/serving.md"})
    col.delete(ids=got["ids"][len(got["ids"]) // 2 :])  # what a build killed between two batches leaves
    check = check_index(settings)
    assert check.ok and "stale: 1 files changed or new, 0 removed" in check.detail, check.detail


def test_bad_setting_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", "-3")
    code, out = doctor(capsys)
    assert code == 1
    [line] = fail_lines(out)
    assert "INTERVIEWER_TIMEOUT" in line


@pytest.mark.parametrize("echo_server", [401, 200], indirect=True, ids=["rejected", "accepted"])
def test_a_planted_key_never_appears(
    built_index: Any, echo_server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("OPENAI_BASE_URL", echo_server)
    code, out = doctor(capsys, "--provider", "openai")
    assert "PLANTED" not in out and PLANTED[-8:] not in out
    assert "OPENAI_API_KEY         set" in out
    if code == 1:
        [line] = fail_lines(out)
        assert "HTTP 401" in line and "check OPENAI_API_KEY" in out
    else:
        assert not fail_lines(out)


def test_redaction_helpers() -> None:
    assert safe_url("https://user:pw@host:8080/v1?api-key=abc#x") == "https://***@host:8080/v1"
    assert safe_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert scrub(f"key {PLANTED}!", [PLANTED]) == "key [redacted]!"
