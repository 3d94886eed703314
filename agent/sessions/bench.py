"""Append latency of the session store: `python -m agent.sessions.bench [--appends N] [--clients C]`."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from agent.sessions.models import TurnRecord
from agent.sessions.store import SessionStore, Synchronous


def _state(i: int) -> str:
    """A state of about 8 KB, the size of a mid-interview engine state."""
    return json.dumps({"turn": i, "coverage": {f"point-{k}": k % 3 for k in range(300)}})


def _turns(i: int) -> list[TurnRecord]:
    return [
        TurnRecord(role="candidate", text="We would log impressions and clicks. " * 8, meta={"i": i}),
        TurnRecord(role="interviewer", text="How would you handle position bias?", phase="data", move="probe"),
    ]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(store: SessionStore, appends: int) -> list[float]:
    """Latencies (ms) of `appends` appends of two turns each into one session."""
    sid = store.create(kind="interview", case_id="news-feed", level="senior", state_json=_state(0)).id
    version, out = 1, []
    for i in range(appends):
        started = time.perf_counter()
        version = store.append_turns(sid, _turns(i), _state(i), expected_version=version)
        out.append((time.perf_counter() - started) * 1000)
    return out


def concurrent(store: SessionStore, clients: int, appends: int) -> tuple[list[float], float]:
    """Latencies (ms) and wall time (s) of `clients` threads each appending `appends` times to its own session."""
    sids = [store.create(kind="interview", case_id="c", level="l", state_json="{}").id for _ in range(clients)]
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(sid: str) -> None:
        barrier.wait()
        version, mine = 1, []
        for i in range(appends):
            started = time.perf_counter()
            version = store.append_turns(sid, _turns(i), _state(i), expected_version=version)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=run, args=(sid,)) for sid in sids]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, time.perf_counter() - started


def main() -> None:
    """Print p50/p95 append latency for synchronous=FULL and NORMAL, sequential and concurrent."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    modes: tuple[Synchronous, ...] = ("FULL", "NORMAL")
    for mode in modes:
        with tempfile.TemporaryDirectory() as tmp:
            store = SessionStore(Path(tmp) / "sessions.sqlite3", synchronous=mode, timeout_s=30)
            seq = sequential(store, args.appends)
            con, wall = concurrent(store, args.clients, 20)
            store.close()
        print(
            f"synchronous={mode}: {args.appends} sequential appends p50 {statistics.median(seq):.2f} ms, "
            f"p95 {_pct(seq, 0.95):.2f} ms | {args.clients} clients x 20 appends p50 {statistics.median(con):.2f} ms, "
            f"p95 {_pct(con, 0.95):.2f} ms, {len(con) / wall:.0f} appends/s"
        )


if __name__ == "__main__":
    main()
