"""The fault scenarios' tools: real `interviewer` processes, private mount namespaces, store snapshots."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from evals.procs import env_for, free_port, interviewer_cmd

ROOT = Path(__file__).resolve().parents[1]
CASE = "video-recommendation"
MESSAGES = [
    "How many people use the platform each day?",
    "I'll frame it as ranking: input is the user and context, output a ranked list of videos.",
    "The label is a watch longer than thirty seconds, logged from the homepage impressions.",
    "As a baseline I'd serve popular videos by country, then a two-tower model for candidates.",
    "We split the watch logs by time so the test days come after the training days.",
    "Offline I'd look at recall at k and NDCG, then an A/B test on watch time per user.",
    "Serving: candidates from an ANN index, a ranker under 100 ms, cached for logged-out users.",
    "Monitoring: feature drift, prediction drift, latency and errors, with daily retraining.",
]
"""Plain candidate messages (no markup, so the app shows them verbatim)."""

APP_TIMEOUT_S = 120.0
REPLY_TIMEOUT_S = 60.0


@dataclass
class Outcome:
    """One scenario's result: what the user saw, the turns before and after, and each check."""

    scenario: str
    message: str = ""
    exit_code: int | None = None
    turns_before: int = 0
    turns_after: int = 0
    lost: int = 0
    seconds: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)
    note: str = ""

    @property
    def passed(self) -> bool:
        """Every check held (and there was at least one)."""
        return bool(self.checks) and all(self.checks.values())

    def check(self, name: str, ok: bool) -> bool:
        """Record a named check (a repeated name keeps its first failure)."""
        self.checks[name] = self.checks.get(name, True) and bool(ok)
        return bool(ok)

    def failed(self) -> list[str]:
        """The names of the checks that did not hold."""
        return [name for name, ok in self.checks.items() if not ok]


def last_line(text: str) -> str:
    """The last non-empty line of a process's stderr (progress bars' carriage returns dropped)."""
    lines = [ln.rsplit("\r", 1)[-1].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else ""


def error_lines(text: str) -> list[str]:
    """The `interviewer: error: …` lines of a stderr."""
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("interviewer: error:")]


# -- mount namespaces -----------------------------------------------------------------------------


def unshare_problem() -> str | None:
    """Why private mount namespaces cannot be used here (None when `unshare -m` works)."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "unshare/nsenter (util-linux) not installed"
    try:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare -m failed ({e})"
    if probe.returncode != 0:
        return f"unshare -m cannot mount (needs root or CAP_SYS_ADMIN): {last_line(probe.stderr)}"
    return None


class Namespace:
    """A private mount namespace kept alive by a sleeping holder process; commands run inside with nsenter."""

    def __init__(self, setup: str) -> None:
        """Run the shell `setup` (mounts) in a new mount namespace and keep it until `close`."""
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", f"set -e; {setup}; echo ready; exec sleep 3600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.close()
            raise RuntimeError(f"namespace setup failed: {last_line(err)}")

    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        return ["nsenter", f"--mount=/proc/{self.proc.pid}/ns/mnt", "--"]

    def outside(self, path: Path) -> Path:
        """`path` as seen inside the namespace, reachable from outside through /proc/PID/root."""
        return Path(f"/proc/{self.proc.pid}/root{path}")

    def close(self) -> None:
        """End the holder (its mounts vanish with it)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@contextmanager
def namespace(setup: str) -> Iterator[Namespace]:
    """A `Namespace` closed on exit."""
    ns = Namespace(setup)
    try:
        yield ns
    finally:
        ns.close()


# -- the CLI --------------------------------------------------------------------------------------


@dataclass
class Run:
    """A finished CLI command."""

    code: int
    out: str
    err: str

    @property
    def message(self) -> str:
        """The one line the user saw last on stderr."""
        return last_line(self.err)


def run_cli(
    args: Sequence[str], data_dir: Path, *, stdin: str = "", ns: Namespace | None = None, timeout: float = 300
) -> Run:
    """Run `interviewer ARGS` on `data_dir` (inside `ns` if given) and wait for it."""
    cmd = [*(ns.prefix() if ns else []), *interviewer_cmd(), *args]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env_for(data_dir), input=stdin, capture_output=True, text=True, timeout=timeout
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put("")


class Terminal:
    """An interactive `interviewer interview …` (or another `command`, e.g. "drill") fed through a pipe.

    A reply line is an acknowledged turn.
    """

    def __init__(
        self, args: Sequence[str], data_dir: Path, ns: Namespace | None = None, command: str = "interview"
    ) -> None:
        """Start `interviewer COMMAND ARGS`; its stdout and stderr are read by threads."""
        cmd = [*(ns.prefix() if ns else []), *interviewer_cmd(), command, *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env_for(data_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[str] = queue.Queue()
        self.err_text: list[str] = []
        threading.Thread(target=_pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=_pump, args=(self.proc.stderr, self.errors), daemon=True).start()

    def reply(self, timeout: float = REPLY_TIMEOUT_S) -> str:
        """The next `interviewer: …` line on stdout (raises if the process ends first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not line:
                raise RuntimeError(f"the interviewer exited ({self.proc.wait()}): {self.stderr()[-300:]}")
            if line.startswith("interviewer: "):
                return line.strip()
        raise TimeoutError(f"no reply within {timeout:.0f} s")

    def stderr_line(self, needle: str, timeout: float = REPLY_TIMEOUT_S) -> str:
        """The next stderr line containing `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.errors.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.err_text.append(line)
            if needle in line:
                return line.strip()
            if not line:
                break
        raise TimeoutError(f"no stderr line with {needle!r}")

    def stderr(self) -> str:
        """Everything read from stderr so far (drains the queue)."""
        while True:
            try:
                self.err_text.append(self.errors.get_nowait())
            except queue.Empty:
                return "".join(self.err_text)

    def send(self, text: str) -> None:
        """Type one line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def typing(self, text: str) -> None:
        """Type part of a line (no Enter): the process is reading it when killed."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def kill(self) -> int:
        """SIGKILL the process and reap it; its exit status."""
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Close stdin and wait; (exit status, remaining stdout)."""
        assert self.proc.stdin is not None
        with suppress(BrokenPipeError):
            self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        out: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if not line:
                break
            out.append(line)
        return code, "".join(out)


# -- the app --------------------------------------------------------------------------------------


class App:
    """`interviewer ui --host 127.0.0.1 --port P` as a subprocess on a data folder."""

    def __init__(self, data_dir: Path) -> None:
        """Spawn the app and wait for its first HTTP 200."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [*interviewer_cmd(), "ui", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env_for(data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.errors: queue.Queue[str] = queue.Queue()
        assert self.proc.stderr is not None
        threading.Thread(target=_pump, args=(self.proc.stderr, self.errors), daemon=True).start()
        began = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with status {self.proc.returncode}: {self.stderr()[-300:]}")
            if time.monotonic() - began > APP_TIMEOUT_S:
                self.kill()
                raise RuntimeError(f"the app did not answer within {APP_TIMEOUT_S:.0f} s")
            with (
                suppress(urllib.error.URLError, ConnectionError, TimeoutError, OSError),
                urllib.request.urlopen(self.url, timeout=2) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.05)

    def client(self) -> Any:
        """A gradio_client on the app."""
        from gradio_client import Client

        return Client(self.url, verbose=False, analytics_enabled=False)

    def stderr(self) -> str:
        """The app's stderr so far."""
        out: list[str] = []
        while True:
            try:
                out.append(self.errors.get_nowait())
            except queue.Empty:
                return "".join(out)

    def kill(self) -> int:
        """SIGKILL the app."""
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM the app (SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


# -- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    """What the store holds for one session, and whether it is consistent."""

    status: str
    turn_count: int
    candidate: list[str]
    consistent: bool


def snapshot(db: Path, ns: Namespace | None = None) -> dict[str, SessionView]:
    """Every session in the store at `db`: status, turns, candidate texts and a consistency verdict.

    Consistent: the state parses as an interview state and the stored turns are exactly its turns (a
    session killed between its two opening commits holds the opening in its state only: also fine).
    Inside a namespace the store is read by a process in it (SQLite resolves /proc/PID/root away).
    """
    if ns is not None:
        code = f"from evals.fault_harness import snapshot_json; print(snapshot_json({str(db)!r}))"
        proc = subprocess.run(
            [*ns.prefix(), sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return {sid: SessionView(**view) for sid, view in json.loads(proc.stdout).items()}
    from agent.interview.state import InterviewState
    from agent.sessions import SessionStore

    out: dict[str, SessionView] = {}
    with SessionStore(db) as store:
        for summary in store.list_sessions(limit=10_000):
            rec = store.load(summary.id)
            try:
                state = InterviewState.model_validate_json(rec.state_json)
                texts = [t.text for t in state.turns]
                same = [t.text for t in rec.turns] == texts[: rec.turn_count]
                ok = same and (len(texts) == rec.turn_count or (rec.turn_count == 0 and len(texts) == 1))
            except ValueError:
                ok = False
            candidate = [t.text for t in rec.turns if t.role == "candidate"]
            out[rec.id] = SessionView(rec.status, rec.turn_count, candidate, ok)
    return out


def snapshot_json(db: str) -> str:
    """`snapshot` as JSON (for a reader inside a namespace)."""
    return json.dumps({sid: asdict(view) for sid, view in snapshot(Path(db)).items()})


def file_hashes(folder: Path) -> dict[str, str]:
    """Every file under `folder` (symlinks not followed) with its sha256: compare two to see any write."""
    out: dict[str, str] = {}
    for where, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(where, name)
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def fill_disk(folder: Path, name: str = "filler") -> Path:
    """Write zeros into `folder/name` until the file system is full; return the filler."""
    path = folder / name
    block = b"\0" * 65536
    with open(path, "ab", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError:
                break
        with suppress(OSError):  # the last bytes that still fit
            while f.write(b"\0" * 512):
                pass
    return path


__all__ = [
    "CASE",
    "MESSAGES",
    "ROOT",
    "App",
    "Namespace",
    "Outcome",
    "Run",
    "SessionView",
    "Terminal",
    "env_for",
    "error_lines",
    "file_hashes",
    "fill_disk",
    "free_port",
    "interviewer_cmd",
    "last_line",
    "namespace",
    "run_cli",
    "snapshot",
    "snapshot_json",
    "unshare_problem",
]
