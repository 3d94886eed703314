"""Benchmark of the offline grader: warm single-answer latency and batch throughput on synthetic answers."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence

from tqdm import tqdm

from agent.grading.offline import default_embedder, grade_answer
from knowledge.corpus import load_corpus
from knowledge.ids import CASE_IDS, STEPS

_FILLER = (
    "We keep the design simple at first and revisit it once we have data.",
    "This choice matters because the latency budget is tight at peak traffic.",
    "I would check this assumption with the product team before committing.",
    "The main risk here is that the proxy metric drifts away from the business goal.",
)


def synthetic_answer(case_id: str, words: int = 800, seed: int = 0) -> str:
    """A markdown answer of about `words` words built from the case's own expected points and filler."""
    rng = random.Random(seed)
    case = load_corpus().case(case_id)
    parts: list[str] = []
    for step in STEPS:
        parts.append(f"## {step.title()}")
        for point in case.points[step]:
            if rng.random() < 0.7:
                parts.append(f"- {point.statement} We would use {rng.choice(point.cues)} here.")
        parts.append(rng.choice(_FILLER))
    text = "\n".join(parts)
    while len(text.split()) < words:
        text += " " + rng.choice(_FILLER)
    return " ".join(text.split(" ")[: words + 40]) if len(text.split()) > words * 1.2 else text


def main(argv: Sequence[str] | None = None) -> int:
    """Print warm single-answer latency (median, p95) and batch throughput over N synthetic answers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=60, help="number of answers in the batch run")
    parser.add_argument("--words", type=int, default=800)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    embedder = default_embedder()
    answers = [
        (CASE_IDS[i % len(CASE_IDS)], synthetic_answer(CASE_IDS[i % len(CASE_IDS)], args.words, i))
        for i in range(args.n)
    ]
    for case_id in CASE_IDS:  # warm: corpus, point embeddings of every case
        grade_answer(answers[0][1], case_id, embedder=embedder)
    print(f"cold start (embedder + corpus + {len(CASE_IDS)} cases warmed): {time.perf_counter() - t0:.2f} s")
    single = answers[0]
    timings = []
    for _ in range(10):
        t = time.perf_counter()
        grade_answer(single[1], single[0], embedder=embedder)
        timings.append(time.perf_counter() - t)
    timings.sort()
    print(
        f"single {len(single[1].split())}-word answer, warm: median {statistics.median(timings) * 1000:.0f} ms, "
        f"max {timings[-1] * 1000:.0f} ms"
    )
    t = time.perf_counter()
    for case_id, text in tqdm(answers, desc="grading", unit="answer", file=sys.stderr):
        grade_answer(text, case_id, embedder=embedder)
    elapsed = time.perf_counter() - t
    print(f"batch: {args.n} answers in {elapsed:.2f} s = {args.n / elapsed:.1f} answers/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
