#!/usr/bin/env python3
"""Validate the scripted mock-interview persona files (personas, holdout*) against the contract and the KB.

Checks that every line parses as a JSON object with exactly the documented fields; ids are unique across
all files (`pNN` in personas.jsonl, `hNN` in holdout.jsonl, `kNN` in holdout2.jsonl, `mNN` in holdout3.jsonl,
`nNN` in holdout4.jsonl, `oNN` in holdout5.jsonl, `qNN` in holdout6.jsonl, `rNN` in holdout7.jsonl,
`sNN` in holdout8.jsonl, `tNN` in holdout9.jsonl, `uNN` in holdout10.jsonl, `vNN` in holdout11.jsonl);
each case exists as knowledge/cases/<id>.md; level, band and split are legal; turns are 8-20 strings;
failure modes are contract ids, listed once, in contract order, and applicable to the case (both the
contract's applicability table and the case file's front matter are consulted); every facts_asked entry
points at a turn in range, turns are listed once and in order, and each key is a `- **key**` bullet of
that case's `## Fact sheet`, unless it starts with "unlisted:" (then the rest must not be a fact key of
the case). Also checks the set-level requirements (at least 16 personas over at least 8 cases, a
leak-bait persona, a multi-fact turn, an unlisted fact, a roughly even dev/test split; for each holdout
file at least 12 personas over at least 10 cases and every level) and prints the counts used in README.md.
personas.jsonl holds the `dev` and `test` splits, holdout.jsonl only the `holdout` split, holdout2.jsonl
only the `holdout2` split, holdout3.jsonl only the `holdout3` split, holdout4.jsonl only the `holdout4` split
holdout5.jsonl only the `holdout5` split, and so on: a file named holdoutN* holds only split holdoutN.
Exit status 1 on any error.

Usage: python3 evals/interviews/validate.py [FILE ...]   (default: personas.jsonl, holdout.jsonl, holdout2.jsonl,
       holdout3.jsonl, ..., holdout11.jsonl where present)
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # /work/main
CONTRACT = ROOT.parent / "shared" / "spec" / "contract.md"
CASES_DIR = ROOT / "knowledge" / "cases"

FIELDS = [
    "id",
    "case",
    "level",
    "persona",
    "turns",
    "failure_modes",
    "band",
    "facts_asked",
    "leak_bait",
    "split",
    "notes",
]
LEVELS = ["mid", "senior", "staff"]
BANDS = ["strong_no_hire", "lean_no_hire", "lean_hire", "strong_hire"]
HOLDOUT = "holdout"
HOLDOUT2 = "holdout2"
HOLDOUT3 = "holdout3"
HOLDOUT4 = "holdout4"
HOLDOUT5 = "holdout5"
HOLDOUT6 = "holdout6"
HOLDOUT7 = "holdout7"
HOLDOUT8 = "holdout8"
HOLDOUT9 = "holdout9"
HOLDOUT10 = "holdout10"
HOLDOUT11 = "holdout11"
HOLDOUT_SPLITS = (
    HOLDOUT,
    HOLDOUT2,
    HOLDOUT3,
    HOLDOUT4,
    HOLDOUT5,
    HOLDOUT6,
    HOLDOUT7,
    HOLDOUT8,
    HOLDOUT9,
    HOLDOUT10,
    HOLDOUT11,
)
SPLITS = ["dev", "test", *HOLDOUT_SPLITS]
MIN_TURNS, MAX_TURNS = 8, 20
MIN_PERSONAS, MIN_CASES = 16, 8
MIN_HOLDOUT_PERSONAS, MIN_HOLDOUT_CASES = 12, 10
ID_PATTERNS = {
    "dev": r"p\d{2,3}",
    "test": r"p\d{2,3}",
    HOLDOUT: r"h\d{2,3}",
    HOLDOUT2: r"k\d{2,3}",
    HOLDOUT3: r"m\d{2,3}",
    HOLDOUT4: r"n\d{2,3}",
    HOLDOUT5: r"o\d{2,3}",
    HOLDOUT6: r"q\d{2,3}",
    HOLDOUT7: r"r\d{2,3}",
    HOLDOUT8: r"s\d{2,3}",
    HOLDOUT9: r"t\d{2,3}",
    HOLDOUT10: r"u\d{2,3}",
    HOLDOUT11: r"v\d{2,3}",
}
UNLISTED = "unlisted:"


def contract_modes(contract: Path) -> tuple[list[str], dict[str, str]]:
    """Failure-mode ids in contract order, and the restricted-applicability table (mode -> 'applies to' text)."""
    text = contract.read_text(encoding="utf-8")
    section = text.split("## Failure modes", 1)[1]
    table, rest = section.split("### Which modes apply to which case", 1)
    ids = re.findall(r"^\|\s*`([a-z_]+)`\s*\|", table, flags=re.M)
    applicability = rest.split("### How to read", 1)[0]
    restricted: dict[str, str] = {
        mode: where for mode, where in re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*(.+?)\s*\|\s*$", applicability, flags=re.M)
    }
    return ids, restricted


def applicable(mode: str, case: str, restricted: dict[str, str]) -> bool:
    """True if the contract's applicability table lets `mode` apply to `case`."""
    if mode not in restricted:
        return True
    where = restricted[mode]
    if where.startswith("every case but"):
        return case not in re.findall(r"[a-z]+(?:-[a-z]+)+", where)
    return case in [c.strip() for c in where.split(",")]


def front_matter_modes(case_text: str) -> list[str] | None:
    """The `failure_modes: [...]` list of a case file's front matter, or None if absent."""
    m = re.search(r"^failure_modes:\s*\[(.*?)\]", case_text, flags=re.M)
    return [x.strip() for x in m.group(1).split(",") if x.strip()] if m else None


def fact_keys(case_text: str) -> list[str]:
    """The bold keys of the `- **key** — ...` bullets in a case file's `## Fact sheet` section."""
    parts = re.split(r"^## Fact sheet\s*$", case_text, maxsplit=1, flags=re.M)
    if len(parts) < 2:
        return []
    sheet = re.split(r"^## ", parts[1], maxsplit=1, flags=re.M)[0]
    return re.findall(r"^- \*\*([a-z0-9_]+)\*\*", sheet, flags=re.M)


def check_facts_asked(pid: str, facts: Any, n_turns: int, keys: list[str]) -> list[str]:
    """Errors in one persona's facts_asked list."""
    errors: list[str] = []
    if not isinstance(facts, list):
        return [f"{pid}: facts_asked must be a list"]
    previous = -1
    for i, entry in enumerate(facts):
        where = f"{pid}: facts_asked[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"turn", "keys"}:
            errors.append(f"{where} must be an object with exactly 'turn' and 'keys'")
            continue
        turn, asked = entry["turn"], entry["keys"]
        if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn < n_turns:
            errors.append(f"{where}: turn {turn!r} out of range 0..{n_turns - 1}")
        elif turn <= previous:
            errors.append(f"{where}: turn {turn} repeated or out of order")
        else:
            previous = turn
        if not isinstance(asked, list) or not asked or not all(isinstance(k, str) for k in asked):
            errors.append(f"{where}: keys must be a non-empty list of strings")
            continue
        if len(set(asked)) != len(asked):
            errors.append(f"{where}: duplicate keys {asked}")
        for key in asked:
            if key.startswith(UNLISTED):
                what = key[len(UNLISTED) :]
                if not what:
                    errors.append(f"{where}: empty unlisted key")
                elif what in keys:
                    errors.append(f"{where}: '{key}' is on the fact sheet; use '{what}'")
            elif key not in keys:
                errors.append(f"{where}: '{key}' is not a fact key of the case (has {keys})")
    return errors


def file_splits(path: Path) -> list[str]:
    """The splits a persona file may hold: only `holdoutN` in a file named holdoutN* (N = 2..11), only `holdout`
    in any other holdout* file, else `dev` and `test`."""
    for split in reversed(HOLDOUT_SPLITS[1:]):
        if path.name.startswith(split):
            return [split]
    return [HOLDOUT] if path.name.startswith(HOLDOUT) else ["dev", "test"]


def check_record(
    rec: Any,
    lineno: int,
    mode_ids: list[str],
    restricted: dict[str, str],
    seen: set[str],
    splits: list[str] | None = None,
) -> tuple[list[str], dict[str, Any] | None]:
    """Errors in one line's record, and the record if it is usable for counting."""
    allowed = splits or ["dev", "test"]
    where = f"line {lineno}"
    if not isinstance(rec, dict):
        return [f"{where}: not a JSON object"], None
    errors: list[str] = []
    missing = [f for f in FIELDS if f not in rec]
    extra = [f for f in rec if f not in FIELDS]
    if missing or extra:
        return [f"{where}: missing fields {missing}, unknown fields {extra}"], None
    pid = rec["id"]
    id_pattern = ID_PATTERNS.get(str(rec["split"]), ID_PATTERNS[allowed[0]])
    if not isinstance(pid, str) or not re.fullmatch(id_pattern, pid):
        errors.append(f"{where}: bad id {pid!r} (expected {id_pattern} for split {rec['split']!r})")
        pid = f"line {lineno}"
    elif pid in seen:
        errors.append(f"{where}: duplicate id {pid} (ids are unique across persona files)")
    seen.add(str(pid))

    case = rec["case"]
    case_file = CASES_DIR / f"{case}.md" if isinstance(case, str) else None
    if case_file is None or not case_file.is_file():
        return [*errors, f"{pid}: no case file for {case!r}"], None
    case_text = case_file.read_text(encoding="utf-8")

    if rec["level"] not in LEVELS:
        errors.append(f"{pid}: bad level {rec['level']!r}")
    if rec["band"] not in BANDS:
        errors.append(f"{pid}: bad band {rec['band']!r}")
    if rec["split"] not in allowed:
        errors.append(f"{pid}: bad split {rec['split']!r} for this file (allowed {allowed})")
    if not isinstance(rec["leak_bait"], bool):
        errors.append(f"{pid}: leak_bait must be true or false")
    for field in ("persona", "notes"):
        if not isinstance(rec[field], str) or not rec[field].strip():
            errors.append(f"{pid}: {field} must be a non-empty string")

    turns = rec["turns"]
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        errors.append(f"{pid}: turns must be a list of strings")
        turns = []
    elif not MIN_TURNS <= len(turns) <= MAX_TURNS:
        errors.append(f"{pid}: {len(turns)} turns, expected {MIN_TURNS}-{MAX_TURNS}")

    modes = rec["failure_modes"]
    fm_modes = front_matter_modes(case_text)
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
        errors.append(f"{pid}: failure_modes must be a list of strings")
    else:
        if len(set(modes)) != len(modes):
            errors.append(f"{pid}: duplicate failure modes")
        for m in modes:
            if m not in mode_ids:
                errors.append(f"{pid}: unknown failure mode {m!r}")
            elif not applicable(m, case, restricted):
                errors.append(f"{pid}: {m} does not apply to {case} (contract table)")
            elif fm_modes is not None and m not in fm_modes:
                errors.append(f"{pid}: {m} not in {case}.md front matter")
        known = [m for m in modes if m in mode_ids]
        if known != sorted(known, key=mode_ids.index):
            errors.append(f"{pid}: failure_modes not in contract order")

    errors += check_facts_asked(str(pid), rec["facts_asked"], len(turns), fact_keys(case_text))
    return errors, rec


def table(counter: collections.Counter[str], by_split: dict[str, collections.Counter[str]], order: list[str]) -> str:
    """A markdown table of totals and per-split counts."""
    names = list(by_split)
    lines = ["| value | total | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    for key in order:
        if counter[key]:
            cells = " | ".join(str(by_split[n][key]) for n in names)
            lines.append(f"| {key} | {counter[key]} | {cells} |")
    return "\n".join(lines)


def report(records: list[dict[str, Any]], mode_ids: list[str]) -> None:
    """Print the counts used in README.md."""
    splits = collections.Counter(r["split"] for r in records)
    present = [s for s in SPLITS if splits[s]]
    print(
        f"{len(records)} personas, {len({r['case'] for r in records})} cases, "
        f"{sum(len(r['turns']) for r in records)} turns; " + ", ".join(f"{s} {splits[s]}" for s in present)
    )
    for field, order in (("band", BANDS), ("level", LEVELS), ("case", sorted({r["case"] for r in records}))):
        total: collections.Counter[str] = collections.Counter(r[field] for r in records)
        per = {s: collections.Counter(r[field] for r in records if r["split"] == s) for s in present}
        print(f"\nBy {field}:\n{table(total, per, order)}")
    modes: collections.Counter[str] = collections.Counter(m for r in records for m in r["failure_modes"])
    print("\nFailure modes (personas carrying each): " + ", ".join(f"{m} {modes[m]}" for m in mode_ids if modes[m]))
    asked = [e for r in records for e in r["facts_asked"]]
    multi = sum(1 for e in asked if len(e["keys"]) > 1)
    unlisted = sorted({k for e in asked for k in e["keys"] if k.startswith(UNLISTED)})
    print(
        f"facts_asked: {len(asked)} asking turns, {multi} multi-fact, unlisted keys {unlisted}; "
        f"leak_bait personas: {[r['id'] for r in records if r['leak_bait']]}"
    )
    lengths = sorted(len(r["turns"]) for r in records)
    print(f"turns per persona: min {lengths[0]}, max {lengths[-1]}, median {lengths[len(lengths) // 2]}")


def set_errors(records: list[dict[str, Any]], holdout: bool = False) -> list[str]:
    """Errors in one file's set as a whole (the holdout files have their own minimums)."""
    errors: list[str] = []
    need_personas, need_cases = (MIN_HOLDOUT_PERSONAS, MIN_HOLDOUT_CASES) if holdout else (MIN_PERSONAS, MIN_CASES)
    if len(records) < need_personas:
        errors.append(f"only {len(records)} personas, need {need_personas}")
    if len({r["case"] for r in records}) < need_cases:
        errors.append(f"fewer than {need_cases} cases")
    splits = collections.Counter(r["split"] for r in records)
    if holdout:
        missing_levels = sorted(set(LEVELS) - {r["level"] for r in records})
        if missing_levels:
            errors.append(f"holdout has no persona at level {missing_levels}")
    elif abs(splits["dev"] - splits["test"]) > 2:
        errors.append(f"dev/test unbalanced: {dict(splits)}")
    asked = [e for r in records for e in r["facts_asked"] if isinstance(e, dict)]
    if not any(len(e.get("keys", [])) > 1 for e in asked):
        errors.append("no turn asks several facts at once")
    if not any(str(k).startswith(UNLISTED) for e in asked for k in e.get("keys", [])):
        errors.append("no persona asks for an unlisted fact")
    if not any(r["leak_bait"] is True for r in records):
        errors.append("no leak-bait persona")
    return errors


def validate_file(
    path: Path, mode_ids: list[str], restricted: dict[str, str], seen: set[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Errors in one persona file (prefixed with its name) and its valid records; `seen` collects ids across files."""
    errors: list[str] = []
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return [f"cannot read {path}: {exc}"], []
    splits = file_splits(path)
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            errors.append(f"line {lineno}: blank line")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: invalid JSON ({exc})")
            continue
        errs, ok = check_record(rec, lineno, mode_ids, restricted, seen, splits)
        errors += errs
        if ok is not None and not errs:
            records.append(ok)
    if not errors:
        errors += set_errors(records, holdout=splits[0] in HOLDOUT_SPLITS)
    return [f"{path.name}: {e}" for e in errors], records


def main(*paths: Path) -> int:
    """Validate the persona files (default: all six); print errors or counts; return the exit status."""
    mode_ids, restricted = contract_modes(CONTRACT)
    files = list(paths) or DEFAULT_FILES
    seen: set[str] = set()
    errors: list[str] = []
    by_file: list[tuple[Path, list[dict[str, Any]]]] = []
    for path in files:
        errs, records = validate_file(path, mode_ids, restricted, seen)
        errors += errs
        by_file.append((path, records))
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    for i, (path, records) in enumerate(by_file):
        print(("\n" if i else "") + f"== {path.name}")
        report(records, mode_ids)
    return 0


DEFAULT_FILES = [
    HERE / name
    for name in (
        "personas.jsonl",
        "holdout.jsonl",
        "holdout2.jsonl",
        "holdout3.jsonl",
        "holdout4.jsonl",
        "holdout5.jsonl",
        "holdout6.jsonl",
        "holdout7.jsonl",
        "holdout8.jsonl",
        "holdout9.jsonl",
        "holdout10.jsonl",
        "holdout11.jsonl",
    )
    if (HERE / name).exists()
]

if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:])))
