"""Retrieval eval: recall@1, recall@5 and MRR per method on labelled queries, plus latency and build time."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.kb import open_index, sync_index
from agent.settings import Settings
from knowledge.retrieval import METHODS, Retriever, SearchFilters, SearchHit

QUERIES = Path(__file__).resolve().parent / "retrieval_queries.jsonl"


class Relevant(BaseModel):
    """A section that answers a query."""

    source: str
    section: str


class LabelledQuery(BaseModel):
    """One eval query and the sections that answer it."""

    id: str
    query: str
    relevant: list[Relevant]
    case: str | None = None
    step: str | None = None
    kind: str
    split: str


def load_queries(path: Path = QUERIES) -> list[LabelledQuery]:
    """Read the labelled queries (JSONL)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [LabelledQuery.model_validate_json(line) for line in lines if line.strip()]


def is_relevant(hit: SearchHit, query: LabelledQuery) -> bool:
    """True when the hit comes from a labelled file and section."""
    return any(hit.source == r.source and hit.heading.startswith(r.section) for r in query.relevant)


def first_relevant_rank(hits: list[SearchHit], query: LabelledQuery) -> int | None:
    """1-based rank of the first relevant hit, or None."""
    for rank, hit in enumerate(hits, start=1):
        if is_relevant(hit, query):
            return rank
    return None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest-rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def evaluate(retriever: Retriever, queries: list[LabelledQuery], method: str, use_case: bool) -> dict[str, Any]:
    """Score one method (optionally filtered by the query's case) over the queries."""
    ranks: list[int | None] = []
    latencies: list[float] = []
    for q in queries:
        filters = SearchFilters(case_id=q.case if use_case else None)
        start = time.perf_counter()
        hits = retriever.search(q.query, k=5, filters=filters, method=method)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - start) * 1000)
        ranks.append(first_relevant_rank(hits, q))
    n = len(queries)
    return {
        "method": method,
        "case_filter": use_case,
        "n": n,
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@5": sum(1 for r in ranks if r is not None) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 95),
        "misses": [q.id for q, r in zip(queries, ranks, strict=True) if r is None],
    }


def measure_builds(settings: Settings) -> dict[str, float]:
    """Cold build (empty data folder, ONNX graph included) and unchanged re-sync, in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = settings.model_copy(update={"data_dir": Path(tmp)})
        start = time.perf_counter()
        index = open_index(fresh)
        sync_index(index, show_progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        sync_index(open_index(fresh), show_progress=False)
        warm = time.perf_counter() - start
    return {"cold_build_s": round(cold, 2), "unchanged_resync_s": round(warm, 3)}


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render result rows as a fixed-width table."""
    header = (
        f"{'split':<5} {'method':<7} {'case filter':<11} {'n':>4} {'R@1':>6} {'R@5':>6} {'MRR':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['split']:<5} {r['method']:<7} {('yes' if r['case_filter'] else 'no'):<11} {r['n']:>4} "
            f"{r['recall@1']:>6.3f} {r['recall@5']:>6.3f} {r['mrr']:>6.3f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f}"
        )
    return "\n".join(lines)


def main(settings: Settings, split: str = "all", out: str | None = None) -> int:
    """Run the retrieval eval, print the table, optionally save JSON; return an exit status."""
    queries = load_queries()
    index = open_index(settings)
    sync_index(index)
    retriever = Retriever(index)
    retriever.search("warm up the embedder", k=1, method="dense")
    splits = ["dev", "test", "all"] if split == "all" else [split]
    rows: list[dict[str, Any]] = []
    for name in splits:
        subset = [q for q in queries if name == "all" or q.split == name]
        for use_case in (False, True):
            for method in METHODS:
                rows.append({"split": name, **evaluate(retriever, subset, method, use_case)})
    builds = measure_builds(settings)
    print(format_table(rows))
    print(
        f"\ncold build of the whole corpus: {builds['cold_build_s']:.1f} s; "
        f"unchanged re-sync: {builds['unchanged_resync_s']:.2f} s; chunks: {len(retriever.chunks)}"
    )
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"rows": rows, "builds": builds}, indent=2) + "\n", encoding="utf-8")
    return 0
