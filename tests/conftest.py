"""Shared fixtures: no network, a per-session data folder, one embedder and one built index."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.settings import Settings

_real_connect = socket.socket.connect
_LOOPBACK_PREFIXES = ("127.", "::1", "localhost")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family == socket.AF_UNIX or str(host).startswith(_LOOPBACK_PREFIXES):
        return _real_connect(self, address)
    raise RuntimeError(f"test tried to reach the network: {address!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test loudly."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder shared by the whole session (the index is built once)."""
    return tmp_path_factory.mktemp("interviewer-data")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """Point every test at the session data folder and clear provider variables."""
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data_dir))
    for var in ("INTERVIEWER_PROVIDER", "INTERVIEWER_RETRIEVAL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    """Settings for the session data folder."""
    return Settings.from_env({"INTERVIEWER_DATA_DIR": str(data_dir)})


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Any:
    """The packaged MiniLM embedder, loaded once."""
    from knowledge.embedder import load_embedder

    return load_embedder(settings.cache_dir / "onnx")


@pytest.fixture(scope="session")
def built_index(settings: Settings, embedder: Any) -> Iterator[Any]:
    """The full knowledge index in the session data folder, built once."""
    from knowledge.index import KnowledgeIndex
    from knowledge.tokens import seed_tiktoken_cache

    seed_tiktoken_cache(settings.cache_dir / "tiktoken")
    index = KnowledgeIndex(settings.index_dir, lambda: embedder)
    index.sync()
    yield index


@pytest.fixture(scope="session")
def retriever(built_index: Any) -> Any:
    """A retriever over the full index."""
    from knowledge.retrieval import Retriever

    return Retriever(built_index)


@pytest.fixture
def drill_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any) -> Path:
    """A fresh data folder (empty session store) and the shared embedder for the drill command."""
    data = tmp_path / "data"
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data))
    monkeypatch.setattr("agent.drill.cli._load_embedder", lambda settings: embedder)
    return data
