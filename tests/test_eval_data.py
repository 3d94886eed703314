"""The labelled eval data stays valid as the knowledge base changes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals import interview_eval
from evals.grading import validate
from evals.interviews import validate as interview_validate
from evals.retrieval_eval import load_queries
from knowledge import PROJECT_ROOT
from knowledge.markdown import load_markdown


def test_grading_answers_pass_their_validator(capsys: object) -> None:
    assert validate.main(validate.HERE / "answers.jsonl") == 0


def test_retrieval_labels_point_at_existing_sections() -> None:
    queries = load_queries()
    assert len(queries) >= 80 and len({q.id for q in queries}) == len(queries)
    assert set(Counter(q.split for q in queries)) == {"dev", "test"}
    for q in queries:
        for rel in q.relevant:
            doc = load_markdown(PROJECT_ROOT / rel.source)
            assert doc.section(rel.section) is not None, (q.id, rel)


def test_interview_personas_and_holdout_pass_their_validator(capsys: pytest.CaptureFixture[str]) -> None:
    assert interview_validate.main() == 0
    out = capsys.readouterr().out
    assert "== personas.jsonl" in out and "== holdout.jsonl" in out and "== holdout2.jsonl" in out


def test_holdout_labels_fit_their_cases() -> None:
    mode_ids, restricted = interview_validate.contract_modes(interview_validate.CONTRACT)
    holdout = _records(interview_eval.HOLDOUT)
    assert len(holdout) >= 14 and {r["split"] for r in holdout} == {"holdout"}
    assert len({r["case"] for r in holdout}) >= 10 and {r["level"] for r in holdout} == {"mid", "senior", "staff"}
    assert {r["band"] for r in holdout} == set(interview_validate.BANDS)
    for r in holdout:
        text = (interview_validate.CASES_DIR / f"{r['case']}.md").read_text(encoding="utf-8")
        keys = interview_validate.fact_keys(text)
        declared = interview_validate.front_matter_modes(text) or mode_ids
        assert 8 <= len(r["turns"]) <= 20, r["id"]
        for mode in r["failure_modes"]:
            assert interview_validate.applicable(mode, r["case"], restricted), (r["id"], mode)
            assert mode in declared, (r["id"], mode)
        assert r["failure_modes"] == sorted(r["failure_modes"], key=mode_ids.index), r["id"]
        if "ignores_serving" in r["failure_modes"]:
            assert "no_fallback" in r["failure_modes"], r["id"]  # the contract: ignores_serving implies no_fallback
        for entry in r["facts_asked"]:
            assert 0 <= entry["turn"] < len(r["turns"]) and r["turns"][entry["turn"]].strip(), (r["id"], entry)
            for key in entry["keys"]:
                if key.startswith("unlisted:"):
                    assert key.removeprefix("unlisted:") not in keys, (r["id"], key)
                else:
                    assert key in keys, (r["id"], key)


def test_holdout_ids_are_new_and_kept_out_of_split_all() -> None:
    holdout_ids = {r["id"] for r in _records(interview_eval.HOLDOUT)}
    assert not holdout_ids & {r["id"] for r in _records(interview_eval.PERSONAS)}
    everyday = {p.id for p in interview_eval.select_personas("all")}
    assert everyday and not everyday & holdout_ids
    assert everyday == {p.id for s in ("dev", "test") for p in interview_eval.select_personas(s)}
    assert {p.id for p in interview_eval.select_personas("holdout")} == holdout_ids
    assert "--split holdout" in interview_eval.holdout_note()


def test_validator_rejects_bad_holdout_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = interview_eval.HOLDOUT.read_text(encoding="utf-8").splitlines()
    street = next(i for i, x in enumerate(lines) if json.loads(x)["case"] == "street-view-blurring")
    bad = json.loads(lines[street])
    bad["failure_modes"] = ["cold_start_ignored"]  # does not apply to street-view-blurring
    bad["facts_asked"] = [{"turn": 1, "keys": ["catalogue"]}]  # not a key of its sheet
    bad_file = tmp_path / "holdout.jsonl"
    bad_file.write_text("\n".join([*lines[:street], json.dumps(bad), *lines[street + 1 :]]) + "\n", encoding="utf-8")
    assert interview_validate.main(bad_file) == 1
    err = capsys.readouterr().err
    assert "cold_start_ignored does not apply" in err and "'catalogue' is not a fact key" in err
    copy = tmp_path / "holdout_copy.jsonl"
    copy.write_text(interview_eval.HOLDOUT.read_text(encoding="utf-8"), encoding="utf-8")
    assert interview_validate.main(interview_eval.HOLDOUT, copy) == 1
    assert "duplicate id h01" in capsys.readouterr().err
    wrong_split = tmp_path / "personas.jsonl"
    wrong_split.write_text(lines[0] + "\n", encoding="utf-8")
    assert interview_validate.main(wrong_split) == 1
    assert "bad split 'holdout'" in capsys.readouterr().err


def _records(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_cli_accepts_split_holdout_for_the_interview_eval_only(capsys: pytest.CaptureFixture[str]) -> None:
    from agent import cli

    assert cli.build_parser().parse_args(["eval", "interview", "--split", "holdout"]).split == "holdout"
    assert cli.build_parser().parse_args(["eval", "interview"]).split == "all"
    assert cli.run(["eval", "retrieval", "--split", "holdout"]) != 0
    assert "--split holdout exists only for the interview eval" in capsys.readouterr().err


def test_holdout2_is_its_own_split_kept_out_of_everything_else() -> None:
    fresh = {r["id"] for r in _records(interview_eval.HOLDOUT2)}
    assert len(fresh) >= 12 and all(i.startswith("k") for i in fresh)
    others = {r["id"] for path in (interview_eval.PERSONAS, interview_eval.HOLDOUT) for r in _records(path)}
    assert not fresh & others
    assert {p.id for p in interview_eval.select_personas("holdout2")} == fresh
    assert not fresh & {p.id for p in interview_eval.select_personas("all")}
    assert not fresh & {p.id for p in interview_eval.select_personas("holdout")}
    assert {"holdout11"} == interview_eval.UNSEEN
    assert "--split holdout11" in interview_eval.holdout_note()


def test_cli_accepts_split_holdout2_for_the_interview_eval_only(capsys: pytest.CaptureFixture[str]) -> None:
    from agent import cli

    assert cli.build_parser().parse_args(["eval", "interview", "--split", "holdout2"]).split == "holdout2"
    assert cli.run(["eval", "grading", "--split", "holdout2"]) != 0
    assert "--split holdout2 exists only for the interview eval" in capsys.readouterr().err
