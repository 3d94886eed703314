"""Pydantic models of the knowledge base and the strict loader that builds them from markdown."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from knowledge import KNOWLEDGE_DIR, PROJECT_ROOT
from knowledge import corpus_parse as cp
from knowledge.ids import CASE_IDS, DIMENSIONS, FAILURE_MODES, LEVELS, STEPS, applicable_failure_modes
from knowledge.markdown import KnowledgeFormatError, MarkdownDoc, load_markdown

REQUIRED_FACTS = ("business_goal", "users", "latency", "qps", "data", "labels", "constraints")
"""Fact keys every case's fact sheet must have."""
NUMERIC_FACTS = ("users", "qps", "latency")
"""Fact keys whose answer must contain a number."""
MIN_POINTS, MAX_POINTS, MIN_POINT_CUES, MIN_TRADEOFFS, MIN_FOLLOWUPS = 3, 6, 4, 5, 8
"""Minimum counts of the case format."""

_M = TypeVar("_M", bound=BaseModel)


class FieldError(ValueError):
    """A contract violation in a named field, raised inside model validators."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field_name = field_name
        super().__init__(problem)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, str_min_length=1)


def _levels(v: dict[str, str]) -> dict[str, str]:
    if tuple(v) != LEVELS:
        raise ValueError(f"needs one entry per level, in order: {', '.join(LEVELS)}")
    return v


def _known(value: str, allowed: tuple[str, ...] | dict[str, str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}")
    return value


class Fact(_Model):
    """One hidden fact of a case: the interviewer's answer and the ways a candidate may ask."""

    key: str
    answer: str
    asked_as: list[str]


class ExpectedPoint(_Model):
    """A checkable point a strong answer makes in one step, with the cues that reveal it."""

    id: str
    step: str
    statement: str
    cues: list[str]

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        return _known(v, STEPS, "step")

    @field_validator("cues")
    @classmethod
    def _cues(cls, v: list[str]) -> list[str]:
        if len(v) < MIN_POINT_CUES:
            raise ValueError(f"needs at least {MIN_POINT_CUES} cues, got {len(v)}")
        return v


class TradeOff(_Model):
    """A design choice worth probing, the cues that trigger it and what a good answer weighs."""

    id: str
    title: str
    step: str
    cues: list[str]
    good_answer: str

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        return _known(v, DIMENSIONS, "step")


class FollowUp(_Model):
    """A follow-up question, the step it probes, the failure modes it tests and a good answer."""

    id: str
    question: str
    step: str
    failure_modes: list[str]
    good_answer: str

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        return _known(v, DIMENSIONS, "step")

    @field_validator("failure_modes")
    @classmethod
    def _modes(cls, v: list[str]) -> list[str]:
        return [_known(m, FAILURE_MODES, "failure mode") for m in v]


class Case(_Model):
    """A case study: the single source of truth for its facts, expected points and probes."""

    id: str
    title: str
    summary: str
    prompt: str
    facts: list[Fact]
    stance: str
    points: dict[str, list[ExpectedPoint]]
    tradeoffs: list[TradeOff]
    failure_modes: dict[str, str]
    followups: list[FollowUp]
    outline: dict[str, str]
    source: str

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _known(v, CASE_IDS, "case id")

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        if re.search(r"\d", v):
            raise ValueError("must contain no numbers (facts are for the candidate to ask)")
        return v

    @field_validator("failure_modes")
    @classmethod
    def _modes(cls, v: dict[str, str]) -> dict[str, str]:
        for mode in v:
            _known(mode, FAILURE_MODES, "failure mode")
        return {m: v[m] for m in FAILURE_MODES if m in v}

    @model_validator(mode="after")
    def _contract(self) -> Case:
        keys = [f.key for f in self.facts]
        for key in keys:
            if keys.count(key) > 1:
                raise FieldError(cp.where("Fact sheet", key), "fact appears twice")
        for key in REQUIRED_FACTS:
            if key not in keys:
                raise FieldError(cp.where("Fact sheet", key), "required fact is missing")
        for key in NUMERIC_FACTS:
            if not re.search(r"\d", self.fact_answer(key)):
                raise FieldError(cp.where("Fact sheet", key), "answer must contain a concrete number")
        if list(self.points) != list(STEPS):
            raise FieldError("Expected points", f"needs one subsection per step, in order: {', '.join(STEPS)}")
        for step, pts in self.points.items():
            if not MIN_POINTS <= len(pts) <= MAX_POINTS:
                raise FieldError(
                    cp.where("Expected points", step), f"needs {MIN_POINTS} to {MAX_POINTS} points, got {len(pts)}"
                )
        _unique([p.id for p in self.all_points()], "Expected points")
        if len(self.tradeoffs) < MIN_TRADEOFFS:
            raise FieldError("Trade-offs", f"needs at least {MIN_TRADEOFFS}, got {len(self.tradeoffs)}")
        _unique([t.id for t in self.tradeoffs], "Trade-offs")
        if len(self.followups) < MIN_FOLLOWUPS:
            raise FieldError("Follow-up questions", f"needs at least {MIN_FOLLOWUPS}, got {len(self.followups)}")
        _unique([f.id for f in self.followups], "Follow-up questions")
        applicable = applicable_failure_modes(self.id)
        if list(self.failure_modes) != applicable:
            extra = sorted(set(self.failure_modes) - set(applicable))
            missing = [m for m in applicable if m not in self.failure_modes]
            raise FieldError(
                "Failure modes",
                f"must be exactly the modes that apply to {self.id}; "
                f"extra: {', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'}",
            )
        for fu in self.followups:
            for mode in fu.failure_modes:
                if mode not in applicable:
                    raise FieldError(
                        cp.where("Follow-up questions", fu.id, "Failure modes"), f"{mode} does not apply to {self.id}"
                    )
        if list(self.outline) != list(STEPS):
            raise FieldError("Strong answer outline", f"needs one subsection per step, in order: {', '.join(STEPS)}")
        return self

    def fact(self, key: str) -> Fact | None:
        """Return the fact with this key, or None."""
        return next((f for f in self.facts if f.key == key), None)

    def fact_answer(self, key: str) -> str:
        """Return the answer text of a fact, or '' when the case has no such fact."""
        found = self.fact(key)
        return found.answer if found else ""

    def all_points(self) -> list[ExpectedPoint]:
        """Return every expected point, in step order."""
        return [p for step in STEPS for p in self.points.get(step, [])]

    def point(self, point_id: str) -> ExpectedPoint | None:
        """Return the expected point with this id, or None."""
        return next((p for p in self.all_points() if p.id == point_id), None)

    def tradeoffs_for(self, step: str) -> list[TradeOff]:
        """Return the trade-offs of one step or dimension."""
        return [t for t in self.tradeoffs if t.step == step]

    def followups_for(self, step: str | None = None, failure_mode: str | None = None) -> list[FollowUp]:
        """Return the follow-ups of a step and/or testing a failure mode (None matches all)."""
        return [
            f
            for f in self.followups
            if (step is None or f.step == step) and (failure_mode is None or failure_mode in f.failure_modes)
        ]


def _unique(ids: list[str], section: str) -> None:
    for item in ids:
        if ids.count(item) > 1:
            raise FieldError(cp.where(section, item), "id appears twice")


class FailureModeDoc(_Model):
    """A failure mode's explanation, cues and probe questions."""

    id: str
    step: str
    title: str
    definition: str
    why_it_hurts: str
    how_to_recover: str
    cues_present: list[str]
    cues_absent: list[str]
    probes: list[str]
    source: str

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _known(v, FAILURE_MODES, "failure mode id")

    @field_validator("probes")
    @classmethod
    def _probes(cls, v: list[str]) -> list[str]:
        if not 1 <= len(v) <= 2:
            raise ValueError(f"needs one or two probe questions, got {len(v)}")
        return v

    @model_validator(mode="after")
    def _step(self) -> FailureModeDoc:
        if self.step != FAILURE_MODES[self.id]:
            raise FieldError(cp.where("front matter", "step"), f"{self.id} belongs to {FAILURE_MODES[self.id]!r}")
        return self


class FrameworkDoc(_Model):
    """The guide to one step of the framework (step is None for the overview)."""

    id: str
    step: str | None
    title: str
    sections: dict[str, str]
    by_level: dict[str, str]
    source: str

    @field_validator("step")
    @classmethod
    def _step(cls, v: str | None) -> str | None:
        return None if v is None else _known(v, STEPS, "step")

    @field_validator("by_level")
    @classmethod
    def _by_level(cls, v: dict[str, str]) -> dict[str, str]:
        return _levels(v)


class RubricDoc(_Model):
    """The scoring anchors (1 to 4) of one dimension and how they shift by level."""

    id: str
    step: str
    title: str
    measures: str
    anchors: dict[int, list[str]]
    by_level: dict[str, str]
    source: str

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        return _known(v, DIMENSIONS, "dimension")

    @field_validator("anchors")
    @classmethod
    def _anchors(cls, v: dict[int, list[str]]) -> dict[int, list[str]]:
        if sorted(v) != [1, 2, 3, 4] or not all(v.values()):
            raise ValueError("needs non-empty anchors for scores 1, 2, 3 and 4")
        return v

    @field_validator("by_level")
    @classmethod
    def _by_level(cls, v: dict[str, str]) -> dict[str, str]:
        return _levels(v)


class Corpus(_Model):
    """The whole knowledge base, keyed by contract ids, each dict in contract order."""

    cases: dict[str, Case]
    failure_modes: dict[str, FailureModeDoc]
    framework: dict[str, FrameworkDoc]
    rubrics: dict[str, RubricDoc]
    overview: FrameworkDoc | None = None

    def case(self, case_id: str) -> Case:
        """Return a case; raise KeyError naming the known ids when it does not exist."""
        if case_id not in self.cases:
            raise KeyError(f"unknown case id {case_id!r}; known: {', '.join(self.cases)}")
        return self.cases[case_id]

    def failure_mode(self, mode_id: str) -> FailureModeDoc:
        """Return a failure-mode document; raise KeyError when it does not exist."""
        if mode_id not in self.failure_modes:
            raise KeyError(f"unknown failure mode id {mode_id!r}")
        return self.failure_modes[mode_id]

    def documents(self) -> list[FrameworkDoc | RubricDoc | FailureModeDoc | Case]:
        """Return every document, framework first, then rubrics, failure modes and cases."""
        docs: list[FrameworkDoc | RubricDoc | FailureModeDoc | Case] = []
        if self.overview is not None:
            docs.append(self.overview)
        docs.extend(self.framework.values())
        docs.extend(self.rubrics.values())
        docs.extend(self.failure_modes.values())
        docs.extend(self.cases.values())
        return docs


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _source(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return "knowledge/" + path.resolve().relative_to(root.resolve()).as_posix()


_SECTION_NAMES = {
    "facts": "Fact sheet",
    "points": "Expected points",
    "tradeoffs": "Trade-offs",
    "failure_modes": "Failure modes",
    "followups": "Follow-up questions",
    "outline": "Strong answer outline",
    "prompt": "Prompt",
    "stance": "Interviewer stance",
    "anchors": "Score",
    "by_level": "By level",
    "probes": "Probe question",
    "cues_present": "Cues it is present",
    "cues_absent": "Cues it is absent",
}


def _field_of(loc: tuple[int | str, ...], data: Any) -> str:
    """Name a pydantic error location in the file's terms (section titles, item ids)."""
    parts: list[str] = []
    node = data
    for i, step in enumerate(loc):
        name = str(step)
        if i == 0 and name in _SECTION_NAMES:
            name = _SECTION_NAMES[name]
        elif i == 0 and name in ("id", "title", "summary", "step"):
            name = cp.where("front matter", name)
        child = None
        if isinstance(node, dict):
            child = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            child = node[step]
            if isinstance(child, dict):
                name = str(child.get("id") or child.get("key") or step)
        parts.append(name)
        node = child
    return cp.where(*parts) or "document"


def _build(model: type[_M], data: dict[str, Any], path: Path) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            field_name, problem = cause.field_name, str(cause)
        else:
            field_name, problem = _field_of(tuple(err["loc"]), data), err["msg"].removeprefix("Value error, ")
        raise KnowledgeFormatError(_display(path), field_name, problem) from e


def _load_file(
    path: Path, root: Path, kind: str, model: type[_M], fields: Callable[[MarkdownDoc], dict[str, Any]]
) -> _M:
    display = _display(path)
    try:
        doc = load_markdown(path)
    except KnowledgeFormatError as e:
        raise KnowledgeFormatError(display, e.field_name, e.problem) from e
    try:
        data = fields(doc)
    except cp.FormatProblem as e:
        raise KnowledgeFormatError(display, e.field_name, e.problem) from e
    minimum = cp.MIN_WORDS.get(kind, 0)
    words = cp.count_words(doc)
    if words < minimum:
        raise KnowledgeFormatError(display, "body", f"has {words} words; a {kind} file needs at least {minimum}")
    expected_id = {"framework": f"framework-{path.stem}", "rubric": f"rubric-{path.stem}"}.get(kind, path.stem)
    if data["id"] != expected_id:
        raise KnowledgeFormatError(
            display, cp.where("front matter", "id"), f"{data['id']!r} must be {expected_id!r} to match the file name"
        )
    if (
        kind in ("framework", "rubric")
        and data["step"] != path.stem
        and not (kind == "framework" and path.stem == "overview")
    ):
        raise KnowledgeFormatError(
            display, cp.where("front matter", "step"), f"must be {path.stem!r} to match the file name"
        )
    if kind == "framework" and path.stem == "overview" and data["step"] is not None:
        raise KnowledgeFormatError(display, cp.where("front matter", "step"), "must be null for the overview")
    return _build(model, {**data, "source": _source(path, root)}, path)


def _folder(
    root: Path,
    folder: str,
    kind: str,
    ids: tuple[str, ...],
    model: type[_M],
    fields: Callable[[MarkdownDoc], dict[str, Any]],
    extra: tuple[str, ...] = (),
) -> dict[str, _M]:
    directory = root / folder
    if not directory.is_dir():
        raise KnowledgeFormatError(_display(directory), "folder", "missing")
    for path in sorted(directory.glob("*.md")):
        if path.stem not in ids and path.stem not in extra:
            raise KnowledgeFormatError(_display(path), "file name", f"{path.stem!r} is not a known {kind} id")
    out: dict[str, _M] = {}
    for name in (*extra, *ids):
        path = directory / f"{name}.md"
        if not path.is_file():
            if name in extra:
                continue
            raise KnowledgeFormatError(_display(path), "file", f"missing (one {kind} file per id)")
        out[name] = _load_file(path, root, kind, model, fields)
    return out


def load_corpus(root: Path = KNOWLEDGE_DIR) -> Corpus:
    """Load and validate the whole knowledge base under `root`; the default load is cached."""
    if root is KNOWLEDGE_DIR or Path(root).resolve() == _knowledge_real():  # `is` first: resolve() costs a syscall
        return _default_corpus()
    return _load(Path(root))


def clear_corpus_cache() -> None:
    """Forget the cached default corpus (after the markdown changed on disk)."""
    _default_corpus.cache_clear()


@functools.lru_cache(maxsize=1)
def _knowledge_real() -> Path:
    return KNOWLEDGE_DIR.resolve()


@functools.lru_cache(maxsize=1)
def _default_corpus() -> Corpus:
    return _load(KNOWLEDGE_DIR)


def _load(root: Path) -> Corpus:
    framework = _folder(root, "framework", "framework", STEPS, FrameworkDoc, cp.framework_fields, extra=("overview",))
    overview = framework.pop("overview", None)
    return Corpus(
        cases=_folder(root, "cases", "case", CASE_IDS, Case, lambda d: cp.case_fields(d, STEPS)),
        failure_modes=_folder(
            root, "failure_modes", "failure_mode", tuple(FAILURE_MODES), FailureModeDoc, cp.failure_mode_fields
        ),
        framework=framework,
        rubrics=_folder(root, "rubrics", "rubric", DIMENSIONS, RubricDoc, cp.rubric_fields),
        overview=overview,
    )


__all__ = [
    "Case",
    "Corpus",
    "ExpectedPoint",
    "Fact",
    "FailureModeDoc",
    "FieldError",
    "FollowUp",
    "FrameworkDoc",
    "KnowledgeFormatError",
    "RubricDoc",
    "TradeOff",
    "clear_corpus_cache",
    "load_corpus",
]
