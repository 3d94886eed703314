"""Persistent mock interviews: every turn stored, resume, concurrent writers, crash safety, listing, export, CLI."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from agent.interview import engine
from agent.interview.service import (
    PAUSE_AFTER_S,
    InterviewService,
    NotAnInterview,
    SessionFinished,
    TurnNotRecorded,
)
from agent.sessions import SessionStore, StaleSession
from agent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CASE = "video-recommendation"
TRANSCRIPT_KEYS = {"case_id", "level", "turns", "flags", "scorecard"}
TURN_KEYS = {"role", "text", "phase", "move"}

MESSAGES = [
    "How many people use the platform each day?",
    "How many languages do we support?",
    "I'll frame it as ranking: input is the user and context, output a ranked list of videos, "
    "label is a watch over 30 seconds.",
    "We'd split the watch logs at random into train and test and compute each video's click rate over all days.",
    "Sorry, how many languages are supported again?",
    "As a baseline I'd serve popular videos by country, then a two-tower model for candidate generation.",
    "Again we split the logs at random, and the click rate feature uses every day including the test days.",
    "Offline I'd look at recall@k and NDCG, then an A/B test on watch time per user.",
]


@pytest.fixture
def fresh_settings(tmp_path: Path, data_dir: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A data folder of this test alone (its own sessions db) sharing the session's model cache."""
    fresh = tmp_path / "data"
    fresh.mkdir()
    (fresh / "cache").symlink_to(data_dir / "cache", target_is_directory=True)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(fresh))
    return Settings.from_env({"INTERVIEWER_DATA_DIR": str(fresh)})


@pytest.fixture
def service(fresh_settings: Settings, embedder: Any) -> Iterator[InterviewService]:
    svc = InterviewService(fresh_settings, embedder=embedder)
    yield svc
    svc.close()


def _begin(svc: InterviewService, budget: int = 40) -> str:
    sid, turn = svc.begin(CASE, "senior", clock="turns", turn_budget=budget, now=0.0)
    assert turn.move == "open"
    return sid


# -- the service ------------------------------------------------------------------------------------


def test_begin_stores_the_session_and_its_opening(service: InterviewService) -> None:
    sid = _begin(service)
    rec = service.store.load(sid)
    assert (rec.kind, rec.case_id, rec.level, rec.status) == ("interview", CASE, "senior", "active")
    assert [(t.role, t.move) for t in rec.turns] == [("interviewer", "open")]
    state = service.get(sid).state
    assert state.session_id == sid and len(state.turns) == 1


def test_every_turn_is_in_the_store_after_each_reply(service: InterviewService) -> None:
    sid = _begin(service)
    version = service.store.load(sid).version
    for i, message in enumerate(MESSAGES[:5], start=1):
        turn = service.reply(sid, message, now=float(i))
        rec = service.store.load(sid)  # what another process would read now
        assert rec.turn_count == 1 + 2 * i
        assert rec.version == version + i
        cand, interviewer = rec.turns[-2:]
        assert (cand.role, cand.text) == ("candidate", message)
        assert (interviewer.role, interviewer.text, interviewer.move) == ("interviewer", turn.text, turn.move)
        assert interviewer.meta["at"] == float(i)
        state = service.get(sid).state
        assert [t.text for t in state.turns] == [t.text for t in rec.turns]


def test_resume_after_a_restart_continues_with_the_same_state(fresh_settings: Settings, embedder: Any) -> None:
    first = InterviewService(fresh_settings, embedder=embedder)
    sid = _begin(first)
    for i, message in enumerate(MESSAGES[:4], start=1):
        first.reply(sid, message, now=float(i))
    before = first.get(sid).state
    first.close()
    assert "users" in before.facts_revealed and len(before.facts_invented) == 1
    assert before.flagged().count("data_leakage") == 1

    second = InterviewService(fresh_settings, embedder=embedder)  # a new process would do exactly this
    resumed = second.get(sid).state
    assert resumed == before
    for i, message in enumerate(MESSAGES[4:], start=5):
        second.reply(sid, message, now=float(i))
    after = second.get(sid).state
    invented = next(iter(before.facts_invented.values()))
    repeat_answer = after.turns[2 * 5].text  # the reply to "how many languages ... again?"
    assert invented[1:] in repeat_answer
    assert after.facts_invented == before.facts_invented
    assert after.flagged().count("data_leakage") == 1  # walked into again, not flagged again
    assert len(after.flagged()) == len(set(after.flagged()))

    # Identical to an interview that was never interrupted.
    state, _ = engine.start(CASE, "senior", clock="turns", turn_budget=40, now=0.0, session_id=sid)
    for i, message in enumerate(MESSAGES, start=1):
        state, _ = engine.step(state, message, now=float(i), embedder=embedder)
    assert engine.transcript(state) == engine.transcript(after)
    second.close()


def test_a_stale_write_is_retried_on_the_fresh_state(
    service: InterviewService, fresh_settings: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _begin(service)
    other = InterviewService(fresh_settings, SessionStore(fresh_settings.sessions_db), embedder=embedder)
    real_step = engine.step
    calls: list[str] = []

    def racing_step(state: Any, message: str, **kw: Any) -> Any:
        calls.append(message)
        if message == MESSAGES[0] and calls.count(MESSAGES[0]) == 1:
            other.reply(sid, MESSAGES[1], now=1.0)  # another tab writes while this step runs
        return real_step(state, message, **kw)

    monkeypatch.setattr(engine, "step", racing_step)
    turn = service.reply(sid, MESSAGES[0], now=2.0)
    assert calls == [MESSAGES[0], MESSAGES[1], MESSAGES[0]]
    rec = service.store.load(sid)
    assert [t.text for t in rec.turns if t.role == "candidate"] == [MESSAGES[1], MESSAGES[0]]
    assert rec.turns[-1].text == turn.text and rec.turn_count == 5
    assert len(service.get(sid).state.turns) == 5
    other.close()


def test_a_second_conflict_raises_and_stores_nothing(
    service: InterviewService, fresh_settings: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _begin(service)
    other = InterviewService(fresh_settings, SessionStore(fresh_settings.sessions_db), embedder=embedder)
    real_step = engine.step
    mine = "What's the latency budget?"

    def racing_step(state: Any, message: str, **kw: Any) -> Any:
        if message == mine:
            other.reply(sid, "How many videos are there?", now=1.0)
        return real_step(state, message, **kw)

    monkeypatch.setattr(engine, "step", racing_step)
    with pytest.raises(StaleSession):
        service.reply(sid, mine, now=2.0)
    texts = [t.text for t in service.store.load(sid).turns if t.role == "candidate"]
    assert texts == ["How many videos are there?"] * 2
    other.close()


def test_an_engine_failure_stores_nothing_and_keeps_the_state(
    service: InterviewService, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _begin(service)
    service.reply(sid, MESSAGES[0], now=1.0)
    before = service.store.load(sid)

    def broken(*_a: Any, **_kw: Any) -> Any:
        raise RuntimeError("responder exploded\nwith two lines")

    monkeypatch.setattr(engine, "step", broken)
    with pytest.raises(TurnNotRecorded) as info:
        service.reply(sid, MESSAGES[1], now=2.0)
    assert "nothing was saved" in str(info.value) and "\n" not in str(info.value)
    assert service.store.load(sid) == before
    monkeypatch.undo()
    service.reply(sid, MESSAGES[1], now=3.0)
    assert service.store.load(sid).turn_count == before.turn_count + 2


def test_end_grades_stores_the_result_and_is_idempotent(service: InterviewService) -> None:
    sid = _begin(service)
    for i, message in enumerate(MESSAGES, start=1):
        service.reply(sid, message, now=float(i))
    card = service.end(sid)
    rec = service.store.load(sid)
    assert (rec.status, rec.overall, rec.hire_signal) == ("finished", card.overall, card.hire_signal)
    assert service.get(sid).finished
    assert len(service.get(sid).state.turns) == rec.turn_count  # a closing debrief turn is stored too
    assert service.end(sid) == card
    with pytest.raises(SessionFinished, match="interviewer export"):
        service.reply(sid, "one more thing", now=99.0)
    assert service.store.load(sid).version == rec.version


def test_a_turn_budget_wrap_up_finishes_the_session(service: InterviewService) -> None:
    sid = _begin(service, budget=3)
    moves = [service.reply(sid, m, now=float(i)).move for i, m in enumerate(MESSAGES[:3], start=1)]
    assert moves[-1] == "wrap_up"
    rec = service.store.load(sid)
    assert rec.status == "finished" and rec.overall is not None


def test_a_long_break_is_not_charged_to_the_wall_clock(service: InterviewService, embedder: Any) -> None:
    sid, _ = service.begin(CASE, clock="wall", now=1000.0)
    next_day = 1000.0 + 24 * 3600
    turn = service.reply(sid, MESSAGES[0], now=next_day)
    assert turn.move != "wrap_up"
    pacing = service.get(sid).state.pacing
    assert pacing.started_at == pytest.approx(next_day - PAUSE_AFTER_S)
    raw, _ = engine.start(CASE, clock="wall", now=1000.0, session_id=sid)
    _, unpaused = engine.step(raw, MESSAGES[0], now=next_day, embedder=embedder)
    assert unpaused.move == "wrap_up"  # what would happen without the service's pause rule


def test_other_kinds_and_owners_are_kept_apart(service: InterviewService) -> None:
    drill = service.store.create(kind="drill", case_id=CASE, level="senior", state_json='{"drill": true}').id
    with pytest.raises(NotAnInterview, match="drill"):
        service.reply(drill, "hello")
    assert json.loads(service.export(drill, "json"))["kind"] == "drill"
    mine, _ = service.begin(CASE, clock="turns", owner="ann")
    assert [s.id for s in service.list(owner="ann")] == [mine]
    assert mine not in [s.id for s in service.list()]
    from agent.sessions import SessionNotFound

    with pytest.raises(SessionNotFound):
        service.reply(mine, "hello", owner="bob")


def test_export_json_and_markdown_shapes(service: InterviewService) -> None:
    sid = _begin(service)
    for i, message in enumerate(MESSAGES[:4], start=1):
        service.reply(sid, message, now=float(i))
    open_md = service.export(sid, "md")
    assert "Not finished yet" in open_md and f"interviewer interview --resume {sid}" in open_md
    assert json.loads(service.export(sid, "json"))["scorecard"] is None
    service.end(sid)

    data = json.loads(service.export(sid, "json"))
    assert set(data) >= TRANSCRIPT_KEYS and data["session_id"] == sid and data["status"] == "finished"
    assert all(set(t) == TURN_KEYS for t in data["turns"])
    assert data["turns"][0]["move"] == "open"
    assert data["flags"][0] == "data_leakage" and len(data["flags"]) == len(set(data["flags"]))
    assert len(data["scorecard"]["dimensions"]) == 8
    assert data == service.get(sid).transcript()

    md = service.export(sid, "md")
    assert md.startswith("# Mock interview: ") and f"`{sid}`" in md
    for heading in ("## Transcript", "### Clarify requirements", "## Flags raised", "## Scorecard"):
        assert heading in md
    assert "**Candidate**" in md and "**Interviewer**" in md and MESSAGES[2] in md
    assert "- **data_leakage** (Data preparation" in md
    assert "`knowledge/failure_modes/data_leakage.md`" in md
    assert f"## Scorecard: {CASE} (senior)" in md  # the scorecard markdown, one heading level down
    assert md.count("\n# ") == 0


def test_list_is_newest_first_with_status_and_score(service: InterviewService) -> None:
    old = _begin(service)
    service.reply(old, MESSAGES[0], now=1.0)
    service.end(old)
    new = _begin(service)
    rows = service.list()
    assert [r.id for r in rows] == [new, old]
    assert (rows[0].status, rows[0].overall, rows[0].turn_count) == ("active", None, 1)
    assert rows[1].status == "finished" and rows[1].overall is not None and rows[1].turn_count >= 3


# -- the command line -------------------------------------------------------------------------------


def _script(tmp_path: Path, messages: list[str]) -> Path:
    path = tmp_path / "script.jsonl"
    path.write_text("".join(json.dumps({"text": m}) + "\n" for m in messages), encoding="utf-8")
    return path


def test_cli_scripted_json_is_one_object_with_the_session_id(
    fresh_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _script(tmp_path, MESSAGES[:3])
    assert run(["interview", "--case", CASE, "--script", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)  # exactly one JSON document on stdout
    assert set(out) >= TRANSCRIPT_KEYS and all(set(t) == TURN_KEYS for t in out["turns"])
    with SessionStore(fresh_settings.sessions_db) as store:
        rec = store.load(out["session_id"])
    assert rec.status == "finished" and rec.overall == out["scorecard"]["overall"]
    assert [t.text for t in rec.turns] == [t["text"] for t in out["turns"]]


def test_cli_interactive_prints_the_session_id_and_pause_keeps_it_open(
    fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = iter(["How many people use the platform each day?", "/pause"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(replies))
    assert run(["interview", "--case", CASE]) == 0
    captured = capsys.readouterr()
    with SessionStore(fresh_settings.sessions_db) as store:
        (summary,) = store.list_sessions()
    sid = summary.id
    assert captured.err.splitlines()[0].startswith(f"interviewer: session {sid}")
    assert f"--resume {sid}" in captured.err and "200 million" in captured.out
    assert (summary.status, summary.turn_count) == ("active", 3)

    replies = iter(["How many languages do we support?", "/end"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(replies))
    assert run(["interview", "--resume", sid]) == 0
    captured = capsys.readouterr()
    assert "resuming session" in captured.err and "# Scorecard: video-recommendation" in captured.out
    with SessionStore(fresh_settings.sessions_db) as store:
        rec = store.load(sid)
    assert rec.status == "finished"
    assert [t.text for t in rec.turns if t.role == "candidate"] == [
        "How many people use the platform each day?",
        "How many languages do we support?",
    ]


def test_cli_sessions_and_export(fresh_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sessions"]) == 0
    assert "no sessions yet" in capsys.readouterr().out
    assert run(["interview", "--case", "fraud-detection", "--script", str(_script(tmp_path, MESSAGES[:2])),
                "--format", "json"]) == 0  # fmt: skip
    sid = json.loads(capsys.readouterr().out)["session_id"]

    assert run(["sessions", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    keys = {"id", "kind", "case_id", "level", "created_at", "updated_at", "status", "overall", "hire_signal", "turns"}
    keys.add("usage")
    assert set(row) == keys
    assert (row["id"], row["kind"], row["case_id"], row["status"]) == (sid, "interview", "fraud-detection", "finished")
    assert row["turns"] >= 5 and 1.0 <= row["overall"] <= 4.0

    assert run(["sessions"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split() == ["id", "kind", "case", "level", "date", "status", "score", "turns"]
    assert line.startswith(sid) and "finished" in line

    assert run(["export", sid, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["session_id"] == sid
    out_file = tmp_path / "out" / "x.md"
    out_file.parent.mkdir()
    assert run(["export", sid, "--out", str(out_file)]) == 0
    assert f"-> {out_file}" in capsys.readouterr().err
    assert out_file.read_text(encoding="utf-8").startswith("# Mock interview: ")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["interview", "--resume", "not/an id"], "Invalid session id"),
        (["interview", "--resume", "A" * 22], "No session"),
        (["export", "../../etc/passwd"], "Invalid session id"),
        (["export", "B" * 22, "--format", "json"], "No session"),
        (["interview", "--resume", "A" * 22, "--case", CASE], "drop --case"),
    ],
)
def test_cli_bad_session_ids_are_one_line(
    fresh_settings: Settings, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert needle in err and len(err.splitlines()) == 1 and captured.out == ""


def test_cli_resuming_a_finished_session_says_how_to_export(
    fresh_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["interview", "--case", CASE, "--script", str(_script(tmp_path, MESSAGES[:1])), "--format", "json"]) == 0
    sid = json.loads(capsys.readouterr().out)["session_id"]
    assert run(["interview", "--resume", sid]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "finished" in err and f"interviewer export {sid}" in err


def test_cli_unusable_store_is_one_line(fresh_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    fresh_settings.sessions_db.write_bytes(b"this is not a database, just some bytes" * 200)
    for argv in (["sessions"], ["interview", "--case", CASE], ["export", "C" * 22]):
        assert run(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not a valid SQLite database" in err, argv
    assert fresh_settings.sessions_db.read_bytes().startswith(b"this is not")  # left untouched


# -- a real process killed mid-interview -------------------------------------------------------------


def _reader(stream: Any, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put("")


@pytest.mark.slow
def test_sigkill_mid_interview_loses_no_acknowledged_turn(
    fresh_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(fresh_settings.data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from agent.cli import main; main()", "interview", "--case", CASE],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()

    def next_reply() -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = lines.get(timeout=deadline - time.monotonic())
            assert line, "the interviewer exited early"
            if line.startswith("interviewer: "):
                return line
        raise AssertionError("no reply within 60 s")

    acknowledged = 3
    try:
        next_reply()  # the opening
        for message in MESSAGES[:acknowledged]:
            proc.stdin.write(message + "\n")
            proc.stdin.flush()
            next_reply()  # printed only after the turn is committed: the candidate saw it acknowledged
        proc.stdin.write(MESSAGES[acknowledged] + "\n")  # in flight when the process dies
        proc.stdin.flush()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with SessionStore(fresh_settings.sessions_db) as store:
        (summary,) = store.list_sessions()
        rec = store.load(summary.id)
    sid = rec.id
    assert rec.status == "active"
    assert rec.turn_count in (1 + 2 * acknowledged, 3 + 2 * acknowledged)  # never half a reply
    candidate = [t.text for t in rec.turns if t.role == "candidate"]
    assert candidate[:acknowledged] == MESSAGES[:acknowledged]
    done = len(candidate)

    rest = MESSAGES[done:]
    script = _script(tmp_path, rest)
    assert run(["interview", "--resume", sid, "--script", str(script), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["session_id"] == sid and out["status"] == "finished"
    texts = [t["text"] for t in out["turns"] if t["role"] == "candidate"]
    assert texts[: len(MESSAGES)] == MESSAGES[: len(texts)]
    assert [t["text"] for t in out["turns"][: rec.turn_count]] == [t.text for t in rec.turns]
    assert len(texts) > done  # the interview went on after the crash
    assert out["flags"].count("data_leakage") == 1
