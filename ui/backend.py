"""The app's one door to the agent: sessions via `InterviewService` (as the CLI), grading via the CLI's grader."""

from __future__ import annotations

import json
import random
from pathlib import Path

from agent.grading.scorecard import Scorecard
from agent.interview.service import ExportFormat, InterviewService, InterviewSession
from agent.interview.state import Turn
from agent.sessions import SessionSummary, TurnRecord
from agent.settings import Settings
from knowledge.corpus import load_corpus


def provider_label(settings: Settings) -> str:
    """Which engine answers, never a key: the offline engine, or the model and its endpoint host."""
    if settings.provider == "offline":
        return "Offline engine (deterministic, no network, no key needed)"
    where = "OpenAI"
    if settings.openai_base_url:
        from urllib.parse import urlparse

        where = urlparse(settings.openai_base_url).netloc or "custom endpoint"
    return f"Model `{settings.model}` via {where}"


def case_choices() -> list[tuple[str, str]]:
    """(label, id) pairs for the case picker: title and its one-line summary."""
    return [(f"{c.title} — {c.summary}", cid) for cid, c in load_corpus().cases.items()]


def random_case(rng: random.Random | None = None) -> str:
    """A random case id."""
    return (rng or random.Random()).choice(list(load_corpus().cases))


class Backend:
    """Sessions, grading and exports for the app; every call goes through the agent's own functions."""

    def __init__(self, settings: Settings, service: InterviewService | None = None) -> None:
        """Wrap `service` (default: an InterviewService on the settings' session store, opened on first use)."""
        self.settings = settings
        self._service = service

    @property
    def service(self) -> InterviewService:
        """The interview service (created on first use so start-up stays fast); the model voice when configured."""
        if self._service is None:
            from agent.llm.factory import chat_model_from_settings

            model = chat_model_from_settings(self.settings)  # None offline; a missing key is one line
            self._service = InterviewService(self.settings, step_options={"model": model} if model else None)
        return self._service

    def begin(self, case_id: str, level: str, owner: str | None) -> InterviewSession:
        """Open and persist a mock interview."""
        sid, _ = self.service.begin(case_id, level, owner=owner)
        return self.service.get(sid, owner=owner)

    def reply(self, session_id: str, message: str, owner: str | None) -> tuple[InterviewSession, Turn]:
        """One candidate message in; the stored session and the interviewer's turn out."""
        turn = self.service.reply(session_id, message, owner=owner)
        return self.service.get(session_id, owner=owner), turn

    def end(self, session_id: str, owner: str | None) -> InterviewSession:
        """Finish (and grade) an interview; ending a finished one is a no-op."""
        self.service.end(session_id, owner=owner)
        return self.service.get(session_id, owner=owner)

    def get(self, session_id: str, owner: str | None) -> InterviewSession:
        """A stored interview."""
        return self.service.get(session_id, owner=owner)

    def sessions(self, owner: str | None) -> list[SessionSummary]:
        """The owner's sessions, newest first."""
        return self.service.list(owner=owner)

    def scorecard_of(self, session_id: str, owner: str | None) -> Scorecard | None:
        """The scorecard stored with any session (interview or grading), if it has one."""
        record = self.service.store.load(session_id, owner=owner)
        try:
            data = json.loads(record.state_json)
        except ValueError:
            return None
        card = data.get("scorecard") if isinstance(data, dict) else None
        return Scorecard.model_validate(card) if card else None

    def export(self, session_id: str, fmt: str, owner: str | None, folder: Path) -> Path:
        """Write a session's markdown or JSON export into `folder`; return the file."""
        kind: ExportFormat = "json" if fmt == "json" else "md"
        text = self.service.export(session_id, kind, owner=owner)
        path = folder / f"session-{session_id}.{kind}"
        path.write_text(text, encoding="utf-8")
        return path

    def grade(self, answer: str, case_id: str, level: str, owner: str | None) -> tuple[str, Scorecard]:
        """Grade a written answer with `interviewer grade`'s grader and keep it in the store as a grade session."""
        from agent.grading.provider import answer_grader
        from agent.llm.factory import chat_model_from_settings

        grader = answer_grader(
            chat_model_from_settings(self.settings),
            self.service.embedder,
            max_tokens=self.settings.grade_max_tokens,
        )
        card = grader(answer, case_id, level)
        store = self.service.store
        state_json = json.dumps({"answer": answer, "scorecard": card.model_dump(mode="json", exclude_none=True)})
        record = store.create(kind="grade", case_id=case_id, level=level, state_json=state_json, owner=owner)
        store.append_turns(
            record.id,
            [TurnRecord(role="candidate", text=answer, move="answer")],
            state_json,
            expected_version=record.version,
            status="finished",
            overall=card.overall,
            hire_signal=card.hire_signal,
            owner=owner,
        )
        return record.id, card


__all__ = ["Backend", "case_choices", "provider_label", "random_case"]
