"""Check that a quote taken by a model really is in the answer (whitespace, quote marks and emphasis aside)."""

from __future__ import annotations

MIN_QUOTE_WORDS = 3
MIN_QUOTE_CHARS = 12

_TRANSLATE = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "-",
        "*": " ",
        "`": " ",
    }
)
_EDGES = " \t\n\"'.,;:…"


def normalise(text: str) -> str:
    """Text with curly quotes and dashes made plain, markdown emphasis removed and whitespace collapsed."""
    return " ".join(text.translate(_TRANSLATE).split())


class QuoteChecker:
    """Verifies quotes against one answer (the injection-stripped text the model was shown)."""

    def __init__(self, answer: str) -> None:
        """Normalise the answer once."""
        self._hay = normalise(answer)
        lowered = self._hay.lower()
        self._hay_lower = lowered if len(lowered) == len(self._hay) else None

    def verify(self, quote: str) -> str | None:
        """The quote as it appears in the answer, or None if it is too short or not a substring."""
        q = normalise(quote).strip(_EDGES)
        if len(q) < MIN_QUOTE_CHARS or len(q.split()) < MIN_QUOTE_WORDS or "..." in q or "…" in q:
            return None
        if q in self._hay:
            return q
        if self._hay_lower is not None:
            at = self._hay_lower.find(q.lower())
            if at != -1 and len(q.lower()) == len(q):
                return self._hay[at : at + len(q)]
        return None


__all__ = ["MIN_QUOTE_CHARS", "MIN_QUOTE_WORDS", "QuoteChecker", "normalise"]
