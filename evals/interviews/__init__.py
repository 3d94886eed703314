"""Scripted mock-interview personas (dev/test in personas.jsonl, holdout in holdout.jsonl) and their validator."""

HELD_OUT_SPLITS = ("holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8")
"""The held-out splits, each in evals/interviews/<name>.jsonl and never part of dev, test or all.

holdout to holdout5 were each run once untouched and have been tuning data since (their first runs are
evals/results/interview_<name>_untouched.json, the first holdout's in the README); holdout6 and holdout7
(written blind on 2026-12-07) are run once at the end of that session; holdout8 (also 2026-12-07) is kept
for the next session.
"""
