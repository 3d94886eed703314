"""`interviewer drill`: short focused questions, each graded at once; interactive or scripted (JSONL)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from agent.settings import Settings

if TYPE_CHECKING:
    from agent.grading.coverage import Embedder


def add_drill_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `drill` subcommand on the CLI's subparsers."""
    p = sub.add_parser("drill", help="short focused drills on your weakest dimensions", parents=[common])
    p.add_argument("--case", help="the case id to drill on (default: one that fits the focus)")
    focus = p.add_mutually_exclusive_group()
    focus.add_argument("--dimension", help="drill one dimension (requirements, framing, …, communication)")
    focus.add_argument("--failure-mode", dest="failure_mode", help="drill one failure mode (e.g. no_monitoring)")
    p.add_argument("--level", default="senior", help="mid, senior (default) or staff")
    p.add_argument("--count", type=int, help="number of questions (default 5; with --script, one per line)")
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


def cmd_drill(args: argparse.Namespace) -> int:
    """Run a drill: questions on the chosen or weakest focus, each answer graded with feedback at once."""
    from agent.drill.mastery import load_mastery
    from agent.drill.questions import DrillFocusError, check_focus
    from agent.drill.session import MAX_COUNT, answer, drill_report, finish, question_text, start_drill
    from agent.sessions import SessionStore, SessionStoreError
    from knowledge.corpus import load_corpus
    from knowledge.ids import LEVELS

    corpus = load_corpus()
    try:
        check_focus(corpus, args.case, args.dimension, args.failure_mode)
    except DrillFocusError as e:
        raise _error(str(e)) from e
    if args.level not in LEVELS:
        raise _error(f"unknown level '{args.level}' (one of {', '.join(LEVELS)})")
    script = read_script(args.script) if args.script else None
    if args.format == "json" and script is None:
        raise _error("--format json needs --script FILE (a non-interactive run)")
    count = args.count if args.count is not None else (min(len(script), MAX_COUNT) if script else 5)
    if not 1 <= count <= MAX_COUNT:
        raise _error(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    settings = Settings.from_env(provider=getattr(args, "provider", None))
    quiet = args.format == "json"
    try:
        store = SessionStore(settings.sessions_db, timeout_s=settings.store_timeout_s)
        mastery = load_mastery(store)
        state, turn = start_drill(
            case_id=args.case,
            dimension=args.dimension,
            failure_mode=args.failure_mode,
            level=args.level,
            count=count,
            mastery=mastery,
            store=store,
            corpus=corpus,
        )
        embedder = _load_embedder(settings)
        if not quiet:
            print(f"focus: {state.note}\n\ninterviewer: {turn.text}\n", flush=True)
        from agent.terminal import message_source

        read_message = message_source(script)
        while not state.finished:
            message = read_message()
            if script is None and message is not None and not message.strip():
                print("(type an answer, or /end to stop)")
                continue
            if message is None or message.strip() == "/end":
                break
            state, feedback = answer(state, message, embedder=embedder, store=store, corpus=corpus)
            if not quiet and script is not None:
                print(f"you: {message}")
            if not quiet:
                print(f"\n{feedback.text}\n", flush=True)
                if state.current is not None:
                    print(f"interviewer: {question_text(corpus, state, state.current)}\n", flush=True)
        state = finish(state, store=store)
    except DrillFocusError as e:
        raise _error(str(e)) from e
    except SessionStoreError as e:
        raise _error(str(e)) from e
    report = drill_report(state)
    if quiet:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        scores = ", ".join(str(i["score"]) for i in report["items"]) or "none"
        print(f"drill {state.session_id}: {len(report['items'])} answered, scores {scores}\n")
        print(_mastery_table(report["mastery"]))
    return 0


__all__ = ["add_drill_parser", "cmd_drill", "read_script"]
