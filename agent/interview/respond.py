"""Turn a Move into the interviewer's words, from prompts/interview_*.md templates rendered strictly."""

from __future__ import annotations

import re
from typing import Any

from agent.grading.text import lower_first
from agent.interview.bank import openers, probe_text, remarks
from agent.interview.policy import Move, seed
from agent.interview.sides import other_side
from agent.interview.sides import sides as trade_sides
from agent.interview.state import InterviewState
from knowledge.corpus import Case, TradeOff, load_corpus
from prompts.render import render

_VARIANT_SPLIT = re.compile(r"\n-{3,}\n")
STEP_NAMES = {
    "requirements": "the requirements",
    "framing": "framing it as an ML task",
    "data": "data",
    "modeling": "the model",
    "evaluation": "evaluation",
    "serving": "serving",
    "monitoring": "monitoring",
}
"""How the interviewer names a step in conversation."""


def variant(name: str, pick: int, **values: str) -> str:
    """Render a template strictly and return one of its `---`-separated variants, chosen by `pick`."""
    options = [v.strip() for v in _VARIANT_SPLIT.split(render(name, **values)) if v.strip()]
    return options[pick % len(options)]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def _facts_text(move: Move, pick: int) -> str:
    """The facts of a move as plain sentences, linked naturally; confirmed assumptions marked as such."""
    parts: list[str] = []
    if any(f.confirmed for f in move.facts):
        parts.append(variant("interview_fact_confirmed", pick))
    for i, fact in enumerate(f for f in move.facts if not f.confirmed):
        value = _sentence(fact.value)
        if fact.repeated and not fact.assumption:
            parts.append(variant("interview_fact_repeated", pick + i, fact=value, lower=lower_first(value)))
        elif fact.assumption and not fact.invented:
            parts.append(variant("interview_fact_assumed", pick + i, fact=lower_first(value)))
        elif i == 0 or fact.invented:
            parts.append(value)
        else:
            label = fact.key.replace("_", " ")
            parts.append(
                variant("interview_fact_next", pick // 3 + i, fact=value, lower=lower_first(value), label=label)
            )
    return " ".join(parts)


_GERUNDS = {
    verb: verb[:-1] + "ing" if verb.endswith("e") else verb + ("ning" if verb == "run" else "ing")
    for verb in re.findall(
        r"\w+",
        "precompute rank downsample weight optimise optimize exploit run cache check spend predict score keep "
        "replace approve decline personalise personalize call deliver hold suggest generate reserve tile train use "
        "send build serve retrain",
    )
}
"""Verbs that open a trade-off side ("Precompute feeds or rank at request time"), with their -ing forms."""


def _as_noun(side: str) -> str:
    """A side that opens with a bare verb reads as an activity in a question: "precompute X" -> "precomputing X"."""
    first, _, rest = side.partition(" ")
    gerund = _GERUNDS.get(first.lower())
    if gerund is None:
        return side
    gerund = gerund.capitalize() if first[:1].isupper() else gerund
    return f"{gerund} {rest}".strip()


def _alternative(t: TradeOff, option: str) -> str | None:
    """The side of a trade-off title the candidate did not choose, as it reads in a question."""
    alt = other_side(t, option)
    return None if alt is None else lower_first(_as_noun(alt))


def _cite(mode: str, case: Case) -> list[dict[str, str]]:
    corpus = load_corpus()
    doc = corpus.failure_modes[mode]
    cites = [{"source": doc.source, "heading": doc.title, "failure_mode": mode}]
    if mode in case.failure_modes:
        cites.append({"source": case.source, "heading": f"Failure modes › {mode}", "failure_mode": mode})
    return cites


def _option(option: str) -> str:
    """The candidate's phrase as analyse() found it: already in its mid-sentence spelling ("Flink", "calibration")."""
    return option.strip()


def _case_followup(case: Case, mode: str, used: set[str]) -> tuple[str, str] | None:
    """The case's own follow-up question testing `mode` (id, question), if one is left unasked."""
    for followup in case.followups_for(failure_mode=mode):
        if followup.id not in used:
            return followup.id, followup.question
    return None


def _flag_body(
    move: Move, case: Case, pick: int, used: set[str] | None = None
) -> tuple[str, str, list[dict[str, str]], str | None]:
    """The remark(s), the follow-up question, the citations of a flag, and the case follow-up used (if any).

    The question is the case's own follow-up for the first mode when it has one not yet asked ("The routing
    engine fails at peak. What does the customer see?"), else one of the failure mode's generic probes.
    """
    docs = [load_corpus().failure_modes[m] for m in move.flags]
    said = " ".join(remarks()[m][(move.opener + i) % len(remarks()[m])] for i, m in enumerate(move.flags))
    first = docs[0]
    own = _case_followup(case, move.flags[0], used or set())
    question = own[1] if own is not None else first.probes[pick % len(first.probes)]
    sources = "; ".join(d.source for d in docs)
    cites = [c for m in move.flags for c in _cite(m, case)]
    return said, question + f" (see {sources})", cites, own[0] if own is not None else None


def _opener(step: str, pick: int) -> str:
    options = openers()[step]
    return options[pick % len(options)]


def _fresh(state: InterviewState, question: str, pick: int) -> str:
    """The question to re-ask after a refusal or redirect: the open one, unless the last two turns both asked it.

    Then the step's own opening question (another wording of it, if that was the one) takes its place, as an
    interviewer would drop a question that has gone unanswered twice.
    """
    asked = [str(t.meta.get("question", "")) for t in state.turns if t.role == "interviewer"][-2:]
    if len(asked) < 2 or any(q != question for q in asked):
        return question
    for shift in range(4):
        other = _opener(state.phase, pick + shift)
        if other != question:
            return other
    return question


RECENT_OPENINGS = 3
"""How many earlier interviewer turns a new turn's opening words should differ from."""


def _opening(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower())[:2])


def respond(state: InterviewState, move: Move, case: Case) -> tuple[str, dict[str, Any]]:
    """The interviewer's message for a move and its meta: the question it ends with and any citations.

    Of the template variants, the first whose opening words differ from the last few interviewer turns is used,
    so "Fair question." or "Let me push on one thing." does not open turn after turn.
    """
    recent = {_opening(t.text) for t in [t for t in state.turns if t.role == "interviewer"][-RECENT_OPENINGS:]}
    base = seed(state, move.kind)
    first = _respond(state, move, case, base)
    candidate = first
    for shift in range(1, 7):
        if _opening(candidate[0]) not in recent:
            return candidate
        candidate = _respond(state, move, case, base + shift)
    return first


def _respond(state: InterviewState, move: Move, case: Case, pick: int) -> tuple[str, dict[str, Any]]:
    meta: dict[str, Any] = {}
    question = ""
    body = ""
    reask = state.open_question or _opener(state.phase, pick)
    if move.kind == "closed":
        body = variant("interview_closed", pick)
    elif move.kind == "answer":
        facts = _facts_text(move, pick) if move.facts else ""
        if move.facts and not all(f.assumption for f in move.facts):
            facts = variant("interview_answer", pick, answer=facts)  # "Good question." only for a question
        pieces = [facts] if facts else []
        if move.pushback:
            pieces.append(variant("interview_pushback", pick // 7, question=move.pushback))
        body = " ".join(pieces)
    elif move.kind == "refuse":
        question = _fresh(state, reask, pick)
        body = variant("interview_refuse", pick, question=question)
    elif move.kind == "redirect":
        question = _fresh(state, reask, pick)
        body = variant(f"interview_redirect_{move.reason}", pick, question=question)
    elif move.kind == "flag":
        used = {str(t.meta["followup"]) for t in state.turns if t.meta.get("followup")}
        remark, asked, cites, followup = _flag_body(move, case, pick, used)
        if followup is not None:
            meta["followup"] = followup
        question = asked.rsplit(" (see ", 1)[0]
        names = {
            "left": "interview_flag_left",
            "closing": "interview_flag_close",
            "end_of_design": "interview_flag_end",
        }
        name = names.get(move.reason, "interview_flag")
        extra = {"step_title": STEP_NAMES[move.phase]} if move.reason == "left" else {}
        body = variant(name, pick, remark=remark, question=asked, **extra)
        meta["citations"] = cites
        if move.reason in ("closing", "end_of_design"):
            meta["closing"] = True
    elif move.kind == "tradeoff":
        t = next(t for t in case.tradeoffs if t.id == move.tradeoff_id)
        alt = _alternative(t, move.option)
        if alt is not None:
            body = variant("interview_tradeoff", pick, option=_option(move.option), alternative=alt)
        else:
            sides = [_as_noun(side) for side in trade_sides(t)]
            title = lower_first(t.title)
            lower = lower_first(sides[0]) if sides else ""
            decision = f"between {lower} and {sides[1]}" if len(sides) == 2 else title
            body = variant("interview_tradeoff_open", pick, option=_option(move.option), decision=decision)
        question = body
        meta["tradeoff"] = {"id": t.id, "option": move.option}
    elif move.kind == "probe" and move.probe_id is not None:
        question = probe_text(move.probe_id)
        body = variant("interview_probe_after_answer" if move.facts else "interview_probe", pick, question=question)
    elif move.kind == "move_on":
        question = _opener(move.phase, move.opener)
        title = STEP_NAMES[move.phase]
        if move.flags:
            docs = [load_corpus().failure_modes[m] for m in move.flags]
            said = " ".join(remarks()[m][pick % len(remarks()[m])] for m in move.flags)
            sources = "; ".join(d.source for d in docs)
            body = variant(
                "interview_move_on_flag", pick, remark=said, source=sources, step_title=title, question=question
            )
            meta["citations"] = [c for m in move.flags for c in _cite(m, case)]
        elif move.reason == "skipped":
            body = variant("interview_move_back", pick, step_title=title, question=question)
            meta["went_back"] = move.phase
        else:
            body = variant("interview_move_on", pick, step_title=title, question=question)
    elif move.kind == "wrap_up":
        reason = variant(f"interview_wrap_up_{move.reason or 'done'}", pick)
        if move.flags:
            remark, _, cites, _ = _flag_body(move, case, pick)
            sources = "; ".join(load_corpus().failure_modes[m].source for m in move.flags)
            body = variant("interview_wrap_up_flag", pick, reason=reason, remark=remark, source=sources)
            meta["citations"] = cites
        else:
            body = variant("interview_wrap_up", pick, reason=reason)
    if move.facts and move.kind != "answer":
        facts = _facts_text(move, pick)
        intro = facts if move.facts[0].assumption else variant("interview_answer_then", pick, answer=facts)
        body = " ".join([intro, body])
    if move.facts:
        meta["facts"] = [f.model_dump() for f in move.facts]
    preamble = [variant(f"interview_preamble_{p}", pick) for p in move.preamble]
    meta["question"] = question
    return " ".join([*preamble, body]).strip(), meta


__all__ = ["respond", "variant"]
