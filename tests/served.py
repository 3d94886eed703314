"""Serving the real Gradio app on a free loopback port for the app tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent.interview.service import InterviewService
from agent.sessions.store import SessionStore
from agent.settings import Settings
from evals.procs import free_port
from ui.app import build_app, launch

__all__ = ["free_port", "serve"]


@contextmanager
def serve(
    settings: Settings,
    *,
    service: InterviewService | None = None,
    embedder: Any = None,
    store: SessionStore | None = None,
    auth: list[tuple[str, str]] | None = None,
) -> Iterator[str]:
    """Launch the app (with `service`, or one over `store` and `embedder`) on 127.0.0.1; yield its URL."""
    if service is None:
        service = InterviewService(settings, store=store, embedder=embedder)
    app = build_app(settings, service=service)
    port = free_port()
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True, **({"auth": auth} if auth else {}))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
