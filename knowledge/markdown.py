"""Parse knowledge-base markdown: YAML front matter and a tree of headed sections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class KnowledgeFormatError(ValueError):
    """A knowledge file breaks the format; the message names the path and the field."""

    def __init__(self, path: Path | str, field_name: str, problem: str) -> None:
        self.path = str(path)
        self.field_name = field_name
        self.problem = problem
        super().__init__(f"{path}: {field_name}: {problem}")


@dataclass
class Section:
    """A heading and the text under it, with its deeper subsections."""

    title: str
    level: int
    body: str = ""
    children: list[Section] = field(default_factory=list)

    def child(self, title: str) -> Section | None:
        """Return the direct subsection with this exact title, if any."""
        for sub in self.children:
            if sub.title == title:
                return sub
        return None

    def full_text(self) -> str:
        """Return the body of this section including its subsections, headings kept."""
        parts = [self.body.strip()]
        for sub in self.children:
            parts.append(f"{'#' * sub.level} {sub.title}\n\n{sub.full_text()}".strip())
        return "\n\n".join(p for p in parts if p)


@dataclass
class MarkdownDoc:
    """A parsed knowledge file: its front matter, its `#` title and its `##` sections."""

    path: Path
    meta: dict[str, Any]
    title: str
    sections: list[Section]

    def section(self, title: str) -> Section | None:
        """Return the `##` section with this exact title, if any."""
        for sec in self.sections:
            if sec.title == title:
                return sec
        return None


def split_front_matter(text: str, path: Path | str) -> tuple[dict[str, Any], str]:
    """Split `---` YAML front matter from the body; raise KnowledgeFormatError when absent or bad."""
    if not text.startswith("---"):
        raise KnowledgeFormatError(path, "front matter", "file must start with a '---' YAML block")
    end = text.find("\n---", 3)
    if end < 0:
        raise KnowledgeFormatError(path, "front matter", "the '---' block is never closed")
    raw = text[3:end]
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise KnowledgeFormatError(path, "front matter", f"invalid YAML ({e.__class__.__name__})") from e
    if not isinstance(meta, dict):
        raise KnowledgeFormatError(path, "front matter", "must be a YAML mapping")
    body = text[end + 4 :]
    return meta, body.lstrip("-").lstrip("\n")


def parse_sections(body: str) -> tuple[str, list[Section]]:
    """Parse a markdown body into its `#` title and a tree of `##`/`###`/... sections."""
    title = ""
    root = Section(title="", level=1)
    stack: list[Section] = [root]
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        stack[-1].body = "\n".join(lines).strip()
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        level = len(match.group(1))
        text = match.group(2).strip()
        if level == 1:
            flush()
            title = text
            stack = [root]
            continue
        flush()
        while len(stack) > 1 and stack[-1].level >= level:
            stack.pop()
        node = Section(title=text, level=level)
        stack[-1].children.append(node)
        stack.append(node)
    flush()
    return title, root.children


def load_markdown(path: Path) -> MarkdownDoc:
    """Read and parse one knowledge file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeFormatError(path, "file", f"cannot be read ({e.__class__.__name__})") from e
    meta, body = split_front_matter(text, path)
    title, sections = parse_sections(body)
    if not title:
        raise KnowledgeFormatError(path, "title", "no '# ' title line")
    return MarkdownDoc(path=path, meta=meta, title=title, sections=sections)
