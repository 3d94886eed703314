"""Is a model reply in English? A script test (mostly non-Latin letters) and a stop-word test (Latin scripts)."""

from __future__ import annotations

import re

MIN_LETTERS = 12
"""Below this many letters a reply is too short to judge its script."""
NON_ASCII_SHARE = 0.3
"""A reply whose letters are more than this share non-ASCII is not English (Cyrillic, CJK, Greek, ...)."""
MIN_WORDS = 5
"""Below this many words the stop-word test says nothing."""

ENGLISH = frozenset(
    """the a an and or but of to in on at for with from by about as is are was were be been it this that these
    those what which who how why when where would could should will can do does did you your we our they their
    i me my not no yes so if then than there here have has had more most any some each other also just""".split()  # noqa: SIM905
)
FOREIGN = (
    frozenset(
        # Spanish, French, German, Italian, Portuguese, Dutch: frequent words that are not English words.
        """el los las del por para con una unos pero como qué que cuántos cuál está están usted nosotros también
    le les des du pour avec une est sont vous nous mais qui quoi dans sur cette aussi très
    der die das und ist sind nicht mit für ein eine einen ich sie wir auch oder wie bitte
    il lo gli della delle per che sono non con una anche più come
    os da do dos das não uma com são você também
    het een niet zijn wij jullie ook maar voor
    de la en et y e und haben etwa noch auf zu dem den bei nach über wird werden möchten können""".split()  # noqa: SIM905
    )
    - ENGLISH
)
_LETTERS = re.compile(r"[^\W\d_]+")


def not_english(text: str) -> bool:
    """True when the text is clearly in another language: mostly non-ASCII letters, or more foreign stop words."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= MIN_LETTERS and sum(not ch.isascii() for ch in letters) > NON_ASCII_SHARE * len(letters):
        return True
    words = [w.lower() for w in _LETTERS.findall(text)]
    if len(words) < MIN_WORDS:
        return False
    english = sum(w in ENGLISH for w in words)
    foreign = sum(w in FOREIGN for w in words)
    return foreign >= 2 and foreign > english


__all__ = ["not_english"]
