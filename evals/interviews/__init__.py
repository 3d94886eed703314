"""Scripted mock-interview personas (dev/test in personas.jsonl, holdout in holdout.jsonl) and their validator."""
