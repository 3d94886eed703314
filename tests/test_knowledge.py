"""The knowledge base loads strictly, follows FORMAT.md and matches the interview contract."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from knowledge import KNOWLEDGE_DIR, PROJECT_ROOT
from knowledge.corpus import Case, Corpus, KnowledgeFormatError, load_corpus
from knowledge.ids import (
    CASE_IDS,
    DIMENSIONS,
    FAILURE_MODES,
    LEVELS,
    STEPS,
    applicable_failure_modes,
    is_applicable,
)

# --- The contract, written out literally so a wrong ids.py is caught -----------------------

CONTRACT_STEPS = ["requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring"]
CONTRACT_MODES = {
    "skipped_clarification": "requirements",
    "no_business_objective": "requirements",
    "no_scale_estimate": "requirements",
    "vague_ml_framing": "framing",
    "no_data_plan": "data",
    "data_leakage": "data",
    "class_imbalance_ignored": "data",
    "training_serving_skew": "data",
    "no_baseline": "modeling",
    "model_first": "modeling",
    "single_stage_at_scale": "modeling",
    "cold_start_ignored": "modeling",
    "no_offline_metrics": "evaluation",
    "no_online_metrics": "evaluation",
    "metric_mismatch": "evaluation",
    "ignores_serving": "serving",
    "no_fallback": "serving",
    "no_monitoring": "monitoring",
    "no_retraining_plan": "monitoring",
    "feedback_loop_ignored": "monitoring",
    "no_tradeoffs": "communication",
}
CONTRACT_CASES = [
    "visual-search",
    "street-view-blurring",
    "video-search",
    "harmful-content-detection",
    "video-recommendation",
    "event-recommendation",
    "ad-click-prediction",
    "similar-listings",
    "news-feed",
    "people-you-may-know",
    "fraud-detection",
    "product-search-ranking",
    "eta-prediction",
    "spam-detection",
    "query-autocomplete",
]
# "Which modes apply to which case": the five restricted modes, case by case (Y = applies).
# Columns: class_imbalance_ignored, training_serving_skew, single_stage_at_scale,
#          cold_start_ignored, feedback_loop_ignored
RESTRICTED = ["class_imbalance_ignored", "training_serving_skew", "single_stage_at_scale",
              "cold_start_ignored", "feedback_loop_ignored"]  # fmt: skip
APPLIES = {
    "visual-search":             "-Y Y - -",
    "street-view-blurring":      "-- - - -",
    "video-search":              "-Y Y - Y",
    "harmful-content-detection": "YY - - Y",
    "video-recommendation":      "-Y Y Y Y",
    "event-recommendation":      "-Y Y Y Y",
    "ad-click-prediction":       "YY - Y Y",
    "similar-listings":          "-Y Y Y Y",
    "news-feed":                 "-Y Y Y Y",
    "people-you-may-know":       "-Y Y Y Y",
    "fraud-detection":           "YY - - Y",
    "product-search-ranking":    "-Y Y - Y",
    "eta-prediction":            "-Y - - -",
    "spam-detection":            "YY - - Y",
    "query-autocomplete":        "-Y Y - Y",
}  # fmt: skip


def expected_modes(case_id: str) -> list[str]:
    """The contract's applicable modes for a case, in contract order, from the literal table."""
    flags = APPLIES[case_id].replace(" ", "")
    allowed = {mode for mode, flag in zip(RESTRICTED, flags, strict=True) if flag == "Y"}
    return [m for m in CONTRACT_MODES if m not in RESTRICTED or m in allowed]


CASE_SECTIONS = ["Prompt", "Fact sheet", "Interviewer stance", "Expected points", "Trade-offs",
                 "Failure modes", "Follow-up questions", "Strong answer outline"]  # fmt: skip
FRAMEWORK_SECTIONS = ["Goal", "What a strong candidate covers", "Questions worth asking", "Typical mistakes",
                      "By level", "Time budget"]  # fmt: skip
RUBRIC_SECTIONS = ["What this dimension measures", "Score 1", "Score 2", "Score 3", "Score 4", "By level"]
MODE_SECTIONS = ["Definition", "Why it hurts in production", "How to recover", "Cues it is present",
                 "Cues it is absent", "Probe question"]  # fmt: skip
REQUIRED_FACTS = ["business_goal", "users", "latency", "qps", "data", "labels", "constraints"]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


def body_of(path: Path) -> str:
    """The file's text after its front matter."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    return text.split("\n---", 1)[1]


def h2_sections(path: Path) -> dict[str, str]:
    """`##` title -> text up to the next `##`, read without the project's parser."""
    out: dict[str, str] = {}
    title = None
    for line in body_of(path).splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = ""
        elif title is not None:
            out[title] += line + "\n"
    return out


# --- ids -----------------------------------------------------------------------------------


def test_ids_match_contract() -> None:
    assert list(STEPS) == CONTRACT_STEPS
    assert list(DIMENSIONS) == [*CONTRACT_STEPS, "communication"]
    assert FAILURE_MODES == CONTRACT_MODES
    assert list(FAILURE_MODES) == list(CONTRACT_MODES)
    assert list(CASE_IDS) == CONTRACT_CASES
    assert list(LEVELS) == ["mid", "senior", "staff"]


@pytest.mark.parametrize("case_id", CONTRACT_CASES)
def test_applicable_failure_modes_match_contract(case_id: str) -> None:
    assert applicable_failure_modes(case_id) == expected_modes(case_id)
    for mode in CONTRACT_MODES:
        assert is_applicable(mode, case_id) == (mode in expected_modes(case_id))


def test_applicability_spot_checks() -> None:
    assert "cold_start_ignored" in applicable_failure_modes("video-recommendation")
    assert "cold_start_ignored" not in applicable_failure_modes("street-view-blurring")
    assert "training_serving_skew" not in applicable_failure_modes("street-view-blurring")
    assert len(applicable_failure_modes("news-feed")) == 20
    assert len(applicable_failure_modes("street-view-blurring")) == 16


def test_unknown_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown case id"):
        applicable_failure_modes("nope")
    with pytest.raises(ValueError, match="unknown failure mode"):
        is_applicable("nope", "news-feed")


# --- the real corpus -----------------------------------------------------------------------


def test_everything_loads(corpus: Corpus) -> None:
    assert list(corpus.cases) == CONTRACT_CASES
    assert list(corpus.failure_modes) == list(CONTRACT_MODES)
    assert list(corpus.framework) == CONTRACT_STEPS
    assert list(corpus.rubrics) == [*CONTRACT_STEPS, "communication"]
    for mode_id, doc in corpus.failure_modes.items():
        assert doc.step == CONTRACT_MODES[mode_id]
        assert 1 <= len(doc.probes) <= 2 and doc.cues_present and doc.cues_absent
    for step, fw in corpus.framework.items():
        assert fw.step == step and fw.id == f"framework-{step}"
        assert list(fw.by_level) == ["mid", "senior", "staff"]
    for dim, rubric in corpus.rubrics.items():
        assert rubric.step == dim and sorted(rubric.anchors) == [1, 2, 3, 4]
        assert all(rubric.anchors.values()) and list(rubric.by_level) == ["mid", "senior", "staff"]


def test_default_load_is_cached(corpus: Corpus) -> None:
    assert load_corpus() is corpus
    assert load_corpus(KNOWLEDGE_DIR) is corpus


def test_sources_are_project_relative(corpus: Corpus) -> None:
    for doc in corpus.documents():
        assert not doc.source.startswith("/")
        assert doc.source.startswith("knowledge/") and (PROJECT_ROOT / doc.source).is_file()
    assert corpus.case("visual-search").source == "knowledge/cases/visual-search.md"
    assert corpus.failure_mode("no_baseline").source == "knowledge/failure_modes/no_baseline.md"


@pytest.mark.parametrize("case_id", CONTRACT_CASES)
def test_case_failure_modes_are_the_applicable_ones(corpus: Corpus, case_id: str) -> None:
    case = corpus.case(case_id)
    assert list(case.failure_modes) == expected_modes(case_id)
    assert all(len(text.split()) >= 8 for text in case.failure_modes.values())
    for fu in case.followups:
        assert set(fu.failure_modes) <= set(expected_modes(case_id)), fu.id


@pytest.mark.parametrize("case_id", CONTRACT_CASES)
def test_case_minimums(corpus: Corpus, case_id: str) -> None:
    case = corpus.case(case_id)
    assert len(case.tradeoffs) >= 5
    assert len(case.followups) >= 8
    assert list(case.points) == CONTRACT_STEPS
    for step, points in case.points.items():
        assert 3 <= len(points) <= 6, step
        for point in points:
            assert point.step == step and len(point.cues) >= 4, point.id
    ids = [p.id for p in case.all_points()]
    assert len(ids) == len(set(ids))
    assert list(case.outline) == CONTRACT_STEPS and all(case.outline.values())
    for t in case.tradeoffs:
        assert t.step in DIMENSIONS and t.cues and len(t.good_answer.split()) >= 10, t.id
    for fu in case.followups:
        assert fu.question and fu.step in DIMENSIONS and len(fu.good_answer.split()) >= 10, fu.id
    assert not re.search(r"\d", case.prompt)


@pytest.mark.parametrize("case_id", CONTRACT_CASES)
def test_fact_sheet(corpus: Corpus, case_id: str) -> None:
    case = corpus.case(case_id)
    keys = [f.key for f in case.facts]
    assert len(keys) == len(set(keys))
    for key in REQUIRED_FACTS:
        fact = case.fact(key)
        assert fact is not None, key
        assert fact.answer and fact.asked_as
    for key in ("users", "qps", "latency"):
        assert re.search(r"\d", case.fact_answer(key)), key
    assert case.fact("no_such_fact") is None


def _files(folder: str) -> list[Path]:
    return sorted((KNOWLEDGE_DIR / folder).glob("*.md"))


@pytest.mark.parametrize(
    ("folder", "sections", "min_words"),
    [
        ("cases", CASE_SECTIONS, 1200),
        ("framework", FRAMEWORK_SECTIONS, 600),
        ("failure_modes", MODE_SECTIONS, 250),
        ("rubrics", RUBRIC_SECTIONS, 0),
    ],
)
def test_sections_and_word_counts(folder: str, sections: list[str], min_words: int) -> None:
    files = _files(folder)
    assert files
    for path in files:
        found = h2_sections(path)
        assert list(found) == sections, path.name
        for title, text in found.items():
            assert len(text.split()) >= 8, f"{path.name}: {title} is trivial"
        assert len(body_of(path).split()) >= min_words, path.name


# --- broken copies fail loudly ---------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    for folder in ("cases", "failure_modes", "framework", "rubrics"):
        shutil.copytree(KNOWLEDGE_DIR / folder, dest / folder)
    return dest


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def fails(root: Path, relpath: str, field_part: str) -> KnowledgeFormatError:
    with pytest.raises(KnowledgeFormatError) as info:
        load_corpus(root)
    err = info.value
    assert relpath in err.path and relpath in str(err), str(err)
    assert field_part in err.field_name, str(err)
    return err


def test_copy_loads_with_knowledge_relative_sources(root: Path) -> None:
    copy = load_corpus(root)
    assert copy is not load_corpus()
    assert copy.case("news-feed").source == "knowledge/cases/news-feed.md"
    assert copy.case("news-feed") == load_corpus().case("news-feed")


def test_missing_front_matter(root: Path) -> None:
    path = root / "failure_modes" / "no_baseline.md"
    path.write_text(body_of(path), encoding="utf-8")
    fails(root, "failure_modes/no_baseline.md", "front matter")


def test_missing_front_matter_key(root: Path) -> None:
    edit(root / "cases" / "news-feed.md", "\nsummary:", "\nsumary:")
    fails(root, "cases/news-feed.md", "front matter")


def test_fact_without_asked_as(root: Path) -> None:
    path = root / "cases" / "visual-search.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(- \*\*qps\*\* — [^\n]*)\n  Asked as: [^\n]*", r"\1", text)
    path.write_text(text, encoding="utf-8")
    err = fails(root, "cases/visual-search.md", "Fact sheet › qps")
    assert "Asked as" in err.problem


def test_missing_required_fact(root: Path) -> None:
    edit(root / "cases" / "fraud-detection.md", "- **labels** —", "- **label_info** —")
    fails(root, "cases/fraud-detection.md", "Fact sheet › labels")


def test_case_missing_tradeoffs(root: Path) -> None:
    path = root / "cases" / "eta-prediction.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("\n## Trade-offs"), text.index("\n## Failure modes")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    fails(root, "cases/eta-prediction.md", "Trade-offs")


def test_sections_out_of_order(root: Path) -> None:
    path = root / "failure_modes" / "model_first.md"
    text = path.read_text(encoding="utf-8")
    a, b = text.index("\n## Cues it is present"), text.index("\n## Cues it is absent")
    c = text.index("\n## Probe question")
    path.write_text(text[:a] + text[b:c] + text[a:b] + text[c:], encoding="utf-8")
    fails(root, "failure_modes/model_first.md", "")


def test_wrong_failure_mode_set(root: Path) -> None:
    # Declared and headed consistently, but cold_start_ignored does not apply to visual search.
    path = root / "cases" / "visual-search.md"
    edit(path, "failure_modes: [skipped_clarification,", "failure_modes: [cold_start_ignored, skipped_clarification,")
    edit(path, "## Failure modes\n", "## Failure modes\n\n### cold_start_ignored\nNot relevant to this case at all.\n")
    err = fails(root, "cases/visual-search.md", "Failure modes")
    assert "cold_start_ignored" in err.problem


def test_front_matter_and_headings_disagree(root: Path) -> None:
    edit(root / "cases" / "news-feed.md", "failure_modes: [skipped_clarification, ", "failure_modes: [")
    fails(root, "cases/news-feed.md", "failure_modes")


def test_follow_up_with_inapplicable_mode(root: Path) -> None:
    edit(root / "cases" / "eta-prediction.md", "- Failure modes: none", "- Failure modes: cold_start_ignored")
    fails(root, "cases/eta-prediction.md", "Follow-up questions")


def test_follow_up_with_unknown_mode_is_converted_from_pydantic(root: Path) -> None:
    path = root / "cases" / "news-feed.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(r"- Failure modes: [^\n]*", "- Failure modes: made_up_mode", text, count=1), encoding="utf-8"
    )
    err = fails(root, "cases/news-feed.md", "Follow-up questions")
    assert isinstance(err.__cause__, ValidationError)


def test_too_few_cues(root: Path) -> None:
    path = root / "cases" / "spam-detection.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(### requirements\n- \*\*[a-z0-9-]+\*\* — [^\n]*\n  Cues: )[^\n]*", r"\1one; two", text, count=1)
    path.write_text(text, encoding="utf-8")
    fails(root, "cases/spam-detection.md", "Expected points › requirements")


def test_malformed_point_bullet(root: Path) -> None:
    path = root / "cases" / "news-feed.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(### framing\n- )\*\*([a-z0-9-]+)\*\* — ", r"\1\2: ", text, count=1)
    path.write_text(text, encoding="utf-8")
    fails(root, "cases/news-feed.md", "Expected points › framing")


def test_too_few_followups(root: Path) -> None:
    path = root / "cases" / "query-autocomplete.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("\n## Follow-up questions\n")
    first = text.index("\n### ", start)
    second = text.index("\n### ", first + 1)
    path.write_text(text[:first] + text[second:], encoding="utf-8")
    fails(root, "cases/query-autocomplete.md", "Follow-up questions")


def test_id_must_match_file_name(root: Path) -> None:
    edit(root / "failure_modes" / "no_fallback.md", "id: no_fallback", "id: no_monitoring")
    fails(root, "failure_modes/no_fallback.md", "id")


def test_unknown_file_and_missing_file(root: Path, tmp_path: Path) -> None:
    shutil.copy(root / "rubrics" / "data.md", root / "rubrics" / "taste.md")
    fails(root, "rubrics/taste.md", "file name")
    (root / "rubrics" / "taste.md").unlink()
    (root / "rubrics" / "serving.md").unlink()
    fails(root, "rubrics/serving.md", "file")


def test_case_model_enforces_contract_directly(corpus: Corpus) -> None:
    data = corpus.case("news-feed").model_dump()
    data["tradeoffs"] = data["tradeoffs"][:4]
    with pytest.raises(ValidationError):
        Case.model_validate(data)
