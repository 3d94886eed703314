"""`interviewer bench --quick`: every figure is present, positive and plausible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-c", "from agent.cli import main; main()", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text(encoding="utf-8"))

    m = r["machine"]
    assert m["cores"] >= 1 and m["ram_gb"] > 0 and m["cpu"] and m["python"].startswith("3.")
    assert r["quick"] is True

    for block in (r["interview"], *r["queries"].values()):
        assert 0 < block["p50_ms"] <= block["p95_ms"] < 60_000
        assert block["n"] >= 1
    assert set(r["queries"]) == {"hybrid", "dense", "bm25"}
    assert r["interview"]["interviews"] >= 1

    g = r["grading"]
    assert 700 <= g["words"] <= 1000
    assert 0 < g["single_median_ms"] < 60_000
    assert 0 < g["batch_answers_per_s"] < 10_000 and g["batch_n"] >= 1

    idx = r["index"]
    assert idx["chunks"] > 0
    assert 0 < idx["warm_resync_s"] < idx["cold_build_s"] < 900

    assert 0 < r["app"]["startup_s"] < 180
    assert 50 < r["memory"]["peak_rss_mb"] < 16_000

    # the printed table names every figure and the machine
    for label in (
        "machine:",
        "interview turn latency",
        "grading, one answer",
        "batch throughput",
        "index build",
        "re-sync",
        "query latency, hybrid",
        "query latency, dense",
        "query latency, bm25",
        "app start-up",
        "peak memory",
    ):
        assert label in proc.stdout
