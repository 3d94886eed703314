"""Grading eval: band accuracy, QWK, MAE on overall, failure-mode P/R/F1 and injection successes."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from evals.table import Column, fixed_table
from knowledge.ids import STEPS, applicable_failure_modes

ANSWERS = Path(__file__).resolve().parent / "grading" / "answers.jsonl"
BANDS = ("strong_no_hire", "lean_no_hire", "lean_hire", "strong_hire")


class LabelledAnswer(BaseModel):
    """One written answer with its human labels."""

    id: str
    case: str
    level: str = "senior"
    answer: str
    band: str
    overall: float
    dimensions: dict[str, int]
    failure_modes: list[str]
    injection: bool = False
    injection_span: str | None = None
    tags: list[str] = []
    split: str


class Prediction(BaseModel):
    """What a grader said about one answer."""

    band: str
    overall: float
    failure_modes: list[str]


Grader = Callable[[str, str, str], Prediction]


def load_answers(path: Path = ANSWERS) -> list[LabelledAnswer]:
    """Read the labelled answers (JSONL)."""
    return [LabelledAnswer.model_validate_json(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def band_for(overall: float) -> str:
    """The contract's hire signal for an overall score."""
    if overall < 1.75:
        return BANDS[0]
    if overall < 2.5:
        return BANDS[1]
    if overall < 3.25:
        return BANDS[2]
    return BANDS[3]


def quadratic_weighted_kappa(truth: list[str], pred: list[str]) -> float:
    """Cohen's kappa with quadratic weights over the four ordered bands."""
    n = len(BANDS)
    idx = {b: i for i, b in enumerate(BANDS)}
    observed = [[0.0] * n for _ in range(n)]
    for t, p in zip(truth, pred, strict=True):
        observed[idx[t]][idx[p]] += 1
    total = len(truth)
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(n)) for j in range(n)]
    num = den = 0.0
    for i in range(n):
        for j in range(n):
            w = (i - j) ** 2 / (n - 1) ** 2
            num += w * observed[i][j]
            den += w * rows[i] * cols[j] / total
    return 1.0 - num / den if den else 1.0


_STEP_WORDS: dict[str, tuple[str, ...]] = {
    "requirements": ("users", "dau", "qps", "latency", "scale", "requirement", "goal", "constraint"),
    "framing": ("label", "classification", "ranking", "regression", "objective", "input", "output"),
    "data": ("data", "feature", "logs", "labelling", "labeling", "dataset", "split"),
    "modeling": ("model", "baseline", "logistic", "tree", "neural", "embedding", "training"),
    "evaluation": ("metric", "precision", "recall", "auc", "ndcg", "a/b", "offline", "online"),
    "serving": ("serving", "deploy", "batch", "online", "cache", "inference", "fallback"),
    "monitoring": ("monitor", "drift", "retrain", "alert", "dashboard", "feedback"),
}


def keyword_baseline(answer: str, case_id: str, level: str) -> Prediction:
    """A naive grader: counts step keywords; steps with none get their 'missing' failure modes."""
    text = answer.lower()
    hits = {s: sum(len(re.findall(r"\b" + re.escape(w), text)) for w in words) for s, words in _STEP_WORDS.items()}
    covered = sum(1 for s in STEPS if hits[s] >= 2)
    overall = round(1.0 + 3.0 * covered / len(STEPS), 2)
    missing_modes = {
        "requirements": ["skipped_clarification", "no_scale_estimate"],
        "framing": ["vague_ml_framing"],
        "data": ["no_data_plan"],
        "modeling": ["no_baseline"],
        "evaluation": ["no_offline_metrics", "no_online_metrics"],
        "serving": ["ignores_serving", "no_fallback"],
        "monitoring": ["no_monitoring", "no_retraining_plan"],
    }
    applicable = set(applicable_failure_modes(case_id))
    modes = [m for s in STEPS if hits[s] == 0 for m in missing_modes[s] if m in applicable]
    return Prediction(band=band_for(overall), overall=overall, failure_modes=modes)


def project_grader(provider: str) -> Grader:
    """The project's grader for a provider ("offline", or "openai" for the configured endpoint)."""
    from agent.grading.provider import answer_grader
    from agent.kb import embedder_factory
    from agent.llm.factory import chat_model_from_settings
    from agent.settings import Settings

    settings = Settings.from_env(provider=provider)
    embedder = embedder_factory(settings)()
    model = chat_model_from_settings(settings) if provider != "offline" else None
    grade_card = answer_grader(model, embedder)

    def grade(answer: str, case_id: str, level: str) -> Prediction:
        card = grade_card(answer, case_id, level)
        return Prediction(band=card.hire_signal, overall=card.overall, failure_modes=[f.id for f in card.failure_modes])

    return grade


def score(grader: Grader, items: list[LabelledAnswer], name: str) -> dict[str, Any]:
    """Run a grader over labelled answers and compute every metric."""
    preds: list[Prediction] = []
    start = time.perf_counter()
    for item in tqdm(items, desc=name, unit="answer", leave=False):
        preds.append(grader(item.answer, item.case, item.level))
    seconds = time.perf_counter() - start
    truth = [i.band for i in items]
    got = [p.band for p in preds]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for item, pred in zip(items, preds, strict=True):
        t, p = set(item.failure_modes), set(pred.failure_modes)
        for m in p & t:
            tp[m] += 1
        for m in p - t:
            fp[m] += 1
        for m in t - p:
            fn[m] += 1
    micro_p = sum(tp.values()) / max(1, sum(tp.values()) + sum(fp.values()))
    micro_r = sum(tp.values()) / max(1, sum(tp.values()) + sum(fn.values()))
    per_mode = {}
    for m in sorted(set(tp) | set(fp) | set(fn)):
        prec = tp[m] / max(1, tp[m] + fp[m])
        rec = tp[m] / max(1, tp[m] + fn[m])
        per_mode[m] = {
            "precision": prec,
            "recall": rec,
            "f1": 2 * prec * rec / max(1e-9, prec + rec),
            "support": tp[m] + fn[m],
        }
    injections = 0
    for item, pred in zip(items, preds, strict=True):
        if item.injection and item.injection_span:
            clean = grader(item.answer.replace(item.injection_span, ""), item.case, item.level)
            injections += BANDS.index(pred.band) > BANDS.index(clean.band)
    return {
        "grader": name,
        "n": len(items),
        "band_accuracy": sum(t == g for t, g in zip(truth, got, strict=True)) / len(items),
        "qwk": quadratic_weighted_kappa(truth, got),
        "overall_mae": sum(abs(i.overall - p.overall) for i, p in zip(items, preds, strict=True)) / len(items),
        "fm_precision": micro_p,
        "fm_recall": micro_r,
        "fm_f1": 2 * micro_p * micro_r / max(1e-9, micro_p + micro_r),
        "per_mode": per_mode,
        "injection_answers": sum(1 for i in items if i.injection),
        "injection_successes": injections,
        "answers_per_s": len(items) / seconds if seconds else 0.0,
    }


TABLE = [
    Column("split", 5, lambda r: str(r["split"]), left=True),
    Column("grader", 16, lambda r: str(r["grader"]), left=True),
    Column("n", 3, lambda r: str(r["n"])),
    Column("band acc", 8, lambda r: f"{r['band_accuracy']:.3f}"),
    Column("QWK", 6, lambda r: f"{r['qwk']:.3f}"),
    Column("MAE", 6, lambda r: f"{r['overall_mae']:.3f}"),
    Column("FM P", 6, lambda r: f"{r['fm_precision']:.3f}"),
    Column("FM R", 6, lambda r: f"{r['fm_recall']:.3f}"),
    Column("FM F1", 6, lambda r: f"{r['fm_f1']:.3f}"),
    Column("inject", 7, lambda r: f"{r['injection_successes']:>3}/{r['injection_answers']:<3}"),
]
"""The columns of the grading eval table."""


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render eval rows as a fixed-width table."""
    return fixed_table(TABLE, rows)


def per_mode_table(row: dict[str, Any]) -> str:
    """Per-failure-mode precision/recall/F1 of one eval row."""
    lines = [f"per mode ({row['split']}, {row['grader']}):", f"  {'mode':<26} {'P':>5} {'R':>5} {'F1':>5} {'n':>3}"]
    for mode, m in row["per_mode"].items():
        lines.append(f"  {mode:<26} {m['precision']:>5.2f} {m['recall']:>5.2f} {m['f1']:>5.2f} {m['support']:>3}")
    return "\n".join(lines)


def main(split: str = "all", out: str | None = None, provider: str | None = None) -> int:
    """Run the grading eval for every available grader, print tables, optionally save JSON."""
    items = load_answers()
    from agent.settings import Settings

    graders: list[tuple[str, Grader]] = [("keyword-baseline", keyword_baseline), ("offline", project_grader("offline"))]
    chosen = provider or Settings.from_env().provider
    if chosen != "offline":
        graders.append(("model", project_grader(chosen)))
    rows: list[dict[str, Any]] = []
    for name in ["dev", "test"] if split == "all" else [split]:
        subset = [i for i in items if i.split == name]
        for grader_name, grader in graders:
            rows.append({"split": name, **score(grader, subset, grader_name)})
    print(format_table(rows))
    for row in rows:
        if row["grader"] != "keyword-baseline":
            print()
            print(per_mode_table(row))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0
