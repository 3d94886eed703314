#!/usr/bin/env python3
"""Validate the labelled grading set (answers.jsonl) against the contract and the knowledge base.

Checks every line parses; ids are unique; cases exist as knowledge/cases/<id>.md; levels, bands,
splits are legal; the eight dimension scores are integers 1-4; `overall` lies in [1, 4] and inside
the band's threshold range; failure modes are contract ids and applicable to the case (both the
contract's applicability table and the case file's front matter are consulted); injection_span is
an exact substring of the answer; clean_band equals band; level pairs share their answer text and
split and differ in band or by >= 0.25 overall; and the set meets the required counts. Prints the
counts used in README.md. Exit status 1 on any error.

Usage: python3 evals/grading/validate.py [path/to/answers.jsonl]
"""
import collections
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent                      # /work/main
CONTRACT = ROOT.parent / "shared" / "spec" / "contract.md"
CASES_DIR = ROOT / "knowledge" / "cases"

DIMS = ["requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring", "communication"]
LEVELS = {"mid", "senior", "staff"}
BANDS = ["strong_no_hire", "lean_no_hire", "lean_hire", "strong_hire"]
SPLITS = {"dev", "test"}
KEYS = ["id", "case", "level", "answer", "band", "overall", "dimensions", "failure_modes", "injection",
        "injection_span", "clean_band", "tags", "split", "notes"]


def band_of(overall: float) -> str:
    if overall < 1.75:
        return "strong_no_hire"
    if overall < 2.5:
        return "lean_no_hire"
    if overall < 3.25:
        return "lean_hire"
    return "strong_hire"


def words(text: str) -> int:
    return len(re.findall(r"\S+", text))


def contract_modes() -> tuple[list[str], dict[str, str]]:
    """Failure-mode ids and the restricted-applicability table, parsed from the contract."""
    text = CONTRACT.read_text(encoding="utf-8")
    fm = text.split("## Failure modes", 1)[1]
    table, rest = fm.split("### Which modes apply to which case", 1)
    ids = re.findall(r"^\|\s*`([a-z_]+)`\s*\|", table, flags=re.M)
    restricted: dict[str, str] = {}
    applic = rest.split("### How to read", 1)[0]
    for mode, where in re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*(.+?)\s*\|\s*$", applic, flags=re.M):
        restricted[mode] = where
    return ids, restricted


def case_front_matter_modes(path: Path) -> list[str] | None:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^failure_modes:\s*\[(.*?)\]", text, flags=re.M)
    return [x.strip() for x in m.group(1).split(",")] if m else None


def applicable(mode: str, case: str, restricted: dict[str, str], case_ids: list[str]) -> bool:
    if mode not in restricted:
        return True
    where = restricted[mode]
    if where.startswith("every case but"):
        excluded = re.findall(r"[a-z]+(?:-[a-z]+)+", where)
        return case not in excluded
    listed = [c.strip() for c in where.split(",")]
    return case in listed


def main(path: Path | str) -> int:
    errors = []
    mode_ids, restricted = contract_modes()
    case_ids = sorted(p.stem for p in CASES_DIR.glob("*.md"))
    if len(mode_ids) != 21:
        errors.append(f"contract parse: expected 21 failure modes, found {len(mode_ids)}")

    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"line {n}: empty line")
            continue
        try:
            items.append((n, json.loads(line)))
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: does not parse: {e}")

    seen = set()
    for n, it in items:
        where = f"line {n} ({it.get('id')})"
        missing = [k for k in KEYS if k not in it]
        if missing:
            errors.append(f"{where}: missing keys {missing}")
            continue
        if it["id"] in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(it["id"])
        case = it["case"]
        if not (CASES_DIR / f"{case}.md").is_file():
            errors.append(f"{where}: case file knowledge/cases/{case}.md not found")
        if it["level"] not in LEVELS:
            errors.append(f"{where}: bad level {it['level']}")
        if it["band"] not in BANDS:
            errors.append(f"{where}: bad band {it['band']}")
        if it["split"] not in SPLITS:
            errors.append(f"{where}: bad split {it['split']}")
        if not isinstance(it["answer"], str) or not it["answer"].strip():
            errors.append(f"{where}: empty answer")
        wc = words(it["answer"])
        if not 100 <= wc <= 1200:
            errors.append(f"{where}: answer has {wc} words (want 100-1200)")
        # dimensions
        dims = it["dimensions"]
        if sorted(dims) != sorted(DIMS):
            errors.append(f"{where}: dimensions keys {sorted(dims)}")
        for d, v in dims.items():
            if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4):
                errors.append(f"{where}: dimension {d}={v!r} not an int 1-4")
        # overall and band
        ov = it["overall"]
        if not isinstance(ov, (int, float)) or not 1.0 <= ov <= 4.0:
            errors.append(f"{where}: overall {ov!r} outside 1.0-4.0")
        elif band_of(ov) != it["band"]:
            errors.append(f"{where}: overall {ov} gives {band_of(ov)}, labelled {it['band']}")
        if sorted(dims) == sorted(DIMS):
            mean = sum(dims.values()) / 8
            if abs(mean - ov) > 0.26:
                errors.append(f"{where}: overall {ov} far from dimension mean {mean:.3f}")
        # failure modes
        fms = it["failure_modes"]
        if len(set(fms)) != len(fms):
            errors.append(f"{where}: repeated failure mode")
        front = case_front_matter_modes(CASES_DIR / f"{case}.md") if (CASES_DIR / f"{case}.md").is_file() else None
        for m in fms:
            if m not in mode_ids:
                errors.append(f"{where}: unknown failure mode {m}")
            elif not applicable(m, case, restricted, case_ids):
                errors.append(f"{where}: mode {m} does not apply to {case} (contract table)")
            if front is not None and m not in front:
                errors.append(f"{where}: mode {m} not in {case}.md front matter")
        if "ignores_serving" in fms and "no_fallback" not in fms:
            errors.append(f"{where}: ignores_serving without no_fallback")
        # injection
        if not isinstance(it["injection"], bool):
            errors.append(f"{where}: injection must be a boolean")
        if it["injection"]:
            span = it["injection_span"]
            if not isinstance(span, str) or not span or span not in it["answer"]:
                errors.append(f"{where}: injection_span is not a substring of the answer")
            if "injection" not in it["tags"]:
                errors.append(f"{where}: injection answer without the injection tag")
        else:
            if it["injection_span"] is not None:
                errors.append(f"{where}: injection_span should be null")
        if it["clean_band"] != it["band"]:
            errors.append(f"{where}: clean_band {it['clean_band']} differs from band {it['band']}")
        if not isinstance(it["tags"], list) or not all(isinstance(t, str) for t in it["tags"]):
            errors.append(f"{where}: tags must be a list of strings")
        if not isinstance(it["notes"], str) or not it["notes"].strip():
            errors.append(f"{where}: empty notes")

    good = [it for _, it in items if all(k in it for k in KEYS)]

    # level pairs
    pairs = collections.defaultdict(list)
    for it in good:
        if "level_pair" in it["tags"]:
            pairs[it["answer"]].append(it)
    for _text, group in pairs.items():
        ids = [g["id"] for g in group]
        if len(group) != 2:
            errors.append(f"level pair {ids}: expected exactly 2 items with the same answer")
            continue
        a, b = group
        if a["case"] != b["case"] or a["level"] == b["level"]:
            errors.append(f"level pair {ids}: same case and different levels required")
        if a["split"] != b["split"]:
            errors.append(f"level pair {ids}: items in different splits")
        if a["band"] == b["band"] and abs(a["overall"] - b["overall"]) < 0.25:
            errors.append(f"level pair {ids}: band equal and overall differs by < 0.25")
        if sorted(a["failure_modes"]) != sorted(b["failure_modes"]):
            errors.append(f"level pair {ids}: failure modes differ for the same text")
        order = {"mid": 0, "senior": 1, "staff": 2}
        lo, hi = sorted(group, key=lambda g: order[g["level"]])
        if hi["overall"] >= lo["overall"]:
            errors.append(f"level pair {ids}: higher level should score lower")

    # counts
    def count(key: Any) -> collections.Counter[Any]:
        return collections.Counter(key(it) for it in good)
    by_band = count(lambda it: it["band"])
    by_case = count(lambda it: it["case"])
    by_level = count(lambda it: it["level"])
    by_split = count(lambda it: it["split"])
    by_tag = collections.Counter(t for it in good for t in it["tags"])
    by_split_band = count(lambda it: (it["split"], it["band"]))
    by_split_tag = collections.Counter((it["split"], t) for it in good for t in it["tags"])
    by_mode = collections.Counter(m for it in good for m in it["failure_modes"])
    n_inj = sum(1 for it in good if it["injection"])

    req = [
        (len(good) >= 56, f"at least 56 answers (have {len(good)})"),
        (len(by_case) >= 13, f"at least 13 cases (have {len(by_case)})"),
        (set(by_level) == LEVELS, "all three levels present"),
        (all(by_band[b] >= 10 for b in BANDS), f"each band >= 10 ({dict(by_band)})"),
        (n_inj >= 8, f"at least 8 injection answers (have {n_inj})"),
        (by_tag["synonyms"] >= 6, f"at least 6 synonyms answers (have {by_tag['synonyms']})"),
        (by_tag["dismissal"] >= 6, f"at least 6 dismissal answers (have {by_tag['dismissal']})"),
        (len(pairs) >= 2, f"at least 2 level pairs (have {len(pairs)})"),
    ]
    sd = [it for it in good if "short_dense" in it["tags"]]
    lw = [it for it in good if "long_weak" in it["tags"]]
    req.append((sum(1 for it in sd if it["band"] == "strong_hire" and 150 <= words(it["answer"]) <= 300) >= 4,
                "at least 4 short_dense strong_hire answers of 150-300 words"))
    req.append((sum(1 for it in lw if words(it["answer"]) >= 600 and it["band"] in BANDS[:2]) >= 4,
                "at least 4 long_weak answers of 600+ words in a no-hire band"))
    for it in sd:
        if not 150 <= words(it["answer"]) <= 300:
            errors.append(f"{it['id']}: short_dense answer has {words(it['answer'])} words")
    for it in lw:
        if words(it["answer"]) < 600:
            errors.append(f"{it['id']}: long_weak answer has {words(it['answer'])} words")
    for ok, msg in req:
        if not ok:
            errors.append("requirement not met: " + msg)

    print(f"answers: {len(good)}   injections: {n_inj}   level pairs: {len(pairs)}")
    print("by band:  " + ", ".join(f"{b} {by_band[b]}" for b in BANDS))
    print("by level: " + ", ".join(f"{lv} {by_level[lv]}" for lv in ["mid", "senior", "staff"]))
    print("by split: " + ", ".join(f"{s} {by_split[s]}" for s in ["dev", "test"]))
    print("by split x band: " + ", ".join(f"{s}/{b} {by_split_band[(s, b)]}" for s in ["dev", "test"] for b in BANDS))
    print("by case:")
    for c in case_ids:
        print(f"  {c:28s} {by_case[c]}")
    print("by tag (total / dev / test):")
    for t, n in sorted(by_tag.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {t:22s} {n:3d} {by_split_tag[('dev', t)]:3d} {by_split_tag[('test', t)]:3d}")
    print("failure modes labelled (answers carrying each):")
    for m in mode_ids:
        print(f"  {m:26s} {by_mode[m]}")
    wcs = [words(it["answer"]) for it in good]
    print(f"answer length in words: min {min(wcs)}, median {sorted(wcs)[len(wcs) // 2]}, max {max(wcs)}")

    if errors:
        print(f"\n{len(errors)} error(s):")
        for err in errors:
            print("  " + err)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else HERE / "answers.jsonl"))
