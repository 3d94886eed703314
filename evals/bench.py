"""`interviewer bench`: every performance figure measured in one run, with the machine described.

Figures: offline interview turn latency (scripted personas), grading latency and batch throughput,
cold index build and unchanged re-sync, query latency per retrieval method, app start-up time and
peak memory of a process holding the index, the embedder and the app.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from evals.procs import env_for, free_port, interviewer_cmd
from evals.retrieval_eval import percentile

T = TypeVar("T")

# Counts: (full, quick).
PERSONAS = (20, 2)
GRADE_WARM = (10, 3)
GRADE_BATCH = (50, 6)
QUERIES = (172, 20)
APP_TIMEOUT_S = 180.0


def _progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    return iter(tqdm(items, desc=desc, total=total, unit="it", file=sys.stderr, leave=False))


def _note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model (from /proc/cpuinfo) and Python version."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count() or 0,
        "ram_gb": round(ram_gb, 1),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _ms(seconds: list[float]) -> dict[str, float]:
    values = [s * 1000 for s in seconds]
    return {"p50_ms": statistics.median(values), "p95_ms": percentile(values, 95), "n": len(values)}


def bench_interviews(embedder: Any, count: int) -> dict[str, float]:
    """Per-turn latency of the offline interviewer over full scripted interviews (finish included)."""
    from agent.interview.engine import finish, start, step
    from evals.interview_eval import load_personas

    personas = load_personas()[:count]
    latencies: list[float] = []
    for persona in _progress(personas, "interviews"):
        state, _ = start(persona.case, persona.level, clock="turns", turn_budget=len(persona.turns) + 1)
        for text in persona.turns:
            if state.finished:
                break
            began = time.perf_counter()
            state, _ = step(state, text, embedder=embedder)
            latencies.append(time.perf_counter() - began)
        if not state.finished:
            state = finish(state, embedder=embedder)
    return {**_ms(latencies), "interviews": len(personas)}


def bench_grading(embedder: Any, warm: int, batch: int) -> dict[str, float]:
    """Median warm latency for one ~800-word answer, and batch throughput in answers/s."""
    from agent.grading.offline import grade_answer
    from evals.grading_bench import synthetic_answer
    from knowledge.ids import CASE_IDS

    answers = [
        (CASE_IDS[i % len(CASE_IDS)], synthetic_answer(CASE_IDS[i % len(CASE_IDS)], 800, i)) for i in range(batch)
    ]
    used = sorted({cid for cid, _ in answers})  # warm: corpus and the point embeddings of every case used
    for case_id in _progress(used, "grading warm-up"):
        grade_answer(answers[0][1], case_id, embedder=embedder)
    case_id, text = answers[0]
    timings = []
    for _ in range(warm):
        began = time.perf_counter()
        grade_answer(text, case_id, embedder=embedder)
        timings.append(time.perf_counter() - began)
    began = time.perf_counter()
    for cid, answer in _progress(answers, "grading batch"):
        grade_answer(answer, cid, embedder=embedder)
    elapsed = time.perf_counter() - began
    return {
        "words": len(text.split()),
        "single_median_ms": statistics.median(timings) * 1000,
        "single_n": warm,
        "batch_n": batch,
        "batch_answers_per_s": batch / elapsed,
    }


def bench_index(data_dir: Path) -> tuple[dict[str, float], Any]:
    """Cold build in an empty data folder (ONNX graph included), then an unchanged re-sync; returns the index."""
    from agent.kb import open_index, sync_index
    from agent.settings import Settings

    settings = Settings.from_env({"INTERVIEWER_DATA_DIR": str(data_dir)})
    _note("cold index build (fresh data folder)")
    began = time.perf_counter()
    index = open_index(settings, notify=lambda _m: None)
    stats = sync_index(index, show_progress=True)
    cold = time.perf_counter() - began
    began = time.perf_counter()
    index = open_index(settings, notify=lambda _m: None)
    sync_index(index, show_progress=False)
    warm = time.perf_counter() - began
    return {"cold_build_s": cold, "warm_resync_s": warm, "chunks": stats.chunks}, index


def bench_queries(index: Any, count: int) -> dict[str, dict[str, float]]:
    """p50/p95 query latency of each method over the retrieval eval queries (k=5, no filter)."""
    from evals.retrieval_eval import load_queries
    from knowledge.retrieval import METHODS, Retriever, SearchFilters

    retriever = Retriever(index)
    retriever.search("warm up the embedder", k=1, method="dense")
    queries = load_queries()[:count]
    out: dict[str, dict[str, float]] = {}
    for method in METHODS:
        timings = []
        for q in _progress(queries, f"queries {method}"):
            began = time.perf_counter()
            retriever.search(q.query, k=5, filters=SearchFilters(), method=method)
            timings.append(time.perf_counter() - began)
        out[method] = _ms(timings)
    return out


def bench_startup(data_dir: Path) -> dict[str, float]:
    """Seconds from spawning `interviewer ui --port P` to the first HTTP 200 on 127.0.0.1."""
    port = free_port()
    _note(f"app start-up (interviewer ui --port {port})")
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*interviewer_cmd(), "ui", "--port", str(port)],
        env=env_for(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while True:
            elapsed = time.perf_counter() - began
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"the app exited with status {proc.returncode}: {err.strip()[-500:]}")
            if elapsed > APP_TIMEOUT_S:
                raise RuntimeError(f"the app did not answer within {APP_TIMEOUT_S:.0f} s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return {"startup_s": time.perf_counter() - began, "port": port}
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_PROBE = """
import resource, sys
from agent.kb import open_index, sync_index
from agent.settings import Settings
from knowledge.retrieval import Retriever
from ui.app import build_app
s = Settings.from_env()
index = open_index(s, notify=lambda _m: None)
sync_index(index, show_progress=False)
r = Retriever(index)
r.search("how do we monitor drift", k=5, method="hybrid")
app = build_app(s)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(data_dir: Path) -> dict[str, float]:
    """Peak RSS (MB) of a process that loads the index, the embedder (one query) and builds the app."""
    _note("peak memory (index + embedder + app in a subprocess)")
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env_for(data_dir), capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"memory probe failed: {result.stderr.strip()[-500:]}")
    kb = int(result.stdout.strip().splitlines()[-1])
    return {"peak_rss_mb": kb / 1024}


def run_bench(quick: bool = False) -> dict[str, Any]:
    """Measure every figure in this run and return them (with the machine) as a dict."""
    pick = 1 if quick else 0
    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interviewer-bench-") as tmp:
        data_dir = Path(tmp)
        results["index"], index = bench_index(data_dir)
        results["queries"] = bench_queries(index, QUERIES[pick])
        embedder = index.embedder
        _note("interview turns")
        results["interview"] = bench_interviews(embedder, PERSONAS[pick])
        _note("grading")
        results["grading"] = bench_grading(embedder, GRADE_WARM[pick], GRADE_BATCH[pick])
        results["app"] = bench_startup(data_dir)
        results["memory"] = bench_memory(data_dir)
    results["total_s"] = time.perf_counter() - started
    return results


def format_table(r: dict[str, Any]) -> str:
    """The machine line and one table of figures."""
    m = r["machine"]
    q = r["queries"]
    rows = [
        (
            "interview turn latency (offline)",
            f"p50 {r['interview']['p50_ms']:.1f} ms / p95 {r['interview']['p95_ms']:.1f} ms",
            f"{r['interview']['n']} turns, {r['interview']['interviews']} scripted interviews",
        ),
        (
            "grading, one answer (warm)",
            f"median {r['grading']['single_median_ms']:.0f} ms",
            f"{r['grading']['words']} words, median of {r['grading']['single_n']}",
        ),
        (
            "grading, batch throughput",
            f"{r['grading']['batch_answers_per_s']:.1f} answers/s",
            f"{r['grading']['batch_n']} answers of ~800 words",
        ),
        (
            "index build, cold",
            f"{r['index']['cold_build_s']:.1f} s",
            f"fresh data folder, ONNX graph included, {r['index']['chunks']} chunks",
        ),
        ("index re-sync, unchanged", f"{r['index']['warm_resync_s'] * 1000:.0f} ms", "nothing to embed"),
    ]
    for method in ("hybrid", "dense", "bm25"):
        if method in q:
            rows.append(
                (
                    f"query latency, {method}",
                    f"p50 {q[method]['p50_ms']:.1f} ms / p95 {q[method]['p95_ms']:.1f} ms",
                    f"{q[method]['n']} eval queries, k=5",
                )
            )
    rows += [
        ("app start-up", f"{r['app']['startup_s']:.1f} s", "spawn `interviewer ui` to first HTTP 200"),
        ("peak memory (RSS)", f"{r['memory']['peak_rss_mb']:.0f} MB", "index + embedder + app built"),
    ]
    head = f"machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}, Python {m['python']}" + (
        " (--quick)" if r.get("quick") else ""
    )
    widths = [max(len(row[i]) for row in [("figure", "value", "how"), *rows]) for i in range(3)]
    lines = [head, ""]
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(("figure", "value", "how"), widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    lines.append("")
    lines.append(f"total bench time: {r['total_s']:.0f} s")
    return "\n".join(lines)


def main(quick: bool = False, out: str | None = None) -> int:
    """Run the benchmark, print the table, optionally save JSON; return an exit status."""
    results = run_bench(quick=quick)
    print(format_table(results))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        _note(f"results -> {out}")
    return 0


__all__ = ["format_table", "machine", "main", "run_bench"]
