"""Plausible values for facts that are not on the case's sheet, chosen deterministically and then remembered."""

from __future__ import annotations

import hashlib
import re

from agent.grading.text import normalize

_CATEGORIES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(r"\b(?:budget|gpus?|compute|hardware|money|spend|cloud|machines?|servers?)\b"),
        (
            "assume a moderate budget: a shared pool of a few dozen GPUs for training and CPU serving unless you "
            "can justify more",
            "assume compute is available but not free: training on a shared GPU pool is fine, and serving cost "
            "should stay close to what the current system costs",
        ),
    ),
    (
        re.compile(r"\b(?:team|engineers?|headcount|people\s+work|staff)\b"),
        ("assume a small team: about five ML engineers plus shared data and platform support",),
    ),
    (
        re.compile(
            r"\b(?:timeline|deadline|when\s+(?:do|must|should)|how\s+long\s+do\s+we\s+have|ship|launch\s+date)\b"
        ),
        ("assume about one quarter to ship a first version, with iterations after that",),
    ),
    (
        re.compile(r"\blanguages?\b"),
        (
            "assume about a dozen languages, with English the largest at roughly half the traffic",
            "assume around ten languages; English is about half of the traffic",
        ),
    ),
    (
        re.compile(r"\b(?:countr\w+|regions?|markets?|geograph\w+)\b"),
        ("assume it runs in all the markets we serve today, with most traffic from a handful of large ones",),
    ),
    (
        re.compile(
            r"\b(?:devices?|mobile|desktop|platforms?|web\s+or\s+(?:mobile|apps?)|(?:mobile|apps?)\s+or\s+web)\b"
        ),
        ("assume most traffic is on mobile apps and the rest on the web",),
    ),
    (
        re.compile(r"\b(?:retention|retain|how\s+long\s+(?:is|are)\s+\w+\s+(?:kept|stored))\b"),
        ("assume raw logs are kept for about a year and aggregated data for longer",),
    ),
]
_QUANTITY = re.compile(r"\b(?:how\s+many|how\s+much|number\s+of|what\s+(?:percentage|fraction|share|proportion))\b")
_LEAD = re.compile(r"^(?:(?:first(?:ly)?|so|and|also|ok(?:ay)?|then|last(?:ly)?|one more|quick question)\s*[,:]?\s+)+")
_EITHER_OR = re.compile(r"\w\s*,?\s+or\s+(?!not\b|so\b)\w")
"""An either/or question ("is it X, or Y?"): a yes or a no would not answer it."""
_YES_NO = re.compile(r"^(?:is|are|do|does|did|can|could|will|has|have|was|were)\b")


def _pick(options: tuple[str, ...], seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return options[digest[0] % len(options)]


def invent(topic: str, question: str, seed: str) -> str:
    """A plausible, deliberately unremarkable value for a fact the sheet does not give (same seed, same value)."""
    text = _LEAD.sub("", normalize(question))
    subject = topic.replace("_", " ")
    for pattern, options in _CATEGORIES:
        if pattern.search(text):
            return _pick(options, seed)
    if _QUANTITY.search(text):
        share = re.search(r"percentage|fraction|share|proportion", text)
        if share:
            return _pick(("assume about 5%", "assume roughly 10%", "assume around 2%"), seed) + f" for {subject}"
        return f"assume a modest number of {subject}, " + _pick(
            ("small next to the overall scale we discussed", "enough to matter but not to dominate the design"), seed
        )
    if _YES_NO.match(text) and _EITHER_OR.search(text):
        return _pick(
            (
                "both happen in practice; assume the simpler of the options you named, and tell me if your design "
                "depends on which one it is",
                "assume the more common of the options you named; if your design needs the other, say why",
            ),
            seed,
        )
    if _YES_NO.match(text):
        return _pick(
            (
                "assume yes, but only in a basic form; nothing sophisticated exists yet",
                "assume not today; if your design needs it, say what it would take",
            ),
            seed,
        )
    return _pick(
        (
            "I don't have a figure for that one; assume the common industry setup, and tell me if it changes "
            "your design",
            "that isn't pinned down; take the usual setup for a company this size and say if your design depends on it",
        ),
        seed,
    )


__all__ = ["invent"]
