"""The knowledge base: markdown corpus, its loader, chunker, embedder, index and retriever."""

from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).resolve().parent
"""Folder holding the markdown corpus (framework/, rubrics/, failure_modes/, cases/)."""

PROJECT_ROOT = KNOWLEDGE_DIR.parent
"""The repository root; sources are cited relative to it (`knowledge/cases/…md`)."""
