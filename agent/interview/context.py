"""What the conversation itself settles for absence-type failure modes the single-answer grader reads too narrowly."""

from __future__ import annotations

import re

from agent.grading.injection import find_injection
from agent.grading.signals import SIGNALS
from agent.grading.text import normalize, split_sentences, strip_markup
from agent.interview.state import InterviewState
from knowledge.corpus import Case, load_corpus

CONTEXT_MODES = ("skipped_clarification", "no_scale_estimate", "no_business_objective", "no_tradeoffs")
"""The absence-type modes an interview can settle across turns."""

_SIZE = (SIGNALS["requirements"]["scale"], SIGNALS["requirements"]["latency_budget"])
SCALE_KEYS = frozenset({"users", "catalogue", "qps", "latency"})
"""Fact-sheet keys (knowledge/FORMAT.md) that give a size: users, items, QPS or a latency number."""
GOAL_KEYS = frozenset({"business_goal", "success_metric"})
"""Fact-sheet keys (knowledge/FORMAT.md) that give the business goal or its metric."""
_WORD = re.compile(r"[a-z][a-z-]{5,}")
_STOP = frozenset(
    re.findall(
        r"[a-z]+",
        "should before having because really things something within without across around between roughly "
        "approximately about",
    )
)
"""Common long words that say nothing about the fact they appear near."""
_CHOICE = re.compile(
    r"\b(?:(?:take|took|use|go with|went with|start with|starting with|keep|pick\w*|choos\w+|chose|opt for|favou?r)"
    r"\b[^.;:]{0,60}?\b(?:over|instead of|rather than)|prefer\w*\b[^.;:]{0,60}?\b(?:over|to|instead of|rather than))"
    r"\b[^.;:]{0,80}?\b(?:because|since|as (?:it|they|that|this)|given)\b"
)
"""A choice named against an alternative with a reason: "I'd take trees over a deep ranker because ..."."""
_WEIGHED = re.compile(
    r"\b(?:could|would|might|can)\b[^.;]{0,80}?\bbut\b[^.;]{0,80}?\b(?:harder|slower|costlier|more expensive|"
    r"more complex|too (?:slow|expensive|costly|complex)|much (?:harder|slower)|needs?|requires?)\b"
)
"""An alternative's gain weighed against its cost: "a GNN could learn more, but it's harder to keep fresh"."""


def _given_facts(state: InterviewState) -> list[tuple[int, str, str]]:
    """Facts from the sheet given in answer to the candidate: index of the turn that gave them, key, value."""
    given: list[tuple[int, str, str]] = []
    for i, turn in enumerate(state.turns):
        if turn.role != "interviewer":
            continue
        for fact in turn.meta.get("facts", []):
            if isinstance(fact, dict) and not fact.get("invented") and fact.get("value"):
                given.append((i, str(fact.get("key", "")), str(fact["value"])))
    return given


def _said(text: str) -> str:
    """What the grader reads of a candidate message: text addressing the grader removed, markup stripped."""
    return strip_markup(find_injection(text).text)


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower())} - _STOP


_SIZE_TOKEN = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(million|billion|thousand|[mbk]\b)?", re.IGNORECASE)


def _sizes(text: str) -> set[str]:
    """The sizes written in a text ('2 million' -> '2m', '8,000' -> '8000'); lone digits without a unit skipped."""
    out: set[str] = set()
    for number, unit in _SIZE_TOKEN.findall(text):
        digits = number.replace(",", "").rstrip(".")
        letter = unit[:1].lower() if unit else ""
        if len(digits.replace(".", "")) >= 2 or letter:
            out.add(digits + ("k" if letter == "t" else letter))
    return out


def scale_given(state: InterviewState) -> bool:
    """A concrete size (users, items, QPS, latency) given at the candidate's request and then used by them.

    Used: a later candidate message repeats one of its sizes ('2 million orders') or a distinctive word of
    it (not one of the case prompt's own words such as 'videos', nor a hedge such as 'roughly'). Asking alone
    is not an estimate (evals/interviews/README.md: "asked for and then used").
    """
    case = load_corpus().case(state.case_id)
    heard = _words(f"{case.prompt} {case.title} {case.summary}".replace("-", " "))  # the case's own nouns
    for at, key, value in _given_facts(state):
        if not (key in SCALE_KEYS or any(p.search(normalize(value)) for p in _SIZE)):
            continue
        later = [_said(t.text) for t in state.turns[at + 1 :] if t.role == "candidate"]
        sizes, words = _sizes(value), _words(value) - heard
        if any(sizes & _sizes(text) or words & _words(text) for text in later):
            return True
    return False


def asked_before_designing(state: InterviewState) -> bool:
    """The candidate got facts (from the sheet or assumed) before their first message about the design itself."""
    first_design = next(
        (
            i
            for i, t in enumerate(state.turns)
            if t.role == "candidate"
            and t.meta.get("design", any(step != "requirements" for step in t.meta.get("focus", ())))
        ),
        len(state.turns),
    )
    return any(t.role == "interviewer" and t.meta.get("facts") for t in state.turns[:first_design])


def goal_taken_up(state: InterviewState, case: Case) -> bool:
    """The candidate asked for the business goal and then built on it in their own words.

    A goal fact counts only when a later candidate message reuses a word of it that the case prompt does
    not already contain: asking alone, or echoing the prompt, does not name a goal.
    """
    prompt = _words(case.prompt)
    for at, key, value in _given_facts(state):
        if key not in GOAL_KEYS:
            continue
        distinctive = _words(value) - prompt
        later = [_said(t.text) for t in state.turns[at + 1 :] if t.role == "candidate"]
        if any(distinctive & _words(text) for text in later):
            return True
    return False


def tradeoff_argued(texts: list[str]) -> bool:
    """Some message names a choice against an alternative with a reason, in a form one sentence pattern misses."""
    return any(_CHOICE.search(normalize(t)) or _WEIGHED.search(normalize(t)) for t in texts)


_ANSWER_REASON = re.compile(
    r"\b(?:because|since|so that|the reason|otherwise|at the cost of|costs?|cheaper|faster|slower|too (?:slow|costly|"
    r"expensive|big)|(?:the )?(?:price|downside|risk) is|in exchange|worth it|pays? off|i'?d (?:take|accept|pay))\b"
)
"""A reason given in reply to a trade-off question."""


def probe_answered(state: InterviewState) -> bool:
    """The candidate's reply to one of the interviewer's trade-off questions gives a reason for the choice.

    The reason must sit in a sentence that names something the question named (the option or its
    alternative), so a reply that just carries on with the next step does not count.
    """
    for i, turn in enumerate(state.turns[:-1]):
        if turn.role != "interviewer" or not turn.meta.get("tradeoff"):
            continue
        reply = state.turns[i + 1]
        if reply.role != "candidate":
            continue
        asked = _words(str(turn.meta.get("question") or turn.text))
        for sentence in split_sentences(_said(reply.text)):
            text = normalize(sentence.text)
            if _ANSWER_REASON.search(text) and asked & _words(text):
                return True
    return False


def settled(state: InterviewState, case: Case, mode: str, texts: list[str] | None = None) -> bool:
    """True when the interview as a whole shows that an absence-type `mode` does not apply."""
    if mode == "skipped_clarification":
        return asked_before_designing(state)
    if mode == "no_scale_estimate":
        return scale_given(state)
    if mode == "no_business_objective":
        return goal_taken_up(state, case)
    if mode == "no_tradeoffs":
        said = texts if texts is not None else [_said(t.text) for t in state.candidate_turns()]
        return tradeoff_argued(said) or probe_answered(state)
    return False


def settled_modes(state: InterviewState) -> frozenset[str]:
    """The absence-type modes the interview as a whole settles: the grader neither reports nor caps them."""
    case = load_corpus().case(state.case_id)
    texts = [_said(t.text) for t in state.candidate_turns()]
    return frozenset(m for m in CONTEXT_MODES if settled(state, case, m, texts))


__all__ = [
    "CONTEXT_MODES",
    "GOAL_KEYS",
    "SCALE_KEYS",
    "asked_before_designing",
    "goal_taken_up",
    "scale_given",
    "settled",
    "settled_modes",
    "tradeoff_argued",
]
