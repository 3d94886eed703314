"""Drill mode: short focused questions graded at once, mastery per dimension across sessions.

Modules: `questions` (what to ask), `assess` (grade one answer), `mastery` (estimates and what next),
`session` (state, start/answer, persistence), `cli` (`interviewer drill`). Nothing is imported here so
that the command line stays fast to start.
"""
