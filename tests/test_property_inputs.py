"""Property-based tests of every input boundary: a one-line error or a sensible result, never a traceback,
never a lost session.

Each example runs `agent.cli.run(argv)` in-process (stdout and stderr captured, stdin empty); a few
real subprocess runs cover bytes that cannot go through an in-process argv. After every command the
session stored before the tests began is compared byte for byte with its snapshot.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from agent import cli
from agent.interview.service import InterviewService
from agent.sessions import SessionStore, SessionStoreError
from agent.settings import Settings
from knowledge.ids import CASE_IDS, DIMENSIONS, LEVELS

CASE = "fraud-detection"
ROOT = Path(__file__).resolve().parent.parent


def fast(examples: int = 25) -> hyp_settings:
    """Hypothesis settings: a few examples, no per-example deadline, fixtures shared across examples."""
    return hyp_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


WEAK = "I would train a model on the transactions and put it behind an API."
# Text that is hard on parsers and tokenizers: controls, NUL, lone surrogates, RTL and zero-width marks.
NASTY = st.sampled_from(
    ["\x00", "\x07", "\x1b[31m", "\r", "\u202e", "\u200b", "\u2066", "\ufeff", "\ud800", "\udfff", "\U0001f600", "\\"]
)
TEXT = st.one_of(st.text(max_size=80), st.lists(NASTY, max_size=6).map("".join), st.just(WEAK))


# -- helpers ----------------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the command line in-process with empty stdin; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = cli.run(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        sys.stdin = saved_stdin
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, argv: Any = None) -> None:
    """Exit 0, or exit 2 with exactly one error line (the last line on stderr); never a traceback."""
    assert "Traceback" not in err, (argv, err[-2000:])
    assert code in (0, 2), (argv, code, err[-2000:])
    if code == 2:
        lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error:" in ln]
        assert len(errors) == 1 and lines[-1] == errors[0], (argv, err[-2000:])
        assert lines[-1].startswith("interviewer: error:"), (argv, lines[-1])


def snapshot(db: Path, sid: str) -> tuple[Any, list[Any]]:
    """The session's row and turn rows, read straight from SQLite."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        turns = con.execute("SELECT * FROM turns WHERE session_id = ? ORDER BY seq", (sid,)).fetchall()
    finally:
        con.close()
    return row, turns


class Prior:
    """A session stored before any bad input, and its snapshot."""

    def __init__(self, db: Path, sid: str) -> None:
        """Take the snapshot."""
        self.db, self.sid = db, sid
        self.before = snapshot(db, sid)
        assert self.before[0] is not None and len(self.before[1]) == 3

    def check(self) -> None:
        """The session is byte-identical to its snapshot."""
        assert snapshot(self.db, self.sid) == self.before, "a bad command changed the stored session"


@pytest.fixture(scope="module")
def prior(settings: Settings, embedder: Any) -> Prior:
    """An unfinished interview (opening, one answer, one reply) in the shared data folder."""
    service = InterviewService(settings, embedder=embedder)
    sid, _ = service.begin(CASE, "senior", clock="turns", turn_budget=20)
    service.reply(sid, "How many transactions a day, and what share is fraud?")
    service.close()
    return Prior(settings.sessions_db, sid)


@pytest.fixture(autouse=True)
def fast_embedder(monkeypatch: pytest.MonkeyPatch, embedder: Any) -> None:
    """Every command reuses the session's embedder (loading it is not what is under test)."""
    monkeypatch.setattr("agent.kb.embedder_factory", lambda _settings: lambda: embedder)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths of every awkward kind: missing, a folder, empty, binary, a valid script, a valid answer."""
    root = tmp_path_factory.mktemp("prop-files")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "script.jsonl").write_text('{"text": "How many transactions a day?"}\n', encoding="utf-8")
    (root / "answer.md").write_text(WEAK, encoding="utf-8")
    (root / "folder").mkdir()
    return {
        "missing": str(root / "no-such-file.txt"),
        "folder": str(root / "folder"),
        "empty": str(root / "empty.txt"),
        "binary": str(root / "binary.bin"),
        "script": str(root / "script.jsonl"),
        "answer": str(root / "answer.md"),
        "out": str(root / "out.jsonl"),
        "out_in_missing_dir": str(root / "new" / "out.jsonl"),
        "root": str(root),
    }


# -- 1. random command lines ------------------------------------------------------------------------

FLAGS: dict[str, list[str]] = {
    "cases": ["--format"],
    "search": ["-k", "--case", "--only-case", "--step", "--kind", "--method", "--format"],
    "grade": ["--case", "--level", "--format", "--batch", "--out"],
    "interview": ["--case", "--level", "--resume", "--script", "--format"],
    "sessions": ["--format", "--limit"],
    "export": ["--format", "--out"],
    "drill": ["--case", "--dimension", "--failure-mode", "--level", "--count", "--resume", "--script", "--format"],
}
SWITCHES = {"--only-case"}
POSITIONAL = {"search": 1, "grade": 1, "export": 1}


def _value(draw: Any, flag: str, files: dict[str, str]) -> str:
    """A value for a flag: valid, unknown, numeric, a path of any kind, or random text."""
    pools: dict[str, list[str]] = {
        "--case": [*CASE_IDS[:3], "no-such-case", "FRAUD-DETECTION", ""],
        "--level": [*LEVELS, "junior", "SENIOR"],
        "--format": ["json", "md", "text", "xml"],
        "-k": ["0", "1", "5", "50", "51", "-3", "1e3", "abc", "99999999999999999999"],
        "--limit": ["0", "1", "10000", "10001", "-1", "x"],
        "--count": ["0", "1", "2", "1000", "-1", "x"],
        "--step": [*DIMENSIONS[:2], "nope"],
        "--dimension": [*DIMENSIONS[:2], "nope"],
        "--failure-mode": ["no_baseline", "nope"],
        "--kind": ["framework", "case", "nope"],
        "--method": ["hybrid", "bm25", "dense", "nope"],
        "--resume": ["x" * 22, "../../etc/passwd", "a'; DROP TABLE sessions;--", "-", ""],
    }
    paths = [files[k] for k in ("missing", "folder", "empty", "binary", "script", "answer")]
    if flag in ("--script", "--batch"):
        pool = paths
    elif flag == "--out":
        pool = [files["out"], files["folder"], files["out_in_missing_dir"]]
    else:
        pool = pools.get(flag, [])
    return str(draw(st.one_of(st.sampled_from(pool), TEXT) if pool else TEXT))


@st.composite
def argvs(draw: Any, files: dict[str, str]) -> list[str]:
    """A command line from the real subcommands and flags with random values, in random order."""
    command = draw(st.sampled_from(sorted(FLAGS)))
    argv = [command]
    for _ in range(draw(st.integers(0, POSITIONAL.get(command, 0)))):
        pool = [files["answer"], files["binary"], files["folder"], files["missing"], "x" * 22, "how to serve"]
        argv.append(draw(st.one_of(st.sampled_from(pool), TEXT.filter(lambda t: not t.startswith("-")))))
    for flag in draw(st.lists(st.sampled_from(FLAGS[command]), max_size=4, unique=True)):
        argv += [flag] if flag in SWITCHES else [flag, _value(draw, flag, files)]
    if command in ("interview", "drill") and "--script" not in argv and draw(st.booleans()):
        argv += ["--script", files["script"]]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--provider", "--bogus", "-h"])))
    return argv


@pytest.fixture(scope="module")
def index_ready(built_index: Any) -> None:
    """Search needs the index; built once for the whole test session."""


def test_random_command_lines(prior: Prior, files: dict[str, str], index_ready: None) -> None:
    @fast(60)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        argv = data.draw(argvs(files))
        code, _out, err = run_cli(argv)
        assert_clean(code, err, argv)
        prior.check()

    check()


# -- 2. JSONL batch lines ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def batch_line(draw: Any) -> bytes:
    """One line of a batch file: valid, odd-but-valid, wrong, or not JSON at all."""
    kind = draw(st.sampled_from(["valid", "field", "missing", "value", "bytes", "blank", "deep"]))
    good: dict[str, Any] = {"id": draw(st.integers(0, 99)), "case": CASE, "answer": WEAK}
    if kind == "valid":
        good["answer"] = draw(st.sampled_from([WEAK, WEAK + "\x00\u202e\u200b\ud800", "  \t"]))
        return json.dumps(good).encode()
    if kind == "field":
        good[draw(st.sampled_from(["id", "case", "answer", "level"]))] = draw(JSON_VALUES)
        return json.dumps(good).encode()
    if kind == "missing":
        good.pop(draw(st.sampled_from(["id", "case", "answer"])))
        return json.dumps(good).encode()
    if kind == "value":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == "deep":
        return b"[" * draw(st.integers(1_000, 50_000))
    return draw(st.sampled_from([b"", b"   ", b"\t"]))


def _check_batch(content: bytes, out: Path, prior: Prior) -> None:
    out.unlink(missing_ok=True)
    src = out.with_suffix(".in.jsonl")
    src.write_bytes(content)
    code, _o, err = run_cli(["grade", "--batch", str(src), "--out", str(out)])
    assert_clean(code, err, content[:300])
    if code == 0:
        cards = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        assert cards and all(1 <= c["overall"] <= 4 and len(c["dimensions"]) == 8 for c in cards)
        assert f"graded {len(cards)} answers" in err
    else:
        assert not out.exists(), "a failed batch leaves no partial output"
    prior.check()


def test_batch_lines(prior: Prior, tmp_path: Path) -> None:
    @fast()
    @given(st.lists(batch_line(), min_size=1, max_size=4), st.booleans())
    @example([json.dumps({"id": 1, "case": CASE, "answer": WEAK}).encode()], True)
    @example([json.dumps({"id": 1, "case": CASE, "answer": "x" * 300_000}).encode()], False)
    def check(lines: list[bytes], bom: bool) -> None:
        _check_batch((b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines) + b"\n", tmp_path / "out.jsonl", prior)

    check()


def test_batch_output_paths(prior: Prior, files: dict[str, str]) -> None:
    good = files["root"] + "/good.jsonl"
    Path(good).write_text(json.dumps({"id": "a", "case": CASE, "answer": WEAK}) + "\n", encoding="utf-8")
    for argv in (
        ["grade", "--batch", good, "--out", files["folder"]],
        ["grade", "--batch", files["folder"], "--out", files["out"]],
        ["grade", "--batch", files["missing"], "--out", files["out"]],
        ["grade", "--batch", good],
        ["grade", "--batch", good, "--out", files["out"], "--case", CASE],
    ):
        code, _o, err = run_cli(argv)
        assert code == 2, argv
        assert_clean(code, err, argv)
    code, _o, err = run_cli(["grade", "--batch", good, "--out", files["out_in_missing_dir"]])
    assert code == 0 and Path(files["out_in_missing_dir"]).is_file()
    prior.check()


# -- 3. answer texts --------------------------------------------------------------------------------

ANSWER_BYTES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.one_of(NASTY, st.just(WEAK), st.sampled_from([" ", "\n", "<!-- x -->", "\u0600"])), max_size=12).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)


def test_answer_texts(prior: Prior, tmp_path: Path) -> None:
    @fast()
    @given(ANSWER_BYTES, st.sampled_from(LEVELS))
    @example(b"", "senior")
    @example(b" \n\t\r\n ", "senior")
    @example(b"\xef\xbb\xbf", "senior")
    @example(b"\xff\xfe\x00\x00" * 10, "mid")
    @example((WEAK + " ").encode() * 15_000, "staff")  # about 1 MB
    @example("\u202eI would ship it\u200b\u200b \u0645\u0631\u062d\u0628\u0627".encode(), "senior")
    def check(raw: bytes, level: str) -> None:
        path = tmp_path / "answer.txt"
        path.write_bytes(raw)
        code, out, err = run_cli(["grade", str(path), "--case", CASE, "--level", level, "--format", "json"])
        assert_clean(code, err, raw[:200])
        if code == 0:
            card = json.loads(out)
            assert 1 <= card["overall"] <= 4 and len(card["dimensions"]) == 8 and card["case_id"] == CASE
        else:
            assert "empty" in err
        prior.check()

    check()


def test_answer_text_markdown_output_never_fails(prior: Prior, tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"\x00\x1b[2J# Heading\n" + "\ud800".encode("utf-8", "surrogatepass"))
    code, out, err = run_cli(["grade", str(path), "--case", CASE])
    assert_clean(code, err)
    assert code == 0 and "\x1b" not in out and "\x00" not in out
    prior.check()


# -- 4. session ids ---------------------------------------------------------------------------------

SESSION_IDS = st.one_of(
    st.text(max_size=70),
    st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True),
    st.sampled_from(["../../etc/passwd", "a' OR '1'='1", "%00", "x" * 65, "x" * 15, "-" * 22, "\x00" * 20]),
)


def test_session_ids_on_the_command_line(prior: Prior, files: dict[str, str]) -> None:
    @fast(40)
    @given(SESSION_IDS, st.sampled_from(["export-md", "export-json", "resume", "resume-script"]))
    def check(sid: str, how: str) -> None:
        if sid == prior.sid:
            return
        argv = {
            "export-md": ["export", "--", sid],
            "export-json": ["export", "--format", "json", "--", sid],
            "resume": ["interview", f"--resume={sid}"],
            "resume-script": ["interview", f"--resume={sid}", "--script", files["script"], "--format", "json"],
        }[how]
        code, out, err = run_cli(argv)
        assert_clean(code, err, argv)
        assert code == 2 and out == "", (argv, out[:200])
        prior.check()

    check()


def test_session_ids_on_the_store_api(prior: Prior, settings: Settings, embedder: Any) -> None:
    service = InterviewService(settings, embedder=embedder)

    @fast(60)
    @given(st.one_of(SESSION_IDS, st.integers(), st.none(), st.binary(max_size=20)), st.sampled_from(["load", "reply"]))
    def check(sid: Any, how: str) -> None:
        if sid == prior.sid:
            return
        with pytest.raises(SessionStoreError) as info:
            if how == "load":
                service.store.load(sid)
            else:
                service.reply(sid, "How many users?")
        assert "\n" not in str(info.value)
        prior.check()

    try:
        check()
    finally:
        service.close()


def test_exact_prior_id_with_another_owner_is_unknown(prior: Prior, settings: Settings) -> None:
    with SessionStore(settings.sessions_db) as store:
        with pytest.raises(SessionStoreError) as theirs:
            store.load(prior.sid, owner="mallory")
        with pytest.raises(SessionStoreError) as unknown:
            store.load("y" * 22, owner="mallory")
    assert str(theirs.value).replace(prior.sid, "y" * 22) == str(unknown.value)
    prior.check()


# -- 5. interview script files ----------------------------------------------------------------------


@st.composite
def script_file(draw: Any) -> bytes:
    """A JSONL script: good lines with nasty text, wrong shapes, non-JSON, blank lines, maybe a BOM."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["text", "text", "shape", "bytes", "blank"]))
        if kind == "text":
            lines.append(json.dumps({"text": draw(TEXT)}).encode())
        elif kind == "shape":
            lines.append(json.dumps(draw(JSON_VALUES)).encode())
        elif kind == "bytes":
            lines.append(draw(st.binary(max_size=40)).replace(b"\n", b" "))
        else:
            lines.append(b"")
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + b"\n".join(lines)


def test_interview_scripts(prior: Prior, tmp_path: Path, settings: Settings) -> None:
    @fast()
    @given(script_file())
    @example(json.dumps({"text": "x" * 50_000}).encode())
    @example(json.dumps({"text": "a\ud800b\x00c\u202e"}).encode())
    def check(raw: bytes) -> None:
        path = tmp_path / "script.jsonl"
        path.write_bytes(raw)
        code, out, err = run_cli(["interview", "--case", CASE, "--script", str(path), "--format", "json"])
        assert_clean(code, err, raw[:200])
        if code == 0:
            data = json.loads(out)
            row, turns = snapshot(settings.sessions_db, data["session_id"])
            assert row is not None and len(turns) == len(data["turns"]) >= 1
        prior.check()

    check()


def test_resume_with_bad_scripts_keeps_every_turn(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    service = InterviewService(settings, embedder=embedder)
    sid, _ = service.begin(CASE, "mid", clock="turns", turn_budget=40)
    service.close()

    @fast()
    @given(script_file())
    def check(raw: bytes) -> None:
        before = snapshot(settings.sessions_db, sid)[1]
        path = tmp_path / "resume.jsonl"
        path.write_bytes(raw)
        code, _out, err = run_cli(["interview", "--resume", sid, "--script", str(path), "--format", "json"])
        assert_clean(code, err, raw[:200])
        after = snapshot(settings.sessions_db, sid)[1]
        assert after[: len(before)] == before, "an earlier turn changed"

    check()


# -- 6. the app's Grade upload ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def handlers(settings: Settings, embedder: Any) -> Iterator[Any]:
    """The app's event handlers on the shared data folder."""
    from ui.backend import Backend
    from ui.handlers import Handlers

    service = InterviewService(settings, embedder=embedder)
    yield Handlers(Backend(settings, service))
    service.close()


def test_grade_upload_handler(prior: Prior, handlers: Any, tmp_path: Path, settings: Settings) -> None:
    @fast()
    @given(ANSWER_BYTES, st.sampled_from([CASE, "no-such-case", ""]), st.sampled_from([*LEVELS, "junior"]))
    @example(b"", CASE, "senior")
    @example(b"\x00" * 1000, CASE, "senior")
    def check(raw: bytes, case_id: str, level: str) -> None:
        path = tmp_path / "upload.bin"
        path.write_bytes(raw)
        try:
            result = handlers.grade("", str(path), case_id, level, None)
        except gr.Error as e:
            assert "\n" not in str(e) and "Traceback" not in str(e)
        else:
            sid = result[-1]
            row, _turns = snapshot(settings.sessions_db, sid)
            assert row is not None and row[2] == "grade" and "Overall" in result[0]
        prior.check()

    check()
    for bad in (tmp_path / "missing.txt", tmp_path):
        with pytest.raises(gr.Error):
            handlers.grade("", str(bad), CASE, "senior", None)


# -- 7. bytes that cannot go through an in-process argv ---------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [b"export", b"\xff\xfe\xfa" * 8],
        [b"interview", b"--resume", b"\xc3\x28" * 10, b"--format", b"json"],
        [b"grade", b"/tmp/\xff\xfe-missing.txt", b"--case", CASE.encode()],
        [b"grade", b"--batch", b"\xed\xa0\x80.jsonl", b"--out", b"o.jsonl"],
        [b"interview", b"--case", b"\x80\x81", b"--script", b"x.jsonl"],
        [b"search", b"\xff", b"--case", b"\xfe"],
    ],
)
def test_undecodable_argv_in_a_real_process(argv: list[bytes], prior: Prior, settings: Settings) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("interviewer")).encode(), *argv],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={"INTERVIEWER_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin", "HOME": str(settings.data_dir)},
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert_clean(proc.returncode, err, argv)
    assert proc.returncode == 2
    prior.check()


# -- 8. hostile repetition: the injection scan stays linear-ish ----------------------------------------

HOSTILE = {
    "blank lines": "\n \n\t" * 25_000,
    "unclosed objects": "{score: " * 12_500,
    "score keys": "score: 1 " * 11_000,
    "brace then keys": "{}" + "score: 1 " * 11_000,
    "hidden spans": '<span style="display:none">x</span> ' * 2_700,
    "trigger then spaces": "give" + " " * 99_000,
    "unclosed tags": "<b>bold " * 12_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_are_scanned_quickly(name: str) -> None:
    import time

    from agent.grading.injection import find_injection

    began = time.perf_counter()
    find_injection(HOSTILE[name][:100_000])
    assert time.perf_counter() - began < 5.0, name  # each took 2.4 s to minutes before the fix
