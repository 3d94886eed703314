"""Scripted mock-interview personas (dev/test in personas.jsonl, holdout in holdout.jsonl) and their validator."""

HELD_OUT_SPLITS = tuple(["holdout"] + [f"holdout{n}" for n in range(2, 12)])
"""The held-out splits, each in evals/interviews/<name>.jsonl and never part of dev, test or all.

holdout to holdout10 were each run once untouched and have been tuning data since (their first runs are
evals/results/interview_<name>_untouched.json, the first holdout's in the README); holdout11 (written blind
on 2026-12-07, after holdout10's untouched run) has had its one untouched run on that session's final code and
has not been tuned on: commission a fresh split before tuning on it.
"""
