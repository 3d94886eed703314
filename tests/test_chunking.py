"""Chunking: sections become bounded, well-labelled, deterministic chunks."""

from __future__ import annotations

from knowledge.chunking import MAX_TOKENS, chunk_file, knowledge_files, pack_blocks
from knowledge.ids import CASE_IDS, FAILURE_MODES
from knowledge.tokens import count_tokens


def _all_chunks() -> list:
    return [c for path in knowledge_files() for c in chunk_file(path)]


def test_every_file_is_chunked_within_the_token_cap() -> None:
    chunks = _all_chunks()
    sources = {c.source for c in chunks}
    assert (
        len(sources) == len(knowledge_files()) == 8 + 8 + 21 + 15
    )  # framework (7 steps + overview), rubrics, modes, cases
    assert all(count_tokens(c.text) <= MAX_TOKENS for c in chunks)
    assert all(c.source.startswith("knowledge/") and c.heading and c.text.strip() for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_are_deterministic() -> None:
    path = knowledge_files()[0]
    assert [c.id for c in chunk_file(path)] == [c.id for c in chunk_file(path)]


def test_case_chunks_carry_case_step_and_failure_mode() -> None:
    chunks = [c for c in _all_chunks() if c.kind == "case"]
    assert {c.case_id for c in chunks} == set(CASE_IDS)
    modes = [c for c in chunks if c.heading.startswith("Failure modes › ")]
    assert modes and all(c.failure_mode in FAILURE_MODES for c in modes)
    assert all(c.step == FAILURE_MODES[c.failure_mode] for c in modes if c.failure_mode)
    points = [c for c in chunks if c.heading.startswith("Expected points › ")]
    assert all(c.step == c.heading.split(" › ")[1].split(" (")[0] for c in points)


def test_failure_mode_files_tag_their_mode() -> None:
    chunks = [c for c in _all_chunks() if c.kind == "failure_mode"]
    assert {c.failure_mode for c in chunks} == set(FAILURE_MODES)
    assert all(c.case_id is None for c in chunks)


def test_pack_blocks_splits_long_text_and_keeps_every_word() -> None:
    items = "\n".join(f"- item {i} " + "word " * 30 for i in range(40))
    pieces = pack_blocks(items, max_tokens=100)
    assert len(pieces) > 5
    assert all(count_tokens(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == items.split()


def test_pack_blocks_splits_one_giant_paragraph() -> None:
    text = "token " * 2000
    pieces = pack_blocks(text, max_tokens=120)
    assert all(count_tokens(p) <= 120 for p in pieces)
    assert sum(len(p.split()) for p in pieces) == 2000
