"""Where a terminal command's candidate messages come from: a script's lines or stdin."""

from __future__ import annotations

from collections.abc import Callable


def message_source(script: list[str] | None, prompt: str = "you: ") -> Callable[[], str | None]:
    """A reader returning the next scripted line, or the next stdin line; None at the end of either."""
    if script is not None:
        lines = iter(script)
        return lambda: next(lines, None)

    def read_stdin() -> str | None:
        try:
            return input(prompt)
        except EOFError:
            return None

    return read_stdin
