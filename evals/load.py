"""`python -m evals.load`: N simulated candidates drive the real app through `gradio_client` for a bounded time.

The app (`interviewer ui` on 127.0.0.1, a fresh or given data folder, index built first) is a subprocess.
Each candidate is a thread with its own `gradio_client.Client`: start an interview (cases spread over the
fifteen), send a scripted persona's messages with a short think time between them, end and grade the
interview when the script runs out, start the next. Every acknowledged turn is timed; afterwards the
session store is read back and every acknowledged candidate message must be there, in order. With
`--model-faults` the app talks to `evals.fault_server` (timeouts, 429/500/503, garbage) and the
candidates also grade answers through the model; the fallback must hold (zero errors, zero lost turns).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.bench import machine
from evals.procs import env_for, free_port, interviewer_cmd
from evals.retrieval_eval import percentile

APP_TIMEOUT_S = 180.0
POLL_S = 0.01
"""How often a candidate looks at its streaming reply (the resolution of the acknowledgement time)."""
TARGET_P95_S = 1.0
CLIENT_TIMEOUT_S = 120.0
FAKE_KEY = "sk-load-test-not-a-real-key"
MODEL_TIMEOUT_S = 2.0
"""INTERVIEWER_TIMEOUT in the model-fault run; the fault server's hang is longer than this."""
_FALLBACK_NOTE = re.compile(r"model unavailable \(([^)]*)\)")


def _note(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


# -- what the candidates record ---------------------------------------------------------------------


@dataclass
class Visit:
    """One interview of one candidate: its session and the candidate messages the app acknowledged."""

    session_id: str
    case_id: str
    sent: list[str] = field(default_factory=list)
    ended: bool = False


@dataclass
class Tally:
    """Everything the candidates measured, shared between their threads (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ack_s: list[float] = field(default_factory=list)
    done_s: list[float] = field(default_factory=list)
    other_s: dict[str, list[float]] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)
    grades: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def turn(self, ack: float, done: float) -> None:
        """Record one acknowledged turn."""
        with self.lock:
            self.ack_s.append(ack)
            self.done_s.append(done)

    def call(self, api: str, seconds: float) -> None:
        """Record the latency of a start, end or grade call."""
        with self.lock:
            self.other_s.setdefault(api, []).append(seconds)

    def error(self, api: str, e: BaseException) -> None:
        """Record a failed call."""
        with self.lock:
            self.errors.append(f"{api}: {type(e).__name__}: {' '.join(str(e).split())[:300]}")


# -- one simulated candidate ------------------------------------------------------------------------


def load_scripts() -> dict[str, list[tuple[str, list[str]]]]:
    """Per case, the (level, messages) of every scripted persona on it (evals/interviews/personas.jsonl)."""
    from evals.interview_eval import load_personas

    scripts: dict[str, list[tuple[str, list[str]]]] = {}
    for p in load_personas():
        scripts.setdefault(p.case, []).append((p.level, [t for t in p.turns if t.strip()]))
    return scripts


def client_for(url: str) -> Any:
    """A `gradio_client.Client` that waits as long as a browser would (httpx's 5 s read timeout is no app error)."""
    from gradio_client import Client

    return Client(
        url,
        verbose=False,
        download_files=False,
        analytics_enabled=False,
        max_workers=2,
        httpx_kwargs={"timeout": CLIENT_TIMEOUT_S},
    )


class Candidate:
    """One simulated candidate: its own client, a seeded think time, interviews until the deadline."""

    def __init__(self, index: int, url: str, tally: Tally, scripts: dict[str, list[tuple[str, list[str]]]], cfg: Any):
        """Connect a `gradio_client.Client` to `url` (done before the clock starts)."""
        self.index = index
        self.tally = tally
        self.scripts = scripts
        self.cfg = cfg
        self.rng = random.Random(cfg.seed * 1000 + index)
        self.client = client_for(url)

    def _think(self, stop: threading.Event, deadline: float) -> None:
        low, high = self.cfg.think
        stop.wait(min(self.rng.uniform(low, high), max(0.0, deadline - time.monotonic())))

    def _call(self, api: str, *args: Any) -> Any:
        began = time.perf_counter()
        out = self.client.predict(*args, api_name=f"/{api}")
        self.tally.call(api, time.perf_counter() - began)
        return out

    def _send(self, text: str, sid: str) -> tuple[Any, ...]:
        """Send one message; time the acknowledgement (first interviewer words: the turn is committed) and the end."""
        began = time.perf_counter()
        job = self.client.submit(text, sid, api_name="/send")
        ack: float | None = None
        while not job.done():
            if ack is None and len(job.outputs()) >= 2:  # the 2nd update is the reply, sent after the commit
                ack = time.perf_counter() - began
            time.sleep(POLL_S)
        out = job.result()
        done = time.perf_counter() - began
        self.tally.turn(done if ack is None else ack, done)
        return tuple(out)

    def run(self, deadline: float, stop: threading.Event) -> None:
        """Interview after interview until the deadline; every failure is recorded and the next interview starts."""
        from knowledge.ids import CASE_IDS

        stop.wait(self.cfg.ramp_s * self.index / max(1, self.cfg.clients))  # arrivals spread over the ramp
        cycle = 0
        while time.monotonic() < deadline and not stop.is_set():
            case_id = CASE_IDS[(self.index + cycle) % len(CASE_IDS)]
            level, messages = self.scripts[case_id][(self.index // len(CASE_IDS) + cycle) % len(self.scripts[case_id])]
            cycle += 1
            self._interview(case_id, level, messages, deadline, stop)

    def _interview(self, case_id: str, level: str, messages: list[str], deadline: float, stop: threading.Event) -> None:
        try:
            sid = self._call("start", case_id, level, "Mock interview")[0]
        except Exception as e:  # every failure of the app is what this run counts
            self.tally.error("start", e)
            stop.wait(0.5)
            return
        visit = Visit(session_id=str(sid), case_id=case_id)
        with self.tally.lock:
            self.tally.visits.append(visit)
        finished = False
        for text in messages:
            self._think(stop, deadline)
            if time.monotonic() >= deadline or stop.is_set():
                return
            try:
                out = self._send(text, visit.session_id)
            except Exception as e:
                self.tally.error("send", e)
                return
            visit.sent.append(text)
            head = out[5] if len(out) > 5 else None
            finished = isinstance(head, str) and "Overall" in head
            if self.cfg.grade_chance and self.rng.random() < self.cfg.grade_chance:
                self._grade(case_id, level, visit)
            if finished:
                break
        if time.monotonic() < deadline and not stop.is_set() and not finished:
            try:
                self._call("end", visit.session_id)
                visit.ended = True
            except Exception as e:
                self.tally.error("end", e)

    def _grade(self, case_id: str, level: str, visit: Visit) -> None:
        answer = "\n\n".join(visit.sent)
        try:
            out = self._call("grade", answer, None, case_id, level)
        except Exception as e:
            self.tally.error("grade", e)
            return
        with self.tally.lock:
            self.tally.grades.append((str(out[4]), answer))


# -- the app ----------------------------------------------------------------------------------------


def app_env(data_dir: Path, provider: str, base_url: str | None, *, model_timeout_s: float) -> dict[str, str]:
    """The app's environment: the data folder, the provider and, for a model, its endpoint and short timeouts."""
    env = env_for(data_dir)
    if provider == "openai":
        env.update(
            {
                "INTERVIEWER_PROVIDER": "openai",
                "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY") or FAKE_KEY,
                "INTERVIEWER_TIMEOUT": str(model_timeout_s),
                "INTERVIEWER_MAX_RETRIES": "0",
            }
        )
        if base_url:
            env["OPENAI_BASE_URL"] = base_url
    return env


def build_index(env: dict[str, str]) -> float:
    """`interviewer index` in the run's data folder (cold: ~17 s; unchanged: ~0.5 s); returns the seconds."""
    began = time.perf_counter()
    done = subprocess.run([*interviewer_cmd(), "index"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"interviewer index failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - began


class App:
    """`interviewer ui` on 127.0.0.1 at a free port, as a subprocess; its output goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        """Spawn the app and wait for its first HTTP 200."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        began = time.perf_counter()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*interviewer_cmd(), "ui", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - began

    def _wait(self) -> None:
        began = time.perf_counter()
        while time.perf_counter() - began < APP_TIMEOUT_S:
            if self.proc.poll() is not None:
                tail = self.log.read_text(encoding="utf-8", errors="replace").strip()[-500:]
                raise RuntimeError(f"the app exited with status {self.proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the app did not answer within {APP_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """Terminate the app (kill it if it does not stop within 15 s)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the run ----------------------------------------------------------------------------------------


def _drive(url: str, cfg: Any, tally: Tally) -> float:
    """Connect the candidates, let them arrive over the ramp, print progress; return the seconds the run took."""
    scripts = load_scripts()
    _note(f"connecting {cfg.clients} clients")
    with ThreadPoolExecutor(max_workers=min(16, cfg.clients)) as pool:
        candidates = list(pool.map(lambda i: Candidate(i, url, tally, scripts, cfg), range(cfg.clients)))
    stop = threading.Event()
    began = time.monotonic()
    deadline = began + cfg.seconds
    threads = [
        threading.Thread(target=c.run, args=(deadline, stop), name=f"candidate-{c.index}", daemon=True)
        for c in candidates
    ]
    for t in threads:
        t.start()
    last = 0
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=max(0.0, cfg.progress_s / len(threads)))
            now = time.monotonic() - began
            if now - last >= cfg.progress_s:
                last = int(now)
                with tally.lock:
                    recent = tally.ack_s[-200:]
                    turns, errors = len(tally.ack_s), len(tally.errors)
                p95 = f"{percentile(recent, 95) * 1000:.0f} ms" if recent else "-"
                _note(f"{now:5.1f} s  turns {turns}  errors {errors}  p95 of the last {len(recent)}: {p95}")
    except KeyboardInterrupt:
        stop.set()
        raise
    return time.monotonic() - began


def check_store(db: Path, tally: Tally) -> dict[str, Any]:
    """Every acknowledged turn of every session (and every acknowledged grading) in the store, in order."""
    from agent.sessions import SessionStore
    from agent.sessions.errors import SessionNotFound

    lost = extra = short = missing_sessions = 0
    voices: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    grades: Counter[str] = Counter()
    lost_examples: list[str] = []
    with SessionStore(db) as store:
        for v in tally.visits:
            try:
                record = store.load(v.session_id)
            except SessionNotFound:
                missing_sessions += 1
                lost += len(v.sent)
                continue
            stored = [" ".join(t.text.split()) for t in record.turns if t.role == "candidate"]
            j = 0
            for text in (" ".join(s.split()) for s in v.sent):
                while j < len(stored) and stored[j] != text:
                    j += 1
                if j == len(stored):
                    lost += 1
                    lost_examples.append(f"{v.session_id}: {text[:60]}")
                else:
                    j += 1
            extra += max(0, len(stored) - len(v.sent))
            short += int(record.turn_count < 2 * len(v.sent) + 1)
            for t in record.turns[1:]:
                if t.role == "interviewer" and t.move != "debrief":
                    voices[_voice_of(t.meta)] += 1
                    if t.meta.get("first_failure"):  # a bad first reply, retried once
                        retried[f"retried:{t.meta['first_failure']}"] += 1
        for sid, answer in tally.grades:
            try:
                record = store.load(sid)
            except SessionNotFound:
                lost += 1
                continue
            if [t.text for t in record.turns if t.role == "candidate"] != [answer]:
                lost += 1
            grades[_grade_outcome(record.state_json)] += 1
    return {
        "lost_turns": lost,
        "lost_examples": lost_examples[:10],
        "unacknowledged_but_stored": extra,
        "sessions_with_too_few_turns": short,
        "missing_sessions": missing_sessions,
        "interviewer_turns_by_voice": dict(voices.most_common()),
        "interviewer_retries_by_first_failure": dict(retried.most_common()),
        "gradings_by_outcome": dict(grades.most_common()),
    }


def _voice_of(meta: dict[str, Any]) -> str:
    """The voice of one interviewer turn's meta: "model", "fallback:<why>" "offline (no model call)"."""
    if "voice" not in meta:
        return "offline (no model call)"
    return "model" if meta["voice"] == "model" else f"fallback:{meta.get('fallback', '?')}"


def _grade_outcome(state_json: str) -> str:
    card = json.loads(state_json).get("scorecard") or {}
    if card.get("grader") == "model":
        return "model"
    for note in card.get("notes", []):
        found = _FALLBACK_NOTE.search(note)
        if found:  # "model unavailable (timeout, after one retry); offline grade"
            return f"fallback:{found.group(1).split(',')[0].strip()}"
    return "offline (no model call)"


def _ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": max(ms)}


def run_load(cfg: argparse.Namespace) -> dict[str, Any]:
    """Start the app (and the fault server), drive it, check the store; return every figure as a dict."""
    from agent.settings import Settings

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="interviewer-load-") as tmp:
        data_dir = Path(cfg.data_dir) if cfg.data_dir else Path(tmp) / "data"
        faults = None
        base_url = cfg.base_url
        if cfg.model_faults:
            from evals.fault_server import FaultServer

            faults = FaultServer(seed=cfg.seed, timeout_after_s=MODEL_TIMEOUT_S + 1.5).start()
            base_url = faults.base_url
            _note(f"fault server on {base_url}")
        try:
            env = app_env(data_dir, cfg.provider, base_url, model_timeout_s=MODEL_TIMEOUT_S)
            _note(f"building the index in {data_dir}")
            index_s = build_index(env)
            app = App(env, Path(tmp) / "app.log")
            _note(f"app up at {app.url} in {app.startup_s:.1f} s")
            tally = Tally()
            try:
                warm = _warm_up(app.url) if cfg.warm_up else 0.0
                elapsed = _drive(app.url, cfg, tally)
            finally:
                app.stop()
        finally:
            if faults is not None:
                faults.stop()
        store = check_store(Settings.from_env({"INTERVIEWER_DATA_DIR": str(data_dir)}).sessions_db, tally)
    ack = _ms(tally.ack_s)
    return {
        "machine": machine(),
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "config": {
            "clients": cfg.clients,
            "seconds": cfg.seconds,
            "think_s": list(cfg.think),
            "ramp_s": cfg.ramp_s,
            "grade_chance": cfg.grade_chance,
            "provider": "openai (fault server)" if cfg.model_faults else cfg.provider,
            "model_timeout_s": MODEL_TIMEOUT_S if cfg.provider == "openai" else None,
            "seed": cfg.seed,
            "warm_up": cfg.warm_up,
        },
        "index_s": index_s,
        "app_startup_s": app.startup_s,
        "warm_up_s": warm,
        "elapsed_s": elapsed,
        "turns_acknowledged": len(tally.ack_s),
        "turns_per_s": len(tally.ack_s) / elapsed if elapsed else 0.0,
        "turn_ack": ack,
        "turn_complete": _ms(tally.done_s),
        "calls": {api: _ms(v) for api, v in sorted(tally.other_s.items())},
        "interviews": len(tally.visits),
        "interviews_ended": sum(v.ended for v in tally.visits),
        "errors": len(tally.errors),
        "error_examples": tally.errors[:10],
        **store,
        "fault_server_answers": dict(sorted(faults.tally.items())) if faults is not None else None,
        "p95_target_met": bool(ack.get("p95_ms", 1e9) < TARGET_P95_S * 1000),
        "total_s": time.perf_counter() - started,
    }


def _warm_up(url: str) -> float:
    """One turn on each case, and one end, before the clock starts: the app embeds a case's points on its
    first turn (~0.7 s once per case and process), which is start-up cost, not turn latency."""
    from knowledge.ids import CASE_IDS

    began = time.perf_counter()
    client = client_for(url)
    for case_id in CASE_IDS:
        sid = client.predict(case_id, "senior", "Mock interview", api_name="/start")[0]
        client.predict(
            "What is the goal, how many users are there and what is the latency budget?", sid, api_name="/send"
        )
    client.predict(sid, api_name="/end")
    return time.perf_counter() - began


def format_table(r: dict[str, Any]) -> str:
    """The machine line and the figures as one markdown table."""
    m, c, ack, done = r["machine"], r["config"], r["turn_ack"], r["turn_complete"]

    def lat(d: dict[str, float]) -> str:
        return f"{d['p50_ms']:.0f} / {d['p95_ms']:.0f} / {d['max_ms']:.0f} ms" if d.get("n") else "-"

    rows = [
        ("clients", str(c["clients"])),
        ("provider", str(c["provider"])),
        ("think time between turns", f"{c['think_s'][0]:g}-{c['think_s'][1]:g} s"),
        ("arrivals spread over", f"{c['ramp_s']:g} s"),
        ("duration", f"{r['elapsed_s']:.1f} s (asked {c['seconds']:g} s)"),
        ("turns acknowledged", str(r["turns_acknowledged"])),
        ("turns/s", f"{r['turns_per_s']:.1f}"),
        ("turn p50 / p95 / max, send → first reply words (committed)", lat(ack)),
        ("turn p50 / p95 / max, send → whole streamed reply", lat(done)),
    ]
    rows += [(f"{api} p50 / p95 / max ({d['n']} calls)", lat(d)) for api, d in r["calls"].items()]
    rows += [
        ("interviews started / ended", f"{r['interviews']} / {r['interviews_ended']}"),
        ("errors", str(r["errors"])),
        ("lost turns", str(r["lost_turns"])),
        ("interviewer turns by voice", ", ".join(f"{k} {v}" for k, v in r["interviewer_turns_by_voice"].items())),
    ]
    if r.get("interviewer_retries_by_first_failure"):
        retries = r["interviewer_retries_by_first_failure"]
        rows.append(("interviewer retries (first failure)", ", ".join(f"{k} {v}" for k, v in retries.items())))
    if r["gradings_by_outcome"]:
        rows.append(("gradings by outcome", ", ".join(f"{k} {v}" for k, v in r["gradings_by_outcome"].items())))
    if r["fault_server_answers"]:
        rows.append(("fault server answers", ", ".join(f"{k} {v}" for k, v in r["fault_server_answers"].items())))
    rows.append(("p95 (first reply words) < 1 s", "yes" if r["p95_target_met"] else "NO"))
    la = r["load_average_1min"]
    head = (
        f"machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}, Python {m['python']}; "
        f"1-min load average {la['before']:.1f} before, {la['after']:.1f} after"
    )
    width = max(len(k) for k, _ in rows)
    vwidth = max(len(v) for _, v in rows)
    lines = [
        head,
        "",
        f"| {'figure'.ljust(width)} | {'value'.ljust(vwidth)} |",
        f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|",
    ]
    lines += [f"| {k.ljust(width)} | {v.ljust(vwidth)} |" for k, v in rows]
    for e in r["error_examples"]:
        lines.append(f"error: {e}")
    for e in r["lost_examples"]:
        lines.append(f"lost: {e}")
    return "\n".join(lines)


def _think(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"think time must look like 1-4 (seconds), got {text!r}") from None
    if pair[0] < 0 or pair[1] < pair[0]:
        raise argparse.ArgumentTypeError(f"think time must be LOW-HIGH with 0 <= LOW <= HIGH, got {text!r}")
    return pair


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m evals.load`."""
    p = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent simulated candidates (default 50)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long new turns are sent (default 60)")
    p.add_argument("--think", type=_think, default=(1.0, 4.0), help="think time between turns, LOW-HIGH s (1-4)")
    p.add_argument("--ramp", dest="ramp_s", type=float, default=5.0, help="seconds over which candidates arrive (5)")
    p.add_argument("--data-dir", help="data folder for the app (default: a fresh temporary one)")
    p.add_argument("--provider", choices=("offline", "openai"), default="offline")
    p.add_argument("--base-url", help="OPENAI_BASE_URL for --provider openai")
    p.add_argument("--model-faults", action="store_true", help="the app talks to a misbehaving local endpoint")
    p.add_argument("--grade-chance", type=float, default=None, help="chance of a /grade after a turn")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-warm-up", dest="warm_up", action="store_false", help="measure first turns on each case too")
    p.add_argument("--progress-s", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--out", help="also write the results as JSON here")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and complete the arguments (--model-faults implies the openai provider and some gradings)."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.ramp_s < 0:
        p.error("--clients must be at least 1, --seconds positive and --ramp not negative")
    if args.model_faults:
        if args.base_url:
            p.error("--model-faults starts its own endpoint; leave out --base-url")
        args.provider = "openai"
    if args.grade_chance is None:
        args.grade_chance = 0.3 if args.provider == "openai" else 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test, print the table, optionally save JSON; non-zero when any turn failed or was lost."""
    cfg = parse_args(argv)
    try:
        results = run_load(cfg)
    except RuntimeError as e:
        print(f"load: error: {e}", file=sys.stderr)
        return 2
    print(format_table(results))
    if cfg.out:
        Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        _note(f"results -> {cfg.out}")
    return 1 if results["errors"] or results["lost_turns"] else 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["check_store", "format_table", "main", "parse_args", "run_load"]
