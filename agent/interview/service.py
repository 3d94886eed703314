"""`InterviewService`: mock interviews whose state lives in the session store (the CLI and the app both use it).

Every call loads the session from SQLite, runs the pure engine (`start`/`step`/`finish`), and writes the
new turns and the new state in one committed transaction guarded by the session's version (optimistic
concurrency): a reply is returned only once its turns are on disk, and a message the engine cannot
process stores nothing. The engine's `InterviewState` is the source of truth for the interview; the
store's turn rows are its append-only log (`state.turns[i]` is stored turn `i + 1`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from agent.grading.coverage import Embedder
from agent.grading.report import render_markdown
from agent.grading.scorecard import Scorecard
from agent.interview import engine
from agent.interview.state import DEFAULT_TURN_BUDGET, Clock, InterviewState, Turn
from agent.sessions import (
    SessionRecord,
    SessionStore,
    SessionSummary,
    StaleSession,
    Status,
    TurnRecord,
    new_session_id,
)
from agent.settings import Settings
from knowledge.ids import STEP_TITLES

_R = TypeVar("_R")

ExportFormat = Literal["md", "json"]

PAUSE_AFTER_S = 10 * 60.0
"""Under the wall clock, a silence longer than this between two turns counts as a break (a closed
terminal, a lost tab): the time beyond it is not charged to the interview, so a session resumed the
next day does not wrap up at once. Ten minutes is far longer than anyone thinks about one answer."""


DISABLED_NOTE = (
    "_Note: the model failed several times in a row; the offline interviewer speaks for the rest of this session._"
)
"""The transcript's one-line note at the turn after which the model voice was switched off."""


class InterviewServiceError(Exception):
    """Base of the service's own errors; every message is one line meant for the candidate."""


class TurnNotRecorded(InterviewServiceError):
    """The engine failed on a message: nothing was stored and the session is exactly as it was."""


class SessionFinished(InterviewServiceError):
    """The session is finished: it takes no more messages (export it instead)."""


class NotAnInterview(InterviewServiceError):
    """The session is not a mock interview (a drill, a grading) or its state is not an interview state."""


@dataclass(frozen=True)
class InterviewSession:
    """A loaded interview: the store's record (status, version, stored turns) and the engine state."""

    record: SessionRecord
    state: InterviewState

    @property
    def session_id(self) -> str:
        """The session id (the same in the store and in the state)."""
        return self.record.id

    @property
    def finished(self) -> bool:
        """Whether the interview is over (scorecard computed)."""
        return self.state.finished or self.record.status == "finished"

    def transcript(self) -> dict[str, Any]:
        """The contract's Transcript JSON, plus `session_id` and `status`."""
        out = engine.transcript(self.state)
        out["session_id"] = self.record.id
        out["status"] = self.record.status
        _add_usage(out, [t.meta for t in self.state.turns])
        return out


def resume_hint(session_id: str) -> str:
    """How to continue a session from the terminal."""
    return f"interviewer interview --resume {session_id}"


def export_hint(session_id: str) -> str:
    """How to export a session from the terminal."""
    return f"interviewer export {session_id}"


def _records(turns: list[Turn]) -> list[TurnRecord]:
    """Engine turns as store rows; `at` and the engine's meta go to `meta` (JSON-safe)."""
    out: list[TurnRecord] = []
    for t in turns:
        dumped = t.model_dump(mode="json")
        meta = dict(dumped["meta"])
        meta["at"] = dumped["at"]
        out.append(TurnRecord(role=t.role, text=t.text, phase=t.phase, move=t.move, meta=meta))
    return out


def _unpause(state: InterviewState, now: float) -> InterviewState:
    """A copy whose wall clock ignores the part of a long silence beyond `PAUSE_AFTER_S` (see there)."""
    if state.pacing.clock != "wall" or not state.turns:
        return state
    excess = now - state.turns[-1].at - PAUSE_AFTER_S
    if excess <= 0:
        return state
    new = state.model_copy(deep=True)
    new.pacing.started_at += excess
    new.pacing.step_started_at += excess
    return new


class InterviewService:
    """Begin, continue, end, read, list and export mock interviews persisted in a `SessionStore`.

    Thread-safe in the same way as the store (one SQLite connection per thread, optimistic versions);
    several processes may share the database file. `owner` scopes every call (None: ownerless sessions,
    what the CLI uses); another owner's session looks exactly like a missing one.
    """

    def __init__(
        self,
        settings: Settings,
        store: SessionStore | None = None,
        embedder: Embedder | None = None,
        *,
        step_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Open (or take) the store of `settings.sessions_db`; the embedder is loaded on first need.

        `step_options` are extra keyword arguments for `engine.step` (e.g. `model`, `on_token`); with a
        model and no `token_budget`, the budget is `settings.turn_token_budget`.
        """
        self.settings = settings
        if store is None:
            store = SessionStore(settings.sessions_db, timeout_s=settings.store_timeout_s)
        self.store = store
        self._embedder = embedder
        self._step_options = dict(step_options or {})
        if self._step_options.get("model") is not None:
            self._step_options.setdefault("token_budget", settings.turn_token_budget)

    @property
    def embedder(self) -> Embedder:
        """The sentence embedder the engine uses (the packaged MiniLM unless one was given)."""
        if self._embedder is None:
            from agent.kb import embedder_factory

            self._embedder = embedder_factory(self.settings)()
        return self._embedder

    # -- writing ------------------------------------------------------------------------------------

    def begin(
        self,
        case_id: str,
        level: str = "senior",
        *,
        clock: Clock = "wall",
        turn_budget: int = DEFAULT_TURN_BUDGET,
        owner: str | None = None,
        now: float | None = None,
    ) -> tuple[str, Turn]:
        """Create a session and its opening turn (both committed); return the session id and that turn.

        Raises `engine.InterviewInputError` for an unknown case or level (nothing is stored then).
        """
        sid = new_session_id()
        state, turn = engine.start(case_id, level, clock=clock, turn_budget=turn_budget, now=now, session_id=sid)
        state_json = state.model_dump_json()
        rec = self.store.create(
            kind="interview", case_id=case_id, level=level, state_json=state_json, owner=owner, session_id=sid
        )
        # A crash between these two commits leaves the opening in the state only; the next write stores it.
        self.store.append_turns(sid, _records(state.turns), state_json, expected_version=rec.version, owner=owner)
        return sid, turn

    def reply(self, session_id: str, message: str, *, owner: str | None = None, now: float | None = None) -> Turn:
        """Take the candidate's message; return the interviewer's turn once both turns are committed.

        On `StaleSession` (another tab or process wrote first) the session is reloaded and the message
        stepped again on the fresh state, once; a second conflict raises `StaleSession` with nothing stored.
        Raises `TurnNotRecorded` if the engine fails (nothing stored), `SessionFinished` for a finished
        session, and the store's errors (`SessionNotFound`, `InvalidSessionId`, `StoreUnavailable`).
        """

        def attempt(session: InterviewSession) -> tuple[InterviewState | None, Turn]:
            if session.finished:
                raise self._finished(session_id)
            at = time.time() if now is None else now
            try:
                return engine.step(
                    _unpause(session.state, at), message, now=at, embedder=self.embedder, **self._step_options
                )
            except Exception as e:
                detail = " ".join(str(e).split())[:200] or "no detail"
                raise TurnNotRecorded(
                    f"The interviewer could not process that message ({type(e).__name__}: {detail}); "
                    f"nothing was saved and session {session_id} is unchanged: send it again or rephrase."
                ) from e

        return self._commit_once_more_on_conflict(session_id, owner, attempt)

    def end(self, session_id: str, *, owner: str | None = None) -> Scorecard:
        """Finish the interview (grading the candidate's words) and store status, overall and hire signal.

        Idempotent: ending a finished session returns its scorecard. Retries once on `StaleSession`.
        """

        def attempt(session: InterviewSession) -> tuple[InterviewState | None, Scorecard]:
            if session.state.finished and session.state.scorecard is not None:
                if session.record.status != "finished":  # pragma: no cover - both are written together
                    return session.state, session.state.scorecard
                return None, session.state.scorecard
            new = engine.finish(session.state, embedder=self.embedder)
            assert new.scorecard is not None
            return new, new.scorecard

        return self._commit_once_more_on_conflict(session_id, owner, attempt)

    def get(self, session_id: str, *, owner: str | None = None) -> InterviewSession:
        """The session's record and engine state (`.transcript()` gives the contract JSON)."""
        return self._load(session_id, owner)

    def export(self, session_id: str, fmt: ExportFormat = "md", *, owner: str | None = None) -> str:
        """The session as JSON (the contract's transcript object) or as a readable markdown transcript.

        A session of another kind (a drill) whose state is not an interview state is exported from its
        stored turns, in the same shapes.
        """
        if fmt not in ("md", "json"):
            raise ValueError(f"export format must be 'md' or 'json', got {fmt!r}")
        record = self.store.load(session_id, owner=owner)
        state = _parse_state(record)
        if fmt == "json":
            if state is not None:
                data = InterviewSession(record, state).transcript()
            else:
                data = _add_usage(_generic_transcript(record), _metas(record, None))
            return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        return _markdown(record, state)

    def usage(self, session_id: str, *, owner: str | None = None) -> dict[str, Any]:
        """Model calls, tokens and estimated cost (USD) summed over the session's turns (see `session_usage`)."""
        record = self.store.load(session_id, owner=owner)
        return session_usage(_metas(record, _parse_state(record)))

    def list(self, *, owner: str | None = None, limit: int = 100) -> list[SessionSummary]:
        """Every session of this owner (all kinds), newest first."""
        return self.store.list_sessions(owner=owner, limit=limit)

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    # -- internals ----------------------------------------------------------------------------------

    def _load(self, session_id: str, owner: str | None) -> InterviewSession:
        record = self.store.load(session_id, owner=owner)
        if record.kind != "interview":
            raise NotAnInterview(f"Session {record.id} is a {record.kind} session, not a mock interview.")
        state = _parse_state(record)
        if state is None:
            raise NotAnInterview(
                f"Session {record.id} holds no readable interview state (written by another version?); "
                f"it can still be exported with `{export_hint(record.id)}`."
            )
        if record.turn_count > len(state.turns):
            raise NotAnInterview(
                f"Session {record.id} is inconsistent: {record.turn_count} stored turns but {len(state.turns)} "
                "in its state; it was left untouched."
            )
        return InterviewSession(record, state)

    def _commit_once_more_on_conflict(
        self,
        session_id: str,
        owner: str | None,
        attempt: Callable[[InterviewSession], tuple[InterviewState | None, _R]],
    ) -> _R:
        """Load, compute (new state or None to store nothing, result), commit; on `StaleSession` once more."""
        for tries in (1, 2):
            session = self._load(session_id, owner)
            new, result = attempt(session)
            if new is None:
                return result
            try:
                self._commit(session, new, owner)
            except StaleSession:
                if tries == 2:
                    raise
                continue
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _commit(self, session: InterviewSession, new: InterviewState, owner: str | None) -> int:
        """Append the state's turns the store does not have yet, and the state, at the version read."""
        status: Status | None = None
        overall: float | None = None
        signal: str | None = None
        if new.finished:
            status = "finished"
            if new.scorecard is not None:
                overall, signal = new.scorecard.overall, new.scorecard.hire_signal
        elif session.record.status != "active":
            status = "active"  # an abandoned session taken up again
        return self.store.append_turns(
            session.record.id,
            _records(new.turns[session.record.turn_count :]),
            new.model_dump_json(),
            expected_version=session.record.version,
            status=status,
            overall=overall,
            hire_signal=signal,
            owner=owner,
        )

    def _finished(self, session_id: str) -> SessionFinished:
        return SessionFinished(
            f"Session {session_id} is finished and takes no more messages; export it with "
            f"`{export_hint(session_id)} [--format md|json]`."
        )


def _parse_state(record: SessionRecord) -> InterviewState | None:
    try:
        return InterviewState.model_validate_json(record.state_json)
    except ValidationError:
        return None


def _metas(record: SessionRecord, state: InterviewState | None) -> list[Mapping[str, Any]]:
    """The meta of every turn, from the state when it parses, else from the stored rows."""
    if state is not None:
        return [t.meta for t in state.turns]
    return [t.meta for t in record.turns]


def session_usage(metas: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum of the per-turn model usage: model_calls, prompt_tokens, completion_tokens, cost_usd (estimated).

    A turn whose meta names a model made `model_calls` requests (1 when not recorded: a retry or a
    judgement makes more); turns phrased offline because the model was switched off for the session
    (`fallback: session_disabled`) made no call and count nothing.
    """
    calls = prompt = completion = 0
    cost = 0.0
    for meta in metas:
        if meta.get("fallback") == "session_disabled" or "model" not in meta:
            continue
        calls += _int(meta["model_calls"]) if "model_calls" in meta else 1
        prompt += _int(meta.get("prompt_tokens"))
        completion += _int(meta.get("completion_tokens"))
        value = meta.get("cost_usd")
        cost += float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
    return {
        "model_calls": calls,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": round(cost, 6),
    }


def _add_usage(data: dict[str, Any], metas: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Add the transcript's extra fields: `usage`, and `model_fallback` once the model was switched off."""
    data["usage"] = session_usage(metas)
    if any(m.get("model_disabled") or m.get("fallback") == "session_disabled" for m in metas):
        data["model_fallback"] = "session_disabled"
    return data


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _generic_transcript(record: SessionRecord) -> dict[str, Any]:
    return {
        "case_id": record.case_id,
        "level": record.level,
        "session_id": record.id,
        "kind": record.kind,
        "status": record.status,
        "turns": [{"role": t.role, "text": t.text, "phase": t.phase, "move": t.move} for t in record.turns],
        "flags": [],
        "scorecard": None,
    }


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _quote(text: str) -> list[str]:
    lines = text.strip().splitlines() or [""]
    return [f"> {line}".rstrip() for line in lines]


def _citations(meta: Mapping[str, Any]) -> list[str]:
    cites = meta.get("citations") or []
    out: list[str] = []
    for c in cites:
        if isinstance(c, str) and c.strip():
            out.append(f"`{c.strip()}`")
        elif isinstance(c, Mapping) and c.get("source"):
            heading = f" › {c['heading']}" if c.get("heading") else ""
            out.append(f"`{c['source']}`{heading}")
    return list(dict.fromkeys(out))


def _markdown(record: SessionRecord, state: InterviewState | None) -> str:
    from knowledge.corpus import load_corpus

    cases = load_corpus().cases
    title = cases[record.case_id].title if record.case_id in cases else record.case_id
    kind = "Mock interview" if record.kind == "interview" else record.kind.capitalize()
    candidate_turns = sum(1 for t in record.turns if t.role == "candidate")
    lines = [
        f"# {kind}: {title}",
        "",
        f"- session: `{record.id}`",
        f"- case: `{record.case_id}`, level: {record.level}",
        f"- started: {_when(record.created_at)}, last turn: {_when(record.updated_at)}",
        f"- status: {record.status}; {candidate_turns} candidate answers, {len(record.turns)} turns in all",
    ]
    if record.overall is not None:
        signal = f" ({record.hire_signal.replace('_', ' ')})" if record.hire_signal else ""
        lines.append(f"- overall: {record.overall:.2f} / 4{signal}")
    usage = session_usage(_metas(record, state))
    if usage["model_calls"]:
        lines.append(
            f"- model usage: {usage['model_calls']} calls, {usage['prompt_tokens']} prompt + "
            f"{usage['completion_tokens']} completion tokens, estimated ${usage['cost_usd']:.4f}"
        )
    lines += ["", "## Transcript"]
    phase: str | None = None
    turns: list[tuple[str, str, str | None, str | None, Mapping[str, Any]]] = (
        [(t.role, t.text, t.phase, t.move, t.meta) for t in state.turns]
        if state is not None
        else [(t.role, t.text, t.phase, t.move, t.meta) for t in record.turns]
    )
    for role, text, turn_phase, move, meta in turns:
        if turn_phase != phase and turn_phase:
            phase = turn_phase
            lines += ["", f"### {STEP_TITLES.get(phase, phase)}"]
        speaker = "Interviewer" if role == "interviewer" else "Candidate" if role == "candidate" else role
        tag = f" _({move})_" if move and move not in ("answer", "open") else ""
        lines += ["", f"**{speaker}**{tag}", "", *_quote(text)]
        flags = meta.get("flags") or []
        cites = _citations(meta)
        if flags:
            lines += [
                "",
                "Flagged: " + ", ".join(f"`{f}`" for f in flags) + (" — " + "; ".join(cites) if cites else ""),
            ]
        elif cites:
            lines += ["", "Sources: " + "; ".join(cites)]
        if meta.get("model_disabled"):
            lines += ["", DISABLED_NOTE]
    lines += ["", "## Flags raised", ""]
    if state is not None and state.flags:
        for f in state.flags:
            sources = ", ".join(f"`{s}`" for s in f.sources)
            evidence = f" {f.evidence.strip()}" if f.evidence.strip() else ""
            lines.append(
                f"- **{f.id}** ({STEP_TITLES.get(f.step, f.step)}, turn {f.turn}):{evidence} Sources: {sources}."
            )
    else:
        lines.append("None.")
    lines += ["", "## Scorecard", ""]
    if state is not None and state.scorecard is not None:
        card = render_markdown(state.scorecard)
        lines += ["#" + line if line.startswith("#") else line for line in card.rstrip().splitlines()]
    elif record.status == "finished":
        lines.append("Finished without a scorecard.")
    else:
        hint = resume_hint(record.id) if record.kind == "interview" else f"interviewer drill --resume {record.id}"
        lines.append(f"Not finished yet: continue with `{hint}`.")
    return "\n".join(lines).rstrip() + "\n"


__all__ = [
    "DISABLED_NOTE",
    "PAUSE_AFTER_S",
    "ExportFormat",
    "InterviewService",
    "InterviewServiceError",
    "InterviewSession",
    "NotAnInterview",
    "SessionFinished",
    "TurnNotRecorded",
    "export_hint",
    "resume_hint",
    "session_usage",
]
