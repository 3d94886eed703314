"""Fact eval: which fact keys the offline interviewer gives for each labelled clarifying question, and the extras."""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from agent.interview.engine import start, step
from evals.interview_eval import WARMUP_MESSAGE, Persona, play_persona, select_personas
from evals.retrieval_eval import percentile
from evals.table import Column, fixed_table
from knowledge.corpus import load_corpus

SPLITS = ("dev", "test", "holdout", "holdout2", "holdout3", "holdout4", "holdout5")


@dataclass
class TurnResult:
    """One candidate turn: the keys labelled for it and the facts the interviewer gave."""

    persona: str
    turn: int
    text: str
    labelled: list[str]
    given: list[dict[str, Any]]
    sheet: set[str]

    def right(self) -> list[str]:
        """The labelled keys answered (an `unlisted:` key is answered by any invented or off-sheet fact)."""
        invented = [f for f in self.given if f["key"] not in self.sheet or f.get("invented")]
        plain = {f["key"] for f in self.given if not f.get("invented")}
        return [k for k in self.labelled if (bool(invented) if k.startswith("unlisted:") else k in plain)]

    def missed(self) -> list[str]:
        """The labelled keys not answered."""
        right = self.right()
        return [k for k in self.labelled if k not in right]

    def extra(self) -> list[str]:
        """Facts given that no label asks for (invented ones beyond the `unlisted:` labels count too)."""
        unlisted = sum(1 for k in self.labelled if k.startswith("unlisted:"))
        out: list[str] = []
        for f in self.given:
            if f.get("invented") or f["key"] not in self.sheet:
                if unlisted > 0:
                    unlisted -= 1
                else:
                    out.append(f"invented:{f['key']}")
            elif f["key"] not in self.labelled:
                out.append(f["key"] + ("(assumption)" if f.get("assumption") else ""))
        return out


@dataclass
class SplitResult:
    """Every turn of one split and the step latencies."""

    name: str
    turns: list[TurnResult] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def run_persona(persona: Persona, embedder: Any) -> tuple[list[TurnResult], list[float]]:
    """Run one persona through the offline interview as the interview eval does; one result per candidate turn."""
    case = load_corpus().case(persona.case)
    sheet = {f.key for f in case.facts}
    labels = {item.turn: item.keys for item in persona.facts_asked}
    _, replies, latencies = play_persona(persona, embedder)
    out: list[TurnResult] = []
    for index, reply in replies.items():
        given = list(reply.meta.get("facts", []) or [])
        out.append(TurnResult(persona.id, index, persona.turns[index], labels.get(index, []), given, sheet))
    for index in sorted(set(labels) - {t.turn for t in out}):  # labelled turns never reached count as missed
        out.append(TurnResult(persona.id, index, persona.turns[index], labels[index], [], sheet))
    return out, latencies


def run_split(name: str, embedder: Any) -> SplitResult:
    """Every persona of a split through the interviewer (per-case caches warmed first, as the interview eval does)."""
    personas = select_personas(name)
    for case_id in sorted({p.case for p in personas}):
        state, _ = start(case_id, clock="turns", session_id="warmup")
        step(state, WARMUP_MESSAGE, embedder=embedder)
    result = SplitResult(name)
    for persona in personas:
        turns, latencies = run_persona(persona, embedder)
        result.turns += turns
        result.latencies += latencies
    return result


def summary(result: SplitResult) -> dict[str, Any]:
    """Counts for one split: asked, right, extras on labelled and unlabelled turns, latency."""
    labelled = [t for t in result.turns if t.labelled]
    unlabelled = [t for t in result.turns if not t.labelled]
    extra_unlabelled = [e for t in unlabelled for e in t.extra()]
    return {
        "split": result.name,
        "turns": len(labelled),
        "asked": sum(len(t.labelled) for t in labelled),
        "right": sum(len(t.right()) for t in labelled),
        "turns_exact": sum(not t.missed() and not t.extra() for t in labelled),
        "extra_labelled": sum(len(t.extra()) for t in labelled),
        "extra_unlabelled": len(extra_unlabelled),
        "extra_assumption": sum(e.endswith("(assumption)") for e in extra_unlabelled),
        "p50_ms": statistics.median(result.latencies) if result.latencies else 0.0,
        "p95_ms": percentile(result.latencies, 95) if result.latencies else 0.0,
    }


TABLE = [
    Column("split", 8, lambda r: str(r["split"]), left=True),
    Column("turns", 5, lambda r: str(r["turns"])),
    Column("right", 9, lambda r: f"{r['right']:>4}/{r['asked']:<4}"),
    Column("recall", 6, lambda r: f"{r['right'] / max(1, r['asked']):.3f}"),
    Column("exact", 7, lambda r: f"{r['turns_exact']:>3}/{r['turns']:<3}"),
    Column("extra lab", 9, lambda r: str(r["extra_labelled"])),
    Column("extra unl", 9, lambda r: str(r["extra_unlabelled"])),
    Column("(assum)", 7, lambda r: str(r["extra_assumption"])),
    Column("p50 ms", 7, lambda r: f"{r['p50_ms']:.1f}"),
    Column("p95 ms", 7, lambda r: f"{r['p95_ms']:.1f}"),
]
"""The columns of the fact eval table."""


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render the per-split rows as a fixed-width table."""
    return fixed_table(TABLE, rows)


def _clip(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def misses(result: SplitResult) -> list[str]:
    """One line per turn whose facts differ from its labels (missed keys, extra keys, what was given)."""
    lines: list[str] = []
    for t in result.turns:
        missed, extra = t.missed(), t.extra()
        if not missed and not extra:
            continue
        given = ", ".join(("invented:" if f.get("invented") else "") + f["key"] for f in t.given) or "-"
        lines.append(
            f"{t.persona} t{t.turn}: missed [{', '.join(missed)}] extra [{', '.join(extra)}] gave [{given}]\n"
            f"    {_clip(t.text)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the chosen splits, print the table, and with --show the per-turn differences."""
    parser = argparse.ArgumentParser(prog="python -m evals.fact_eval", description=__doc__)
    parser.add_argument(
        "--split", action="append", choices=SPLITS, help="dev (default), test or a seen holdout split; repeatable"
    )
    parser.add_argument("--show", action="store_true", help="print every turn whose facts differ from its labels")
    args = parser.parse_args(argv)
    from agent.kb import embedder_factory
    from agent.settings import Settings

    embedder = embedder_factory(Settings.from_env())()
    results = [run_split(name, embedder) for name in dict.fromkeys(args.split or ["dev"])]
    print(format_table([summary(r) for r in results]))
    print("right: labelled keys answered; exact: labelled turns with nothing missed and nothing extra;")
    print("extra lab/unl: facts given that no label asks for, on labelled / unlabelled turns (assum: confirmations)")
    if args.show:
        for r in results:
            print(f"\n{r.name}:")
            print("\n".join(misses(r)) or "  no differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
