"""Interview eval: scripted personas through full offline interviews; flags, bands, facts, leaks, latency."""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from agent.interview.engine import finish, start, step, transcript
from evals.interviews import HELD_OUT_SPLITS
from evals.retrieval_eval import percentile
from evals.table import Column, fixed_table
from knowledge.corpus import Case, load_corpus

PERSONAS = Path(__file__).resolve().parent / "interviews" / "personas.jsonl"
HELD_OUT = {name: PERSONAS.with_name(f"{name}.jsonl") for name in HELD_OUT_SPLITS}
"""Split name -> file of the splits kept out of `--split all`."""
HOLDOUT, HOLDOUT2 = HELD_OUT["holdout"], HELD_OUT["holdout2"]
UNSEEN = frozenset({"holdout11"})
"""Held-out splits nobody has tuned on: only aggregate rows are printed (per-persona results go to --out)."""
LEAK_WINDOW = 8
WARMUP_MESSAGE = "How many users are there? I would train a simple model on the logged data first."
"""One message per case before timing: it fills the per-case caches (fact phrases, points, probes) a real
first turn would otherwise pay for."""


class FactsAsked(BaseModel):
    """A candidate turn that asks for facts, and the fact keys that answer it."""

    turn: int
    keys: list[str]


class Persona(BaseModel):
    """A scripted candidate and its labels."""

    id: str
    case: str
    level: str = "senior"
    persona: str
    turns: list[str]
    failure_modes: list[str]
    band: str
    facts_asked: list[FactsAsked] = []
    leak_bait: bool = False
    split: str


def load_personas(path: Path = PERSONAS) -> list[Persona]:
    """Read the labelled personas (JSONL)."""
    return [Persona.model_validate_json(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def select_personas(split: str = "all") -> list[Persona]:
    """The personas of one split: `dev`, `test`, `all` (dev and test, never a held-out one) or a HELD_OUT split."""
    if split in HELD_OUT:
        if not HELD_OUT[split].is_file():
            raise FileNotFoundError(f"the {split} split ({HELD_OUT[split].name}) has not been written yet")
        return [p for p in load_personas(HELD_OUT[split]) if p.split == split]
    return [p for p in load_personas() if p.split not in HELD_OUT and (split == "all" or p.split == split)]


def holdout_note() -> str:
    """The line printed on dev/test runs saying the held-out splits exist and how they are run."""
    parts = [
        f"{name} ({len(load_personas(path))} personas, {path.name}{', unseen' if name in UNSEEN else ', seen'})"
        for name, path in HELD_OUT.items()
        if path.is_file()
    ]
    return (
        f"note: held-out splits {'; '.join(parts)} are not part of dev, test or all; run them with "
        f"{' or '.join('--split ' + name for name, path in HELD_OUT.items() if path.is_file())} "
        "(do not tune on an unseen one)"
    )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def hidden_windows(case: Case) -> set[tuple[str, ...]]:
    """Every run of LEAK_WINDOW words from what the interviewer must never reveal."""
    hidden = [p.statement for p in case.all_points()]
    hidden += [t.good_answer for t in case.tradeoffs] + [f.good_answer for f in case.followups]
    hidden += list(case.outline.values())
    windows: set[tuple[str, ...]] = set()
    for text in hidden:
        words = _words(text)
        windows.update(tuple(words[i : i + LEAK_WINDOW]) for i in range(len(words) - LEAK_WINDOW + 1))
    return windows


def leaks_in(text: str, windows: set[tuple[str, ...]], case: Case) -> int:
    """Runs of hidden text in an interviewer message (fact-sheet answers removed first); 'Cues:' counts too."""
    for fact in case.facts:
        text = text.replace(fact.answer, " ")
    words = _words(text)
    found = sum(1 for i in range(len(words) - LEAK_WINDOW + 1) if tuple(words[i : i + LEAK_WINDOW]) in windows)
    return found + text.count("Cues:")


def _how(state: Any, turn: int) -> str:
    """How a flag was raised: in the debrief, or by the interviewer's reply to the candidate turn `turn`."""
    said = state.turns[min(turn, len(state.turns) - 1)]
    if said.move == "debrief":
        return "debrief"
    reply = state.turns[turn + 1] if turn + 1 < len(state.turns) else said
    if reply.move == "wrap_up" or reply.meta.get("closing"):
        return "closing"
    return "during"


def play_persona(persona: Persona, embedder: Any) -> tuple[Any, dict[int, Any], list[float]]:
    """Play a persona's turns through the offline interviewer (turn clock, one turn of slack in the budget).

    Returns the last state, the interviewer's reply to each candidate turn reached, and each turn's latency (ms).
    """
    state, _ = start(
        persona.case, persona.level, clock="turns", turn_budget=len(persona.turns) + 1, session_id=f"eval-{persona.id}"
    )
    replies: dict[int, Any] = {}
    latencies: list[float] = []
    for index, text in enumerate(persona.turns):
        if state.finished:
            break
        began = time.perf_counter()
        state, turn = step(state, text, embedder=embedder)
        latencies.append((time.perf_counter() - began) * 1000)
        replies[index] = turn
    return state, replies, latencies


def run_persona(persona: Persona, embedder: Any) -> dict[str, Any]:
    """Run one persona through a full interview and score it against its labels."""
    case = load_corpus().case(persona.case)
    state, replies, latencies = play_persona(persona, embedder)
    if not state.finished:
        state = finish(state, embedder=embedder)
    sheet = {f.key for f in case.facts}
    asked = answered = 0
    for item in persona.facts_asked:
        reply = replies.get(item.turn)
        given = reply.meta.get("facts", []) if reply is not None else []
        for key in item.keys:
            asked += 1
            if key.startswith("unlisted:"):
                answered += any(f["key"] not in sheet or f.get("invented") for f in given)
            else:
                answered += any(f["key"] == key and not f.get("invented") for f in given)
    windows = hidden_windows(case)
    leaks = sum(leaks_in(t.text, windows, case) for t in state.turns[1:] if t.role == "interviewer")
    shown = transcript(state)
    card = shown["scorecard"] or {}
    return {
        "id": persona.id,
        "flags": shown["flags"],
        "mid_flags": [f.id for f in state.flags if state.turns[min(f.turn, len(state.turns) - 1)].move != "debrief"],
        "flag_how": {f.id: _how(state, f.turn) for f in state.flags},
        "card_modes": [f["id"] for f in card.get("failure_modes", [])],
        "band": card.get("hire_signal"),
        "facts_asked": asked,
        "facts_right": answered,
        "leaks": leaks,
        "turns": len(state.turns),
        "latencies": latencies,
    }


def _prf(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float, float]:
    tp = sum(len(p & t) for p, t in pairs)
    fp = sum(len(p - t) for p, t in pairs)
    fn = sum(len(t - p) for p, t in pairs)
    prec = tp / max(1, tp + fp)
    rec = tp / max(1, tp + fn)
    return prec, rec, 2 * prec * rec / max(1e-9, prec + rec)


def summarise(personas: list[Persona], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate metrics over a set of persona runs."""
    flag_p, flag_r, flag_f = _prf(
        [(set(r["flags"]), set(p.failure_modes)) for p, r in zip(personas, results, strict=True)]
    )
    _, _, mid_f = _prf([(set(r["mid_flags"]), set(p.failure_modes)) for p, r in zip(personas, results, strict=True)])
    _, _, card_f = _prf([(set(r["card_modes"]), set(p.failure_modes)) for p, r in zip(personas, results, strict=True)])
    latencies = [ms for r in results for ms in r["latencies"]]
    asked = sum(r["facts_asked"] for r in results)
    return {
        "n": len(results),
        "flag_precision": flag_p,
        "flag_recall": flag_r,
        "flag_f1": flag_f,
        "mid_interview_flag_f1": mid_f,
        "scorecard_mode_f1": card_f,
        "band_accuracy": sum(p.band == r["band"] for p, r in zip(personas, results, strict=True)) / len(results),
        "facts_right": sum(r["facts_right"] for r in results),
        "facts_asked": asked,
        "leaks": sum(r["leaks"] for r in results),
        "turns_mean": statistics.mean(r["turns"] for r in results),
        "p50_ms": statistics.median(latencies) if latencies else 0.0,
        "p95_ms": percentile(latencies, 95) if latencies else 0.0,
    }


def _how_line(personas: list[Persona], results: list[dict[str, Any]]) -> str:
    """Where the labelled modes that were raised came from: during the design, at the close, or in the debrief."""
    counts = {"during": 0, "closing": 0, "debrief": 0}
    wrong = {"during": 0, "closing": 0, "debrief": 0}
    for p, r in zip(personas, results, strict=True):
        for mode, how in r["flag_how"].items():
            (counts if mode in p.failure_modes else wrong)[how] += 1
    right = ", ".join(f"{k} {v}" for k, v in counts.items())
    false = ", ".join(f"{k} {v}" for k, v in wrong.items())
    return f"labelled modes raised: {right}; unlabelled raised: {false}"


TABLE = [
    Column("split", 7, lambda r: str(r["split"]), left=True),
    Column("n", 3, lambda r: str(r["n"])),
    Column("flag P", 7, lambda r: f"{r['flag_precision']:.3f}"),
    Column("flag R", 7, lambda r: f"{r['flag_recall']:.3f}"),
    Column("flag F1", 7, lambda r: f"{r['flag_f1']:.3f}"),
    Column("mid F1", 7, lambda r: f"{r['mid_interview_flag_f1']:.3f}"),
    Column("card F1", 7, lambda r: f"{r['scorecard_mode_f1']:.3f}"),
    Column("band acc", 8, lambda r: f"{r['band_accuracy']:.3f}"),
    Column("facts", 9, lambda r: f"{r['facts_right']:>4}/{r['facts_asked']:<4}"),
    Column("leaks", 5, lambda r: str(r["leaks"])),
    Column("turns", 6, lambda r: f"{r['turns_mean']:.1f}"),
    Column("p50 ms", 7, lambda r: f"{r['p50_ms']:.1f}"),
    Column("p95 ms", 7, lambda r: f"{r['p95_ms']:.1f}"),
]
"""The columns of the interview eval table."""


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render summary rows as a fixed-width table."""
    return fixed_table(TABLE, rows)


def main(split: str = "all", out: str | None = None) -> int:
    """Run every persona through a full interview, print the table, optionally save JSON."""
    from agent.kb import embedder_factory
    from agent.settings import Settings

    try:
        personas = select_personas(split)
    except FileNotFoundError as exc:
        print(f"interviewer: {exc}", file=sys.stderr)
        return 2
    embedder = embedder_factory(Settings.from_env())()
    for case_id in sorted({p.case for p in personas}):  # warm per-case caches so latency is per turn
        state, _ = start(case_id, clock="turns", session_id="warmup")
        step(state, WARMUP_MESSAGE, embedder=embedder)
    results = [run_persona(p, embedder) for p in tqdm(personas, desc="interviews", unit="persona", leave=False)]
    rows = []
    for name in (split,) if split in HELD_OUT else ("dev", "test", "all"):
        chosen = [(p, r) for p, r in zip(personas, results, strict=True) if name == "all" or p.split == name]
        if chosen:
            rows.append({"split": name, **summarise([p for p, _ in chosen], [r for _, r in chosen])})
    print(format_table(rows))
    for name in ("dev", "test", *HELD_OUT):
        chosen = [(p, r) for p, r in zip(personas, results, strict=True) if p.split == name]
        if chosen:
            print(f"{name}: " + _how_line([p for p, _ in chosen], [r for _, r in chosen]))
    if split in UNSEEN:  # aggregates only on screen, so an unseen split is not tuned persona by persona
        print(f"\n{split}: per-persona flag differences are not printed (they are in --out)")
    else:
        misses = [
            (p.id, sorted(set(p.failure_modes) ^ set(r["flags"]))) for p, r in zip(personas, results, strict=True)
        ]
        print("\nflag differences (label xor raised): " + "; ".join(f"{i}: {', '.join(d)}" for i, d in misses if d))
        print(holdout_note())
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"rows": rows, "runs": results}, indent=2) + "\n", encoding="utf-8")
    return 0
