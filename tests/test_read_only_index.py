"""`interviewer search` / `index` when the index folder cannot be written: search the index as it is, or one line.

In-process, with `KnowledgeIndex.writable` forced to False (the real read-only folders, where nothing can be
written, are in tests/test_index.py and the fault scenario `evals/faults.py` d).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.cli import run
from knowledge.index import KnowledgeIndex


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every index reports its folder as not writable."""
    monkeypatch.setattr(KnowledgeIndex, "writable", lambda self: False)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = run(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, [ln for ln in captured.err.splitlines() if ln.strip()]


def _copy(built_index: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder holding a copy of the session's index (sharing its embedder cache)."""
    data = tmp_path / "data"
    shutil.copytree(built_index.index_dir, data / "index")
    (data / "cache").mkdir()
    (data / "cache" / "onnx").symlink_to(built_index.index_dir.parent / "cache" / "onnx")
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data))
    return data


def test_up_to_date_index_is_searched_and_index_says_so(
    built_index: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _read_only(monkeypatch)
    lock = built_index.index_dir.parent / "index.lock"
    stamp = lock.stat().st_mtime_ns if lock.exists() else None
    code, out, err = _cli(capsys, "search", "feature drift", "-k", "2")
    assert code == 0 and out.startswith("1. [") and "\n2. [" in out and err == []
    code, out, err = _cli(capsys, "index")
    assert code == 0 and out.startswith("the index is up to date (") and "read-only" in out and err == []
    assert (lock.stat().st_mtime_ns if lock.exists() else None) == stamp


def test_stale_index_is_searched_with_one_warning_and_index_is_one_error(
    built_index: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _copy(built_index, tmp_path, monkeypatch)
    col = KnowledgeIndex(data / "index", lambda: pytest.fail("no embedding")).collection()
    ids = col.get(where={"source": "knowledge/framework/serving.md"})["ids"]
    col.delete(ids=ids[len(ids) // 2 :])  # what a build killed mid-file leaves
    _read_only(monkeypatch)
    code, out, err = _cli(capsys, "search", "feature drift", "-k", "2", "--format", "json")
    assert code == 0 and out.lstrip().startswith("[")
    assert len(err) == 1 and err[0].startswith("interviewer: warning: ") and "out of date" in err[0]
    assert "1 files changed or new, 0 removed" in err[0] and "read-only" in err[0]
    code, out, err = _cli(capsys, "index")
    assert code == 2 and out == "" and len(err) == 1
    assert err[0].startswith("interviewer: error: the index at ") and "out of date" in err[0] and "read-only" in err[0]
    code, out, err = _cli(capsys, "index", "--rebuild")
    assert code == 2 and len(err) == 1 and "--rebuild" in err[0] and "read-only" in err[0]


def test_missing_index_is_one_line_for_search_and_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _read_only(monkeypatch)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    for argv in (["search", "feature drift"], ["index"]):
        code, out, err = _cli(capsys, *argv)
        assert code == 2 and out == "" and len(err) == 1, (argv, err)
        assert "is missing" in err[0] and "read-only" in err[0] and "Errno" not in err[0]
    assert not (tmp_path / "data" / "index").exists() and not (tmp_path / "data" / "index.lock").exists()
