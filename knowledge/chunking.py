"""Split knowledge files into retrieval chunks by section, token-aware, with metadata."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from knowledge import KNOWLEDGE_DIR, PROJECT_ROOT
from knowledge.ids import FAILURE_MODES, STEPS
from knowledge.markdown import MarkdownDoc, Section, load_markdown
from knowledge.tokens import count_tokens

MAX_TOKENS = 240
"""Chunk size cap; all-MiniLM-L6-v2 reads 256 word pieces, and the heading line is prepended."""

SKIPPED_FILES = {"FORMAT.md", "README.md"}
_STEP_LINE = re.compile(r"^\s*-\s*Step:\s*([a-z_]+)", re.MULTILINE)
_BLOCK_START = re.compile(r"^(\s*[-*]\s|\s*\d+\.\s|#)")


class Chunk(BaseModel):
    """One retrievable passage of the knowledge base and where it came from."""

    id: str
    source: str
    heading: str
    text: str
    kind: str
    doc_title: str
    case_id: str | None = None
    failure_mode: str | None = None
    step: str | None = None

    def embedding_text(self) -> str:
        """Text that is embedded and matched: the document title and heading give context."""
        return f"{self.doc_title} — {self.heading}\n{self.text}"


def knowledge_files(root: Path = KNOWLEDGE_DIR) -> list[Path]:
    """All markdown files of the corpus under root, sorted, without FORMAT.md/README.md."""
    return sorted(p for p in root.rglob("*.md") if p.name not in SKIPPED_FILES)


def source_path(path: Path) -> str:
    """The path a citation uses: relative to the project root when possible (`knowledge/…`)."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return f"knowledge/{path.parent.name}/{path.name}"


def _blocks(text: str) -> list[str]:
    """Split text into paragraphs and list items (an item keeps its indented continuation lines)."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append([])
            continue
        starts_new = bool(_BLOCK_START.match(line)) and not line.startswith("  ")
        if not blocks or starts_new or not blocks[-1]:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return ["\n".join(b).strip() for b in blocks if b and "\n".join(b).strip()]


def _split_words(block: str, max_tokens: int) -> list[str]:
    """Split one over-long block into word runs that each fit max_tokens."""
    words = block.split()
    if len(words) <= 1 or count_tokens(block) <= max_tokens:
        return [block]
    half = len(words) // 2
    return _split_words(" ".join(words[:half]), max_tokens) + _split_words(" ".join(words[half:]), max_tokens)


def pack_blocks(text: str, max_tokens: int = MAX_TOKENS) -> list[str]:
    """Greedily pack paragraphs/items into pieces of at most max_tokens (a huge item is split by words)."""
    pieces: list[str] = []
    current: list[str] = []
    for block in _blocks(text):
        for part in _split_words(block, max_tokens):
            if current and count_tokens("\n\n".join([*current, part])) > max_tokens:
                pieces.append("\n\n".join(current))
                current = []
            current.append(part)
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _sub_metadata(kind: str, section: Section, sub: Section | None) -> tuple[str | None, str | None]:
    """Step and failure mode implied by a case file's subsection heading."""
    if sub is None:
        return None, None
    title = sub.title.split(" — ")[0].strip()
    if title in STEPS:
        return title, None
    if title in FAILURE_MODES:
        return FAILURE_MODES[title], title
    match = _STEP_LINE.search(sub.body)
    if match and match.group(1) in FAILURE_MODES.values():
        return match.group(1), None
    return None, None


def _units(doc: MarkdownDoc, max_tokens: int) -> Iterator[tuple[str, str, Section, Section | None]]:
    """Yield (heading, text, section, subsection) units: a section, or its subsections when large."""
    for section in doc.sections:
        whole = section.full_text()
        if not section.children or count_tokens(whole) <= max_tokens:
            yield section.title, whole, section, None
            continue
        if section.body.strip():
            yield section.title, section.body.strip(), section, None
        for sub in section.children:
            yield f"{section.title} › {sub.title}", sub.full_text(), section, sub


def chunk_document(doc: MarkdownDoc, max_tokens: int = MAX_TOKENS) -> list[Chunk]:
    """Chunk one parsed knowledge file."""
    meta = doc.meta
    kind = str(meta.get("kind", ""))
    doc_id = str(meta.get("id", doc.path.stem))
    source = source_path(doc.path)
    chunks: list[Chunk] = []
    for heading, text, section, sub in _units(doc, max_tokens):
        sub_step, sub_mode = _sub_metadata(kind, section, sub)
        step = meta.get("step") or sub_step
        mode = doc_id if kind == "failure_mode" else sub_mode
        pieces = pack_blocks(text, max_tokens)
        for n, piece in enumerate(pieces, start=1):
            label = heading if len(pieces) == 1 else f"{heading} ({n}/{len(pieces)})"
            chunk = Chunk(
                id="",
                source=source,
                heading=label,
                text=piece,
                kind=kind,
                doc_title=doc.title,
                case_id=doc_id if kind == "case" else None,
                failure_mode=mode,
                step=str(step) if step else None,
            )
            payload = chunk.model_dump_json(exclude={"id"})
            chunk.id = hashlib.sha1(payload.encode()).hexdigest()[:20]
            chunks.append(chunk)
    return chunks


def chunk_file(path: Path, max_tokens: int = MAX_TOKENS) -> list[Chunk]:
    """Chunk one knowledge file from disk."""
    return chunk_document(load_markdown(path), max_tokens)


def file_digest(path: Path) -> str:
    """Content hash of a file, used to skip unchanged files when re-indexing."""
    return hashlib.sha1(path.read_bytes()).hexdigest()
