"""The knowledge explorer that `make run` starts: commands, searches and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.settings import Settings
from agent.shell import explore


def _drive(lines: list[str], settings: Settings, retriever: Any) -> list[str]:
    feed: Iterator[str] = iter(lines)
    out: list[str] = []

    def read(_prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration as e:
            raise EOFError from e

    assert explore(settings, read=read, write=out.append, retriever=retriever) == 0
    return out


def test_explorer_lists_picks_searches_and_rejects(settings: Settings, retriever: Any) -> None:
    out = _drive(
        ["cases", "case nope", "case fraud-detection", "how fast must we score a payment", "quit"], settings, retriever
    )
    text = "\n".join(out)
    assert "fraud-detection" in text and "unknown case id 'nope'" in text
    results = [line for line in out if line.startswith("1. ")]
    assert results and "knowledge/" in results[-1]


def test_explorer_ends_on_end_of_input(settings: Settings, retriever: Any) -> None:
    out = _drive(["", "help"], settings, retriever)
    assert any("commands:" in line for line in out)
