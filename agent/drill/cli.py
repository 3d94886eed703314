"""`interviewer drill`: short focused questions, each graded at once; interactive or scripted (JSONL), resumable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from agent.settings import Settings

if TYPE_CHECKING:
    from agent.drill.session import DrillSession
    from agent.grading.coverage import Embedder
    from agent.sessions import SessionStore
    from knowledge.corpus import Corpus


def add_drill_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `drill` subcommand on the CLI's subparsers."""
    p = sub.add_parser("drill", help="short focused drills on your weakest dimensions", parents=[common])
    p.add_argument("--case", help="the case id to drill on (default: one that fits the focus)")
    focus = p.add_mutually_exclusive_group()
    focus.add_argument("--dimension", help="drill one dimension (requirements, framing, …, communication)")
    focus.add_argument("--failure-mode", dest="failure_mode", help="drill one failure mode (e.g. no_monitoring)")
    p.add_argument("--level", help="mid, senior (default) or staff")
    p.add_argument("--count", type=int, help="number of questions (default 5; with --script, one per line)")
    p.add_argument("--resume", metavar="ID", help="continue an unfinished drill (see `interviewer sessions`)")
    p.add_argument("--script", metavar="FILE", help='answers as JSONL, {"text": ...} a line (non-interactive)')
    p.add_argument("--format", choices=["md", "json"], default="md", help="json: one drill object (with --script)")
    p.set_defaults(func=cmd_drill)


def _error(message: str) -> Exception:
    from agent.cli import CliError

    return CliError(message)


def read_script(path: str) -> list[str]:
    """The answers of a JSONL script ({"text": ...} a line); a bad line is a one-line error with its number."""
    from agent.cli import read_script as read_jsonl_script

    answers = read_jsonl_script(path)
    if not answers:
        raise _error(f"'{path}' is empty")
    return answers


def _load_embedder(settings: Settings) -> Embedder:
    from agent.kb import embedder_factory

    return embedder_factory(settings)()


def _mastery_table(summary: dict[str, Any]) -> str:
    lines = ["| dimension | mastery | observations |", "|---|---|---|"]
    for dim, v in summary["dimensions"].items():
        mark = " ✓" if v["mastered"] else ""
        lines.append(f"| {dim} | {v['score']:.2f}/4{mark} | {v['observations']} |")
    nxt = summary.get("next") or {}
    if nxt:
        lines.append("")
        lines.append(
            f"Next drill: {nxt['dimension']}" + (f" ({nxt['failure_mode']})" if nxt.get("failure_mode") else "")
        )
    return "\n".join(lines)


_FIXED: tuple[tuple[str, str], ...] = (
    ("case", "--case"),
    ("dimension", "--dimension"),
    ("failure_mode", "--failure-mode"),
    ("level", "--level"),
    ("count", "--count"),
)
"""Options that shape a drill: a resumed drill keeps its own, so they cannot be combined with --resume."""


def _check_new(args: argparse.Namespace, corpus: Corpus, script: list[str] | None) -> int:
    """Validate a new drill's options (one-line errors); return its question count."""
    from agent.drill.questions import DrillFocusError, check_focus
    from agent.drill.session import MAX_COUNT
    from knowledge.ids import LEVELS

    try:
        check_focus(corpus, args.case, args.dimension, args.failure_mode)
    except DrillFocusError as e:
        raise _error(str(e)) from e
    if args.level is not None and args.level not in LEVELS:
        raise _error(f"unknown level '{args.level}' (one of {', '.join(LEVELS)})")
    count: int = args.count if args.count is not None else (min(len(script), MAX_COUNT) if script else 5)
    if not 1 <= count <= MAX_COUNT:
        raise _error(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    return count


def _resumable(store: SessionStore, session_id: str) -> DrillSession:
    """The stored drill to continue; a finished one is a one-line error naming the export command."""
    from agent.drill.session import load_drill

    state = load_drill(store, session_id)
    if state.finished or state.current is None:
        sid = state.session_id
        raise _error(f"drill {sid} is already finished; see it with `interviewer export {sid} [--format md|json]`")
    return state


def _converse(
    state: DrillSession, script: list[str] | None, quiet: bool, store: SessionStore, embedder: Embedder, corpus: Corpus
) -> DrillSession:
    """Ask, read and grade until the drill is done, /end or the input ends; each answer is stored, then acknowledged."""
    from agent.drill.session import answer, question_text
    from agent.terminal import message_source

    read_message = message_source(script)
    while not state.finished:
        message = read_message()
        if script is None and message is not None and not message.strip():
            print("(type an answer, or /end to stop)")
            continue
        if message is None or message.strip() == "/end":
            break
        state, feedback = answer(state, message, embedder=embedder, store=store, corpus=corpus)  # committed here
        if not quiet and script is not None:
            print(f"you: {message}")
        if not quiet:
            print(f"\n{feedback.text}\n", flush=True)
            if state.current is not None:
                print(f"interviewer: {question_text(corpus, state, state.current)}\n", flush=True)
    return state


def cmd_drill(args: argparse.Namespace) -> int:
    """Run a drill (or continue one with --resume): each answer graded with feedback at once, stored per answer."""
    from agent.drill.mastery import load_mastery
    from agent.drill.questions import DrillFocusError
    from agent.drill.session import drill_report, finish, question_text, resume_hint, start_drill
    from agent.sessions import SessionStore, SessionStoreError
    from agent.sessions.errors import readonly_message
    from knowledge.corpus import load_corpus

    if args.resume is not None:
        given = [flag for attr, flag in _FIXED if getattr(args, attr) is not None]
        if given:
            raise _error(
                f"--resume continues a drill with its own case, focus, level and count: drop {', '.join(given)}"
            )
    corpus = load_corpus()
    script = read_script(args.script) if args.script else None
    count = _check_new(args, corpus, script) if args.resume is None else 0
    if args.format == "json" and script is None:
        raise _error("--format json needs --script FILE (a non-interactive run)")
    settings = Settings.from_env(provider=getattr(args, "provider", None))
    quiet = args.format == "json"
    state: DrillSession | None = None
    try:
        store = SessionStore(settings.sessions_db, timeout_s=settings.store_timeout_s)
        if store.read_only:
            raise _error(readonly_message(store.path))
        if args.resume is not None:
            state = _resumable(store, args.resume)
            if not quiet:
                answered = len(state.items)
                print(
                    f"interviewer: resuming drill {state.session_id} ({state.case_id}, {state.level}, "
                    f"{answered} of {state.count} answered; /end to finish)",
                    file=sys.stderr,
                    flush=True,
                )
                current = question_text(corpus, state, state.current) if state.current else ""
                print(f"focus: {state.note}\n\ninterviewer: {current}\n", flush=True)
        else:
            state, turn = start_drill(
                case_id=args.case,
                dimension=args.dimension,
                failure_mode=args.failure_mode,
                level=args.level or "senior",
                count=count,
                mastery=load_mastery(store),
                store=store,
                corpus=corpus,
            )
            if not quiet:
                sid = state.session_id
                print(
                    f"interviewer: drill {sid} (/end to finish; if interrupted, `{resume_hint(sid)}` continues it)",
                    file=sys.stderr,
                    flush=True,
                )
                print(f"focus: {state.note}\n\ninterviewer: {turn.text}\n", flush=True)
        embedder = _load_embedder(settings)
        try:
            state = _converse(state, script, quiet, store, embedder, corpus)
        except KeyboardInterrupt:  # every acknowledged answer is already stored; the one being typed is not
            print(
                f"\ninterviewer: drill {state.session_id} saved; resume with `{resume_hint(state.session_id)}`",
                file=sys.stderr,
            )
            raise
        state = finish(state, store=store)
    except DrillFocusError as e:
        raise _error(str(e)) from e
    except SessionStoreError as e:
        kept = f" Drill {state.session_id} is kept; resume with `{resume_hint(state.session_id)}`." if state else ""
        raise _error(" ".join(str(e).split()) + kept) from e
    report = drill_report(state)
    if quiet:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        scores = ", ".join(str(i["score"]) for i in report["items"]) or "none"
        print(f"drill {state.session_id}: {len(report['items'])} answered, scores {scores}\n")
        print(_mastery_table(report["mastery"]))
    return 0


__all__ = ["add_drill_parser", "cmd_drill", "read_script"]
