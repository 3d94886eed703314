"""Offline grading of written answers: scorecard models, text analysis, detectors and the grader."""
