"""`python -m evals.faults [--out FILE]`: crash and disk-fault scenarios against real `interviewer` processes.

Each scenario runs the real CLI or app in a temporary data folder, injects one fault (SIGKILL mid-turn, a
full disk, a read-only folder, a locked, corrupt or half-built store or index) and checks what the user
saw (one line, the exit status), that no acknowledged turn was lost, that the store is consistent and
never overwritten, and that work continues once the fault is gone. Full-disk and read-only folders are
made in private mount namespaces (`unshare -m`, root only). Prints one table row per scenario.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stderr, suppress
from pathlib import Path
from typing import Any

from evals.fault_harness import (
    CASE,
    MESSAGES,
    ROOT,
    App,
    Namespace,
    Outcome,
    Terminal,
    env_for,
    error_lines,
    file_hashes,
    fill_disk,
    interviewer_cmd,
    namespace,
    run_cli,
    snapshot,
    unshare_problem,
)

DB = "sessions.sqlite3"
BATCH_LINE = {"id": "a1", "case": CASE, "answer": "A two-tower model for candidates, then a ranker; monitor drift."}


def _data_dir(base: Path, work: Path, *, index: bool = False, cache: bool = True) -> Path:
    """A fresh data folder under `work` sharing the base's embedder cache (a symlink) and copying its index."""
    data = work / "data"
    data.mkdir(parents=True)
    if cache:
        (data / "cache").symlink_to(base / "cache", target_is_directory=True)
    if index:
        shutil.copytree(base / "index", data / "index")
    return data


def _paused_session(data: Path, replies: int = 2) -> str:
    """An active session with `replies` answered messages, left with /pause; its id."""
    text = "\n".join([*MESSAGES[:replies], "/pause"]) + "\n"
    run = run_cli(["interview", "--case", CASE], data, stdin=text)
    if run.code != 0:
        raise RuntimeError(f"could not prepare a session: {run.message}")
    (sid,) = list(snapshot(data / DB))
    return sid


def _one_line(out: Outcome, name: str, err: str) -> None:
    """Check the command printed exactly one error line and no traceback."""
    out.check(f"{name}: one error line, no traceback", len(error_lines(err)) == 1 and "Traceback" not in err)


# -- a: the app killed while turns are in flight ------------------------------------------------


def app_sigkill(base: Path, work: Path, clients: int = 4, acks_each: int = 2) -> Outcome:
    """Several clients mid-interview; SIGKILL the app with turns in flight; restart; every client resumes."""
    out = Outcome("app SIGKILL mid-turn, restart, resume")
    data = _data_dir(base, work)
    acked: dict[str, list[str]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def drive(n: int) -> None:
        try:
            client = app.client()
            sid, *_ = client.predict(CASE, "senior", "Mock interview", api_name="/start")
            with lock:
                acked[sid] = []
            for i in range(len(MESSAGES)):
                if stop.is_set():
                    return
                client.predict(f"[{n}] {MESSAGES[i]}", sid, api_name="/send")
                with lock:
                    acked[sid].append(f"[{n}] {MESSAGES[i]}")  # the reply arrived: acknowledged
        except Exception:  # the app was killed under this client
            return

    app = App(data)
    threads = [threading.Thread(target=drive, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with lock:
            if len(acked) == clients and all(len(v) >= acks_each for v in acked.values()):
                break
        time.sleep(0.02)
    with redirect_stderr(io.StringIO()):  # gradio_client's stream thread prints the reset connection
        code = app.kill()  # the clients are still sending: their turns are in flight
        stop.set()
        for t in threads:
            t.join(timeout=30)
        time.sleep(0.5)
    out.exit_code = code
    out.message = f"app killed (status {code}) with {clients} clients mid-turn"
    with lock:
        expected = {sid: list(msgs) for sid, msgs in acked.items()}
    out.turns_before = sum(len(v) for v in expected.values())
    out.check("the app died of SIGKILL", code == -9)
    out.check("every client was acknowledged", len(expected) == clients)
    stored = snapshot(data / DB)
    kept = 0
    for sid, msgs in expected.items():
        view = stored.get(sid)
        ok = view is not None and view.candidate[: len(msgs)] == msgs
        kept += sum(1 for m in msgs if view is not None and m in view.candidate)
        out.check("acknowledged turns stored in order", ok)
    out.check("every stored session is consistent", all(v.consistent for v in stored.values()))
    out.lost = out.turns_before - kept
    extra = sum(len(stored[sid].candidate) - len(msgs) for sid, msgs in expected.items() if sid in stored)
    out.note = f"{extra} in-flight turn(s) stored whole before the kill, without a reply reaching the client"

    app = App(data)
    try:
        finished = 0
        for sid, msgs in expected.items():
            client = app.client()
            resumed = client.predict(sid, api_name="/resume")
            chat = html.unescape(json.dumps(resumed[1], ensure_ascii=False))
            out.check("resume shows every acknowledged turn", resumed[0] == sid and all(m in chat for m in msgs))
            chat_after, *_ = client.predict("And how would we roll it out safely?", sid, api_name="/send")
            out.check("the interview continues", "safely" in json.dumps(chat_after[-2:]))
            ended = client.predict(sid, api_name="/end")
            finished += "Overall" in str(ended[4]) or "overall" in str(ended[4]).lower()
        out.check("every resumed interview reaches a scorecard", finished == len(expected))
    finally:
        app.stop()
    after = snapshot(data / DB)
    out.turns_after = sum(len(after[sid].candidate) for sid in expected if sid in after)
    out.check("all sessions finished", all(after[sid].status == "finished" for sid in expected))
    return out


# -- b: the terminal interview killed, twice ----------------------------------------------------


def terminal_sigkill(base: Path, work: Path) -> Outcome:
    """`interviewer interview` on a pipe SIGKILLed mid-turn, resumed, killed again, resumed to the scorecard."""
    out = Outcome("terminal SIGKILL mid-turn (twice), resume")
    data = _data_dir(base, work)
    acked: list[str] = []
    term = Terminal(["--case", CASE], data)
    term.reply()  # the opening
    for m in MESSAGES[:2]:
        term.send(m)
        term.reply()
        acked.append(m)
    term.send(MESSAGES[2])  # in flight
    out.check("killed by SIGKILL", term.kill() == -9)
    (sid,) = list(snapshot(data / DB))
    view = snapshot(data / DB)[sid]
    out.check("acknowledged turns kept after kill 1", view.candidate[:2] == acked and view.consistent)
    done = len(view.candidate)
    acked = view.candidate[:]  # an in-flight turn that made it is now part of the interview

    term = Terminal(["--resume", sid], data)
    banner = term.stderr_line("resuming session")
    out.check("resume says where it stands", f"{done} answer" in banner)
    term.reply()  # the last interviewer turn, repeated
    for m in MESSAGES[done : done + 2]:
        term.send(m)
        term.reply()
        acked.append(m)
    term.send(MESSAGES[done + 2])
    out.check("killed by SIGKILL", term.kill() == -9)
    view = snapshot(data / DB)[sid]
    out.turns_before = len(acked)
    out.check("acknowledged turns kept after kill 2", view.candidate[: len(acked)] == acked and view.consistent)

    rest = MESSAGES[len(view.candidate) :]
    final = Terminal(["--resume", sid], data)
    final.reply()
    for m in rest:
        final.send(m)
        final.reply()
    final.send("/end")
    code, text = final.finish()
    out.exit_code = code
    out.message = final.stderr_line("saved") if code == 0 else final.stderr()[-200:]
    view = snapshot(data / DB)[sid]
    out.turns_after = len(view.candidate)
    out.lost = sum(1 for m in acked if m not in view.candidate)
    out.check("finished with a scorecard", code == 0 and "# Scorecard" in text and view.status == "finished")
    out.check("every message once, in order", view.candidate == MESSAGES[: len(view.candidate)])
    return out


# -- c: a full disk -----------------------------------------------------------------------------


def full_disk(base: Path, work: Path) -> Outcome:
    """The data folder on a tiny tmpfs filled up mid-interview; then the same for `grade --batch --out`."""
    out = Outcome("full disk mid-interview and grade --batch")
    mnt = work / "tiny"
    mnt.mkdir()
    setup = (
        f"mount -t tmpfs -o size=2m tmpfs '{mnt}' && mkdir '{mnt}/cache' && mount --bind '{base}/cache' '{mnt}/cache'"
    )
    batch_in = work / "batch.jsonl"
    batch_in.write_text(json.dumps(BATCH_LINE) + "\n", encoding="utf-8")
    with namespace(setup) as ns:
        seen = ns.outside(mnt)
        term = Terminal(["--case", CASE], mnt, ns)
        term.reply()
        for m in MESSAGES[:2]:
            term.send(m)
            term.reply()
        (sid,) = list(snapshot(mnt / DB, ns))
        out.turns_before = len(snapshot(mnt / DB, ns)[sid].candidate)
        filler = fill_disk(seen)
        term.send(MESSAGES[2])
        code, _ = term.finish()
        err = term.stderr()
        out.exit_code = code
        out.message = error_lines(err)[-1] if error_lines(err) else err.strip()[-200:]
        out.check("exit 2", code == 2)
        _one_line(out, "interview", err)
        out.check("says the disk is full and how to resume", "full" in out.message and f"--resume {sid}" in out.message)
        view = snapshot(mnt / DB, ns)[sid]
        out.turns_after = len(view.candidate)
        out.lost = out.turns_before - sum(1 for m in MESSAGES[:2] if m in view.candidate)
        out.check("acknowledged turns intact", view.candidate == MESSAGES[:2] and view.consistent)

        batch = run_cli(["grade", "--batch", str(batch_in), "--out", str(mnt / "out.jsonl")], mnt, ns=ns)
        out.check("grade --batch: exit 2", batch.code == 2)
        _one_line(out, "grade --batch", batch.err)
        out.check("grade --batch: says the disk is full", "full" in batch.message)
        leftovers = [p.name for p in seen.iterdir() if p.name.startswith("out.jsonl")]
        out.check("grade --batch: no half-written output", leftovers == [])

        filler.unlink()
        resumed = run_cli(["interview", "--resume", sid], mnt, stdin=f"{MESSAGES[2]}\n/end\n", ns=ns)
        view = snapshot(mnt / DB, ns)[sid]
        out.check("after freeing space: resume finishes", resumed.code == 0 and view.status == "finished")
        out.check("after freeing space: the turn goes through", view.candidate == MESSAGES[:3])
        again = run_cli(["grade", "--batch", str(batch_in), "--out", str(mnt / "out.jsonl")], mnt, ns=ns)
        out.check("after freeing space: grade --batch writes", again.code == 0 and (seen / "out.jsonl").is_file())
        out.turns_after = len(view.candidate)
    return out


# -- d: a read-only data folder -----------------------------------------------------------------


_DROP_CHUNKS = """
import sys
from agent.settings import Settings
from agent.kb import open_index
col = open_index(Settings.from_env()).collection()
ids = col.get(where={"source": sys.argv[1]})["ids"]
col.delete(ids=ids[len(ids) // 2 :])
"""


def _drop_half_of(data: Path, source: str) -> None:
    """Delete half of one file's chunks from the index in `data`: what a build killed mid-file leaves."""
    subprocess.run([sys.executable, "-c", _DROP_CHUNKS, source], cwd=ROOT, env=env_for(data), check=True)


def read_only(base: Path, work: Path) -> Outcome:
    """The data folder mounted read-only: reads work (search too, on the index as it is), writes say so (exit 2).

    Three folders: one with an up-to-date index, one whose index lost part of a file's chunks (stale: search
    warns in one line and answers; `index` cannot write), one with no index (search and index: one line).
    """
    out = Outcome("read-only data folder")
    top = work / "ro"
    data = top / "data"
    data.mkdir(parents=True)
    shutil.copytree(base / "cache", data / "cache", symlinks=True)
    shutil.copytree(base / "index", data / "index")
    stale = _data_dir(base, top / "stale", index=True)  # these two share the base's embedder cache (a symlink)
    bare = _data_dir(base, top / "bare")
    _drop_half_of(stale, "knowledge/framework/serving.md")
    sid = _paused_session(data)
    before = (data / DB).read_bytes()
    out.turns_before = len(snapshot(data / DB)[sid].candidate)
    batch_in = work / "batch.jsonl"
    batch_in.write_text(json.dumps(BATCH_LINE) + "\n", encoding="utf-8")
    tree = file_hashes(top)
    setup = f"mount --bind '{top}' '{top}' && mount -o remount,ro,bind '{top}'"
    messages: list[str] = []
    with namespace(setup) as ns:
        probe = subprocess.run([*ns.prefix(), "touch", str(data / "probe")], capture_output=True, check=False)
        out.check("the folder really is read-only", probe.returncode != 0)
        for args in (["cases"], ["sessions"], ["export", sid]):
            r = run_cli(args, data, ns=ns)
            out.check(f"{args[0]}: works (exit 0)", r.code == 0 and r.out.strip() != "")
        for args, stdin in (
            (["interview", "--resume", sid], f"{MESSAGES[2]}\n"),
            (["interview", "--case", CASE], f"{MESSAGES[0]}\n"),
            (["grade", "--batch", str(batch_in), "--out", str(data / "out.jsonl")], ""),
        ):
            r = run_cli(args, data, stdin=stdin, ns=ns)
            name = " ".join(args[:2]) if args[0] == "interview" else args[0]
            out.check(f"{name}: exit 2", r.code == 2)
            _one_line(out, name, r.err)
            out.check(f"{name}: says read-only", "read-only" in r.message.lower())
            messages.append(r.message)
        _read_only_index(out, ns, data, stale, bare)
    out.exit_code = 2
    out.message = messages[0] if messages else ""
    out.turns_after = len(snapshot(data / DB)[sid].candidate)
    out.lost = out.turns_before - out.turns_after
    out.check("store bytes unchanged", (data / DB).read_bytes() == before)
    out.check("no file written, created or removed", file_hashes(top) == tree)
    return out


def _read_only_index(out: Outcome, ns: Namespace, data: Path, stale: Path, bare: Path) -> None:
    """`search` and `index` in read-only folders whose index is up to date, stale, or missing."""
    query = ["search", "feature drift", "-k", "2"]
    r = run_cli(query, data, ns=ns)
    out.check("search, up to date: answers (exit 0)", r.code == 0 and "1. [" in r.out and r.err.strip() == "")
    r = run_cli(["index"], data, ns=ns)
    out.check("index, up to date: says so (exit 0)", r.code == 0 and "up to date" in r.out and "read-only" in r.out)
    r = run_cli(query, stale, ns=ns)
    warnings = [ln for ln in r.err.splitlines() if ln.strip()]
    out.check("search, stale: answers (exit 0)", r.code == 0 and "1. [" in r.out)
    out.check(
        "search, stale: one warning line",
        len(warnings) == 1 and "out of date" in warnings[0] and "read-only" in warnings[0],
    )
    for name, folder, args in (("index, stale", stale, ["index"]), ("search, no index", bare, query)):
        r = run_cli(args, folder, ns=ns)
        out.check(f"{name}: exit 2", r.code == 2 and r.out == "")
        _one_line(out, name, r.err)
        out.check(f"{name}: says read-only", "read-only" in r.message.lower())
    r = run_cli(["index"], bare, ns=ns)
    out.check("index, no index: exit 2, says missing", r.code == 2 and "is missing" in r.message)


# -- e: a store locked by another process -------------------------------------------------------

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def _hold_lock(db: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "locked":
        raise RuntimeError("the lock holder did not start")
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    with suppress(BrokenPipeError, OSError):
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
    holder.wait(timeout=30)


def locked_store(base: Path, work: Path) -> Outcome:
    """Another process holds the store's write lock past the busy timeout, for the terminal and for the app."""
    from gradio_client.exceptions import AppError

    out = Outcome("store locked by another process")
    data = _data_dir(base, work)
    sid = _paused_session(data)
    out.turns_before = len(snapshot(data / DB)[sid].candidate)
    app = App(data)
    try:
        client = app.client()
        app_sid, *_ = client.predict(CASE, "senior", "Mock interview", api_name="/start")
        term = Terminal(["--resume", sid], data)
        term.reply()
        holder = _hold_lock(data / DB)
        app_saw: dict[str, Any] = {}

        def app_send() -> None:
            began = time.monotonic()
            try:
                client.predict(MESSAGES[0], app_sid, api_name="/send")
                app_saw["message"] = ""
            except AppError as e:
                app_saw["message"] = str(e)
            app_saw["seconds"] = time.monotonic() - began

        sender = threading.Thread(target=app_send, daemon=True)
        try:
            sender.start()  # the app's turn and the terminal's wait on the lock at the same time
            term.send(MESSAGES[2])
            history = app.client().predict(api_name="/history")
            out.check("app: keeps serving reads meanwhile", any(app_sid in json.dumps(x) for x in history))
            busy = term.stderr_line("busy", timeout=30)
            out.message = busy
            out.check("terminal: says busy, try again", "busy" in busy and "try again" in busy)
            out.check("terminal: still running", term.proc.poll() is None)
            sender.join(timeout=60)
            app_msg = str(app_saw.get("message", "(no answer)"))
            out.check("app: says busy, no path", "busy" in app_msg and "sqlite3" not in app_msg)
            out.check("app: answered within the timeout", float(app_saw.get("seconds", 99)) < 20)
        finally:
            _release(holder)
        term.send(MESSAGES[2])  # the same message again, now that the lock is gone
        term.reply()
        term.send("/pause")
        code, _ = term.finish()
        out.exit_code = code
        chat, *_ = client.predict(MESSAGES[0], app_sid, api_name="/send")
        out.check("app: the turn goes through after release", MESSAGES[0] in json.dumps(chat))
    finally:
        app.stop()
    after = snapshot(data / DB)
    view = after[sid]
    out.turns_after = len(view.candidate)
    out.lost = out.turns_before - sum(1 for m in MESSAGES[:2] if m in view.candidate)
    out.check("terminal: exits 0 after /pause", out.exit_code == 0)
    out.check("terminal: the retried turn stored once", view.candidate == MESSAGES[:3] and view.consistent)
    out.check("app: its turn stored once", after[app_sid].candidate == [MESSAGES[0]])
    return out


# -- f: a corrupt store -------------------------------------------------------------------------


def _garble(db: Path, how: str) -> None:
    data = bytearray(db.read_bytes())
    if how == "garbage":
        db.write_bytes(b"this is not a database, just some bytes\n" * 200)
    elif how == "truncated":
        db.write_bytes(bytes(data[: len(data) // 2 + 100]))
    else:  # "pages": the pages after the first overwritten
        raw = sqlite3.connect(db)
        page = raw.execute("PRAGMA page_size").fetchone()[0]
        raw.close()
        data[page:] = b"\xa5" * (len(data) - page)
        db.write_bytes(bytes(data))


def corrupt_store(base: Path, work: Path, variants: tuple[str, ...] = ("garbage", "truncated", "pages")) -> Outcome:
    """The sessions file garbled or truncated: every command says so in one line and never touches it."""
    from gradio_client.exceptions import AppError

    out = Outcome("corrupt session store")
    for how in variants:
        data = _data_dir(base, work / how)
        sid = _paused_session(data, replies=6)
        raw = sqlite3.connect(data / DB)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        out.turns_before += 6
        _garble(data / DB, how)
        before = (data / DB).read_bytes()
        names = sorted(p.name for p in data.iterdir() if p.name.startswith(DB))
        commands = [["sessions"], ["export", sid], ["interview", "--resume", sid], ["interview", "--case", CASE]]
        for args in commands if how == variants[0] else commands[:2]:
            r = run_cli(args, data, stdin=f"{MESSAGES[0]}\n")
            name = f"{how}: {' '.join(args[:2]) if args[0] == 'interview' else args[0]}"
            out.check(f"{name}: exit 2", r.code == 2)
            _one_line(out, name, r.err)
            out.check(f"{name}: says corrupt, where, and how to move it aside", "not a valid SQLite" in r.message)
            out.check(f"{name}: names the file", str(data / DB) in r.message and ".corrupt" in r.message)
            out.message = out.message or r.message
        if how == variants[0]:
            app = App(data)
            try:
                try:
                    app.client().predict(CASE, "senior", "Mock interview", api_name="/start")
                    app_msg = ""
                except AppError as e:
                    app_msg = str(e)
                out.check("app: says corrupt, no path", "corrupt" in app_msg and "sqlite3" not in app_msg)
            finally:
                app.stop()
        out.check(f"{how}: file bytes unchanged", (data / DB).read_bytes() == before)
        out.check(
            f"{how}: no store file created or removed",
            sorted(p.name for p in data.iterdir() if p.name.startswith(DB)) == names,
        )
    out.exit_code = 2
    out.note = "the file is kept byte for byte; the message says how to move it aside (mv … .corrupt)"
    return out


# -- g: a corrupt or half-built index -----------------------------------------------------------


def _chunk_count(data: Path) -> int:
    probe = (
        "from agent.settings import Settings\nfrom agent.kb import open_index\n"
        "print(open_index(Settings.from_env()).collection().count())"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env_for(data), capture_output=True, text=True, check=True
    )
    return int(r.stdout.strip().splitlines()[-1])


INDEX_DAMAGE = ("sqlite-garbled", "vectors-garbled", "vectors-deleted", "vectors-truncated-unchecked")
"""Ways to damage a built index: its SQLite file, or the HNSW vector files (garbled in place, the segment
folder deleted, or truncated with the checksum file gone so only the query notices)."""


def _damage_index(index: Path, how: str) -> None:
    segments = [p for p in index.iterdir() if p.is_dir()]
    if how == "sqlite-garbled":
        db = index / "chroma.sqlite3"
        raw = bytearray(db.read_bytes())
        raw[4096 : 4096 * 40] = b"\xa5" * (4096 * 39)
        db.write_bytes(bytes(raw))
    elif how == "vectors-deleted":
        for seg in segments:
            shutil.rmtree(seg)
    else:
        for seg in segments:
            data = seg / "data_level0.bin"
            raw = bytearray(data.read_bytes())
            if how == "vectors-garbled":
                raw[::7] = b"\xa5" * len(raw[::7])
            else:
                raw = raw[:1000]
                (index / "vector-files.json").unlink(missing_ok=True)
            data.write_bytes(bytes(raw))


def corrupt_index(base: Path, work: Path, damage: tuple[str, ...] = INDEX_DAMAGE, kill_build: bool = True) -> Outcome:
    """A damaged index is rebuilt with one line and answers as before; a SIGKILLed build is completed later."""
    out = Outcome("corrupt or half-built index")
    full = _chunk_count(base)
    out.turns_before = full
    query = ["search", "how do we detect feature drift after launch", "--method", "dense", "-k", "3"]
    clean = run_cli(query, base)
    out.check("clean index answers, no rebuild", clean.code == 0 and "1. [" in clean.out and "rebuild" not in clean.err)
    counts = [full]
    for how in damage:
        data = _data_dir(base, work / how, index=True)
        _damage_index(data / "index", how)
        r = run_cli(query, data)
        notes = [ln.strip() for ln in r.err.splitlines() if "rebuilding" in ln]
        out.message = out.message or (notes[0] if notes else r.message)
        out.exit_code = r.code if out.exit_code in (None, 0) else out.exit_code
        out.check(f"{how}: search works (exit 0)", r.code == 0 and "Traceback" not in r.err)
        # chromadb may rebuild its HNSW files from its own log; a child process checks that before any wipe,
        # so a damaged file costs one rebuild line or none, and the answers below must match a clean index.
        out.check(f"{how}: at most one line (a rebuild)", len(notes) <= 1)
        out.check(f"{how}: same answers as a clean index", r.out == clean.out)
        again = run_cli(query, data)
        out.check(f"{how}: the next search needs no rebuild", again.code == 0 and "rebuild" not in again.err)
        counts.append(_chunk_count(data))
    if kill_build:
        data = _data_dir(base, work / "killed")
        proc = subprocess.Popen(
            [*interviewer_cmd(), "index"], cwd=ROOT, env=env_for(data), stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        seen = ""
        while "64/" not in seen and proc.poll() is None:  # at least one batch embedded and stored
            seen += proc.stderr.read(64)
        time.sleep(1.0)
        proc.kill()
        proc.wait(timeout=30)
        partial = _chunk_count(data)
        r = run_cli(["index"], data)
        out.check("killed build: it was partial", 0 < partial < full)
        out.check("killed build: the next index completes it", r.code == 0 and _chunk_count(data) == full)
        counts.append(_chunk_count(data))
    out.turns_after = min(counts)
    out.lost = full - out.turns_after
    out.note = "turns = chunks in the index"
    return out


# -- the run ------------------------------------------------------------------------------------

Scenario = Callable[[Path, Path], Outcome]
SCENARIOS: list[tuple[str, Scenario, bool]] = [
    ("a", app_sigkill, False),
    ("b", terminal_sigkill, False),
    ("c", full_disk, True),
    ("d", read_only, True),
    ("e", locked_store, False),
    ("f", corrupt_store, False),
    ("g", corrupt_index, False),
]
"""(letter, scenario, needs a private mount namespace)."""


def run_scenario(scenario: Scenario, base: Path, needs_ns: bool = False) -> Outcome:
    """Run one scenario in its own temporary folder; an exception is a failed outcome, not a crash."""
    began = time.perf_counter()
    name = scenario.__name__.replace("_", " ")
    problem = unshare_problem() if needs_ns else None
    if problem is not None:
        out = Outcome(name, note=f"not run: {problem}")
        out.check("a private mount namespace is available", False)
        return out
    with tempfile.TemporaryDirectory(prefix="interviewer-faults-") as tmp:
        try:
            out = scenario(base, Path(tmp))
        except Exception as e:  # reported as a failed row
            out = Outcome(name, note=f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
            out.check("ran to the end", False)
    out.seconds = time.perf_counter() - began
    return out


def prepare_base(folder: Path) -> Path:
    """A data folder with the embedder cache and a complete index (built once, ~25 s on two cores)."""
    r = run_cli(["index"], folder)
    if r.code != 0:
        raise RuntimeError(f"interviewer index failed: {r.message}")
    return folder


def format_table(outcomes: list[Outcome]) -> str:
    """The results as a markdown table."""
    rows = [
        "| scenario | what the user saw | exit | turns before | after | lost | verdict | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        message = o.message.replace("|", "\\|")
        verdict = "pass" if o.passed else "FAIL: " + "; ".join(o.failed())
        if o.note and not o.passed:
            verdict += f" ({o.note})"
        rows.append(
            f"| {o.scenario} | {message} | {o.exit_code if o.exit_code is not None else '-'} | {o.turns_before} | "
            f"{o.turns_after} | {o.lost} | {verdict} | {o.seconds:.1f} s |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario (or those named with --only), print the table, optionally save JSON; 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python -m evals.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON to this file")
    parser.add_argument("--only", default="abcdefg", help="scenario letters to run (default abcdefg)")
    args = parser.parse_args(argv)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="interviewer-faults-base-") as tmp:
        print("faults: building the base index", file=sys.stderr, flush=True)
        base = prepare_base(Path(tmp))
        for letter, scenario, needs_ns in SCENARIOS:
            if letter not in args.only:
                continue
            print(f"faults: {letter}. {scenario.__name__}", file=sys.stderr, flush=True)
            outcomes.append(run_scenario(scenario, base, needs_ns))
    print(format_table(outcomes))
    if args.out:
        results: list[dict[str, Any]] = [
            {**{k: v for k, v in vars(o).items()}, "passed": o.passed, "failed": o.failed()} for o in outcomes
        ]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"faults: results -> {args.out}", file=sys.stderr)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
