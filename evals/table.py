"""Fixed-width tables for the eval commands: one column spec per column, one dict per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """A table column: its header, its width, how to print a row's cell, and whether it is left-aligned."""

    header: str
    width: int
    cell: Callable[[dict[str, Any]], str]
    left: bool = False

    def pad(self, text: str) -> str:
        """The text padded to the column's width on the right side for its alignment."""
        return text.ljust(self.width) if self.left else text.rjust(self.width)


def fixed_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> str:
    """The header, a rule and one line per row, columns separated by one space."""
    header = " ".join(c.pad(c.header) for c in columns)
    lines = [header, "-" * len(header)]
    lines += [" ".join(c.pad(c.cell(r)) for c in columns) for r in rows]
    return "\n".join(lines)


__all__ = ["Column", "fixed_table"]
