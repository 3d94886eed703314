"""`interviewer drill --resume ID`: continues a stored drill where it stopped (interactive, scripted, JSON),
refuses finished, unknown, foreign and non-drill ids with one line, and (slow) survives a SIGKILL mid-answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from agent.drill.mastery import load_mastery
from agent.drill.session import DrillSession, answer, load_drill, start_drill
from agent.sessions import SessionStore
from agent.sessions.ids import new_session_id
from agent.settings import Settings
from evals.fault_harness import Terminal
from evals.faults import DB, _data_dir

CASE = "video-recommendation"
ANSWERS = [
    "I'd monitor feature drift with PSI and the score distribution, with alerts paging on-call, and retrain daily.",
    "A time-based split, recall at k and NDCG offline, then an A/B test on watch time per user.",
    "Candidates from an ANN index, a ranker under 100 ms, and a popularity fallback for new users.",
    "we don't need that",
]


@pytest.fixture
def data(drill_env: Path) -> Path:
    """The drill data folder of tests/conftest.py (empty store, shared embedder)."""
    return drill_env


@pytest.fixture
def store(data: Path) -> Iterator[SessionStore]:
    """The session store the command writes to."""
    with SessionStore(Settings.from_env().sessions_db) as s:
        yield s


def _script(tmp_path: Path, answers: list[str]) -> str:
    path = tmp_path / f"answers-{len(answers)}.jsonl"
    path.write_text("".join(json.dumps({"text": a}) + "\n" for a in answers), encoding="utf-8")
    return str(path)


def _typing(monkeypatch: pytest.MonkeyPatch, lines: list[str], on_read: Callable[[int], None] | None = None) -> None:
    """Feed `lines` to the interactive prompt, then Ctrl-C; `on_read(n)` runs before the n-th read (0-based)."""
    reads = iter(range(10_000))

    def fake_input(prompt: str = "") -> str:
        n = next(reads)
        if on_read is not None:
            on_read(n)
        if n < len(lines):
            return lines[n]
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", fake_input)


def _answers(store: SessionStore, sid: str, owner: str | None = None) -> list[str]:
    return [t.text for t in store.load(sid, owner=owner).turns if t.move == "drill_answer"]


def _snapshot(store: SessionStore) -> list[tuple[str, int, int, str]]:
    rows = [*store.list_sessions(owner=None), *store.list_sessions(owner="alice")]
    return sorted((r.id, r.version, r.turn_count, r.status) for r in rows)


def _interrupted_drill(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], count: int = 4) -> str:
    """An interactive drill of `count` questions with two answers, then Ctrl-C while the third is typed; its id."""
    _typing(monkeypatch, ANSWERS[:2])
    assert run(["drill", "--case", CASE, "--count", str(count)]) == 130
    err = capsys.readouterr().err
    match = re.search(r"interviewer: drill (\S+) saved; resume with `interviewer drill --resume \1`", err)
    assert match, err
    return match.group(1)


def test_ctrl_c_keeps_the_answers_and_resume_finishes_from_the_next_question(
    data: Path, store: SessionStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = _interrupted_drill(monkeypatch, capsys)
    before = load_drill(store, sid)
    assert [i.answer for i in before.items] == ANSWERS[:2] and before.current is not None and not before.finished
    assert store.load(sid).status == "active"
    third = before.current.question.text

    _typing(monkeypatch, ANSWERS[2:])
    assert run(["drill", "--resume", sid]) == 0
    captured = capsys.readouterr()
    assert f"resuming drill {sid} ({CASE}, senior, 2 of 4 answered" in captured.err
    head, _, rest = captured.out.partition("Score ")
    assert "Drill 3 of 4" in head and third in head and "Drill 1 of 4" not in captured.out  # the 3rd, not a new one
    assert f"drill {sid}: 4 answered" in rest

    after = load_drill(store, sid)
    assert after.finished and store.load(sid).status == "finished"
    assert [i.answer for i in after.items] == ANSWERS and _answers(store, sid) == ANSWERS  # once each, in order
    assert [i.assessment for i in after.items[:2]] == [i.assessment for i in before.items]  # scores kept as stored
    assert after.items[2].question.text == third
    assert len({i.question.id for i in after.items}) == 4
    assert load_mastery(store).drills == 4 and after.mastery.drills == 4  # one observation per answer


def test_every_answer_is_stored_before_the_next_question_is_read(
    data: Path, store: SessionStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[int, int, int]] = []

    def check(n: int) -> None:
        out = capsys.readouterr().out  # what the candidate has seen before being asked for answer n
        (sid,) = [r.id for r in store.list_sessions()] or [""]
        stored = len(_answers(store, sid)) if sid else 0
        seen.append((n, stored, out.count("Score ")))
        assert stored == n and out.count("Score ") == (1 if n else 0)

    _typing(monkeypatch, ANSWERS[:3], on_read=check)
    assert run(["drill", "--case", CASE, "--count", "5"]) == 130
    assert [s[:2] for s in seen] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_scripted_json_resume_continues_the_same_drill(
    data: Path,
    store: SessionStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = _interrupted_drill(monkeypatch, capsys)
    scores = [i.assessment.score for i in load_drill(store, sid).items if i.assessment]
    assert run(["drill", "--resume", sid, "--script", _script(tmp_path, ANSWERS[2:]), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["session_id"] == sid and report["case_id"] == CASE
    assert [i["answer"] for i in report["items"]] == ANSWERS
    assert [i["score"] for i in report["items"][:2]] == scores
    assert sum(d["observations"] for d in report["mastery"]["dimensions"].values()) == 4
    assert store.load(sid).status == "finished" and _answers(store, sid) == ANSWERS


def test_a_short_script_answers_one_more_and_ends_the_drill(
    data: Path,
    store: SessionStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = _interrupted_drill(monkeypatch, capsys)
    assert run(["drill", "--resume", sid, "--script", _script(tmp_path, ANSWERS[2:3])]) == 0
    out = capsys.readouterr().out
    assert f"you: {ANSWERS[2]}" in out and f"drill {sid}: 3 answered" in out
    assert _answers(store, sid) == ANSWERS[:3] and store.load(sid).status == "finished"  # as a new scripted drill


def test_a_finished_drill_is_a_one_line_error_naming_the_export(
    data: Path, store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["drill", "--case", CASE, "--script", _script(tmp_path, ANSWERS[:1]), "--format", "json"]) == 0
    sid = json.loads(capsys.readouterr().out)["session_id"]
    before = _snapshot(store)
    assert run(["drill", "--resume", sid]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and len(err.splitlines()) == 1
    export = f"`interviewer export {sid} [--format md|json]`"
    assert err == f"interviewer: error: drill {sid} is already finished; see it with {export}"
    assert _snapshot(store) == before
    assert run(["export", sid]) == 0 and ANSWERS[0] in capsys.readouterr().out  # the command it names works


def test_unknown_foreign_and_interview_ids_read_exactly_like_an_unknown_interview(
    data: Path, store: SessionStore, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs, _ = start_drill(case_id=CASE, count=3, store=store, owner="alice")
    interview = store.create(kind="interview", case_id=CASE, level="senior", state_json="{}").id
    mine, _ = start_drill(case_id=CASE, count=3, store=store)
    before = _snapshot(store)
    unknown = new_session_id()
    assert run(["interview", "--resume", unknown]) == 2
    expected = capsys.readouterr().err.strip()
    assert expected.startswith(f"interviewer: error: No session {unknown}") and len(expected.splitlines()) == 1
    for sid in (unknown, theirs.session_id, interview):
        assert run(["drill", "--resume", sid]) == 2, sid
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.strip() == expected.replace(unknown, sid)
    assert run(["drill", "--resume", "not/an id"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("interviewer: error: Invalid session id") and len(err.splitlines()) == 1
    assert _snapshot(store) == before and mine.session_id in [r[0] for r in before]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--case", CASE], "--case"),
        (["--dimension", "monitoring"], "--dimension"),
        (["--failure-mode", "no_monitoring"], "--failure-mode"),
        (["--count", "3"], "--count"),
        (["--level", "staff"], "--level"),
        (["--case", CASE, "--count", "2"], "--case, --count"),
    ],
)
def test_resume_refuses_options_that_would_change_the_drill(
    data: Path, store: SessionStore, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    state, _ = start_drill(case_id=CASE, count=3, store=store)
    before = _snapshot(store)
    assert run(["drill", "--resume", state.session_id, *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and len(err.splitlines()) == 1
    assert "--resume" in err and err.endswith(f"drop {named}")
    assert _snapshot(store) == before


def test_json_resume_needs_a_script(data: Path, store: SessionStore, capsys: pytest.CaptureFixture[str]) -> None:
    state, _ = start_drill(case_id=CASE, count=3, store=store)
    before = _snapshot(store)
    assert run(["drill", "--resume", state.session_id, "--format", "json"]) == 2
    assert "--script" in capsys.readouterr().err and _snapshot(store) == before


def test_a_drill_killed_while_starting_is_a_one_line_error(
    data: Path, store: SessionStore, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = store.create(kind="drill", case_id=CASE, level="senior", state_json="{}").id  # the first commit only
    before = _snapshot(store)
    assert run(["drill", "--resume", sid]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "interrupted while starting" in err and "start a new drill" in err
    assert _snapshot(store) == before


def test_load_drill_refuses_a_state_that_disagrees_with_the_stored_turns(data: Path, store: SessionStore) -> None:
    from agent.drill.session import DrillUnreadable

    state, _ = start_drill(case_id=CASE, count=3, store=store)
    one, _ = answer(state, ANSWERS[0], store=store)
    assert load_drill(store, one.session_id).version == store.load(one.session_id).version
    stale = state.model_copy(update={"version": one.version})  # a state that forgot the stored answer
    store.append_turns(state.session_id, [], stale.model_dump_json(), expected_version=one.version)
    with pytest.raises(DrillUnreadable, match="1 stored answers, 0 in its state"):
        load_drill(store, state.session_id)


def test_sessions_lists_drills_with_their_kind_and_mean_score(
    data: Path, store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["drill", "--case", CASE, "--script", _script(tmp_path, ANSWERS[:2]), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert run(["sessions", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == report["session_id"] and row["kind"] == "drill" and row["status"] == "finished"
    assert row["overall"] == report["mean_score"] and row["turns"] == 2 * 3  # question, answer, feedback each
    assert run(["sessions"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(report["session_id"]))
    assert line.split()[1:3] == ["drill", CASE]


def test_the_answer_function_is_what_resume_continues(data: Path, store: SessionStore) -> None:
    """A drill continued in-process from `load_drill` stores the same turns as one never interrupted."""
    state, _ = start_drill(case_id=CASE, count=2, store=store)
    one, _ = answer(state, ANSWERS[0], store=store)
    again = load_drill(store, one.session_id)
    assert isinstance(again, DrillSession) and again.model_dump(exclude={"version"}) == one.model_dump(
        exclude={"version"}
    )
    two, _ = answer(again, ANSWERS[1], store=store)
    assert two.finished and _answers(store, two.session_id) == ANSWERS[:2]


# -- the fault: a real `interviewer drill` SIGKILLed while the 3rd answer is being typed -----------------


@pytest.mark.slow
def test_sigkill_mid_answer_then_resume_finishes_the_drill(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    assert (settings.cache_dir / "onnx").is_dir()  # the embedder cache the subprocesses share
    data = _data_dir(settings.data_dir, tmp_path)
    term = Terminal(["--case", CASE, "--count", "4"], data, command="drill")
    sid = term.stderr_line("interviewer: drill ").split()[2]
    assert term.reply().startswith("interviewer: Case:")  # the case, then the first question
    for text in ANSWERS[:2]:
        term.send(text)
        shown = term.reply()  # the next question: printed only after the answer and its feedback were stored
    assert "Drill 3 of 4" in shown
    term.typing("Candidates from an ANN index and a ran")  # the 3rd answer, half typed
    assert term.kill() == -9

    with SessionStore(data / DB) as store:
        killed = load_drill(store, sid)
        assert [i.answer for i in killed.items] == ANSWERS[:2] and _answers(store, sid) == ANSWERS[:2]
        assert store.load(sid).status == "active" and killed.current is not None
        assert all(i.assessment is not None for i in killed.items)

    again = Terminal(["--resume", sid], data, command="drill")
    assert "2 of 4 answered" in again.stderr_line("resuming drill")
    assert again.reply() == shown  # the same 3rd question, asked again
    again.send(ANSWERS[2])
    assert "Drill 4 of 4" in again.reply()
    again.send(ANSWERS[3])  # the last: the drill finishes and the command ends
    code, out = again.finish()
    assert code == 0 and f"drill {sid}: 4 answered" in out

    with SessionStore(data / DB) as store:
        done = load_drill(store, sid)
        assert done.finished and store.load(sid).status == "finished"
        assert [i.answer for i in done.items] == ANSWERS and _answers(store, sid) == ANSWERS  # no duplicates
        assert [i.assessment for i in done.items[:2]] == [i.assessment for i in killed.items]  # their scores kept
        mastery = load_mastery(store)
        assert mastery.drills == 4 and done.mastery.drills == 4  # once per answer, from the store and the state
        assert sum(e.count for e in mastery.dimensions.values()) == 4
