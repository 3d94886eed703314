"""A misbehaving OpenAI-compatible endpoint on 127.0.0.1 for load runs: per request, at seeded random, it
times out, refuses (429/500/503), answers garbage (non-JSON, empty, a refusal, wrong-schema JSON) or
answers properly (SSE when the request streams, a plain completion or a forced tool call otherwise).
The draw is a shuffled bag (DEFAULT_WEIGHTS copies of each behaviour), so every twelve requests in a row
meet every fault once: a short run still sees them all.

`python -m evals.fault_server [--port P] [--timeout-after S]` serves it until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("timeout", "http_429", "http_500", "http_503", "non_json", "empty", "refusal", "wrong_schema")
"""Every misbehaviour the server can pick; "ok" is the proper answer."""
DEFAULT_WEIGHTS: dict[str, int] = {"ok": 4, **{f: 1 for f in FAULTS}}
"""A third of the requests answered properly, the rest spread evenly over the faults."""

REFUSAL = "I'm sorry, but as an AI language model I can't help with that request."
FALLBACK_REPLY = "Thanks, that helps. How would you check that this part of the design works as intended?"
_DRAFT = re.compile(r"# Draft of this message[^\n]*\n+(.*?)\n+Write the interviewer's next message", re.S)


def sensible_reply(body: dict[str, Any]) -> str:
    """A short interviewer reply: the offline draft the prompt carries (it passes every guard), else a generic one."""
    text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []) if isinstance(m, dict))
    found = _DRAFT.search(text)
    return found.group(1).strip() if found and found.group(1).strip() else FALLBACK_REPLY


def _schema_value(schema: dict[str, Any], defs: dict[str, Any], name: str = "") -> Any:
    """A small valid instance of a JSON schema (the middle of an integer range, empty lists, short text)."""
    if "$ref" in schema:
        return _schema_value(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "allOf" in schema:
        return _schema_value(schema["allOf"][0], defs, name)
    if "anyOf" in schema:
        return _schema_value(schema["anyOf"][0], defs, name)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _schema_value(sub, defs, key) for key, sub in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 3))
        return (low + high) // 2
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return False
    return f"A short {name or 'note'} from the load-test model."


def tool_arguments(body: dict[str, Any]) -> tuple[str, str] | None:
    """The forced tool's name and valid JSON arguments for it, when the request offers a tool."""
    tools = body.get("tools") or []
    if not tools:
        return None
    fn = tools[0].get("function", {})
    params = fn.get("parameters", {})
    return str(fn.get("name", "tool")), json.dumps(_schema_value(params, params.get("$defs", {})))


def _completion(model: str, message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-load",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-load",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


class FaultServer:
    """The endpoint and its tally of what it answered; `start()` serves on a thread, `stop()` ends it."""

    def __init__(
        self,
        *,
        seed: int = 7,
        timeout_after_s: float = 3.0,
        weights: dict[str, int] | None = None,
        port: int = 0,
    ) -> None:
        """Bind 127.0.0.1:`port` (0: any free port); a "timeout" sleeps `timeout_after_s` before answering."""
        self.rng = random.Random(seed)
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        if not self.weights or min(self.weights.values()) < 0 or sum(self.weights.values()) < 1:
            raise ValueError("weights must be non-negative counts with at least one request's worth")
        self._bag: list[str] = []
        self.timeout_after_s = timeout_after_s
        self.tally: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server (…/v1)."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def pick(self, streaming: bool) -> str:
        """The behaviour of the next request (seeded), counted per kind and wire."""
        with self._lock:
            if not self._bag:
                self._bag = [k for k, n in self.weights.items() for _ in range(n)]
                self.rng.shuffle(self._bag)
            kind = self._bag.pop()
            self.tally[f"{kind}/{'stream' if streaming else 'plain'}"] += 1
        return kind

    def start(self) -> FaultServer:
        """Serve on a daemon thread; return self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fault-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (sleeping "timeout" requests are cut short) and close the socket."""
        self._stopping.set()
        if self._thread is not None:  # shutdown() waits for a serve_forever loop that must be running
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def sleep(self, seconds: float) -> None:
        """Wait, unless the server is stopping."""
        self._stopping.wait(seconds)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "load-model", "object": "model"}]})
            else:
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._json(400, {"error": {"message": "bad JSON", "type": "invalid_request_error"}})
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            streaming = bool(body.get("stream"))
            kind = server.pick(streaming)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: its timeout
                self._answer(kind, body, streaming)

        def _answer(self, kind: str, body: dict[str, Any], streaming: bool) -> None:
            model = str(body.get("model") or "load-model")
            if kind == "timeout":
                server.sleep(server.timeout_after_s)
                kind = "ok"
            if kind.startswith("http_"):
                code = int(kind[5:])
                self._json(code, {"error": {"message": f"load test: HTTP {code}", "type": "server_error"}})
            elif kind == "non_json":
                self._raw(200, "application/json", b"<html><body>502 upstream garbage {{{</body></html>")
            elif kind == "wrong_schema":
                self._json(200, {"result": "done", "items": [1, 2, 3]})
            elif streaming:
                text = {"empty": "", "refusal": REFUSAL}.get(kind, sensible_reply(body))
                self._stream(model, text)
            else:
                self._plain(kind, model, body)

        def _plain(self, kind: str, model: str, body: dict[str, Any]) -> None:
            tool = tool_arguments(body)
            if kind == "empty":
                self._json(200, _completion(model, {"content": ""}, "stop"))
            elif kind == "refusal":
                self._json(200, _completion(model, {"content": None, "refusal": REFUSAL}, "stop"))
            elif tool is not None:
                name, args = tool
                call = {"id": "call_load", "type": "function", "function": {"name": name, "arguments": args}}
                self._json(200, _completion(model, {"content": None, "tool_calls": [call]}, "tool_calls"))
            else:
                self._json(200, _completion(model, {"content": sensible_reply(body)}, "stop"))

        def _stream(self, model: str, text: str) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(_chunk(model, {"role": "assistant", "content": ""}))
            pieces = re.findall(r"\S+\s*", text)
            for i in range(0, len(pieces), 3):
                self.wfile.write(_chunk(model, {"content": "".join(pieces[i : i + 3])}))
                self.wfile.flush()
            self.wfile.write(_chunk(model, {}, "stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _json(self, code: int, data: dict[str, Any]) -> None:
            self._raw(code, "application/json", json.dumps(data).encode())

        def _raw(self, code: int, content_type: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve the fault endpoint in the foreground until Ctrl-C."""
    p = argparse.ArgumentParser(prog="python -m evals.fault_server", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timeout-after", type=float, default=3.0, help="seconds a 'timeout' request hangs")
    args = p.parse_args(argv)
    server = FaultServer(seed=args.seed, timeout_after_s=args.timeout_after, port=args.port).start()
    print(f"fault server on {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(json.dumps(dict(server.tally), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["DEFAULT_WEIGHTS", "FAULTS", "FaultServer", "main", "sensible_reply", "tool_arguments"]
