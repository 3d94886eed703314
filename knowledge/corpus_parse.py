"""Shape checks for knowledge files: turn a parsed MarkdownDoc into plain field dicts.

These helpers check what FORMAT.md says about the *shape* of a file (front matter keys,
section order, bullet syntax). Contract checks (known ids, applicability, minimum counts)
live in the pydantic models of `knowledge.corpus`.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.markdown import MarkdownDoc, Section

FRAMEWORK_SECTIONS = (
    "Goal",
    "What a strong candidate covers",
    "Questions worth asking",
    "Typical mistakes",
    "By level",
    "Time budget",
)
RUBRIC_SECTIONS = ("What this dimension measures", "Score 1", "Score 2", "Score 3", "Score 4", "By level")
FAILURE_MODE_SECTIONS = (
    "Definition",
    "Why it hurts in production",
    "How to recover",
    "Cues it is present",
    "Cues it is absent",
    "Probe question",
)
CASE_SECTIONS = (
    "Prompt",
    "Fact sheet",
    "Interviewer stance",
    "Expected points",
    "Trade-offs",
    "Failure modes",
    "Follow-up questions",
    "Strong answer outline",
)
LEVEL_HEADINGS = ("Mid", "Senior", "Staff")
META_KEYS: dict[str, tuple[str, ...]] = {
    "framework": ("id", "kind", "step", "title"),
    "rubric": ("id", "kind", "step", "title"),
    "failure_mode": ("id", "kind", "step", "title"),
    "case": ("id", "kind", "title", "summary", "failure_modes"),
}
MIN_WORDS: dict[str, int] = {"framework": 600, "case": 1200, "failure_mode": 250}

SEP = " › "
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_KEYED = re.compile(r"^\*\*(?P<key>[^*]+)\*\*\s+—\s+(?P<text>\S.*)$")
_ID_HEADING = re.compile(r"^(?P<id>\S+)\s+—\s+(?P<text>\S.*)$")


class FormatProblem(ValueError):
    """A shape problem in one field of a knowledge file (the caller adds the path)."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field_name = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")


def where(*parts: str) -> str:
    """Join field-path parts with ' › '."""
    return SEP.join(p for p in parts if p)


def count_words(doc: MarkdownDoc) -> int:
    """Count the words of a document's body: title, headings and section text."""
    total = len(doc.title.split())
    for sec in doc.sections:
        total += len(sec.title.split()) + len(sec.full_text().split())
    return total


def check_meta(doc: MarkdownDoc, kind: str) -> dict[str, Any]:
    """Check the front matter has exactly the keys of its kind, with string values."""
    meta = doc.meta
    expected = META_KEYS[kind]
    for key in expected:
        if key not in meta:
            raise FormatProblem(where("front matter", key), "missing")
    extra = sorted(str(k) for k in meta if k not in expected)
    if extra:
        raise FormatProblem(where("front matter", extra[0]), f"unknown key (allowed: {', '.join(expected)})")
    if meta["kind"] != kind:
        raise FormatProblem(where("front matter", "kind"), f"must be {kind!r}, got {meta['kind']!r}")
    for key in expected:
        value = meta[key]
        if key == "failure_modes":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FormatProblem(where("front matter", key), "must be a list of failure-mode ids")
        elif key == "step" and value is None:
            continue
        elif not isinstance(value, str) or not value.strip():
            raise FormatProblem(where("front matter", key), "must be a non-empty string")
    if doc.title != meta["title"]:
        raise FormatProblem("title", f"'# {doc.title}' differs from front matter title {meta['title']!r}")
    return meta


def check_sections(doc: MarkdownDoc, required: tuple[str, ...]) -> dict[str, Section]:
    """Check the `##` sections are exactly `required`, in order, each non-empty."""
    return _check_titles(doc.sections, required, "", "##")


def check_children(section: Section, required: tuple[str, ...], field_name: str) -> dict[str, Section]:
    """Check a section's `###` subsections are exactly `required`, in order, each non-empty."""
    return _check_titles(section.children, required, field_name, "###")


def _check_titles(found: list[Section], required: tuple[str, ...], field_name: str, marks: str) -> dict[str, Section]:
    titles = [s.title for s in found]
    for title in required:
        if title not in titles:
            raise FormatProblem(where(field_name, title), f"missing '{marks} {title}' section")
    for title in titles:
        if title not in required:
            raise FormatProblem(
                where(field_name, title), f"unexpected '{marks} {title}' (expected: {', '.join(required)})"
            )
    if len(titles) != len(set(titles)):
        dup = next(t for t in titles if titles.count(t) > 1)
        raise FormatProblem(where(field_name, dup), "section appears twice")
    if titles != list(required):
        raise FormatProblem(field_name or "sections", f"out of order; expected: {', '.join(required)}")
    out = {s.title: s for s in found}
    for title, sec in out.items():
        if not sec.full_text().strip():
            raise FormatProblem(where(field_name, title), "section is empty")
    return out


def bullets(body: str, field_name: str, *, intro: bool = False) -> tuple[str, list[list[str]]]:
    """Split a body into an optional intro paragraph and `- ` bullets (each a list of lines)."""
    intro_lines: list[str] = []
    items: list[list[str]] = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        if raw.startswith("- "):
            items.append([raw[2:].strip()])
        elif items and raw[0] in " \t":
            items[-1].append(raw.strip())
        elif not items and intro:
            intro_lines.append(raw.strip())
        else:
            raise FormatProblem(field_name, f"malformed bullet list at line {raw.strip()[:60]!r}")
    if not items:
        raise FormatProblem(field_name, "no '- ' bullets")
    return " ".join(intro_lines), items


def split_list(text: str, field_name: str, sep: str = ";") -> list[str]:
    """Split a `;`-separated list, rejecting empty entries."""
    parts = [p.strip() for p in text.split(sep)]
    if any(not p for p in parts):
        raise FormatProblem(field_name, f"empty entry in {sep!r}-separated list")
    return parts


def keyed_item(lines: list[str], field_name: str, label: str, key_re: re.Pattern[str]) -> tuple[str, str, list[str]]:
    """Parse a two-line `- **key** — text` / `  <label>: a; b` bullet into (key, text, list)."""
    match = _KEYED.match(lines[0])
    if match is None:
        raise FormatProblem(field_name, f"bullet must start '**key** — ', got {lines[0][:60]!r}")
    key, text = match.group("key").strip(), match.group("text").strip()
    here = where(field_name, key)
    if not key_re.match(key):
        raise FormatProblem(here, "malformed key (use " + ("snake_case" if key_re is SNAKE else "kebab-case") + ")")
    if len(lines) < 2 or not lines[1].startswith(f"{label}:"):
        raise FormatProblem(here, f"missing '{label}:' line")
    if len(lines) > 2:
        raise FormatProblem(here, "bullet must be exactly two lines")
    values = split_list(lines[1][len(label) + 1 :], where(here, label))
    return key, text, values


def id_heading(title: str, field_name: str) -> tuple[str, str]:
    """Parse a `### <kebab-id> — <text>` heading into (id, text)."""
    match = _ID_HEADING.match(title)
    if match is None or not KEBAB.match(match.group("id")):
        raise FormatProblem(where(field_name, title), "heading must be '<kebab-case-id> — <text>'")
    return match.group("id"), match.group("text").strip()


def labelled(section: Section, field_name: str, labels: tuple[str, ...]) -> list[str]:
    """Read bullets `- <label>: value`, exactly one per label and in order; return the values."""
    if section.children:
        raise FormatProblem(field_name, "unexpected subsection")
    _, items = bullets(section.body, field_name)
    got = [" ".join(item) for item in items]
    if len(got) != len(labels):
        raise FormatProblem(field_name, f"expected {len(labels)} bullets ({'; '.join(labels)}), got {len(got)}")
    values = []
    for label, text in zip(labels, got, strict=True):
        if not text.startswith(f"{label}:"):
            raise FormatProblem(where(field_name, label), f"expected bullet '- {label}: …', got {text[:40]!r}")
        value = text[len(label) + 1 :].strip()
        if not value:
            raise FormatProblem(where(field_name, label), "empty")
        values.append(value)
    return values


def by_level(section: Section, field_name: str) -> dict[str, str]:
    """Read the `### Mid/Senior/Staff` subsections into {'mid': …, 'senior': …, 'staff': …}."""
    subs = check_children(section, LEVEL_HEADINGS, field_name)
    return {title.lower(): sub.full_text() for title, sub in subs.items()}


def framework_fields(doc: MarkdownDoc) -> dict[str, Any]:
    """Extract FrameworkDoc fields from a framework file."""
    meta = check_meta(doc, "framework")
    secs = check_sections(doc, FRAMEWORK_SECTIONS)
    return {
        "id": meta["id"],
        "step": meta["step"],
        "title": meta["title"],
        "sections": {title: sec.full_text() for title, sec in secs.items()},
        "by_level": by_level(secs["By level"], "By level"),
    }


def rubric_fields(doc: MarkdownDoc) -> dict[str, Any]:
    """Extract RubricDoc fields from a rubric file."""
    meta = check_meta(doc, "rubric")
    secs = check_sections(doc, RUBRIC_SECTIONS)
    anchors: dict[int, list[str]] = {}
    for score in range(1, 5):
        sec = secs[f"Score {score}"]
        if sec.children:
            raise FormatProblem(f"Score {score}", "unexpected subsection")
        _, items = bullets(sec.body, f"Score {score}", intro=True)
        anchors[score] = [" ".join(item) for item in items]
    return {
        "id": meta["id"],
        "step": meta["step"],
        "title": meta["title"],
        "measures": secs["What this dimension measures"].full_text(),
        "anchors": anchors,
        "by_level": by_level(secs["By level"], "By level"),
    }


def failure_mode_fields(doc: MarkdownDoc) -> dict[str, Any]:
    """Extract FailureModeDoc fields from a failure-mode file."""
    meta = check_meta(doc, "failure_mode")
    secs = check_sections(doc, FAILURE_MODE_SECTIONS)
    lists: dict[str, list[str]] = {}
    for title in ("Cues it is present", "Cues it is absent", "Probe question"):
        if secs[title].children:
            raise FormatProblem(title, "unexpected subsection")
        _, items = bullets(secs[title].body, title, intro=True)
        lists[title] = [" ".join(item) for item in items]
    return {
        "id": meta["id"],
        "step": meta["step"],
        "title": meta["title"],
        "definition": secs["Definition"].full_text(),
        "why_it_hurts": secs["Why it hurts in production"].full_text(),
        "how_to_recover": secs["How to recover"].full_text(),
        "cues_present": lists["Cues it is present"],
        "cues_absent": lists["Cues it is absent"],
        "probes": lists["Probe question"],
    }


def case_fields(doc: MarkdownDoc, steps: tuple[str, ...]) -> dict[str, Any]:
    """Extract Case fields from a case file (`steps` are the expected `###` step headings)."""
    meta = check_meta(doc, "case")
    secs = check_sections(doc, CASE_SECTIONS)
    for title in ("Prompt", "Fact sheet", "Interviewer stance"):
        if secs[title].children:
            raise FormatProblem(where(title, secs[title].children[0].title), "unexpected subsection")

    facts = []
    for lines in bullets(secs["Fact sheet"].body, "Fact sheet")[1]:
        key, answer, asked = keyed_item(lines, "Fact sheet", "Asked as", SNAKE)
        facts.append({"key": key, "answer": answer, "asked_as": asked})

    points: dict[str, list[dict[str, Any]]] = {}
    for step, sec in check_children(secs["Expected points"], steps, "Expected points").items():
        here = where("Expected points", step)
        if sec.children:
            raise FormatProblem(here, "unexpected subsection")
        points[step] = []
        for lines in bullets(sec.body, here)[1]:
            pid, statement, cues = keyed_item(lines, here, "Cues", KEBAB)
            points[step].append({"id": pid, "step": step, "statement": statement, "cues": cues})

    tradeoffs = []
    for sec in secs["Trade-offs"].children:
        tid, title = id_heading(sec.title, "Trade-offs")
        step, cue_text, good = labelled(sec, where("Trade-offs", tid), ("Step", "Cues", "A good answer weighs"))
        tradeoffs.append(
            {
                "id": tid,
                "title": title,
                "step": step,
                "cues": split_list(cue_text, where("Trade-offs", tid, "Cues")),
                "good_answer": good,
            }
        )
    if secs["Trade-offs"].body.strip():
        raise FormatProblem("Trade-offs", "text outside the '###' trade-offs")

    modes: dict[str, str] = {}
    for sec in secs["Failure modes"].children:
        if sec.title in modes:
            raise FormatProblem(where("Failure modes", sec.title), "heading appears twice")
        if sec.children or not sec.body.strip():
            raise FormatProblem(where("Failure modes", sec.title), "needs one paragraph and no subsections")
        modes[sec.title] = sec.body.strip()
    declared = meta["failure_modes"]
    if len(set(declared)) != len(declared):
        raise FormatProblem(where("front matter", "failure_modes"), "lists a mode twice")
    if set(declared) != set(modes):
        diff = sorted(set(declared) ^ set(modes))
        raise FormatProblem(
            where("front matter", "failure_modes"),
            f"differs from the '### <mode>' headings in Failure modes: {', '.join(diff)}",
        )

    followups = []
    for sec in secs["Follow-up questions"].children:
        fid, question = id_heading(sec.title, "Follow-up questions")
        here = where("Follow-up questions", fid)
        step, fmodes, good = labelled(sec, here, ("Step", "Failure modes", "A good answer"))
        mode_list = (
            [] if fmodes.strip() == "none" else split_list(fmodes.replace(";", ","), where(here, "Failure modes"), ",")
        )
        followups.append(
            {"id": fid, "question": question, "step": step, "failure_modes": mode_list, "good_answer": good}
        )
    if secs["Follow-up questions"].body.strip():
        raise FormatProblem("Follow-up questions", "text outside the '###' questions")

    outline: dict[str, str] = {}
    for step, sec in check_children(secs["Strong answer outline"], steps, "Strong answer outline").items():
        here = where("Strong answer outline", step)
        if sec.children:
            raise FormatProblem(here, "unexpected subsection")
        bullets(sec.body, here)
        outline[step] = sec.body.strip()

    return {
        "id": meta["id"],
        "title": meta["title"],
        "summary": meta["summary"],
        "prompt": secs["Prompt"].body.strip(),
        "facts": facts,
        "stance": secs["Interviewer stance"].body.strip(),
        "points": points,
        "tradeoffs": tradeoffs,
        "failure_modes": modes,
        "followups": followups,
        "outline": outline,
    }
