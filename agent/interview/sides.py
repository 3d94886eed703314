"""The two sides of a case trade-off ("Call the routing engine or precompute travel times"), and which a text names."""

from __future__ import annotations

import re

from knowledge.corpus import TradeOff

_ALIASES = {
    "gbdt": "boost",
    "gbdts": "boost",
    "xgboost": "boost",
    "lightgbm": "boost",
    "catboost": "boost",
    "dnn": "deep",
    "dnns": "deep",
    "neural": "deep",
    "mf": "matri",
    "ctr": "click",
    "ann": "appro",
    "knn": "exact",
}
"""Words that stand for a side's own word ("XGBoost" for "boosted trees")."""
_CONNECTIVE = re.compile(r"\b(?:but|so|because|since|instead|rather|whereas|while|hence|therefore|only)\b|->|=>|→")
"""A word that ties two named options into a decision ("X only does 5k/s but Y needs 70k -> precompute")."""


def _stem(word: str) -> str:
    word = word.lower()
    return _ALIASES.get(word, word[:5])


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[A-Za-z0-9]+", text) if len(w) > 2}


def sides(t: TradeOff) -> list[str]:
    """The two options of a trade-off title ("A or B [for C]"), or [] when the title has no two sides."""
    title = re.sub(r"\s+for\s+[a-z ]+$", "", t.title) if " or " in t.title else t.title
    return [s.strip() for s in re.split(r"\s+or\s+", title) if s.strip()] if " or " in title else []


def other_side(t: TradeOff, option: str) -> str | None:
    """The side of the trade-off the phrase `option` does not name (None when it is not clear which it names)."""
    two = sides(t)
    if len(two) != 2:
        return None
    words = _stems(option)
    overlap = [len(words & _stems(side)) for side in two]
    if overlap[0] == overlap[1]:
        return None
    return two[1] if overlap[0] > overlap[1] else two[0]


def weighs_both_sides(t: TradeOff, sentence: str) -> bool:
    """True when one sentence names both options of the trade-off and ties them with a reason or contrast word."""
    two = sides(t)
    if len(two) != 2 or not _CONNECTIVE.search(sentence.lower()):
        return False
    own = [_stems(side) for side in two]
    words = _stems(sentence)
    return all(words & (mine - other) for mine, other in ((own[0], own[1]), (own[1], own[0])))
