"""The stateful mock interviewer: analyse a message, decide a move, respond, and grade at the end."""

from agent.interview.engine import InterviewInputError, candidate_text, finish, start, step, transcript
from agent.interview.state import InterviewState, Turn

__all__ = ["InterviewInputError", "InterviewState", "Turn", "candidate_text", "finish", "start", "step", "transcript"]
