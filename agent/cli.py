"""The `interviewer` command line: cases, index, search, grade, interview and eval (more commands join later)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from agent.drill.cli import add_drill_parser
from agent.settings import Settings, SettingsError
from evals.interviews import HELD_OUT_SPLITS
from knowledge.markdown import KnowledgeFormatError

if TYPE_CHECKING:
    from agent.interview.model_voice import TerminalEcho
    from agent.interview.service import InterviewService


class CliError(Exception):
    """A user-facing error: printed as one line on stderr, exit status 2."""


def one_line(message: object) -> str:
    """The message on one line: line breaks and other unprintable characters (echoed input) shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(message))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"interviewer: error: {one_line(message)} (see --help)\n")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(provider=getattr(args, "provider", None))


def cmd_cases(args: argparse.Namespace) -> int:
    """Print the case catalogue: id and title, one per line."""
    from knowledge.corpus import load_corpus

    cases = load_corpus().cases
    if args.format == "json":
        print(json.dumps([{"id": c.id, "title": c.title, "summary": c.summary} for c in cases.values()], indent=2))
        return 0
    width = max(len(cid) for cid in cases)
    for case in cases.values():
        print(f"{case.id:<{width}}  {case.title}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """Build or update the knowledge index and print a summary."""
    from agent.kb import open_index, sync_index

    settings = _settings(args)
    with _index_read_only_as_cli_error():
        stats = sync_index(open_index(settings), rebuild=args.rebuild)
    if stats.read_only:
        print(
            f"the index is up to date ({stats.files} files, {stats.chunks} chunks); its folder is read-only, "
            f"so nothing was written -> {settings.index_dir}"
        )
        return 0
    print(
        f"indexed {stats.files} files, {stats.chunks} chunks "
        f"({stats.files_changed} files changed, {stats.added} chunks embedded, {stats.removed} removed) "
        f"in {stats.seconds:.2f} s -> {settings.index_dir}"
    )
    return 0


@contextmanager
def _index_read_only_as_cli_error() -> Iterator[None]:
    """An index that cannot be written in a read-only folder is a one-line error (without errno noise)."""
    from knowledge.index import IndexReadOnly

    try:
        yield
    except IndexReadOnly as e:
        raise CliError(str(e)) from e


def _check_choice(value: str | None, allowed: Sequence[str], what: str, hint: str) -> None:
    if value is not None and value not in allowed:
        raise CliError(f"unknown {what} '{value}' ({hint})")


def cmd_search(args: argparse.Namespace) -> int:
    """Query the knowledge base and print the best passages."""
    from knowledge.ids import CASE_IDS, DIMENSIONS
    from knowledge.retrieval import METHODS, SearchFilters

    query = " ".join(args.query).strip()
    if not query:
        raise CliError("the search query is empty")
    if not 1 <= args.k <= 50:
        raise CliError(f"-k must be between 1 and 50, got {args.k}")
    _check_choice(args.case, CASE_IDS, "case id", "see `interviewer cases`")
    _check_choice(args.step, DIMENSIONS, "step", "one of " + ", ".join(DIMENSIONS))
    _check_choice(args.method, METHODS, "method", "one of " + ", ".join(METHODS))
    settings = _settings(args)
    from agent.kb import ready_retriever

    filters = SearchFilters(case_id=args.case, step=args.step, kind=args.kind, strict_case=args.only_case)
    with _index_read_only_as_cli_error():
        retriever = ready_retriever(settings, show_progress=args.format != "json")
        hits = retriever.search(query, k=args.k, filters=filters, method=args.method or settings.retrieval)
    if args.format == "json":
        fields = ("source", "heading", "case_id", "failure_mode", "step", "score", "text")
        print(json.dumps([h.model_dump(include=set(fields)) for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no passage matches")
    for n, hit in enumerate(hits, start=1):
        print(f"{n}. [{hit.score:.4f}] {hit.source} › {hit.heading}")
        snippet = " ".join(hit.text.split())
        print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation and print its table."""
    if args.split in HELD_OUT_SPLITS and args.what != "interview":
        raise CliError(f"--split {args.split} exists only for the interview eval")
    if args.what == "retrieval":
        from evals.retrieval_eval import main as retrieval_main

        return retrieval_main(_settings(args), split=args.split, out=args.out)
    if args.what == "grading":
        from evals.grading_eval import main as grading_main

        return grading_main(split=args.split, out=args.out, provider=args.provider)
    if args.what == "interview":
        from evals.interview_eval import main as interview_main

        return interview_main(split=args.split, out=args.out)
    raise CliError(f"unknown eval '{args.what}'")


def _os_reason(e: OSError) -> str:
    """What an OS error means for the user, in a few words (a full disk and a read-only folder spelled out)."""
    import errno

    if e.errno == errno.ENOSPC:
        return "the disk is full (free some space and retry)"
    if e.errno == errno.EROFS:
        return "the file system is read-only (choose a writable folder)"
    return e.strerror or str(e)


def _read_answer(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError as e:
        raise CliError(f"cannot read '{path}': it is a directory") from e
    except OSError as e:
        raise CliError(f"cannot read '{path}': {e.strerror or e}") from e
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")  # a byte-order mark is not content
    if not text.strip():
        raise CliError(f"'{path}' is empty")
    return text


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade one written answer, or a JSONL batch, offline or (--provider openai) with the model grader."""
    from agent.grading.batch import grade_batch
    from agent.grading.offline import GradingInputError, grade_answer
    from agent.grading.provider import answer_grader, grade_batch_with
    from agent.grading.report import render_markdown
    from agent.kb import embedder_factory
    from agent.llm.factory import chat_model_from_settings
    from knowledge.ids import CASE_IDS, LEVELS

    settings = _settings(args)
    model = chat_model_from_settings(settings)  # a missing key fails here, before any work
    cap = settings.grade_max_tokens
    try:
        if args.batch:
            if args.file or args.case:
                raise CliError("--batch takes no FILE or --case (each line names its case)")
            if not args.out:
                raise CliError("--batch needs --out OUT.jsonl")
            src = Path(args.batch)
            if not src.is_file():
                raise CliError(f"cannot read '{args.batch}': {'it is a directory' if src.is_dir() else 'no such file'}")
            embedder = embedder_factory(_settings(args))()
            try:
                if model is None:
                    count = grade_batch(src, Path(args.out), embedder=embedder)
                else:
                    count = grade_batch_with(src, Path(args.out), answer_grader(model, embedder, max_tokens=cap))
            except OSError as e:  # the batch goes to a temporary file renamed at the end: nothing half-written
                raise CliError(f"cannot write '{args.out}': {_os_reason(e)}; nothing was written") from e
            print(f"graded {count} answers -> {args.out}", file=sys.stderr)
            return 0
        if not args.file:
            raise CliError("give an answer FILE (or --batch IN.jsonl --out OUT.jsonl)")
        if not args.case:
            raise CliError("--case ID is required (see `interviewer cases`)")
        _check_choice(args.case, CASE_IDS, "case id", "see `interviewer cases`")
        _check_choice(args.level, LEVELS, "level", "one of " + ", ".join(LEVELS))
        answer = _read_answer(args.file)
        embedder = embedder_factory(_settings(args))()
        if model is None:
            card = grade_answer(answer, args.case, args.level, embedder=embedder)
        else:
            card = answer_grader(model, embedder, max_tokens=cap)(answer, args.case, args.level)
    except GradingInputError as e:
        raise CliError(str(e)) from e
    if args.format == "json":
        print(card.to_json())
    else:
        print(render_markdown(card), end="")
    return 0


def read_script(path: str) -> list[str]:
    """The candidate turns of a JSONL script ({"text": ...} a line); a bad line is a one-line error."""
    raw = _read_answer(path)
    turns: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise CliError(f"'{path}' line {number}: not valid JSON ({e.msg})") from e
        except RecursionError as e:
            raise CliError(f"'{path}' line {number}: not valid JSON (nested too deeply)") from e
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise CliError(f"'{path}' line {number}: expected an object with a string \"text\"")
        turns.append(item["text"])
    return turns


@contextmanager
def _session_errors() -> Iterator[None]:
    """Turn the session store's and the interview service's errors into one-line `CliError`s."""
    from agent.interview.service import InterviewServiceError
    from agent.sessions import SessionStoreError

    try:
        yield
    except (SessionStoreError, InterviewServiceError) as e:
        raise CliError(" ".join(str(e).split())) from e


def _converse(
    service: InterviewService, sid: str, script: list[str] | None, quiet: bool, echo: TerminalEcho | None = None
) -> bool:
    """Feed the candidate's messages to a stored session; True when the candidate paused (not finished)."""
    from agent.interview.service import TurnNotRecorded, resume_hint
    from agent.sessions import StoreUnavailable
    from agent.terminal import message_source

    read_message = message_source(script)
    while not service.get(sid).finished:
        message = read_message()
        if message is None or message.strip() == "/end":
            return False
        if script is None and message.strip() == "/pause":
            return True
        try:
            turn = service.reply(sid, message)
        except TurnNotRecorded as e:
            if script is not None:
                raise CliError(str(e)) from e
            print(f"interviewer: {e}", file=sys.stderr, flush=True)
            continue
        except StoreUnavailable as e:  # nothing of this message was stored; every earlier turn is
            if script is None and e.transient:
                print(f"interviewer: {e}", file=sys.stderr, flush=True)
                continue
            raise CliError(f"{e} Session {sid} is kept; resume with `{resume_hint(sid)}`.") from e
        if echo is not None:
            echo.done(turn)
        elif not quiet:
            print(f"\ninterviewer: {turn.text}\n", flush=True)
    return False


def cmd_interview(args: argparse.Namespace) -> int:
    """Run a mock interview, interactive on stdin or scripted from a JSONL file, stored after every turn."""
    from agent.grading.report import render_markdown
    from agent.interview import InterviewInputError
    from agent.interview.service import InterviewService, export_hint, resume_hint
    from knowledge.ids import CASE_IDS, LEVELS

    if args.resume is not None:
        if args.case or args.level:
            raise CliError("--resume continues a session with its own case and level: drop --case and --level")
    else:
        if not args.case:
            raise CliError("--case ID is required (see `interviewer cases`), or --resume ID to continue a session")
        _check_choice(args.case, CASE_IDS, "case id", "see `interviewer cases`")
        _check_choice(args.level, LEVELS, "level", "one of " + ", ".join(LEVELS))
    script = read_script(args.script) if args.script else None
    if args.format == "json" and script is None:
        raise CliError("--format json needs --script FILE (a non-interactive run)")
    quiet = args.format == "json"
    with _session_errors():
        from agent.interview.model_voice import TerminalEcho
        from agent.llm.factory import chat_model_from_settings

        model = chat_model_from_settings(settings := _settings(args))  # None: the offline voice
        echo = TerminalEcho() if model is not None and script is None else None
        service = InterviewService(settings, step_options={"model": model, "on_token": echo} if model else None)
        if service.store.read_only:
            from agent.sessions.errors import readonly_message

            raise CliError(readonly_message(service.store.path))
        if args.resume is not None:
            session = service.get(args.resume)
            sid = session.session_id
            if session.finished:
                raise CliError(
                    f"session {sid} is already finished; export it with `{export_hint(sid)} [--format md|json]`"
                )
            if not quiet:
                answers = len(session.state.candidate_turns())
                print(
                    f"interviewer: resuming session {sid} ({session.state.case_id}, {session.state.level}, "
                    f"{answers} answer{'' if answers == 1 else 's'} so far; /pause to leave, /end to finish)",
                    file=sys.stderr,
                    flush=True,
                )
                last = next((t for t in reversed(session.state.turns) if t.role == "interviewer"), None)
                if last is not None:
                    print(f"interviewer: {last.text}\n", flush=True)
        else:
            try:
                if script is not None:
                    sid, turn = service.begin(
                        args.case, args.level or "senior", clock="turns", turn_budget=max(2, len(script) + 1)
                    )
                else:
                    sid, turn = service.begin(args.case, args.level or "senior", clock="wall")
            except InterviewInputError as e:
                raise CliError(str(e)) from e
            if not quiet:
                print(
                    f"interviewer: session {sid} (/pause to leave and `{resume_hint(sid)}` to come back, "
                    "/end to finish)",
                    file=sys.stderr,
                    flush=True,
                )
                print(f"interviewer: {turn.text}\n", flush=True)
        try:
            paused = _converse(service, sid, script, quiet, echo)
        except KeyboardInterrupt:  # every acknowledged turn is already stored; an interrupted one is not
            print(f"\ninterviewer: session {sid} saved; resume with `{resume_hint(sid)}`", file=sys.stderr)
            raise
        if paused:
            print(f"interviewer: session {sid} saved; resume with `{resume_hint(sid)}`", file=sys.stderr)
            return 0
        card = service.end(sid)
        if quiet:
            print(json.dumps(service.get(sid).transcript(), indent=2, ensure_ascii=False))
        else:
            print(render_markdown(card), end="")
            print(f"interviewer: session {sid} saved; export it with `{export_hint(sid)}`", file=sys.stderr)
    return 0


def _when(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def cmd_sessions(args: argparse.Namespace) -> int:
    """List the stored sessions, newest first: id, kind, case, level, date, status, score, turns."""
    from datetime import UTC, datetime

    from agent.interview.service import InterviewService

    if not 1 <= args.limit <= 10_000:
        raise CliError(f"--limit must be between 1 and 10000, got {args.limit}")
    with _session_errors():
        service = InterviewService(_settings(args))
        rows = service.list(limit=args.limit)
        usages = {r.id: service.usage(r.id) for r in rows} if args.format == "json" else {}
    if args.format == "json":
        items = [
            {
                "id": r.id,
                "kind": r.kind,
                "case_id": r.case_id,
                "level": r.level,
                "created_at": datetime.fromtimestamp(r.created_at, UTC).isoformat(timespec="seconds"),
                "updated_at": datetime.fromtimestamp(r.updated_at, UTC).isoformat(timespec="seconds"),
                "status": r.status,
                "overall": r.overall,
                "hire_signal": r.hire_signal,
                "turns": r.turn_count,
                "usage": usages[r.id],
            }
            for r in rows
        ]
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no sessions yet (start one with `interviewer interview --case ID`)")
        return 0
    table = [("id", "kind", "case", "level", "date", "status", "score", "turns")]
    for r in rows:
        score = f"{r.overall:.2f} {r.hire_signal or ''}".strip() if r.overall is not None else "-"
        table.append((r.id, r.kind, r.case_id, r.level, _when(r.created_at), r.status, score, str(r.turn_count)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export one session as a markdown transcript (default) or the contract's transcript JSON."""
    from agent.interview.service import InterviewService

    with _session_errors():
        text = InterviewService(_settings(args)).export(args.session_id, args.format)
    if args.out is None:
        print(text, end="")
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write '{args.out}': {e.strerror or e}") from e
    print(f"exported session {args.session_id} -> {args.out}", file=sys.stderr)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the Gradio app (127.0.0.1 by default; --share only when asked)."""
    from ui.app import main as ui_main

    ui_main(args.host, args.port, args.share, settings=_settings(args))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure every performance figure in one run and print the table (--out: also JSON)."""
    from evals.bench import main as bench_main

    return bench_main(quick=args.quick, out=args.out)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the configuration (secrets redacted) and check the data folder, index, store, embedder, endpoint."""
    from agent.doctor import run_doctor

    return run_doctor(provider=getattr(args, "provider", None))


def cmd_shell(args: argparse.Namespace) -> int:
    """Start the interactive knowledge explorer."""
    from agent.shell import explore

    return explore(_settings(args))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = _Parser(add_help=False)
    common.add_argument("--provider", choices=["offline", "openai"], help="model provider (default: offline engine)")
    parser = _Parser(prog="interviewer", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("cases", help="list the case studies", parents=[common])
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("index", help="build or update the knowledge index", parents=[common])
    p.add_argument("--rebuild", action="store_true", help="wipe the index and embed everything again")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="query the knowledge base", parents=[common])
    p.add_argument("query", nargs="+", help="what to look for")
    p.add_argument("-k", type=int, default=5, help="number of passages (1-50, default 5)")
    p.add_argument("--case", help="a case id: that case's passages plus case-independent ones")
    p.add_argument("--only-case", action="store_true", help="with --case: that case's passages only")
    p.add_argument("--step", help="a dimension id (requirements, framing, …, communication)")
    p.add_argument("--kind", choices=["framework", "rubric", "failure_mode", "case"])
    p.add_argument("--method", help="hybrid (default), dense or bm25")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("grade", help="grade a written answer (or a JSONL batch)", parents=[common])
    p.add_argument("file", nargs="?", help="the answer, plain text or markdown")
    p.add_argument("--case", help="the case id the answer is for")
    p.add_argument("--level", default="senior", help="mid, senior (default) or staff")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.add_argument("--batch", metavar="IN.jsonl", help='grade {"id", "case", "level"?, "answer"} lines')
    p.add_argument("--out", metavar="OUT.jsonl", help="with --batch: where the scorecards go")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser(
        "interview", help="a mock interview in the terminal (or scripted), saved every turn", parents=[common]
    )
    p.add_argument("--case", help="the case id to interview on")
    p.add_argument("--level", help="mid, senior (default) or staff")
    p.add_argument("--resume", metavar="ID", help="continue an unfinished session (see `interviewer sessions`)")
    p.add_argument("--script", metavar="FILE", help='candidate turns as JSONL, {"text": ...} a line (non-interactive)')
    p.add_argument("--format", choices=["md", "json"], default="md", help="json: one transcript object (with --script)")
    p.set_defaults(func=cmd_interview)

    p = sub.add_parser("sessions", help="list stored sessions, newest first", parents=[common])
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--limit", type=int, default=100, help="at most this many sessions (default 100)")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("export", help="export a session as markdown or transcript JSON", parents=[common])
    p.add_argument("session_id", metavar="ID", help="the session id (see `interviewer sessions`)")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("ui", help="serve the web app (Gradio) on 127.0.0.1", parents=[common])
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.set_defaults(func=cmd_ui)

    add_drill_parser(sub, common)

    p = sub.add_parser(
        "doctor", help="check the configuration, index, session store and model endpoint", parents=[common]
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("shell", help="explore the knowledge base interactively", parents=[common])
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("bench", help="measure latency, throughput, build, start-up and memory", parents=[common])
    p.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    p.add_argument("--out", metavar="FILE", help="write the results as JSON to this file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("eval", help="run an evaluation and print its table", parents=[common])
    p.add_argument("what", choices=["retrieval", "grading", "interview"])
    p.add_argument(
        "--split",
        choices=["dev", "test", "all", *HELD_OUT_SPLITS],
        default="all",
        help="'all' is dev+test; the interview eval's held-out personas run only with 'holdout*'",
    )
    p.add_argument("--out", help="write the results as JSON to this file")
    p.set_defaults(func=cmd_eval)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the command, turn known errors into one line on stderr."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (CliError, SettingsError, KnowledgeFormatError) as e:
        print(f"interviewer: error: {one_line(e)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as e:
        where = one_line(e.filename or "file system")
        print(f"interviewer: error: {one_line(e.strerror or e)} ({where})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interviewer: interrupted", file=sys.stderr)
        return 130


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
