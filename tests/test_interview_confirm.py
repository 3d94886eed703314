"""Restated fact-sheet numbers are confirmed, not read out again; wrong ones are corrected."""

from __future__ import annotations

from typing import Any

from agent.interview import start, step

CASE = "fraud-detection"


def _reply(message: str, embedder: Any) -> Any:
    state, _ = start(CASE, clock="turns", turn_budget=20, session_id="confirm", now=0.0)
    _, turn = step(state, message, now=1.0, embedder=embedder)
    return turn


def test_right_numbers_are_confirmed_briefly(embedder: Any) -> None:
    turn = _reply(
        "So I'm designing for about 460 payments per second on average and about 3,000 per second on Black Friday; "
        "is that the right traffic?",
        embedder,
    )
    facts = turn.meta.get("facts", [])
    assert any(f["key"] == "qps" and f["confirmed"] for f in facts), facts
    assert "40 million" not in turn.text and "1,200" not in turn.text
    assert any(word in turn.text.lower() for word in ("right", "match", "consistent"))


def test_wrong_numbers_get_the_real_value(embedder: Any) -> None:
    turn = _reply("So I'm designing for about 100 payments per second at peak; is that the right traffic?", embedder)
    facts = turn.meta.get("facts", [])
    assert any(f["key"] == "qps" and not f["confirmed"] for f in facts), facts
    assert "460" in turn.text
