"""Mastery across sessions: the estimate moves with evidence, next_focus picks the weakest and rotates,
drills persist per turn and a new process sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.drill.mastery import COOLDOWN, MASTERED, MAX_STREAK, Estimate, Mastery, load_mastery, next_focus
from agent.drill.session import answer, start_drill
from agent.sessions import SessionStore, TurnRecord
from knowledge import PROJECT_ROOT
from knowledge.ids import DIMENSIONS

GOOD = (
    "I'd monitor feature drift with PSI against the training data and the score distribution, "
    "watch latency and error rates on dashboards with alerts that page on-call, and retrain daily "
    "or when drift crosses a threshold."
)


def test_estimate_moves_up_with_good_scores_and_down_with_bad() -> None:
    e = Estimate()
    assert e.score == 2.5 and not e.mastered
    e.observe(4)
    up = e.score
    assert up > 2.5 and e.mastered
    e.observe(1)
    assert e.score < up
    e.observe(1)
    e.observe(1)
    assert e.score < 2.0 and not e.mastered
    for _ in range(10):
        e.observe(4)
    assert MASTERED < e.score < 4.0


def test_next_focus_picks_the_weakest_with_deterministic_ties() -> None:
    m = Mastery()
    first = next_focus(m)
    assert first.dimension == "requirements" and "balanced default" in first.reason
    assert next_focus(Mastery()).dimension == first.dimension
    m.observe_drill("serving", None, 1)
    assert next_focus(m).dimension == "serving"
    m.observe_drill("data", "no_data_plan", 1)
    m.observe_drill("data", "no_data_plan", 1)
    assert next_focus(m).dimension == "serving"  # data is weaker but was just drilled twice in a row
    m.observe_drill("monitoring", None, 2)
    focus = next_focus(m)
    assert focus.dimension == "data" and focus.failure_mode == "no_data_plan"


def test_next_focus_rotates_after_mastery_and_after_a_streak() -> None:
    m = Mastery()
    for d in DIMENSIONS:
        if d != "evaluation":
            m.observe_drill(d, None, 3)
    m.recent = []
    assert next_focus(m).dimension == "evaluation"
    m.observe_drill("evaluation", None, 4)
    assert m.dimensions["evaluation"].mastered
    following = [next_focus(m).dimension]
    for _ in range(COOLDOWN - 1):
        m.observe_drill(following[-1], None, 4)
        following.append(next_focus(m).dimension)
    assert "evaluation" not in following  # just drilled and mastered: it waits its turn
    weak = Mastery()
    for _ in range(MAX_STREAK):
        weak.observe_drill("modeling", None, 1)
    assert not weak.dimensions["modeling"].mastered
    assert next_focus(weak).dimension != "modeling"


def test_drill_updates_mastery_up_and_down(embedder: Any, tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.sqlite3") as store:
        state, _ = start_drill(case_id="video-recommendation", dimension="monitoring", count=2, store=store)
        before = state.mastery.dimensions["monitoring"].score
        state, fb = answer(state, GOOD, embedder=embedder, store=store)
        assert fb.meta["score"] >= 3
        after_good = state.mastery.dimensions["monitoring"].score
        assert after_good > before
        state, fb = answer(state, "we don't need monitoring", embedder=embedder, store=store)
        assert fb.meta["score"] == 1
        assert state.mastery.dimensions["monitoring"].score < after_good
        assert state.finished


def test_drills_persist_per_turn_and_a_new_process_sees_the_mastery(embedder: Any, tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    with SessionStore(db) as store:
        state, _ = start_drill(case_id="fraud-detection", dimension="monitoring", count=3, store=store)
        stored = store.load(state.session_id)
        assert stored.kind == "drill" and [t.move for t in stored.turns] == ["drill_question"]
        state, _ = answer(state, GOOD, embedder=embedder, store=store)
        stored = store.load(state.session_id)
        assert [t.move for t in stored.turns] == ["drill_question", "drill_answer", "drill_feedback", "drill_question"]
        meta = stored.turns[2].meta
        assert meta["dimension"] == "monitoring" and isinstance(meta["score"], int) and "failure_mode" in meta
        assert stored.status == "active"
    code = (
        "import json, sys; from pathlib import Path; from agent.sessions import SessionStore; "
        "from agent.drill.mastery import load_mastery; "
        "m = load_mastery(SessionStore(Path(sys.argv[1]))); print(json.dumps(m.summary()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    seen = json.loads(out.stdout)
    assert seen["dimensions"]["monitoring"]["observations"] == 1
    assert seen["dimensions"]["monitoring"]["score"] == round(state.mastery.dimensions["monitoring"].score, 2)
    assert seen["dimensions"]["monitoring"]["score"] != 2.5
    assert seen["history"] == {"interviews": 0, "drill_items": 1}


def test_interview_scorecards_count_towards_mastery(tmp_path: Path) -> None:
    card = {
        "case_id": "video-recommendation",
        "overall": 2.2,
        "dimensions": {d: {"score": 1 if d == "serving" else 3, "evidence": [], "missing": []} for d in DIMENSIONS},
        "failure_modes": [{"id": "ignores_serving", "step": "serving", "evidence": "…", "source": "…"}],
    }
    with SessionStore(tmp_path / "s.sqlite3") as store:
        rec = store.create(kind="interview", case_id="video-recommendation", level="senior", state_json="{}")
        store.append_turns(
            rec.id,
            [TurnRecord(role="interviewer", text="bye")],
            json.dumps({"scorecard": card}),
            expected_version=rec.version,
            status="finished",
            overall=2.2,
        )
        unfinished = store.create(kind="interview", case_id="news-feed", level="senior", state_json="{}")
        assert unfinished.overall is None
        m = load_mastery(store)
    assert m.interviews == 1
    assert m.dimensions["serving"].score < 2.5 < m.dimensions["data"].score
    assert m.mode("ignores_serving").score < 2.5
    assert "data_leakage" not in m.failure_modes  # silence about a commit-only mode is no evidence
    focus = next_focus(m)
    assert focus.dimension == "serving" and focus.failure_mode == "ignores_serving"
